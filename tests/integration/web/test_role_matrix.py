"""Every route x every role: allowed (a 2xx/3xx answer) or refused (403).

The routes come from the app's own route table, and the test fails when one is not
in ACCESS, so a new route has to be classified here. Annotators reach only their own
queue and their own work; reviewers also see the analysis, adjudicate and read the
history; admins do everything."""

from __future__ import annotations

import re

import pytest
from app.models import ExportChunk, ExportFile, GenerationRun, Job, Problem, Role
from app.services import annotating, tokens, trash
from tests.helpers import htmx, login
from tests.factories import assign, make_derivation, make_project, make_user, steps_of

ALL = {"admin", "reviewer", "annotator"}
STAFF = {"admin", "reviewer"}
ADMIN = {"admin"}

ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/login"): ALL,
    ("POST", "/login"): ALL,
    ("GET", "/"): ALL,
    ("GET", "/projects/{project_id}"): ALL,
    ("GET", "/projects/{project_id}/next"): ALL,
    ("POST", "/projects/{project_id}/next"): ALL,
    ("GET", "/derivations/{derivation_id}"): ALL,
    ("GET", "/derivations/{derivation_id}/previous"): ALL,
    ("POST", "/derivations/{derivation_id}/skip"): ALL,
    ("POST", "/derivations/{derivation_id}/steps/{step_id}/note"): ALL,
    ("POST", "/derivations/{derivation_id}/steps/{step_id}/labels/{label}"): ALL,
    ("POST", "/derivations/{derivation_id}/judgement"): ALL,
    ("POST", "/derivations/{derivation_id}/submit"): ALL,
    ("POST", "/derivations/{derivation_id}/time"): ALL,
    ("GET", "/projects/{project_id}/breakdown"): STAFF,
    ("GET", "/projects/{project_id}/preannotation"): STAFF,
    ("GET", "/projects/{project_id}/export.csv"): STAFF,
    ("GET", "/projects/{project_id}/agreement"): STAFF,
    ("GET", "/projects/{project_id}/review"): STAFF,
    ("GET", "/derivations/{derivation_id}/review"): STAFF,
    ("POST", "/derivations/{derivation_id}/final/{step_id}/{label}"): STAFF,
    ("POST", "/derivations/{derivation_id}/settle"): STAFF,
    ("GET", "/derivations/{derivation_id}/history"): STAFF,
    ("POST", "/derivations/{derivation_id}/recheck"): STAFF,
    ("POST", "/derivations/{derivation_id}/steps/{step_id}/correction"): STAFF,
    ("GET", "/derivations/{derivation_id}/recheck/{job_id}"): STAFF,
    ("GET", "/import"): ADMIN,
    ("POST", "/import"): ADMIN,
    ("GET", "/projects/{project_id}/runs"): ADMIN,
    ("POST", "/projects/{project_id}/runs"): ADMIN,
    ("GET", "/runs/{run_id}"): ADMIN,
    ("POST", "/runs/{run_id}/retry"): ADMIN,
    ("GET", "/jobs"): ADMIN,
    ("POST", "/jobs/retry"): ADMIN,
    ("GET", "/projects/{project_id}/settings"): ADMIN,
    ("POST", "/projects/{project_id}/settings"): ADMIN,
    ("POST", "/projects/{project_id}/sample"): ADMIN,
    ("POST", "/projects/{project_id}/sample/clear"): ADMIN,
    ("POST", "/projects/{project_id}/taxonomy"): ADMIN,
    ("POST", "/projects/{project_id}/taxonomy/preset"): ADMIN,  # the paper's four again: gold needs them
    ("POST", "/projects/{project_id}/gold"): ADMIN,
    ("POST", "/projects/{project_id}/gold/items"): ADMIN,
    ("GET", "/derivations/{derivation_id}/feedback"): ALL,
    ("GET", "/projects/{project_id}/dashboards"): STAFF,
    ("GET", "/projects/{project_id}/export.jsonl"): STAFF,
    ("GET", "/projects/{project_id}/gold.jsonl"): STAFF,
    ("POST", "/projects/{project_id}/exports"): STAFF,
    ("GET", "/projects/{project_id}/training/{name}"): STAFF,
    ("GET", "/exports/{export_id}"): STAFF,
    ("GET", "/exports/{export_id}/download"): STAFF,
    ("GET", "/users"): ADMIN,
    ("POST", "/users"): ADMIN,
    ("POST", "/users/{user_id}/password"): ADMIN,
    ("POST", "/users/{user_id}/active"): ADMIN,
    ("GET", "/profile"): ALL,
    ("POST", "/profile/tokens"): ALL,
    ("POST", "/profile/tokens/{token_id}/revoke"): ALL,
    # the JSON API: bearer tokens of each role
    ("GET", "/api/v1/me"): ALL,
    ("GET", "/api/v1/projects"): STAFF,
    ("GET", "/api/v1/projects/{project_id}/problems"): STAFF,
    ("GET", "/api/v1/projects/{project_id}/derivations"): STAFF,
    ("GET", "/api/v1/derivations/{derivation_id}"): STAFF,
    ("GET", "/api/v1/projects/{project_id}/annotations"): STAFF,
    ("GET", "/api/v1/projects/{project_id}/stats"): STAFF,
    ("GET", "/api/v1/projects/{project_id}/export"): STAFF,
    ("GET", "/api/v1/projects/{project_id}/training/{name}"): STAFF,
    ("POST", "/api/v1/projects"): ADMIN,
    ("POST", "/api/v1/projects/{project_id}/derivations"): ADMIN,
    ("POST", "/api/v1/projects/{project_id}/predictions"): ADMIN,
    ("GET", "/api/v1/projects/{project_id}/runs"): STAFF,
    ("GET", "/api/v1/runs/{run_id}"): STAFF,
    ("POST", "/api/v1/projects/{project_id}/runs"): ADMIN,
    ("GET", "/api/v1/projects/{project_id}"): STAFF,
    ("PATCH", "/api/v1/projects/{project_id}"): ADMIN,
    ("DELETE", "/api/v1/projects/{project_id}"): ADMIN,  # of a project made to be deleted (DOOMED)
    ("GET", "/projects/{project_id}/data"): STAFF,
    ("POST", "/projects/{project_id}/data/recheck"): STAFF,
    ("GET", "/projects/{project_id}/data/export.jsonl"): STAFF,
    ("GET", "/projects/{project_id}/data/export/{level}.csv"): STAFF,
    ("GET", "/projects/{project_id}/data/training/{name}"): STAFF,
    ("GET", "/projects/{project_id}/problems/{key}"): STAFF,
    ("POST", "/projects/{project_id}/data/sample/{action}"): ADMIN,
    ("POST", "/projects/{project_id}/data/assign"): ADMIN,
    ("POST", "/projects/{project_id}/data/reset"): ADMIN,
    ("POST", "/projects/{project_id}/data/delete"): ADMIN,
    ("POST", "/projects/{project_id}/data/trash/{trash_id}/restore"): ADMIN,
    ("POST", "/projects"): ADMIN,
    ("POST", "/projects/{project_id}/rename"): ADMIN,
    ("POST", "/projects/{project_id}/archive"): ADMIN,
    ("POST", "/projects/{project_id}/delete"): ADMIN,  # of a project made to be deleted (DOOMED)
    ("POST", "/logout"): ALL,  # last: it ends the session
}
# deleting routes act on projects of their own, so the rest of the walk keeps its project
DOOMED = {("DELETE", "/api/v1/projects/{project_id}"): "doomed_api", ("POST", "/projects/{project_id}/delete"): "doomed_page"}

FORMS = {
    "/login": lambda ids: {"username": ids["username"], "password": "correct horse battery", "next": "/"},
    "/derivations/{derivation_id}/judgement": lambda ids: {"goal_reached": "yes", "comment": "ok"},
    "/derivations/{derivation_id}/submit": lambda ids: {"goal_reached": "yes", "comment": "ok"},
    "/derivations/{derivation_id}/time": lambda ids: {"seconds": "3"},
    "/derivations/{derivation_id}/steps/{step_id}/note": lambda ids: {"note": "why?", "unsure": "true"},
    "/derivations/{derivation_id}/settle": lambda ids: {"goal_reached": "no", "comment": "settled"},
    "/derivations/{derivation_id}/steps/{step_id}/correction": lambda ids: {"latex": "x = 1"},
    "/projects/{project_id}/taxonomy": lambda ids: {"order": ["1"], "key": ["incorrect"], "name": ["Incorrect"],
                                                    "help": [""], "rating": ["-1"], "retired": [""]},
    "/projects/{project_id}/taxonomy/preset": lambda ids: {"preset": "paper"},
    "/projects/{project_id}/gold": lambda ids: {"rate": "10", "onboarding": "0"},
    "/projects/{project_id}/gold/items": lambda ids: {"count": "2"},
    "/import": lambda ids: {"project": ids["project_name"]},
    "/projects/{project_id}/runs": lambda ids: {"model": "/models/tiny", "backend": "hf-seq2seq"},
    "/projects/{project_id}/settings": lambda ids: {"overlap": "3", "blind": "on"},
    "/projects/{project_id}/sample": lambda ids: {"per_model": "1", "seed": "1"},
    "/profile/tokens": lambda ids: {"name": "matrix"},
    "/users": lambda ids: {"username": f"new-by-{ids['username']}", "role": "annotator"},
    "/users/{user_id}/active": lambda ids: {"active": "on"},
    "/projects/{project_id}/exports": lambda ids: {"level": "derivation"},
    "/projects": lambda ids: {"name": f"made by {ids['username']}", "preset": "paper"},
    "/projects/{project_id}/rename": lambda ids: {"name": ids["project_name"], "description": "renamed in place"},
    "/projects/{project_id}/archive": lambda ids: {"archived": "false"},
    "/projects/{project_id}/delete": lambda ids: {"confirm": "doomed_page"},
    "/projects/{project_id}/data/assign": lambda ids: {"assignee": "the-annotator", "ids": [ids["derivation_id"]]},
    "/projects/{project_id}/data/reset": lambda ids: {"confirm": "reset", "ids": [ids["derivation_id"]]},
    "/projects/{project_id}/data/delete": lambda ids: {"confirm": "delete", "ids": [ids["spare_id"]]},
}
JSON = {"/api/v1/projects/{project_id}/runs": {"model": "/models/tiny", "perturbations": ["static"]},
        "/api/v1/projects": {"name": "pushed"},
        "/api/v1/projects/{project_id}": {"description": "patched"},
        "/api/v1/projects/{project_id}/derivations": {"derivations": [
            {"problem_id": "api-1", "prompt": "Given a = b, then obtain b = a", "model": "m", "derivation": "b = a"}]},
        "/api/v1/projects/{project_id}/predictions": lambda ids: {"source": "judge", "predictions": [
            {"derivation_id": ids["derivation_id"], "step_index": 1, "label": "incorrect", "verdict": "yes"}]}}
JSONL = (b'{"problem_id": "m1", "prompt": "Given a = b, then obtain b = a", "model": "m", '
         b'"derivation": "a = b and b = a"}\n')


@pytest.fixture
def world(db):
    project = make_project(db, overlap=3)
    d = make_derivation(db, project=project, model="secret")
    for n in range(2):  # two annotators already disagree on it, so a reviewer can settle it
        other = make_user(db, username=f"early{n}")
        early_id = other.id
        assign(db, other, d)
        annotating.submit(db, derivation_id=d.id, user=other, goal_reached=bool(n), comment="")
    users = {role: make_user(db, role=Role(role), username=f"the-{role}") for role in ALL}
    # a reference of three steps: gold items can be made from it
    make_derivation(db, project=project, model="secret", reference=r"f{(x)} = x^{2} and \frac{d}{d x} f{(x)} = "
                    r"\frac{d}{d x} x^{2} and \frac{d}{d x} f{(x)} = 2 x")
    earlier = make_derivation(db, project=project, model="secret")
    for user in users.values():
        assign(db, user, earlier)  # given before d: d has a Previous
        assign(db, user, d)
    run = GenerationRun(project_id=project.id, model_id=d.model_id, backend="hf-seq2seq", model_path="/m",
                        decoding={}, perturbations=["static"], total=1)
    db.add(run)
    db.flush()
    db.add(Job(kind="generate", payload={"run_id": run.id, "problem_ids": [d.problem_id]}, run_id=run.id))
    recheck = Job(kind="check", payload={"derivation_ids": [d.id]})
    db.add(recheck)
    db.flush()
    api = {role: tokens.create(db, user=user, name="api")[1] for role, user in users.items()}
    export = ExportFile(project_id=project.id, level="step", state="ready", size=4, options={})
    db.add(export)
    db.flush()
    db.add(ExportChunk(export_id=export.id, n=0, data=b"a,b\n"))
    db.flush()
    revocable = {role: tokens.create(db, user=user, name="to revoke")[0].id for role, user in users.items()}
    doomed = {name: make_project(db, name=name).id for name in ("doomed_api", "doomed_page")}
    spare = make_derivation(db, project=project, model="secret")  # for the bulk delete
    trashed = make_derivation(db, project=project, model="secret")  # deleted already: for the restore
    trash_id = trash.delete(db, project_id=project.id, derivation_ids=[trashed.id], actor_id=early_id, confirm="delete")
    return {"doomed": doomed, "project_id": project.id, "project_name": project.name, "derivation_id": d.id,
            "step_id": steps_of(db, d)[0].id, "label": "incorrect", "run_id": run.id, "users": users,
            "api": api, "revocable": revocable, "export_id": export.id, "user_id": early_id,
            "job_id": recheck.id, "name": "step-rewards.jsonl", "key": db.get(Problem, d.problem_id).key,
            "action": "remove", "spare_id": spare.id, "trash_id": trash_id, "level": "step"}


def _routes(app) -> set[tuple[str, str]]:
    """Every route of the app (the OpenAPI document holds the JSON API's only), but the API reference page."""
    def walk(routes):
        for r in routes:
            inner = getattr(r, "original_router", None)  # an included router
            yield from walk(inner.routes) if inner is not None else [r]

    return {(method.upper(), r.path) for r in walk(app.routes)
            if getattr(r, "methods", None) and r.path not in ("/api/docs", app.openapi_url) for method in r.methods
            if method != "HEAD"}


def test_every_route_is_classified(app):
    assert _routes(app) == set(ACCESS)


@pytest.mark.parametrize("role", sorted(ALL))
def test_role_matrix(client, world, role):
    ids = {**world, "username": f"the-{role}", "token_id": world["revocable"][role]}
    api = {"Authorization": f"Bearer {world['api'][role]}"}
    token = login(client, ids["username"])
    outcomes = {}
    for (method, template), allowed in ACCESS.items():
        doomed = DOOMED.get((method, template))
        url = template.format(**(ids if doomed is None else {**ids, "project_id": world["doomed"][doomed]}))
        if template.startswith("/api/v1/"):
            if method == "GET":
                response = client.get(url, headers=api)
            elif method == "DELETE":
                response = client.delete(url, params={"confirm": doomed}, headers=api)
            else:
                body = JSON[template](ids) if callable(JSON[template]) else JSON[template]
                response = client.request(method, url, json=body, headers=api)
        elif method == "GET":
            response = client.get(url, headers={"HX-Request": "true"} if "review" in url else {})
        else:
            data = FORMS.get(template, lambda _: {})(ids)
            files = {"file": ("tiny.jsonl", JSONL, "application/json")} if template == "/import" else None
            if template == "/login":
                response = client.post(url, data={**data, "csrf_token": token})
                token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)
            else:
                response = client.post(url + ("?on=true" if "{label}" in template else ""), data=data, files=files,
                                       headers=htmx(token))
        outcomes[(method, template)] = response.status_code
        to_login = response.status_code in (302, 303, 307) and response.headers["location"].startswith("/login") \
            and template != "/logout"
        if role in allowed:  # a redirect to the login page is a refusal, not an answer
            assert response.status_code in (200, 201, 204, 303) and not to_login, (
                role, method, template, response.status_code, response.text[:300])
        else:
            assert response.status_code == 403 or to_login, (role, method, template, response.status_code)
    assert len(outcomes) == len(ACCESS)


def _snapshot(db) -> dict[str, int]:
    from sqlalchemy import text

    tables = ("annotations", "step_labels", "annotation_events", "adjudications", "final_labels", "derivations",
              "projects", "generation_runs", "jobs", "api_tokens", "export_files", "sample_items")
    db.expire_all()
    counts = {t: db.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
    counts["versions"] = db.execute(text("SELECT coalesce(sum(version), 0) FROM annotations")).scalar_one()
    counts["comments"] = db.execute(text("SELECT md5(string_agg(comment, '|' ORDER BY id)) FROM annotations")).scalar_one()
    counts["settings"] = db.execute(text("SELECT md5(string_agg(overlap::text || blind::text, '|')) FROM projects")).scalar_one()
    return counts


@pytest.mark.parametrize("token_kind", ["none", "wrong"])
def test_every_state_change_needs_the_csrf_token(client, db, world, token_kind):
    """Each unsafe route of the web app, as an admin (allowed everything), without the
    session's CSRF token: 403 and nothing changed. (The JSON API takes bearer tokens,
    not cookies, so it is not open to cross-site requests.)"""
    ids = {**world, "username": "the-admin", "token_id": world["revocable"]["admin"]}
    login(client, "the-admin")
    before = _snapshot(db)
    unsafe = [(m, t) for m, t in ACCESS if m == "POST" and not t.startswith("/api/")]
    assert len(unsafe) >= 15
    for method, template in unsafe:
        doomed = DOOMED.get((method, template))
        url = template.format(**(ids if doomed is None else {**ids, "project_id": world["doomed"][doomed]})) \
            + ("?on=true" if "{label}" in template else "")
        data = FORMS.get(template, lambda _: {})(ids)
        files = {"file": ("tiny.jsonl", JSONL, "application/json")} if template == "/import" else None
        headers = {"HX-Request": "true"} if token_kind == "none" else htmx("not-the-token")
        if token_kind == "wrong":
            data = {**data, "csrf_token": "not-the-token"}
        response = client.post(url, data=data, files=files, headers=headers)
        assert response.status_code == 403, (template, response.status_code)
    assert _snapshot(db) == before
    assert client.get("/profile").status_code == 200  # still logged in: logout was refused too


# Routes outside the OpenAPI schema: public by design (the API's reference and schema, the
# static files). Every such route must be listed here, as every schema route is in ACCESS.
PUBLIC = {"/api/docs": "/api/docs", "/api/openapi.json": "/api/openapi.json", "/static": "/static/js/core.js"}


def test_routes_outside_the_schema_are_classified_and_public(app, client, world):
    def paths(routes):
        for route in routes:
            if hasattr(route, "original_router"):  # an included router (FastAPI keeps them unflattened)
                yield from paths(route.original_router.routes)
            else:
                yield getattr(route, "path", None)

    documented = {path for _, path in ACCESS}
    outside = set(paths(app.routes)) - documented - {None}
    assert outside == set(PUBLIC), outside
    for role in (None, *sorted(ALL)):
        if role:
            login(client, f"the-{role}")
        for url in PUBLIC.values():
            response = client.get(url)
            assert response.status_code == 200, (role, url, response.status_code)
