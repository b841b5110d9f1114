"""Login, logout, CSRF and who may see what."""

import html

from sqlalchemy import select

from app.models import Role, User
from tests.helpers import csrf_of, htmx, login
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


def test_failed_logins_are_limited_per_account_but_cannot_lock_the_owner_out(client, app, db):
    from fastapi.testclient import TestClient

    make_user(db, username="ann")
    make_user(db, username="bob")
    with TestClient(app, follow_redirects=False) as owners_browser:
        login(owners_browser, "ann")  # ann has used this browser before
        owners_browser.post("/logout", data={"csrf_token": csrf_of(owners_browser)})
        for _ in range(10):  # someone elsewhere fails on purpose
            assert _try(client, "ann", "wrong password").status_code == 401
        refused = _try(client, "ANN", "correct horse battery")  # elsewhere even the right password waits, any case
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert "Too many failed logins" in refused.text and "try again in 15 minutes" in refused.text
        assert _try(owners_browser, "ann", "correct horse battery").status_code == 303  # the owner gets in
        owners_browser.post("/logout", data={"csrf_token": csrf_of(owners_browser)})
        for _ in range(10):  # that browser has a limit of its own: no endless guessing there either
            assert _try(owners_browser, "ann", "wrong password").status_code == 401
        assert _try(owners_browser, "ann", "correct horse battery").status_code == 429
    assert _try(client, "bob", "correct horse battery").status_code == 303  # other accounts are not locked


def test_a_forged_known_browser_cookie_does_not_pass_the_limit(client, db):
    from app.web.login_throttle import KNOWN_COOKIE, KnownBrowsers

    ann = make_user(db, username="ann")
    for _ in range(10):
        _try(client, "ann", "wrong password")
    client.cookies.set(KNOWN_COOKIE, KnownBrowsers("another secret").add(None, ann.id))
    assert _try(client, "ann", "correct horse battery").status_code == 429


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


def _session_cookie(client) -> str:
    return client.cookies.get("derivlab_session")


def test_logout_ends_the_session_even_for_a_kept_copy_of_the_cookie(client, app, db):
    from fastapi.testclient import TestClient

    make_user(db, username="ann")
    token = login(client, "ann")
    stolen = _session_cookie(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    with TestClient(app, follow_redirects=False) as thief:
        thief.cookies.set("derivlab_session", stolen)
        assert thief.get("/").status_code == 303  # sent to the login page
        minted = thief.post("/profile/tokens", data={"name": "permanent"}, headers=htmx(token))
        assert minted.status_code in (401, 403) and "dl_" not in minted.text
    login(client, "ann")  # and ann logs in again as usual
    assert client.get("/").status_code == 200


def test_a_password_change_ends_every_session(client, db, run, fresh_database_url):
    """`derivlab user passwd` (here against its own database, as an operator would run it)."""
    from sqlalchemy import create_engine, text

    assert run("user", "add", "ann", "--role", "admin", "--password-stdin", input="first password\n").exit_code == 0
    result = run("user", "passwd", "ann", "--password-stdin", input="second password\n")
    assert result.exit_code == 0 and "sessions have ended and they had no API tokens" in result.output
    engine = create_engine(fresh_database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT session_generation FROM users WHERE username = 'ann'")).scalar_one() == 1
    engine.dispose()
    short = run("user", "passwd", "ann", "--password-stdin", input="short\n")
    assert short.exit_code != 0 and "at least 8 characters" in short.output
    missing = run("user", "passwd", "nobody", "--password-stdin", input="long enough pw\n")
    assert missing.exit_code != 0 and "no user 'nobody'" in missing.output


def test_an_admin_adds_users_resets_passwords_and_deactivates_accounts(client, app, db):
    import re

    from fastapi.testclient import TestClient

    from app.services import tokens

    admin = make_user(db, username="boss", role=Role.admin)
    token = login(client, "boss")
    added = client.post("/users", data={"username": "newbie", "role": "reviewer"}, headers=htmx(token))
    assert added.status_code == 200 and "Added reviewer 'newbie'" in html.unescape(added.text)
    first = re.search(r'id="new-password">([^<]+)<', added.text).group(1)
    with TestClient(app, follow_redirects=False) as newbie:
        nb_csrf = login(newbie, "newbie", first)
        newbie_id = db.scalar(select(User.id).where(User.username == "newbie"))
        # a token minted with the session (a stolen one, say) must not outlive the reset
        minted = newbie.post("/profile/tokens", data={"name": "laptop"}, headers=htmx(nb_csrf))
        stolen = re.search(r"(dl_[A-Za-z0-9_\-]+)", minted.text).group(1)
        assert newbie.get("/api/v1/me", headers={"Authorization": f"Bearer {stolen}"}).status_code == 200
        reset = client.post(f"/users/{newbie_id}/password", headers=htmx(token))
        second = re.search(r'id="new-password">([^<]+)<', reset.text).group(1)
        assert second != first and "their sessions have ended and their 1 API token revoked" in reset.text
        assert "revokes their API tokens" in reset.text  # the page says so before anyone presses it
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {stolen}"}).status_code == 401
        assert newbie.get("/").status_code == 303  # logged out by the reset
        assert _try(newbie, "newbie", first).status_code == 401
        login(newbie, "newbie", second)
        api_token = tokens.create(db, user=db.get(User, newbie_id), name="nb")[1]
        assert newbie.get("/api/v1/me", headers={"Authorization": f"Bearer {api_token}"}).status_code == 200
        off = client.post(f"/users/{newbie_id}/active", data={}, headers=htmx(token))
        assert off.status_code == 200 and "deactivated" in off.text
        assert newbie.get("/").status_code == 303
        assert newbie.get("/api/v1/me", headers={"Authorization": f"Bearer {api_token}"}).status_code == 401
        assert _try(newbie, "newbie", second).status_code == 401
        on = client.post(f"/users/{newbie_id}/active", data={"active": "on"}, headers=htmx(token))
        assert "reactivated" in on.text
        login(newbie, "newbie", second)
    own = client.post(f"/users/{admin.id}/active", data={}, headers=htmx(token))
    assert own.status_code == 422 and "cannot deactivate your own account" in own.text
    db.expire_all()
    assert db.get(User, admin.id).active


def test_api_tokens_may_expire(client, db):
    from datetime import datetime, timedelta, timezone

    from app.services import tokens

    user = make_user(db, username="ann")
    row, secret = tokens.create(db, user=user, name="short", days=1)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    row.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    db.flush()
    expired = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert expired.status_code == 401
    token = login(client, "ann")
    made = client.post("/profile/tokens", data={"name": "week", "days": "7"}, headers=htmx(token))
    assert made.status_code == 200 and "dl_" in made.text
    bad = client.post("/profile/tokens", data={"name": "x", "days": "-inf"}, headers=htmx(token))
    assert bad.status_code == 422 and "whole number of days" in bad.text


def _serve(app):
    import threading
    import time

    import uvicorn

    from tests.helpers import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           **app.state.settings.uvicorn_options()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def _failures_until_refused(base: str, forwarded: bool) -> int:
    import httpx

    with httpx.Client(base_url=base, timeout=10) as client:
        for n in range(1, 8):
            headers = {"X-Forwarded-For": f"203.0.113.{n}"} if forwarded else {}
            token = csrf_of(client)
            status = client.post("/login", data={"username": f"nobody{n}", "password": "guess", "csrf_token": token},
                                 headers=headers).status_code
            if status == 429:
                return n
    return 0


def test_x_forwarded_for_is_believed_only_from_configured_proxies(settings, sessions, db):
    """Per-address limit 3: a client on the machine that sends a new X-Forwarded-For each
    time is still one address, unless the operator said a proxy sits in front."""
    from app.main import create_app

    for trusted, expected in (("", 4), ("127.0.0.1", 0)):
        app = create_app(settings.model_copy(update={"login_limit_per_address": "3/minute",
                                                     "trusted_proxies": trusted}), sessions)
        server, thread, base = _serve(app)
        try:
            assert _failures_until_refused(base, forwarded=True) == expected, trusted
        finally:
            server.should_exit = True
            thread.join(10)


def _raw_post(base: str, path: str, headers: dict[str, str], body: bytes = b"") -> str:
    """Send the request line and headers (and maybe part of a body), then read the answer:
    the server must answer without waiting for the rest of the declared body."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(base)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: {url.hostname}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode() + body)
        answer = b""
        while chunk := sock.recv(65536):  # the server closes the connection after its answer
            answer += chunk
    return answer.decode("latin-1")


def test_bodies_over_the_limit_and_anonymous_uploads_are_refused_unread(settings, sessions, db):
    from app.main import create_app

    app = create_app(settings.model_copy(update={"max_body_kb": 64, "import_max_mb": 1}), sessions)
    server, thread, base = _serve(app)
    try:
        # 300 MB declared to the login form: refused at once (nothing is read, no temp file)
        huge = _raw_post(base, "/login", {"Content-Type": "multipart/form-data; boundary=x",
                                          "Content-Length": str(300 * 2**20)})
        assert huge.startswith("HTTP/1.1 413") and "nothing was read or saved" in huge
        # an anonymous upload to the import page, within the limit: sent to log in before its body is parsed
        anonymous = _raw_post(base, "/import", {"Content-Type": "multipart/form-data; boundary=x",
                                                "Content-Length": str(2**20)}, b"--x\r\n")
        assert anonymous.startswith("HTTP/1.1 303") and "location: /login" in anonymous.lower()
        # chunked bodies are counted as they come
        import httpx

        def chunks():
            for _ in range(100):
                yield b"a" * 1024

        with httpx.Client(base_url=base, timeout=10) as client:
            streamed = client.post("/login", content=chunks(),
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert streamed.status_code == 413
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_nul_character_anywhere_is_refused_with_the_field_named(client, db):
    from app.services import tokens

    user = make_user(db, username="ann", role=Role.admin)
    derivation = make_derivation(db, project=make_project(db))
    assign(db, user, derivation)
    token = login(client, "ann")
    comment = client.post(f"/derivations/{derivation.id}/judgement", data={"comment": "a\x00b"}, headers=htmx(token))
    assert comment.status_code == 422 and "form field 'comment'" in html.unescape(comment.text)
    named = client.post("/profile/tokens", data={"name": "t\x00"}, headers=htmx(token))
    assert named.status_code == 422 and "form field 'name'" in html.unescape(named.text)
    added = client.post("/users", data={"username": "x\x00y"}, headers=htmx(token))
    assert added.status_code == 422 and "form field 'username'" in html.unescape(added.text)
    secret = tokens.create(db, user=user, name="api")[1]
    query = client.get("/api/v1/projects", params={"q": "a\x00"}, headers={"Authorization": f"Bearer {secret}"})
    assert query.status_code == 422 and "query parameter 'q'" in query.json()["error"]
    login_form = client.post("/login", data={"username": "ann\x00", "password": "x", "csrf_token": csrf_of(client)})
    assert login_form.status_code == 422
    db.expire_all()
    assert [t.name for t in tokens.list_for(db, user=user)] == ["api"]
