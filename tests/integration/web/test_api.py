"""The JSON API with bearer tokens: made on the profile page, shown once, revocable;
the same numbers as the dashboards; streamed exports that pandas reads with the right types."""

from __future__ import annotations

import io
import json
import math
import re

import pandas as pd
import pytest
from sqlalchemy import func, select

from app.models import ApiToken, Derivation, Role
from app.services import annotating, tokens
from app.services.importing import import_file
from tests.helpers import PAPER_FILES, htmx, login
from tests.factories import assign, make_user, score_all, steps_of


@pytest.fixture
def paper(db):
    for key in ("gpt-4", "flan-t5-large"):
        path = PAPER_FILES[key]
        import_file(db, project_name="paper", filename=path.name, data=path.read_bytes())
    score_all(db)
    admin = make_user(db, role=Role.admin, username="boss")
    ann = make_user(db, username="ann")
    for n, d in enumerate(db.scalars(select(Derivation).order_by(Derivation.id)).all()[:30]):
        assign(db, ann, d)
        if n % 2:
            first = steps_of(db, d)[0]
            annotating.set_step_label(db, derivation_id=d.id, step_id=first.id, label="incorrect", on=True, user=ann)
        annotating.submit(db, derivation_id=d.id, user=ann, goal_reached=bool(n % 3), comment="")
    db.flush()
    project_id = db.scalar(select(Derivation.project_id).limit(1))
    return {"project_id": project_id, "admin": admin, "ann": ann}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_from_the_profile_page_opens_the_api_and_revoking_closes_it(client, db, paper):
    csrf = login(client, "boss")
    page = client.post("/profile/tokens", data={"name": "notebook"}, headers=htmx(csrf))
    assert page.status_code == 200 and "<html" not in page.text
    token = re.search(r'<code id="new-token">([^<]+)</code>', page.text).group(1)
    stored = db.scalar(select(ApiToken).where(ApiToken.name == "notebook"))
    assert stored.token_hash == tokens.digest(token) and token not in stored.token_hash  # only the hash is kept
    client.post("/logout", data={"csrf_token": csrf})
    client.cookies.clear()
    assert client.get("/api/v1/me", headers=bearer(token)).json() == {"id": paper["admin"].id, "username": "boss",
                                                                     "role": "admin"}
    assert client.get("/profile").status_code in (303, 401)  # the token is not a session
    missing = client.get("/api/v1/projects")
    assert missing.status_code == 401 and "Bearer" in missing.json()["error"]
    assert client.get("/api/v1/projects", headers=bearer("dl_wrong")).status_code == 401
    csrf = login(client, "boss")
    client.post(f"/profile/tokens/{stored.id}/revoke", headers=htmx(csrf))
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_annotators_tokens_reach_only_me(client, db, paper):
    _, token = tokens.create(db, user=paper["ann"], name="t")
    assert client.get("/api/v1/me", headers=bearer(token)).json()["role"] == "annotator"
    for url in ("/api/v1/projects", f"/api/v1/projects/{paper['project_id']}/stats",
                f"/api/v1/projects/{paper['project_id']}/export"):
        assert client.get(url, headers=bearer(token)).status_code == 403


def test_api_reads_and_stats_match_the_dashboards(client, db, paper):
    _, token = tokens.create(db, user=paper["admin"], name="t")
    h = bearer(token)
    pid = paper["project_id"]
    projects = client.get("/api/v1/projects", headers=h).json()
    assert [p["name"] for p in projects] == ["paper"] and projects[0]["labels"][0] == "incorrect"
    problems = client.get(f"/api/v1/projects/{pid}/problems?perturbation=EE&limit=3", headers=h).json()
    assert len(problems) == 3 and {p["perturbation"] for p in problems} == {"EE"}
    derivations = client.get(f"/api/v1/projects/{pid}/derivations?model=gpt-4&limit=100", headers=h).json()
    assert len(derivations) == 50 and all(d["model"] == "gpt-4" and d["steps"] for d in derivations)
    one = client.get(f"/api/v1/derivations/{derivations[0]['id']}", headers=h).json()
    assert [s["index"] for s in one["steps"]] == list(range(1, len(one["steps"]) + 1))
    assert client.get("/api/v1/derivations/999999", headers=h).status_code == 404
    annotations = client.get(f"/api/v1/projects/{pid}/annotations?limit=100", headers=h).json()
    assert len(annotations) == 30 and sum(bool(a["labels"]) for a in annotations) == 15

    # /stats against values worked out here from the fixture, not from the code the endpoint calls:
    # ann judged gpt-4's first 30 derivations, "incorrect" on the first step of every other one,
    # goal reached on the 20 whose n % 3 != 0
    stats = client.get(f"/api/v1/projects/{pid}/stats", headers=h).json()
    judged = sum(len(steps_of(db, d)) for d in db.scalars(select(Derivation).order_by(Derivation.id)).all()[:30])
    gpt4 = next(m for m in stats["models"] if m["model"] == "gpt-4")
    assert gpt4["judged_steps"] == judged
    assert gpt4["step_rates"]["incorrect"]["value"] == pytest.approx(15 / judged)
    z, n, p = 1.959963984540054, 30, 20 / 30  # Wilson's interval for 20 of 30
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert gpt4["goal_reached"]["value"] == pytest.approx(p)
    assert gpt4["goal_reached"]["low"] == pytest.approx((centre - half) / (1 + z * z / n))
    assert gpt4["goal_reached"]["high"] == pytest.approx((centre + half) / (1 + z * z / n))
    assert all(m["judged_steps"] == 0 for m in stats["models"] if m["model"] != "gpt-4")
    assert client.get(f"/api/v1/projects/{pid}/stats?since=nope", headers=h).status_code == 422
    assert "/api/v1/projects/{project_id}/stats" in client.get("/api/openapi.json").json()["paths"]


def test_runs_through_the_api(client, db, paper):
    _, token = tokens.create(db, user=paper["admin"], name="t")
    h = bearer(token)
    created = client.post(f"/api/v1/projects/{paper['project_id']}/runs", headers=h,
                          json={"model": "/models/tiny", "perturbations": ["static"], "batch_size": 4})
    assert created.status_code == 201, created.text
    run = created.json()
    assert (run["state"], run["done"], run["total"], run["jobs"]["queued"]) == ("queued", 0, 10, 1)
    assert client.get(f"/api/v1/runs/{run['id']}", headers=h).json()["id"] == run["id"]
    bad = client.post(f"/api/v1/projects/{paper['project_id']}/runs", headers=h, json={"model": "m", "backend": "x"})
    assert bad.status_code == 422 and "unknown backend" in bad.json()["error"]


def test_exports_read_by_pandas_with_the_right_types(client, db, paper):
    _, token = tokens.create(db, user=paper["admin"], name="t")
    h = bearer(token)
    pid = paper["project_id"]
    steps = pd.read_csv(io.StringIO(client.get(f"/api/v1/projects/{pid}/export?level=step", headers=h).text))
    assert steps["derivation_id"].dtype == "int64" and steps["step_index"].dtype == "int64"
    assert pd.api.types.is_string_dtype(steps["latex"]) and pd.api.types.is_string_dtype(steps["model"])
    for label in ("incorrect", "irrelevant", "redundant", "skipped"):
        assert steps[label].dtype == "int64"  # 0/1, and 0 with annotated = 0 where nobody submitted
    assert pd.to_datetime(steps["submitted_at"].dropna(), utc=True, format="ISO8601").notna().all()
    assert steps.loc[steps["annotator"] == "ann", "incorrect"].sum() == 15
    level = pd.read_csv(io.StringIO(client.get(f"/api/v1/projects/{pid}/export?level=derivation", headers=h).text))
    for name in ("rouge2", "bleu", "gleu"):
        assert level[name].dtype == "float64"
    assert level["steps"].dtype == "int64" and len(level) == 100

    lines = client.get(f"/api/v1/projects/{pid}/export?level=jsonl&perturbation=static", headers=h).text.splitlines()
    records = [json.loads(line) for line in lines]
    kinds = {}
    for r in records:
        kinds[r["type"]] = kinds.get(r["type"], 0) + 1
    assert kinds["problem"] == 10 and kinds["derivation"] == 20  # static only: 10 problems x 2 models
    d = next(r for r in records if r["type"] == "derivation")
    assert d["steps"] and {"index", "latex"} <= set(d["steps"][0])
    # against the database, counted here: ann's 30 annotations, those on static problems
    from app.models import Annotation, Problem
    static_annotations = db.scalar(select(func.count()).select_from(Annotation)
                                   .join(Derivation, Derivation.id == Annotation.derivation_id)
                                   .join(Problem, Problem.id == Derivation.problem_id)
                                   .where(Problem.perturbation == "static"))
    assert 0 < static_annotations < 30 and kinds["annotation"] == static_annotations
    assert kinds["event"] > static_annotations  # a submit each, and the labels


def test_the_openapi_document_is_the_api_alone_with_its_bearer_scheme(client):
    """Issue 24, items 3 and 13: /api/docs listed the HTML routes before /api/v1."""
    schema = client.get("/api/openapi.json").json()
    assert schema["paths"] and all(path.startswith("/api/v1/") for path in schema["paths"])
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "An API token (dl_…) from your profile page"}
    assert schema["security"] == [{"bearer": []}]


def test_lists_page_with_a_total_and_link_headers(client, db, paper):
    """Issue 24, item 13: a list says how many rows match and links its pages (RFC 8288)."""
    _, token = tokens.create(db, user=paper["admin"], name="t")
    h = bearer(token)
    pid = paper["project_id"]
    expected = db.scalars(select(Derivation.id).where(Derivation.project_id == pid).order_by(Derivation.id)).all()
    first = client.get(f"/api/v1/projects/{pid}/derivations?limit=30", headers=h)
    assert first.headers["X-Total-Count"] == str(len(expected)) == "100"
    assert set(first.links) == {"first", "next", "last"}  # no prev on the first page
    assert "offset=90" in first.links["last"]["url"] and "offset=30" in first.links["next"]["url"]
    seen, response = [], first
    while True:  # follow next to the end, as a client would
        seen += [d["id"] for d in response.json()]
        if "next" not in response.links:
            break
        response = client.get(response.links["next"]["url"], headers=h)
    assert seen == expected
    assert set(response.links) == {"first", "prev", "last"} and "offset=60" in response.links["prev"]["url"]
    # the filter is kept in every link, and the total counts what it matches
    ee = client.get(f"/api/v1/projects/{pid}/derivations?perturbation=EE&limit=7", headers=h)
    assert ee.headers["X-Total-Count"] == "20" and "perturbation=EE" in ee.links["next"]["url"]
    assert client.get(f"/api/v1/projects/{pid}/annotations?limit=1", headers=h).headers["X-Total-Count"] == "30"
    assert client.get(f"/api/v1/projects/{pid}/problems", headers=h).headers["X-Total-Count"] == "50"
    listed = client.get("/api/v1/projects", headers=h)
    assert listed.headers["X-Total-Count"] == "1" and listed.json()[0]["derivations"] == 100
    assert client.get(f"/api/v1/projects/{pid}/runs", headers=h).headers["X-Total-Count"] == "0"


def test_unknown_routes_answer_in_the_api_shape(client, db, paper):
    _, token = tokens.create(db, user=paper["admin"], name="t")
    h = bearer(token)
    missing = client.get("/api/v1/nowhere", headers=h)
    assert missing.status_code == 404
    assert missing.json() == {"error": "There is no GET /api/v1/nowhere here.",
                              "details": ["the API's routes are listed at /api/openapi.json"]}
    wrong = client.put("/api/v1/me", headers=h)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET"
    assert wrong.json() == {"error": "/api/v1/me does not answer PUT.", "details": ["allowed: GET"]}
    page = client.get("/nowhere", headers={"Accept": "text/html"})  # a browser still gets a page
    assert page.status_code == 404 and "<html" in page.text and "There is no GET /nowhere here." in page.text


def test_stats_score_pushed_sources_beside_sympy(client, db, paper):
    """A judge's verdicts pushed through the API are scored against the same human labels as SymPy's."""
    from app.schemas.api import PredictionsIn
    from app.services import pushing

    _, token = tokens.create(db, user=paper["admin"], name="t")
    pid = paper["project_id"]
    judged = db.scalars(select(Derivation).order_by(Derivation.id)).all()[:30]
    # the judge says "incorrect" on the first step of the first 10 derivations, "no" on the next 10;
    # ann marked it on every other one (n odd): counted here, by hand
    predictions = [{"derivation_id": d.id, "step_index": 1, "label": "incorrect", "verdict": "yes" if n < 10 else "no"}
                   for n, d in enumerate(judged[:20])]
    pushing.push_predictions(db, project_id=pid, body=PredictionsIn(source="judge", predictions=predictions))
    db.flush()
    tp = sum(1 for n in range(10) if n % 2)
    fp = 10 - tp
    fn = sum(1 for n in range(10, 20) if n % 2)
    stats = client.get(f"/api/v1/projects/{pid}/stats", headers=bearer(token)).json()
    [row] = [r for r in stats["sources"] if r["source"] == "judge" and r["label"] == "incorrect"]
    assert (row["tp"], row["fp"], row["fn"], row["tn"]) == (tp, fp, fn, 10 - fn)
    assert row["precision"]["value"] == pytest.approx(tp / (tp + fp))
    assert row["recall"]["value"] == pytest.approx(tp / (tp + fn))


def test_a_tokens_last_use_is_kept_to_the_minute_without_a_write_per_call(client, db):
    from datetime import timedelta

    user = make_user(db, role=Role.admin, username="keeper")
    row, secret = tokens.create(db, user=user, name="t")
    h = {"Authorization": f"Bearer {secret}"}
    assert row.last_used_at is None
    assert client.get("/api/v1/me", headers=h).status_code == 200
    db.expire_all()
    first = db.get(ApiToken, row.id).last_used_at
    assert first is not None
    assert client.get("/api/v1/me", headers=h).status_code == 200  # within the minute: not written again
    db.expire_all()
    assert db.get(ApiToken, row.id).last_used_at == first
    db.get(ApiToken, row.id).last_used_at = first - timedelta(minutes=2)
    db.flush()
    assert client.get("/api/v1/me", headers=h).status_code == 200
    db.expire_all()
    assert db.get(ApiToken, row.id).last_used_at > first
    db.get(ApiToken, row.id).revoked_at = first
    db.flush()
    assert client.get("/api/v1/me", headers=h).status_code == 401
