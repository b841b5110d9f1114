"""Login, logout, CSRF and who may see what."""

from app.models import Role
from tests.conftest import csrf_of, htmx, login
from tests.factories import assign, make_derivation, make_project, make_user, steps_of


def test_every_page_but_login_requires_a_user(client, db):
    project = make_project(db)
    derivation = make_derivation(db, project=project)
    for path in ["/", f"/projects/{project.id}", f"/projects/{project.id}/next", f"/derivations/{derivation.id}",
                 f"/projects/{project.id}/breakdown", f"/projects/{project.id}/export.csv", "/import"]:
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=" + path.replace("?", "%3F")[:5])
    assert client.get("/login").status_code == 200


def test_htmx_request_without_login_is_sent_to_login(client, db):
    response = client.get("/", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


def test_login_with_wrong_password_says_so(client, db):
    make_user(db, username="ann")
    token = csrf_of(client)
    response = client.post("/login", data={"username": "ann", "password": "nope", "csrf_token": token})
    assert response.status_code == 401 and "Unknown user or wrong password" in response.text
    assert client.get("/").status_code == 303


def test_login_then_logout(client, db):
    make_user(db, username="ann")
    token = login(client, "ann")
    assert "ann" in client.get("/").text
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get("/").status_code == 303


def test_login_only_redirects_to_local_paths(client, db):
    make_user(db, username="ann")
    token = csrf_of(client)
    response = client.post("/login", data={"username": "ann", "password": "correct horse battery",
                                           "csrf_token": token, "next": "//evil.example/"})
    assert response.headers["location"] == "/"


def test_session_cookie_is_httponly_and_samesite(client, db):
    make_user(db, username="ann")
    token = csrf_of(client)
    response = client.post("/login", data={"username": "ann", "password": "correct horse battery", "csrf_token": token})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_state_changes_need_the_csrf_token(client, db):
    user = make_user(db, username="ann")
    derivation = make_derivation(db, project=make_project(db))
    assign(db, user, derivation)
    step_id = steps_of(db, derivation)[0].id
    token = login(client, user.username)
    url = f"/derivations/{derivation.id}/steps/{step_id}/labels/incorrect?on=true"
    assert client.post(url, headers={"HX-Request": "true"}).status_code == 403
    assert client.post(url, headers=htmx("wrong-token")).status_code == 403
    assert client.post(url, headers=htmx(token)).status_code == 200
    # the login form itself is protected too
    assert client.post("/login", data={"username": "ann", "password": "x"}).status_code == 403


def test_annotators_cannot_import_or_export(client, db):
    project = make_project(db)
    make_user(db, username="ann", role=Role.annotator)
    token = login(client, "ann")
    assert client.get(f"/projects/{project.id}/export.csv").status_code == 403
    assert client.get("/import").status_code == 403
    files = {"file": ("x.jsonl", b"{}", "application/json")}
    assert client.post("/import", data={"project": "p", "csrf_token": token}, files=files).status_code == 403
    assert "Export" not in client.get(f"/projects/{project.id}").text


def _try(client, username, password):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(client)})


def test_failed_logins_are_limited_per_account(client, db):
    make_user(db, username="ann")
    make_user(db, username="bob")
    for _ in range(10):
        assert _try(client, "ann", "wrong password").status_code == 401
    refused = _try(client, "ANN", "correct horse battery")  # even the right password, any case
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many failed logins" in refused.text and "try again in 15 minutes" in refused.text
    assert _try(client, "bob", "correct horse battery").status_code == 303  # other accounts are not locked


def test_failed_logins_are_limited_per_address_and_a_success_resets_the_account(settings, sessions, db):
    from fastapi.testclient import TestClient

    from app.main import create_app

    make_user(db, username="ann")
    app = create_app(settings.model_copy(update={"login_limit": "3/minute", "login_limit_per_address": "5/minute"}),
                     sessions)
    with TestClient(app, follow_redirects=False) as client:
        for _ in range(2):
            assert _try(client, "ann", "wrong password").status_code == 401
        assert _try(client, "ann", "correct horse battery").status_code == 303  # resets ann's count
        for _ in range(2):
            assert _try(client, "ann", "wrong password").status_code == 401
        for name in ("x1", "x2", "x3"):  # unknown names count against the address
            assert _try(client, name, "guess").status_code in (401, 429)
        assert _try(client, "someone-else", "guess").status_code == 429
