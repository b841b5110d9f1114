"""The worker's loop: claim a job, run its handler under a heartbeat, repeat."""

from __future__ import annotations

import logging
import signal
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass

from app import jobs
from app.db import transaction
from app.repositories import rollups
from app.worker.handlers import HANDLERS, Context

log = logging.getLogger("derivlab.worker")


@dataclass
class WorkerStats:
    done: int = 0
    failed: int = 0
    lost: int = 0


class Worker:
    def __init__(self, ctx: Context, *, kinds: Sequence[str] = jobs.KINDS, lease_seconds: float = 30.0,
                 poll_seconds: float = 1.0, worker_id: str | None = None):
        unknown = [k for k in kinds if k not in HANDLERS]
        if unknown:
            raise ValueError(f"unknown job kind {', '.join(unknown)} (use {', '.join(HANDLERS)})")
        self.ctx, self.kinds = ctx, list(kinds)
        self.lease_seconds, self.poll_seconds = lease_seconds, poll_seconds
        self.id = worker_id or jobs.new_worker_id()
        self.stop = threading.Event()
        self.stats = WorkerStats()
        self._rollups_at = float("-inf")

    def install_signal_handlers(self) -> None:
        """SIGTERM/SIGINT: finish the job in hand, then stop (a second one stops at once)."""
        def handler(signum, frame):
            if self.stop.is_set():
                raise KeyboardInterrupt
            log.info("stopping after the current job")
            self.stop.set()
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run_one(self) -> bool:
        """Claim and run one job; False when there was none."""
        lease = jobs.claim(self.ctx.sessions, worker=self.id, kinds=self.kinds, lease_seconds=self.lease_seconds)
        if lease is None:
            return False
        job = lease.job
        started = time.perf_counter()
        try:
            outcome = HANDLERS[job.kind](self.ctx, lease)
            self.stats.done += 1
            log.info("job %s (%s) done in %.2f s: %s", job.id, job.kind, time.perf_counter() - started, outcome)
        except jobs.LeaseLost as exc:
            self.stats.lost += 1
            log.warning("job %s: %s; its writes were dropped", job.id, exc)
        except Exception as exc:  # the job's error is kept on its row; the worker goes on
            self.stats.failed += 1
            error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
            state = jobs.give_up(self.ctx.sessions, lease, error)
            log.error("job %s (%s) failed (attempt %s of %s, now %s): %s", job.id, job.kind, job.attempts,
                      job.max_attempts, state, exc)
        finally:
            lease.release()
        return True

    def run(self, *, exit_when_idle: bool = False) -> WorkerStats:
        log.info("worker %s: kinds %s, lease %.0f s", self.id, ",".join(self.kinds), self.lease_seconds)
        while not self.stop.is_set():
            try:
                worked = self.run_one()
            except Exception as exc:  # the database is away: wait and try again
                log.warning("cannot reach the job queue (%s); retrying", exc)
                worked = False
            if not worked:
                self.warm_dashboards()
                if exit_when_idle:
                    break
                self.stop.wait(self.poll_seconds)
        return self.stats

    ROLLUP_SECONDS = 10.0

    def warm_dashboards(self) -> None:
        """While idle, bring the dashboards' rollups up to date (at most every 10 s), so the
        first reader after an import or a run does not pay for it. Only a worker that takes
        check jobs (the one beside the web app), not a GPU box's generation worker."""
        if jobs.CHECK not in self.kinds or time.monotonic() - self._rollups_at < self.ROLLUP_SECONDS:
            return
        self._rollups_at = time.monotonic()
        try:
            with transaction(self.ctx.sessions) as session:
                recomputed = rollups.refresh(session)
        except Exception as exc:  # the dashboards refresh on read anyway
            log.warning("could not bring the dashboards up to date (%s)", exc)
            return
        if recomputed:
            log.info("dashboards: %d derivation(s) brought up to date", recomputed)
