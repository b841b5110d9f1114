"""The job queue: jobs are rows in PostgreSQL (table `jobs`).

Enqueue inside the transaction that writes the data a job concerns (it exists
exactly when that data does). A worker claims a job under a lease and keeps it
alive with a heartbeat; a worker that dies (SIGKILL, power cut) stops renewing
it, and the job is claimed again once the lease lapses. A job's results are
written in the same transaction that marks it done, and only while the worker
still holds the lease, so a job run twice writes nothing twice.

Written here rather than taken from procrastinate (evaluated: see README,
"The job queue"): we need the job row itself to carry its lease and its error,
and the enqueue to share the SQLAlchemy transaction of the data."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.db import transaction
from app.repositories import jobs as jobs_repo

GENERATE = "generate"
CHECK = "check"
EXPORT = "export"
METRICS = "metrics"
KINDS = (GENERATE, CHECK, EXPORT, METRICS)
CHECK_CHUNK = 5  # derivations per check job: a few seconds of SymPy, so an export waits at most that long
METRICS_CHUNK = 500  # derivations per metrics job: ~1-2 s of ROUGE/BLEU/GLEU
# Claimed most urgent first: what someone waits for on a page never queues behind bulk
# work; text metrics (milliseconds each, the dashboards read them) before SymPy checks.
INTERACTIVE, QUICK, BULK = 100, 50, 0


class LeaseLost(Exception):
    """Another worker holds the job now (this one was too slow to renew): its writes are dropped."""


def _enqueue_per_derivations(session: Session, kind: str, derivation_ids: Iterable[int], chunk: int,
                             priority: int) -> int:
    ids = sorted(derivation_ids)
    rows = [{"kind": kind, "payload": {"derivation_ids": ids[i:i + chunk]}, "max_attempts": 3, "priority": priority}
            for i in range(0, len(ids), chunk)]
    jobs_repo.add_many(session, rows)
    return len(rows)


def enqueue_checks(session: Session, derivation_ids: Iterable[int], *, priority: int = BULK) -> int:
    """Check jobs for these derivations, in the caller's transaction; returns how many jobs."""
    return _enqueue_per_derivations(session, CHECK, derivation_ids, CHECK_CHUNK, priority)


def enqueue_metrics(session: Session, derivation_ids: Iterable[int]) -> int:
    """ROUGE-2/BLEU/GLEU jobs for these derivations, in the caller's transaction (an import
    stays set-based and fast; the metrics follow within seconds)."""
    return _enqueue_per_derivations(session, METRICS, derivation_ids, METRICS_CHUNK, QUICK)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    run_id: int | None


class Lease:
    """A claimed job: renews its lease in a thread until released; `finish()` writes
    the results and marks the job done in one transaction."""

    def __init__(self, sessions: sessionmaker[Session], job: ClaimedJob, worker: str, lease_seconds: float):
        self.sessions, self.job, self.worker, self.lease_seconds = sessions, job, worker, lease_seconds
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._heartbeat, name=f"heartbeat-{job.id}", daemon=True)
        self._thread.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                with transaction(self.sessions) as session:
                    held = jobs_repo.renew(session, job_id=self.job.id, worker=self.worker,
                                           lease_seconds=self.lease_seconds)
            except Exception:  # database away for a moment: try again at the next beat
                continue
            if not held:
                self.lost.set()
                return

    @contextmanager
    def finish(self) -> Iterator[Session]:
        """Yield a session for the job's writes; commit them with the job marked done, or not at all."""
        with transaction(self.sessions) as session:
            yield session
            if not jobs_repo.finish(session, job_id=self.job.id, worker=self.worker):
                raise LeaseLost(f"job {self.job.id} is held by another worker now")

    def release(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def claim(sessions: sessionmaker[Session], *, worker: str, kinds: Sequence[str], lease_seconds: float) -> Lease | None:
    with transaction(sessions) as session:
        row = jobs_repo.claim(session, worker=worker, kinds=kinds, lease_seconds=lease_seconds)
    if row is None:
        return None
    return Lease(sessions, ClaimedJob(*row), worker, lease_seconds)


def give_up(sessions: sessionmaker[Session], lease: Lease, error: str) -> str | None:
    with transaction(sessions) as session:
        return jobs_repo.give_up(session, job_id=lease.job.id, worker=lease.worker, error=error[:4000])


def retry(session: Session, *, job_ids: Sequence[int] | None = None, run_id: int | None = None) -> int:
    """Failed jobs (these, or all of a run's, or all) back to the queue."""
    ids = list(job_ids) if job_ids else jobs_repo.failed_ids(session, run_id=run_id)
    return jobs_repo.retry(session, job_ids=ids)
