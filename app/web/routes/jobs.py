"""The job queue at a glance (admins): what waits, what runs, what failed and why."""

from fastapi import APIRouter, Request

from app import jobs
from app.deps import AdminUser, SessionDep
from app.repositories import jobs as jobs_repo
from app.web.templating import render

router = APIRouter()


def _context(session) -> dict:
    return {"by_kind": jobs_repo.counts_by_kind(session), "failed": jobs_repo.list_failed(session)}


@router.get("/jobs")
def jobs_page(request: Request, session: SessionDep, user: AdminUser):
    return render(request, "pages/jobs.html", _context(session), block="queue")


@router.post("/jobs/retry")
def retry_failed(request: Request, session: SessionDep, user: AdminUser):
    retried = jobs.retry(session)
    session.flush()
    return render(request, "pages/jobs.html", {**_context(session), "retried": retried}, block="queue")
