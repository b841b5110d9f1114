"""The job queue: jobs/s claimed and finished by 1 and 4 worker processes, and the
time from a worker's SIGKILL to its job running on another worker.

Runs against DATABASE_URL's server (a database of its own, dropped after) or the
embedded one. Jobs here are empty (claim, then mark done in the finishing
transaction), so the figures are the queue's own cost.

    .venv/bin/python bench/queue.py [--jobs 2000] [--lease 2]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named queue.py: keep its folder off the path, or it hides the standard `queue`.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse  # noqa: E402
import multiprocessing as mp  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app import jobs  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import database_url, make_engine, make_sessionmaker, transaction, upgrade  # noqa: E402
from app.models import Job  # noqa: E402
from app.repositories import jobs as jobs_repo  # noqa: E402


def drain(url: str, name: str, results) -> None:
    sessions = make_sessionmaker(make_engine(url))
    done = 0
    while (lease := jobs.claim(sessions, worker=name, kinds=[jobs.CHECK], lease_seconds=30)) is not None:
        with lease.finish():
            pass
        lease.release()
        done += 1
    results.put(done)


def hold_forever(url: str, lease_seconds: float, ready) -> None:
    sessions = make_sessionmaker(make_engine(url))
    _held = jobs.claim(sessions, worker=f"victim:{os.getpid()}", kinds=[jobs.GENERATE], lease_seconds=lease_seconds)
    ready.set()
    while True:  # heartbeat thread keeps the lease alive until we are killed
        time.sleep(1)


def enqueue(sessions, n: int, kind: str) -> None:
    with transaction(sessions) as session:
        jobs_repo.add_many(session, [{"kind": kind, "payload": {"i": i}, "max_attempts": 3} for i in range(n)])


def throughput(url: str, sessions, n: int, workers: int) -> float:
    enqueue(sessions, n, jobs.CHECK)
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    procs = [ctx.Process(target=drain, args=(url, f"w{i}", results)) for i in range(workers)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    counts = [results.get() for _ in procs]
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join()
    assert sum(counts) == n, counts
    return n / elapsed


def takeover(url: str, sessions, lease_seconds: float) -> float:
    enqueue(sessions, 1, jobs.GENERATE)
    ctx = mp.get_context("fork")
    ready = ctx.Event()
    victim = ctx.Process(target=hold_forever, args=(url, lease_seconds, ready))
    victim.start()
    ready.wait(30)
    time.sleep(lease_seconds)  # mid-job, leases renewed a few times
    os.kill(victim.pid, signal.SIGKILL)
    killed = time.perf_counter()
    victim.join()
    while (lease := jobs.claim(sessions, worker="rescuer", kinds=[jobs.GENERATE], lease_seconds=30)) is None:
        time.sleep(0.05)  # a worker's idle poll, made short here to measure the lease, not the poll
    elapsed = time.perf_counter() - killed
    lease.release()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description="job queue throughput and SIGKILL recovery")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--lease", type=float, default=2.0)
    args = parser.parse_args()
    server = database_url(Settings(_env_file=None, database_url=os.environ.get("DATABASE_URL")))
    name = f"bench_queue_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        sessions = make_sessionmaker(make_engine(url))
        one = throughput(url, sessions, args.jobs, 1)
        four = throughput(url, sessions, args.jobs, 4)
        print(f"{args.jobs} empty jobs, claim + finish, {os.cpu_count()} CPUs:")
        print(f"  1 worker:  {one:7.0f} jobs/s")
        print(f"  4 workers: {four:7.0f} jobs/s  (ratio 4/1: {four / one:.2f})")
        with transaction(sessions) as session:
            twice = session.scalar(select(Job.id).where(Job.attempts > 1).limit(1))
        print(f"  jobs claimed twice: {0 if twice is None else 'some'}")
        seconds = takeover(url, sessions, args.lease)
        print(f"SIGKILL to the job running on another worker, lease {args.lease:.0f} s: {seconds:.2f} s "
              f"(ratio to the lease: {seconds / args.lease:.2f})")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
