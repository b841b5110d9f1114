"""Label Studio's task list (its Data Manager's `GET /api/tasks`) on the same derivations as
bench/browse.py, with comparable filters and sorts set on a Data Manager view, for the ratio
beside ours (issue 25). Label Studio runs from an existing venv (../shared/tools/peer-bench's
`setup` makes one), on the same PostgreSQL server as Derivation Lab (a database of its own),
listening on 127.0.0.1 only; nothing is downloaded.

Each derivation becomes one task whose data holds what the filters read: model, perturbation,
the steps' text, ROUGE-2/BLEU/GLEU, and whether SymPy says "incorrect" on a step the humans
did not mark (Label Studio cannot compute that from predictions and annotations; it gets it
precomputed, which favours it)."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="goal" toName="text" choice="single"><Choice value="goal reached"/><Choice value="not reached"/></Choices>
</View>"""
USER, PASSWORD = "bench@derivlab.local", "bench-Admin-pw1"


def _item(field: str, operator: str, kind: str, value) -> dict:
    return {"filter": f"filter:tasks:data.{field}", "operator": operator, "type": kind, "value": value}


# Our view name -> Label Studio's filters and ordering on the task data
VIEWS = {
    "no filter, by id": ([], ["tasks:id"]),
    "model + perturbation, by rouge2 desc": ([_item("model", "equal", "String", "fake-model-2"),
                                              _item("perturbation", "equal", "String", "VR")], ["-tasks:data.rouge2"]),
    "SymPy incorrect, humans not, by bleu": ([_item("sympy_not_humans", "contains", "String", "incorrect")],
                                             ["tasks:data.bleu"]),
}


def tasks_from(session, project_id: int) -> list[dict]:
    """The project's derivations as Label Studio tasks (read from our tables once, untimed)."""
    rows = session.execute(text("""
        SELECT d.id, m.name AS model, p.perturbation::text AS perturbation,
               (SELECT string_agg(s.latex, ' and ' ORDER BY s.index) FROM steps s WHERE s.derivation_id = d.id) AS text,
               r.rouge2, r.bleu, r.gleu,
               coalesce((SELECT string_agg(l.label, ',') FROM rollup_labels l
                         WHERE l.derivation_id = d.id AND l.fp > 0), '') AS sympy_not_humans
        FROM derivations d JOIN llm_models m ON m.id = d.model_id JOIN problems p ON p.id = d.problem_id
        JOIN rollup_derivations r ON r.derivation_id = d.id WHERE d.project_id = :p ORDER BY d.id"""),
        {"p": project_id}).mappings().all()
    return [{"data": dict(r, uid=r["id"])} for r in rows]


@contextmanager
def _database(server_url: str):
    name = f"bench_ls_{secrets.token_hex(4)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def running(venv: Path, server_url: str, port: int):
    """A Label Studio server on `port`, on its own PostgreSQL database and data folder; yields a
    logged-in client."""
    with _database(server_url) as url, tempfile.TemporaryDirectory(prefix="bench-ls-") as data_dir:
        env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": data_dir, "DJANGO_DB": "default",
               "POSTGRE_NAME": url.database, "POSTGRE_USER": url.username or "postgres",
               "POSTGRE_PASSWORD": url.password or "", "POSTGRE_HOST": url.host or "127.0.0.1",
               "POSTGRE_PORT": str(url.port or 5432), "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "",
               "LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false"}
        log = open(Path(data_dir) / "server.log", "w")
        proc = subprocess.Popen([str(venv / "bin/label-studio"), "start", "--no-browser", "--internal-host", "127.0.0.1",
                                 "-p", str(port), "--data-dir", data_dir, "--username", USER, "--password", PASSWORD],
                                env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 600  # the first start runs Label Studio's migrations
            while True:
                if proc.poll() is not None:
                    raise RuntimeError("Label Studio exited: " + (Path(data_dir) / "server.log").read_text()[-2000:])
                try:
                    if httpx.get(base + "/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("Label Studio did not answer within 10 minutes")
                time.sleep(1)
            client = httpx.Client(base_url=base, timeout=1800)
            page = client.get("/user/login/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            client.post("/user/login/", data={"email": USER, "password": PASSWORD, "csrfmiddlewaretoken": token},
                        headers={"Referer": base + "/user/login/"})
            client.headers["X-CSRFToken"] = client.cookies.get("csrftoken")
            client.headers["Referer"] = base + "/"
            yield client
        finally:
            os.killpg(proc.pid, 2)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
            log.close()
            shutil.rmtree(data_dir, ignore_errors=True)


def _ok(response: httpx.Response, *codes: int) -> httpx.Response:
    if response.status_code not in codes:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} "
                           f"{response.text[:500]}")
    return response


class TaskList:
    """A project in a running Label Studio holding the tasks, and one Data Manager view whose
    filters and ordering are set per read."""

    def __init__(self, client: httpx.Client, tasks: list[dict], batch: int = 10_000):
        self.c = client
        self.project = _ok(client.post("/api/projects", json={"title": "browse", "label_config": CONFIG}), 201).json()["id"]
        t = time.perf_counter()
        for start in range(0, len(tasks), batch):
            _ok(client.post(f"/api/projects/{self.project}/import", content=json.dumps(tasks[start:start + batch]),
                            headers={"Content-Type": "application/json"}), 201)
        self.import_s = time.perf_counter() - t
        self.view = _ok(client.post("/api/dm/views", json={"project": self.project}), 201).json()["id"]
        self.shown: str | None = None

    def first_page(self, name: str) -> tuple[float, int]:
        """Milliseconds for the first page of 50 of one of VIEWS (as the Data Manager asks for
        it), and the total Label Studio says matches."""
        if self.shown != name:  # the view's filters are saved once, untimed, as a user sets them
            items, ordering = VIEWS[name]
            data = {"filters": {"conjunction": "and", "items": items}, "ordering": ordering}
            _ok(self.c.patch(f"/api/dm/views/{self.view}", json={"project": self.project, "data": data}), 200)
            self.shown = name
        params = {"page": 1, "page_size": 50, "view": self.view, "project": self.project, "interaction": "filter"}
        t = time.perf_counter()
        body = _ok(self.c.get("/api/tasks", params=params), 200).json()
        return (time.perf_counter() - t) * 1000, body.get("total")
