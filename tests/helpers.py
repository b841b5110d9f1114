"""What tests and benches share: the real data's paths, the test database server, a served
app (`derivlab serve` in its own process), logging in through the form, htmx headers,
annotators' references. Imported as a library (conftest.py
holds only fixtures and hooks)."""

from __future__ import annotations

import functools
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.config import ROOT
from app.db import sqlalchemy_url, upgrade

SHARED_DATA = ROOT.parent / "shared" / "data"
PAPER_FILES = {
    "gpt-4": SHARED_DATA / "paper_sample_gpt-4.json",
    "gpt-3.5-turbo": SHARED_DATA / "paper_sample_chatgpt.json",
    "flan-t5-large": SHARED_DATA / "paper_sample_flan-t5-large.json",
}
PASSWORD = "correct horse battery"


@functools.lru_cache(maxsize=1)  # started (or read) once, when a test first needs a database
def server_url() -> str:
    raw = os.environ.get("DATABASE_URL")
    if raw:
        return sqlalchemy_url(raw)
    import pgserver

    data = ROOT / "var" / "test-pg"
    data.mkdir(parents=True, exist_ok=True)
    return sqlalchemy_url(pgserver.get_server(data, cleanup_mode="stop").get_uri())


def create_database(prefix: str) -> str:
    """A new, migrated database on the test server; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(server_url()).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return url


def drop_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(server_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(env: dict[str, str], *, web_processes: int = 1, wait_s: float = 60,
           stdout=subprocess.DEVNULL) -> Iterator[tuple[subprocess.Popen, str]]:
    """`derivlab serve` (no demo, no worker) on a free port of 127.0.0.1 with this environment
    (DATABASE_URL, ...), in a process group of its own: yields (the process, its base URL) once
    /login answers; afterwards the group gets SIGINT (uvicorn's graceful stop) and is waited for."""
    port = free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "derivlab"), "serve", "--no-demo", "--no-worker",
                             "--web-processes", str(web_processes), "--host", "127.0.0.1", "--port", str(port)],
                            env=env, start_new_session=True, stdout=stdout, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                if httpx.get(base + "/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"derivlab serve did not answer /login within {wait_s:.0f} s "
                                   f"(exit code {proc.poll()})")
            time.sleep(0.1)
        yield proc, base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        proc.wait(30)


def web_processes(pid: int) -> list[int]:
    """The web processes of a `serve --web-processes N` whose pid is `pid`: its children (by
    their parent id in /proc/*/stat; /proc/PID/task/PID/children may miss one while another
    exits) that run multiprocessing's spawn_main (not its resource tracker; a zombie has no
    command line)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid and \
                    b"spawn_main" in (stat.parent / "cmdline").read_bytes():
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return sorted(out)


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
