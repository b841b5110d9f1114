"""SQL of the job queue. Claims use FOR UPDATE SKIP LOCKED, so any number of
workers on any number of machines share one table without taking a job twice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from app.models import Job, JobState

_FAIL_LAPSED = text("""
UPDATE jobs SET state = 'failed', finished_at = now(), lease_expires_at = NULL,
       error = coalesce(error || E'\\n', '') || 'worker ' || coalesce(worker_id, '?')
               || ' stopped answering (lease lapsed) on attempt ' || attempts || ' of ' || max_attempts
WHERE state = 'running' AND lease_expires_at < now() AND attempts >= max_attempts
""")

# A queued job, or a running one whose worker stopped renewing its lease; the most urgent
# first (ix_jobs_claim walks them in this order), then the oldest.
_CLAIM = text("""
UPDATE jobs SET state = 'running', attempts = attempts + 1, worker_id = :worker,
       lease_expires_at = now() + make_interval(secs => :lease), started_at = coalesce(started_at, now())
WHERE id = (
    SELECT id FROM jobs
    WHERE kind = ANY(:kinds)
      AND (state = 'queued' OR (state = 'running' AND lease_expires_at < now()))
    ORDER BY priority DESC, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, kind, payload, attempts, max_attempts, run_id
""")


def add(session: Session, *, kind: str, payload: dict[str, Any], run_id: int | None = None,
        max_attempts: int = 3, priority: int = 0) -> int:
    job = Job(kind=kind, payload=payload, run_id=run_id, max_attempts=max_attempts, priority=priority)
    session.add(job)
    session.flush()
    return job.id


def add_many(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(Job.__table__.insert(), list(rows))


def claim(session: Session, *, worker: str, kinds: Sequence[str], lease_seconds: float):
    session.execute(_FAIL_LAPSED)
    return session.execute(_CLAIM, {"worker": worker, "kinds": list(kinds), "lease": lease_seconds}).one_or_none()


def renew(session: Session, *, job_id: int, worker: str, lease_seconds: float) -> bool:
    """Extend the lease; False when the job is no longer this worker's."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.worker_id == worker, Job.state == JobState.running)
        .values(lease_expires_at=func.now() + func.make_interval(0, 0, 0, 0, 0, 0, lease_seconds))
        .returning(Job.id)
    )
    return result.first() is not None


def finish(session: Session, *, job_id: int, worker: str) -> bool:
    """Mark done, only while this worker still holds the job (else another worker has it)."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.worker_id == worker, Job.state == JobState.running)
        .values(state=JobState.done, finished_at=func.now(), lease_expires_at=None)
        .returning(Job.id)
    )
    return result.first() is not None


def give_up(session: Session, *, job_id: int, worker: str, error: str) -> str | None:
    """After an error: back to the queue while attempts remain, else failed. Returns the new state."""
    row = session.execute(
        text("""
        UPDATE jobs SET
            state = CASE WHEN attempts < max_attempts THEN 'queued'::job_state ELSE 'failed'::job_state END,
            finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE now() END,
            worker_id = NULL, lease_expires_at = NULL, error = :error
        WHERE id = :id AND worker_id = :worker AND state = 'running'
        RETURNING state
        """),
        {"id": job_id, "worker": worker, "error": error},
    ).first()
    return row[0] if row else None


def retry(session: Session, *, job_ids: Sequence[int]) -> int:
    """Failed jobs back to the queue with a fresh set of attempts (their last error is kept until they succeed)."""
    if not job_ids:
        return 0
    result = session.execute(
        update(Job)
        .where(Job.id.in_(list(job_ids)), Job.state == JobState.failed)
        .values(state=JobState.queued, attempts=0, finished_at=None, worker_id=None)
        .returning(Job.id)
    )
    return len(result.all())


def failed_ids(session: Session, *, run_id: int | None = None) -> list[int]:
    query = select(Job.id).where(Job.state == JobState.failed)
    if run_id is not None:
        query = query.where(Job.run_id == run_id)
    return list(session.scalars(query.order_by(Job.id)))


def get(session: Session, job_id: int) -> Job | None:
    return session.get(Job, job_id)


def list_recent(session: Session, *, run_id: int | None = None, limit: int = 50) -> list[Job]:
    query = select(Job)
    if run_id is not None:
        query = query.where(Job.run_id == run_id)
    return list(session.scalars(query.order_by(Job.id.desc()).limit(limit)))


def counts(session: Session, *, run_id: int | None = None) -> dict[str, int]:
    query = select(Job.state, func.count()).group_by(Job.state)
    if run_id is not None:
        query = query.where(Job.run_id == run_id)
    out = {state.value: 0 for state in JobState}
    for state, n in session.execute(query):
        out[state.value] = n
    return out


def counts_by_kind(session: Session) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for kind, state, n in session.execute(select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state)):
        out.setdefault(kind, {s.value: 0 for s in JobState})[state.value] = n
    return out


def list_failed(session: Session, limit: int = 100) -> list[Job]:
    return list(session.scalars(select(Job).where(Job.state == JobState.failed).order_by(Job.id.desc()).limit(limit)))
