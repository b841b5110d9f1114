import json
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import AdminUser, CurrentUser, SessionDep, StaffUser
from app.models import Perturbation
from app.services import (annotating, breakdown, checking, dashboards, export_jobs, exporting, gold,
                          project_lifecycle)
from app.services.projects import get_project
from app.web import streams
from app.web.templating import render

router = APIRouter()


@router.get("/projects/{project_id}")
def project_page(request: Request, project_id: int, session: SessionDep, user: CurrentUser):
    project = get_project(session, project_id)
    annotating.check_project_access(session, project_id=project_id, user=user)
    work = annotating.my_work(session, project_id=project_id, user=user)
    progress = checking.progress(session, project_id=project_id) if user.role.value in ("admin", "reviewer") else None
    return render(request, "pages/project.html", {"project": project, "work": work, "progress": progress,
                                                  "project_id": project_id})


@router.post("/projects")
def create_project(session: SessionDep, user: AdminUser, name: str = Form(...), description: str = Form(""),
                   preset: str = Form(""), copy_from: str = Form("")):
    """The home page's "New project": an empty project, its labels from a preset or its labels and
    settings copied from another project; then import or generate."""
    source = int(copy_from) if copy_from.strip().isdigit() else None
    project = project_lifecycle.create(session, name=name, description=description, preset=preset or None,
                                       copy_from=source)
    return RedirectResponse(f"/projects/{project.id}", status_code=303)


@router.post("/projects/{project_id}/rename")
def rename_project(project_id: int, session: SessionDep, user: AdminUser, name: str = Form(...),
                   description: str = Form("")):
    project_lifecycle.update(session, project_id=project_id, name=name, description=description)
    return RedirectResponse(f"/projects/{project_id}/settings?saved=project", status_code=303)


@router.post("/projects/{project_id}/archive")
def archive_project(project_id: int, session: SessionDep, user: AdminUser, archived: bool = Form(...)):
    project_lifecycle.update(session, project_id=project_id, archived=archived)
    return RedirectResponse(f"/projects/{project_id}", status_code=303)


@router.post("/projects/{project_id}/delete")
def delete_project(project_id: int, session: SessionDep, user: AdminUser, confirm: str = Form("")):
    name = project_lifecycle.delete(session, project_id=project_id, confirm=confirm)
    return RedirectResponse(f"/?deleted={quote(name)}", status_code=303)


@router.get("/projects/{project_id}/preannotation")
def preannotation(request: Request, project_id: int, session: SessionDep, user: StaffUser):
    """The project page's progress panel (HTMX polls it until SymPy and the metrics are done)."""
    get_project(session, project_id)
    return render(request, "partials/preannotation.html",
                  {"progress": checking.progress(session, project_id=project_id), "project_id": project_id})


@router.get("/projects/{project_id}/breakdown")
def breakdown_page(
    request: Request, project_id: int, session: SessionDep, user: StaffUser, perturbation: str | None = None
):
    chosen = breakdown.parse_perturbation(perturbation)
    project = get_project(session, project_id)
    rows = breakdown.per_model(session, project_id=project_id, perturbation=chosen)
    return render(
        request, "pages/breakdown.html",
        {"project": project, "rows": rows, "chart": breakdown.chart_data(rows, project.taxonomy),
         "perturbation": chosen, "perturbations": [p.value for p in Perturbation]},
        block="breakdown",
    )


@router.get("/projects/{project_id}/export.csv")
def export_csv(request: Request, project_id: int, session: SessionDep, user: StaffUser, level: str = "step",
               spreadsheet_safe: bool = False):
    """Lossless; `spreadsheet_safe=1` neutralises cells a spreadsheet would run as formulas."""
    pid, labels, name = exporting.check_export(session, project_id=project_id, level=level)
    if export_jobs.should_run_in_background(session, project_id=pid, level=level):
        export = export_jobs.request(session, project_id=pid, level=level, user=user,  # too big to wait for
                                     spreadsheet_safe=spreadsheet_safe,
                                     keep_hours=request.app.state.settings.export_keep_hours)
        return RedirectResponse(f"/exports/{export.id}", status_code=303)
    filename = exporting.filename(name, level)
    return streams.limited(
        request, user,
        exporting.stream_csv(request.app.state.sessionmaker, project_id=pid, labels=labels, level=level,
                             safe=spreadsheet_safe),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )


@router.get("/projects/{project_id}/export.jsonl")
def export_jsonl(request: Request, project_id: int, session: SessionDep, user: StaffUser, model: str | None = None,
                 perturbation: str | None = None):
    """Everything, one JSON object per line, filtered like the dashboards."""
    filters = dashboards.parse_filters(session, project_id=project_id, model=model, perturbation=perturbation)
    name = get_project(session, project_id).name
    return streams.limited(
        request, user,
        exporting.stream_jsonl(request.app.state.sessionmaker, filters=filters), media_type="application/x-ndjson",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name + '.jsonl')}"},
    )


@router.get("/projects/{project_id}/gold.jsonl")
def export_gold(request: Request, project_id: int, session: SessionDep, user: StaffUser):
    """Gold items' answers, per annotator: the known labels beside theirs, step by step."""
    rows = gold.answers_export(session, project_id=project_id)
    name = get_project(session, project_id).name
    body = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return Response(body, media_type="application/x-ndjson",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name + '-gold.jsonl')}"})
