"""The pipeline's throughput, stage by stage, on engine-generated derivations (as models
write them: paper, GPT and FLAN-T5 styles) in a database of its own:

- import over HTTP (the upload page) of N derivations, and `derivlab import` of 15,000
  (the whole command: its start-up counts);
- text metrics (the worker's metrics jobs), parsing (every step in the sandbox), and
  SymPy checking (check workers as `make run` starts them: one per core) on the 150
  sample derivations and on engine derivations;
- the step CSV of the 15,000 over HTTP against `derivlab export` of the same.

The peer: Label Studio imports the same 1,500 tasks in ~0.8 s on this machine.

    .venv/bin/python bench/pipeline.py [--n 1500] [--large 15000] [--check 150]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# bench/queue.py would hide the standard `queue` module: keep this folder off the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from concurrent.futures import ThreadPoolExecutor  # noqa: E402 (imports `queue`: after the path fix)

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app.db import transaction  # noqa: E402
from app.math.corpus import import_file_lines  # noqa: E402
from app.math.latex import parse_equation  # noqa: E402
from app.math.sandbox import default_sandbox  # noqa: E402
from app.models import Derivation, Job, JobState, Project, Step  # noqa: E402
from app.worker.backends import BackendCache  # noqa: E402
from app.worker.handlers import Context  # noqa: E402
from app.worker.loop import Worker  # noqa: E402
from bench.seed import scratch_database  # noqa: E402
from tests.helpers import login, served  # noqa: E402

DERIVLAB = str(ROOT / ".venv" / "bin" / "derivlab")
SAMPLES = ROOT.parent / "shared" / "data"


def write_jsonl(path: Path, lines: list[dict]) -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def line(stage: str, count: int, seconds: float, note: str = "") -> None:
    print(f"  {stage:44s} {count:7d} in {seconds:7.2f} s = {count / seconds:8.1f} /s  {note}")


def project_id(sessions, name: str) -> int:
    with transaction(sessions) as session:
        return session.scalar(select(Project.id).where(Project.name == name))


def run_jobs(url: str, kinds: str, processes: int) -> float:
    """Check workers as `make run` starts them (one SymPy process each) until the queue is empty."""
    env = {**os.environ, "DATABASE_URL": url}
    started = time.perf_counter()
    workers = [subprocess.Popen([DERIVLAB, "worker", "--kinds", kinds, "--exit-when-idle", "--sandbox-processes", "1",
                                 "--poll-seconds", "0.2"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for _ in range(processes)]
    for w in workers:
        w.wait()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1500, help="derivations imported over HTTP")
    parser.add_argument("--large", type=int, default=15000, help="derivations imported by the CLI")
    parser.add_argument("--check", type=int, default=150, help="engine derivations pre-annotated")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    tmp = Path(tempfile.mkdtemp(prefix="derivlab-pipeline-"))
    small, large = tmp / "engine-small.jsonl", tmp / "engine-large.jsonl"
    write_jsonl(small, import_file_lines(max(1, args.n // 15), seed=11, copies=3)[:args.n])
    write_jsonl(large, import_file_lines(max(1, args.large // 150), seed=12, copies=30)[:args.large])
    print(f"pipeline, one run, {cores} cores (engine derivations, seeds 11 and 12):")

    with scratch_database("derivlab_pipeline") as (url, sessions):
        env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(tmp)}
        subprocess.run([DERIVLAB, "user", "add", "bench", "--role", "admin", "--password-stdin"], env=env,
                       input=b"bench password\n", check=True, capture_output=True)
        with served(env) as (_, base):
            client = httpx.Client(base_url=base, timeout=600)
            token = login(client, "bench", "bench password")

            started = time.perf_counter()
            response = client.post("/import", data={"project": "http", "csrf_token": token},
                                   files={"file": (small.name, small.read_bytes(), "application/jsonl")})
            seconds = time.perf_counter() - started
            assert response.status_code == 200 and "Imported" in response.text, response.text[:500]
            line("import over HTTP (the upload page)", args.n, seconds, "(Label Studio: 1,500 in ~0.8 s)")

            started = time.perf_counter()
            stats = Worker(Context(sessions, BackendCache("cpu")), kinds=["metrics"]).run(exit_when_idle=True)
            line("text metrics (metrics jobs, one worker)", args.n, time.perf_counter() - started,
                 f"({stats.done} jobs; ROUGE-2, BLEU, GLEU)")

            with transaction(sessions) as session:
                steps = session.scalars(select(Step.latex).join(Derivation)
                                        .where(Derivation.project_id == project_id(sessions, "http"))).all()
                session.execute(Job.__table__.delete())  # the import's check jobs: measured apart below
            sandbox = default_sandbox()
            started = time.perf_counter()
            with ThreadPoolExecutor(sandbox.size) as pool:
                parsed = sum(o.ok for o in pool.map(lambda s: sandbox.call(parse_equation, s, timeout=5.0), steps))
            seconds = time.perf_counter() - started
            line(f"parsing ({sandbox.size} sandbox processes), steps", len(steps), seconds,
                 f"({args.n / seconds:.1f} derivations/s; {100 * parsed / len(steps):.1f}% parsed)")

            for name, path in (("paper samples", None), ("engine", small)):
                with transaction(sessions) as session:
                    session.execute(Job.__table__.delete())
                if path is None:
                    for sample in sorted(SAMPLES.glob("paper_sample_*.json")):
                        subprocess.run([DERIVLAB, "import", str(sample), "--project", "samples"], env=env, check=True,
                                       capture_output=True)
                    with transaction(sessions) as session:
                        session.execute(Job.__table__.delete().where(Job.kind != "check"))
                else:
                    from app.jobs import enqueue_checks

                    with transaction(sessions) as session:
                        ids = session.scalars(select(Derivation.id).where(
                            Derivation.project_id == project_id(sessions, "http")).order_by(Derivation.id)
                            .limit(args.check)).all()
                        enqueue_checks(session, ids)
                with transaction(sessions) as session:
                    count = sum(len(j.payload["derivation_ids"]) for j in session.scalars(select(Job)))
                seconds = run_jobs(url, "check", cores)
                with transaction(sessions) as session:
                    failed = session.scalar(select(func.count()).where(Job.state != JobState.done))
                line(f"checking, {name} ({cores} check workers)", count, seconds,
                     f"(pre-annotated end to end; {failed} jobs not done)")
            with transaction(sessions) as session:
                session.execute(Job.__table__.delete())

            started = time.perf_counter()
            subprocess.run([DERIVLAB, "import", str(large), "--project", "large"], env=env, check=True,
                           capture_output=True)
            line("derivlab import (whole command)", args.large, time.perf_counter() - started)

            large_id = project_id(sessions, "large")
            started = time.perf_counter()
            subprocess.run([DERIVLAB, "export", "--project", "large", "--level", "step", "-o", str(tmp / "s.csv")],
                                 env=env, check=True, capture_output=True)
            cli_seconds = time.perf_counter() - started
            started = time.perf_counter()
            size = 0
            with client.stream("GET", f"/projects/{large_id}/export.csv?level=step") as response:
                assert response.status_code == 200, response.status_code
                for chunk in response.iter_bytes():
                    size += len(chunk)
            http_seconds = time.perf_counter() - started
            same = size == (tmp / "s.csv").stat().st_size
            print(f"  step CSV of {args.large:,} derivations: HTTP {http_seconds:.2f} s, CLI {cli_seconds:.2f} s "
                  f"(whole command), ratio {http_seconds / cli_seconds:.2f}; same bytes: {same}")


if __name__ == "__main__":
    main()
