"""PostgreSQL restarted, then stopped and started, under a running app (an embedded
server of its own, so the shared one is left alone): the next save after the restart
works (the pool pings before reuse), and while the database is down the user gets a clear
503 to retry, not a 500; nothing is half-saved."""

from __future__ import annotations

import warnings

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from app.config import Settings
from app.db import make_engine, make_sessionmaker, sqlalchemy_url, transaction, upgrade
from app.main import create_app
from app.models import StepLabel
from tests.helpers import htmx, login
from tests.factories import assign, make_derivation, make_project, make_user, steps_of


@pytest.fixture
def embedded(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
        from pgserver import pg_ctl

    server = pgserver.get_server(tmp_path / "pg", cleanup_mode="stop")

    def ctl(*args):
        if args[0] == "start":  # as pgserver starts it (its socket directory and log)
            server.ensure_postgres_running()
        else:
            pg_ctl(["-w", *args], pgdata=server.pgdata, user=server.system_user, timeout=60)

    yield sqlalchemy_url(server.get_uri()), ctl
    server.cleanup()


def test_the_app_reconnects_after_a_restart_and_says_503_while_down(embedded, tmp_path):
    url, ctl = embedded
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as s:
        user = make_user(s, username="ann")
        derivation = make_derivation(s, project=make_project(s))
        assign(s, user, derivation)
        d, steps = derivation.id, [step.id for step in steps_of(s, derivation)]
    settings = Settings(database_url=url, data_dir=tmp_path, secret_key="restart", _env_file=None)

    def label(client, token, step):
        return client.post(f"/derivations/{d}/steps/{step}/labels/incorrect?on=true", headers=htmx(token))

    with TestClient(create_app(settings, sessions), follow_redirects=False) as client:
        token = login(client, "ann")
        assert label(client, token, steps[0]).status_code == 200

        ctl("restart", "-m", "fast")  # every pooled connection is now dead
        assert label(client, token, steps[1]).status_code == 200

        ctl("stop", "-m", "fast")
        down = label(client, token, steps[2])
        assert down.status_code == 503 and down.headers["Retry-After"] == "5"
        assert "cannot be reached" in down.text and "Traceback" not in down.text
        page = client.get(f"/derivations/{d}")
        assert page.status_code == 503 and "try again in a moment" in page.text

        ctl("start")
        assert label(client, token, steps[2]).status_code == 200
    with transaction(sessions) as s:
        stored = set(s.scalars(select(StepLabel.step_id)))
        assert stored == set(steps[:3])
        assert s.execute(text("SELECT count(*) FROM annotation_events")).scalar_one() == 3
    engine.dispose()
