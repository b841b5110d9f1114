"""Tests run against a real PostgreSQL: DATABASE_URL's server when set (CI), else
an embedded one (pgserver) under var/test-pg. Each test session gets its own
database, built by running the Alembic migrations; each test runs in a
transaction that is rolled back."""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.config import ROOT, Settings
from app.db import sqlalchemy_url, upgrade

SHARED_DATA = ROOT.parent / "shared" / "data"
PAPER_FILES = {
    "gpt-4": SHARED_DATA / "paper_sample_gpt-4.json",
    "gpt-3.5-turbo": SHARED_DATA / "paper_sample_chatgpt.json",
    "flan-t5-large": SHARED_DATA / "paper_sample_flan-t5-large.json",
}
PASSWORD = "correct horse battery"


def _server_url() -> str:
    raw = os.environ.get("DATABASE_URL")
    if raw:
        return sqlalchemy_url(raw)
    import pgserver

    data = ROOT / "var" / "test-pg"
    data.mkdir(parents=True, exist_ok=True)
    return sqlalchemy_url(pgserver.get_server(data, cleanup_mode="stop").get_uri())


SERVER_URL = _server_url()


def create_database(prefix: str) -> str:
    """A new, migrated database on the test server; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return url


def drop_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = create_database("derivlab_test")
    yield url
    drop_database(url)


@pytest.fixture
def fresh_database_url() -> Iterator[str]:
    """A database of its own, for code that commits (CLI, a served app)."""
    url = create_database("derivlab_fresh")
    yield url
    drop_database(url)


@pytest.fixture
def committed(fresh_database_url):
    """A sessionmaker on a database of its own whose commits are real: for code that
    works across transactions and connections (the job queue, workers)."""
    from app.db import make_engine, make_sessionmaker

    engine = make_engine(fresh_database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny T5 built from nothing downloaded, trained a few steps (it then writes
    equation-like text with " and " between steps)."""
    from app.worker.tiny import build_tiny

    out = tmp_path_factory.mktemp("tiny-t5")
    build_tiny(out, max_steps=30, seed=0, problems=40)
    return out


@pytest.fixture
def run(fresh_database_url, monkeypatch, tmp_path):
    """`derivlab ARGS...` in-process, against a database of its own."""
    from typer.testing import CliRunner

    from app.cli import cli
    from app.config import get_settings

    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    yield invoke
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine):
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def sessions(connection) -> sessionmaker[Session]:
    # Commits inside the code under test release savepoints; the test's outer
    # transaction is rolled back at the end.
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False,
                        autoflush=False)


@pytest.fixture
def db(sessions) -> Iterator[Session]:
    session = sessions()
    yield session
    session.close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, secret_key="test-secret", _env_file=None)


@pytest.fixture
def app(settings, sessions):
    from app.main import create_app

    return create_app(settings, sessions)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_of(client: TestClient) -> str:
    page = client.get("/login")
    return _META_CSRF.search(page.text).group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the CSRF token for later requests."""
    token = csrf_of(client)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": "/"})
    assert response.status_code == 303, response.text
    return _META_CSRF.search(client.get("/").text).group(1)


def htmx(token: str, **extra: str) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": token, **extra}


def pytest_collection_modifyitems(config, items):
    # Real-browser tests need Debian's chromium; say so instead of failing obscurely
    # (CI sets DERIVLAB_REQUIRE_BROWSER so a missing browser fails there).
    if not Path("/usr/bin/chromium").exists() and not os.environ.get("DERIVLAB_REQUIRE_BROWSER"):
        skip = pytest.mark.skip(reason="/usr/bin/chromium is not installed (apt-get install chromium)")
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(skip)


def derivation_in(url: str, secret: str = "test-secret") -> int:
    """The derivation id an annotator's address stands for (/derivations/<reference>/...): the
    app shows annotators opaque references (app.web.refs), made with the app's secret."""
    from app.web.refs import Refs

    ref = re.search(r"/derivations/([^/?#]+)", url).group(1)
    found = Refs(secret).decode(ref)
    assert found is not None, url
    return found


def ref(number: int, secret: str = "test-secret") -> str:
    """What an annotator's page shows for a derivation or step id (app.web.refs)."""
    from app.web.refs import Refs

    return Refs(secret).encode(number)
