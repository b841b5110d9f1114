from fastapi import APIRouter, File, Form, Request, UploadFile

from app.deps import AdminUser, SessionDep
from app.errors import InvalidInput
from app.services import projects, source_labels, step_split
from app.services.importing import check_size, import_file
from app.web.templating import render

router = APIRouter()


def _choices() -> dict:
    # the page's full render (a plain form post) needs them as much as the first one does
    return {"split_rules": {k: v[0] for k, v in step_split.RULES.items()}}


@router.get("/import")
def import_page(request: Request, session: SessionDep, user: AdminUser, project: str = ""):
    names = [p["project"].name for p in projects.listing(session, user.id)]
    return render(request, "pages/import.html", {"projects": names, "project_name": project, **_choices()})


@router.post("/import")
def import_upload(
    request: Request, session: SessionDep, user: AdminUser,
    project: str = Form(""), file: UploadFile = File(...), split: str = Form("and"), model: str = Form(""),
    labels: str = Form(""), results: UploadFile | None = File(None),
):
    if not project.strip():
        raise InvalidInput("project: give the name of a project (a new name creates it)")
    limit_mb = request.app.state.settings.import_max_mb
    data = file.file.read(limit_mb * 2**20 + 1)  # no more than the limit is ever held in memory
    check_size(file.filename or "upload", len(data), limit_mb)
    run = None
    if results is not None and results.filename:  # lm-eval's results_*.json beside its samples
        run = (results.filename, results.file.read(limit_mb * 2**20 + 1))
        check_size(results.filename, len(run[1]), limit_mb)
    result = import_file(session, project_name=project, filename=file.filename or "upload", data=data, user_id=user.id,
                         split=split, model=model.strip() or None, label_map=source_labels.parse_map(labels) or None,
                         results=run)
    project_id = projects.get_project_named(session, result.project).id
    return render(request, "pages/import.html", {"result": result, "project_id": project_id,
                                                  "project_name": result.project, **_choices()}, block="result")
