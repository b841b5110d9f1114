"""The database fails in the middle of an import or an export (a full disk, simulated by a
trigger or function raising PostgreSQL's disk_full): the user gets a clear message, and
nothing is half-written — no rows, no half a CSV file presented as a whole one."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.config import Settings
from app.db import make_engine, make_sessionmaker, transaction
from app.main import create_app
from app.models import Role
from app.services.auth import create_user
from app.services.importing import import_file
from tests.helpers import PAPER_FILES, free_port, login

FULL = "could not extend file \"base/1/2\": No space left on device"
TABLES = ("problems", "derivations", "steps", "imports", "jobs", "llm_models", "projects")


@pytest.fixture
def sessions(fresh_database_url):
    engine = make_engine(fresh_database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def _counts(sessions) -> dict[str, int]:
    with transaction(sessions) as s:
        return {t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def _fill_disk_after(sessions, rows: int) -> None:
    """The 'disk' fills after `rows` more steps are written."""
    with transaction(sessions) as s:
        s.execute(text(f"CREATE SEQUENCE disk_seq; CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ "
                       f"BEGIN IF nextval('disk_seq') > {rows} THEN RAISE EXCEPTION '{FULL}' USING ERRCODE = 'disk_full'; "
                       "END IF; RETURN NEW; END $$; CREATE TRIGGER disk_full BEFORE INSERT ON steps FOR EACH ROW "
                       "EXECUTE FUNCTION disk_full()"))


def _free_disk(sessions) -> None:
    with transaction(sessions) as s:
        s.execute(text("DROP TRIGGER disk_full ON steps; DROP FUNCTION disk_full(); DROP SEQUENCE disk_seq"))


def test_an_import_through_the_web_fails_clearly_and_writes_nothing(sessions, fresh_database_url, tmp_path):
    with transaction(sessions) as s:
        create_user(s, username="boss", password="correct horse battery", role=Role.admin)
    before = _counts(sessions)
    _fill_disk_after(sessions, 100)
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path, secret_key="x", _env_file=None)
    data = PAPER_FILES["gpt-4"].read_bytes()
    with TestClient(create_app(settings, sessions), follow_redirects=False) as client:
        token = login(client, "boss")
        response = client.post("/import", data={"project": "study", "csrf_token": token},
                               files={"file": ("gpt4_results.json", data, "application/json")})
        assert response.status_code == 503
        assert "No space left on device" in response.text and "Nothing was saved" in response.text
        assert _counts(sessions) == before

        _free_disk(sessions)  # the same file again, with room: all of it (the failed try left no trace)
        again = client.post("/import", data={"project": "study", "csrf_token": token},
                            files={"file": ("gpt4_results.json", data, "application/json")})
        assert again.status_code in (200, 303)
    assert _counts(sessions)["derivations"] == 50


@pytest.mark.parametrize("rows", [0, 100], ids=["first-step", "mid-file"])
def test_an_import_from_the_cli_fails_clearly_and_writes_nothing(run, sessions, rows):
    """`rows` = 0: the disk fills on the first step, after the file's problems, models and
    derivations were written: an import that committed as it went would leave those."""
    before = _counts(sessions)
    _fill_disk_after(sessions, rows)
    result = run("import", str(PAPER_FILES["gpt-4"]), "--project", "study")
    assert result.exit_code == 1
    assert "out of resources" in result.output and "No space left on device" in result.output
    assert _counts(sessions) == before


def _fail_export_at(sessions, latex: str) -> None:
    """csv_safe() (the spreadsheet-safe exports call it) fails on one cell: the COPY dies
    after earlier rows were sent."""
    with transaction(sessions) as s:
        s.execute(text("UPDATE steps SET latex = :latex WHERE id = (SELECT max(id) FROM steps)"), {"latex": latex})
        s.execute(text(f"CREATE OR REPLACE FUNCTION csv_safe(value text) RETURNS text LANGUAGE plpgsql AS $$ "
                       f"BEGIN IF value = '{latex}' THEN RAISE EXCEPTION '{FULL}' USING ERRCODE = 'disk_full'; END IF; "
                       "RETURN value; END $$"))


def test_a_cli_export_that_fails_leaves_no_file(run, sessions, tmp_path):
    run("import", str(PAPER_FILES["gpt-4"]), "--project", "study")
    _fail_export_at(sessions, "BOOM")
    out = tmp_path / "steps.csv"
    result = run("export", "--project", "study", "--level", "step", "--spreadsheet-safe", "-o", str(out))
    assert result.exit_code == 1 and "export stopped" in result.output and "No space left" in result.output
    assert not out.exists() and not list(tmp_path.glob("steps.csv*"))


def test_a_streamed_web_export_that_fails_is_cut_off_not_ended(sessions, fresh_database_url, tmp_path, monkeypatch):
    """Once a download has started its status cannot change; the server then breaks the
    connection, so a browser or client reports a failed download instead of keeping a
    file that looks complete."""
    from app.repositories import exports as exports_repo

    monkeypatch.setattr(exports_repo, "BLOCK", 256)  # send blocks before the failing row (64 KiB is the whole file)
    with transaction(sessions) as s:
        import_file(s, project_name="study", filename="gpt4.json", data=PAPER_FILES["gpt-4"].read_bytes())
        create_user(s, username="boss", password="correct horse battery", role=Role.admin)
        project_id = s.execute(text("SELECT id FROM projects")).scalar_one()
    _fail_export_at(sessions, "BOOM")
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path, secret_key="x", _env_file=None)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, sessions), host="127.0.0.1", port=port,
                                          log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.time() + 20
        while not server.started and time.time() < deadline:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            login(client, "boss", "correct horse battery")
            received = bytearray()
            with pytest.raises(httpx.RemoteProtocolError):  # noqa: PT012 (the failure comes mid-body)
                url = f"/projects/{project_id}/export.csv?level=step&spreadsheet_safe=1"
                with client.stream("GET", url) as response:
                    assert response.status_code == 200
                    for chunk in response.iter_bytes():
                        received.extend(chunk)
            assert received  # rows had been sent: the break comes mid-file
            assert b"BOOM" not in received
    finally:
        server.should_exit = True
        thread.join(10)
