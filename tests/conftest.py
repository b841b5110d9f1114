"""Tests run against a real PostgreSQL: DATABASE_URL's server when set (CI), else
an embedded one (pgserver) under var/test-pg. Each test session gets its own
database, built by running the Alembic migrations; each test runs in a
transaction that is rolled back."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import make_engine
from tests.helpers import create_database, drop_database


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
    engine = make_engine(database_url)  # connected as the app connects
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


def pytest_collection_modifyitems(config, items):
    # Real-browser tests need Debian's chromium; say so instead of failing obscurely
    # (CI sets DERIVLAB_REQUIRE_BROWSER so a missing browser fails there).
    if not Path("/usr/bin/chromium").exists() and not os.environ.get("DERIVLAB_REQUIRE_BROWSER"):
        skip = pytest.mark.skip(reason="/usr/bin/chromium is not installed (apt-get install chromium)")
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(skip)
