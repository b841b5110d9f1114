"""kill -9 the web server while annotators are saving: after a restart, every save the
server acknowledged is in the database (a route commits before its response is sent)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

import httpx
from sqlalchemy import text

from app.config import ROOT
from app.db import transaction
from app.models import Role
from app.services.auth import create_user
from app.services.importing import import_file
from app.web.refs import Refs
from tests.helpers import PAPER_FILES, derivation_in, free_port, login

PASSWORD = "reliability pw 1"
ANNOTATORS = 4


def _serve(url: str, port: int, tmp_path, name: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(tmp_path), "SECRET_KEY": "kill-test"}
    log = open(tmp_path / f"{name}.log", "w")
    return subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--no-demo",
                             "--no-worker"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _up(base: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/login", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not come up")


def _login(base: str, username: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=5)
    return client, login(client, username, PASSWORD)


def _annotate(base: str, username: str, project_id: int, acked: list, stop: threading.Event) -> None:
    """Next, then every step x label set on (each a new fact, so 'acknowledged' can be
    checked exactly), then the next derivation; until the server dies."""
    try:
        client, token = _login(base, username)
        headers = {"HX-Request": "true", "X-CSRF-Token": token}
        while not stop.is_set():
            location = client.post(f"/projects/{project_id}/next",  # a plain POST, as the button's form sends it
                                   headers={"X-CSRF-Token": token}).headers.get("location", "")
            derivation = derivation_in(location, "kill-test")
            steps = [Refs("kill-test").decode(s) for s in re.findall(r'data-step-id="([^"]+)"', client.get(location).text)]
            for step in steps:
                for label in ("incorrect", "irrelevant", "redundant", "skipped"):
                    response = client.post(f"/derivations/{derivation}/steps/{step}/labels/{label}?on=true",
                                           headers=headers)
                    if response.status_code == 200:
                        acked.append(("label", username, step, label))
            response = client.post(f"/derivations/{derivation}/submit", headers=headers,
                                   data={"goal_reached": "yes", "comment": f"done by {username}"})
            if response.status_code == 204:
                acked.append(("submit", username, derivation, None))
    except (httpx.HTTPError, AttributeError, ValueError):
        return  # the server is gone (or answered half a page): stop here


def test_every_acknowledged_save_survives_kill_9(committed, fresh_database_url, tmp_path):
    with transaction(committed) as session:
        import_file(session, project_name="study", filename="gpt4.json", data=PAPER_FILES["gpt-4"].read_bytes())
        project_id = session.execute(text("SELECT id FROM projects")).scalar_one()
        for n in range(ANNOTATORS):
            create_user(session, username=f"ann{n}", password=PASSWORD, role=Role.annotator)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(fresh_database_url, port, tmp_path, "first")
    acked: list = []
    stop = threading.Event()
    try:
        _up(base)
        threads = [threading.Thread(target=_annotate, args=(base, f"ann{n}", project_id, acked, stop))
                   for n in range(ANNOTATORS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while sum(a[0] == "submit" for a in acked) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # mid-flight: saves are being sent right now
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        stop.set()
        for t in threads:
            t.join(20)
    finally:
        if server.poll() is None:
            server.kill()
    labels_acked = {(u, step, label) for kind, u, step, label in acked if kind == "label"}
    submits_acked = {(u, d) for kind, u, d, _ in acked if kind == "submit"}
    assert len(labels_acked) > 50 and submits_acked

    restarted = _serve(fresh_database_url, port, tmp_path, "second")
    try:
        _up(base)
        with transaction(committed) as session:
            stored = set(session.execute(text(
                "SELECT u.username, sl.step_id, sl.label FROM step_labels sl JOIN annotations a ON a.id = sl.annotation_id "
                "JOIN users u ON u.id = a.annotator_id")).all())
            submitted = set(session.execute(text(
                "SELECT u.username, a.derivation_id FROM annotations a JOIN users u ON u.id = a.annotator_id "
                "WHERE a.status = 'submitted'")).all())
        assert labels_acked <= stored, sorted(labels_acked - stored)[:5]
        print(f"kill -9 mid-save: {len(labels_acked)} acknowledged labels and {len(submits_acked)} submits, all stored")
        assert submits_acked <= submitted
        # and work goes on: the restarted server takes the next save
        client, token = _login(base, "ann0")
        assert client.post(f"/projects/{project_id}/next", headers={"X-CSRF-Token": token}).status_code == 303
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(15)
