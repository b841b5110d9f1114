"""The job queue as the jobs and runs pages show it: counts, failures, recent jobs, retries."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app import jobs
from app.repositories import jobs as jobs_repo


def overview(session: Session) -> dict:
    return {"by_kind": jobs_repo.counts_by_kind(session), "failed": jobs_repo.list_failed(session)}


def recent(session: Session, *, run_id: int, limit: int = 20) -> list:
    return jobs_repo.list_recent(session, run_id=run_id, limit=limit)


def retry(session: Session, *, run_id: int | None = None) -> int:
    """Failed jobs (of one run, or all) back in the queue; written before the page reads them again."""
    retried = jobs.retry(session, run_id=run_id)
    session.flush()
    return retried
