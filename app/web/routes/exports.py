"""Exports prepared in the background: ask for one, watch it, download it."""

from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from app.deps import SessionDep, StaffUser
from app.errors import Conflict
from app.services import export_jobs, exporting
from app.services.projects import get_project
from app.web import streams
from app.web.templating import render

router = APIRouter()


@router.post("/projects/{project_id}/exports")
def request_export(request: Request, project_id: int, session: SessionDep, user: StaffUser, level: str = Form("step"),
                   spreadsheet_safe: str = Form("")):
    export = export_jobs.request(session, project_id=project_id, level=level, user=user,
                                 spreadsheet_safe=spreadsheet_safe in ("on", "1", "true"),
                                 keep_hours=request.app.state.settings.export_keep_hours)
    return RedirectResponse(f"/exports/{export.id}", status_code=303)


@router.get("/exports/{export_id}")
def export_page(request: Request, export_id: int, session: SessionDep, user: StaffUser):
    export = export_jobs.get(session, export_id=export_id)
    return render(request, "pages/export.html", {"export": export, "project": get_project(session, export.project_id)},
                  block="export")


@router.get("/exports/{export_id}/download")
def download(request: Request, export_id: int, session: SessionDep, user: StaffUser):
    export = export_jobs.get(session, export_id=export_id)
    if export.state != "ready":
        raise Conflict(f"export {export_id} is {export.state}, not ready yet")
    name = exporting.filename(get_project(session, export.project_id).name, export.level)
    return streams.limited(request, user, export_jobs.stream(request.app.state.sessionmaker, export_id=export_id),
                             media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
                                      "Content-Length": str(export.size)})
