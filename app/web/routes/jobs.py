"""The job queue at a glance (admins): what waits, what runs, what failed and why."""

from fastapi import APIRouter, Request

from app.deps import AdminUser, SessionDep
from app.services import queue_status
from app.web.templating import render

router = APIRouter()


@router.get("/jobs")
def jobs_page(request: Request, session: SessionDep, user: AdminUser):
    return render(request, "pages/jobs.html", queue_status.overview(session), block="queue")


@router.post("/jobs/retry")
def retry_failed(request: Request, session: SessionDep, user: AdminUser):
    retried = queue_status.retry(session)
    return render(request, "pages/jobs.html", {**queue_status.overview(session), "retried": retried}, block="queue")
