"""The data page: a project's derivations, filtered, sorted and paged (the URL is the view),
and bulk actions on a selection."""

from urllib.parse import quote

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request

from app.deps import AdminUser, SessionDep, StaffUser
from app.errors import InvalidInput
from app.services.dashboards import Filters
from app.services import browse, exporting, problem_view, training, trash
from app.services.projects import get_project
from app.web import streams, training_files
from app.web.templating import render

router = APIRouter()


async def _form_view(request: Request) -> dict[str, str]:
    """The view's parameters a bulk form carries (hidden fields). Read here, in an async
    dependency, so that the routes stay plain functions run off the event loop (their
    database work must not block it)."""
    form = await request.form()
    return {k: form[k] for k in browse.PARAMS if k in form}


FormView = Annotated[dict, Depends(_form_view)]


def _page(request: Request, session, project_id: int, params, message: str | None = None,
          undo: int | None = None):
    view = browse.parse(session, project_id=project_id, params=params)
    page = browse.browse(session, view)
    base = f"/projects/{project_id}/data"
    here = view.url(base, page=view.page if view.page > 1 else None)
    # the address bar shows the view without the form's empty fields (a link worth sharing)
    return render(request, "pages/data.html", {"page": page, "view": view, "base": base, "message": message,
                                                "here": here, "columns": browse.COLUMNS, "undo": undo,
                                                "trash": trash.entries(session, project_id), "kept_days": trash.KEPT_DAYS,
                                                "training_kinds": training.KINDS, "training_formats": training.FORMATS},
                  block="data", headers={"HX-Push-Url": here})


@router.get("/projects/{project_id}/data")
def data_page(request: Request, project_id: int, session: SessionDep, user: StaffUser):
    return _page(request, session, project_id, request.query_params)


@router.post("/projects/{project_id}/data/recheck")
def bulk_recheck(request: Request, project_id: int, session: SessionDep, user: StaffUser, params: FormView,
                 ids: list[int] = Form([])):
    """Re-check with SymPy the ticked derivations, or with none ticked every one the view matches
    (the view's parameters come with the form)."""
    view = browse.parse(session, project_id=project_id, params=params)
    chosen = browse.ids(session, view, chosen=ids or None)
    count = browse.recheck(session, chosen)
    what = "ticked" if ids else "matching"
    return _page(request, session, project_id, params,
                 f"Queued SymPy checks of {count} {what} derivation(s): their suggestions are replaced as the "
                 "workers finish them.")


@router.post("/projects/{project_id}/data/sample/{action}")
def bulk_sample(request: Request, project_id: int, action: str, session: SessionDep, user: AdminUser,
                params: FormView, ids: list[int] = Form([])):
    """Put the ticked (or all matching) derivations in the project's sample (`add`), or take them out (`remove`)."""
    if action not in ("add", "remove"):
        raise InvalidInput("action: add or remove")
    view = browse.parse(session, project_id=project_id, params=params)
    chosen = browse.ids(session, view, chosen=ids or None)
    changed = browse.sample(session, project_id=project_id, derivation_ids=chosen, add=action == "add")
    words = "put in" if action == "add" else "taken out of"
    return _page(request, session, project_id, params,
                 f"{changed} derivation(s) {words} the sample (the queue serves only the sample while it has any).")


@router.post("/projects/{project_id}/data/assign")
def bulk_assign(request: Request, project_id: int, session: SessionDep, user: AdminUser, params: FormView,
                ids: list[int] = Form([]), assignee: str = Form("")):
    """Put the ticked (or all matching) derivations first in an annotator's queue."""
    view = browse.parse(session, project_id=project_id, params=params)
    chosen = browse.ids(session, view, chosen=ids or None)
    added = browse.assign(session, project_id=project_id, username=assignee, derivation_ids=chosen)
    return _page(request, session, project_id, params,
                 f"{added} derivation(s) assigned to {assignee.strip()}, first in their queue "
                 f"({len(chosen) - added} they had already).")


@router.post("/projects/{project_id}/data/reset")
def bulk_reset(request: Request, project_id: int, session: SessionDep, user: AdminUser, params: FormView,
               ids: list[int] = Form([]), confirm: str = Form("")):
    """Reset the annotations of the ticked derivations, or of every one the view matches: the
    queue serves them again; what annotators and reviewers had said stays in each history."""
    view = browse.parse(session, project_id=project_id, params=params)
    chosen = browse.ids(session, view, chosen=ids or None)
    annotations, settlements = browse.reset(session, derivation_ids=chosen, actor_id=user.id, confirm=confirm)
    return _page(request, session, project_id, params,
                 f"Reset {len(chosen)} derivation(s): {annotations} annotation(s) and {settlements} settlement(s) "
                 "removed, each kept in its derivation's history.")


@router.post("/projects/{project_id}/data/delete")
def bulk_delete(request: Request, project_id: int, session: SessionDep, user: AdminUser, params: FormView,
                ids: list[int] = Form([]), confirm: str = Form("")):
    """Delete the ticked derivations, or every one the view matches: they go to the project's
    trash with everything said about them, and can be restored from there for a while."""
    view = browse.parse(session, project_id=project_id, params=params)
    chosen = browse.ids(session, view, chosen=ids or None)
    entry = trash.delete(session, project_id=project_id, derivation_ids=chosen, actor_id=user.id, confirm=confirm,
                         view=view.url(f"/projects/{project_id}/data"))
    return _page(request, session, project_id, params,
                 f"Deleted {len(chosen)} derivation(s): in the trash for {trash.KEPT_DAYS} days, with their annotations.",
                 undo=entry)


@router.post("/projects/{project_id}/data/trash/{trash_id}/restore")
def restore_deleted(request: Request, project_id: int, trash_id: int, session: SessionDep, user: AdminUser,
                    params: FormView):
    """Put a deletion back: every derivation with its steps, annotations, settlements, history
    and checks, under the same ids."""
    derivations, annotations = trash.restore(session, project_id=project_id, trash_id=trash_id)
    return _page(request, session, project_id, params,
                 f"Restored {derivations} derivation(s) and {annotations} annotation(s).")


def _selection(request: Request, session, project_id: int, ids: list[int]) -> list[int]:
    """The ticked derivations, or with none ticked every one the view matches."""
    view = browse.parse(session, project_id=project_id, params=request.query_params)
    return browse.ids(session, view, chosen=ids or None)


@router.get("/projects/{project_id}/data/export.jsonl")
def export_selection(request: Request, project_id: int, session: SessionDep, user: StaffUser,
                     ids: list[int] = Query([])):
    """The selection as the project's JSONL export holds it (problems, derivations with steps and
    checks, annotations, adjudications, events): the ticked derivations, or with none ticked
    every one the view matches."""
    chosen = _selection(request, session, project_id, ids)
    name = f"{get_project(session, project_id).name}-selection.jsonl"
    return streams.limited(request, user,
                           exporting.stream_jsonl(request.app.state.sessionmaker, filters=Filters(project_id),
                                                  ids=chosen),
                           media_type="application/x-ndjson",
                           headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@router.get("/projects/{project_id}/data/export/{level}.csv")
def export_selection_csv(request: Request, project_id: int, level: str, session: SessionDep, user: StaffUser,
                         ids: list[int] = Query([]), spreadsheet_safe: bool = False):
    """The selection's rows of the project's step or derivation CSV (the same columns, the same
    bytes for each row; `spreadsheet_safe=1` as for the whole export)."""
    if level not in ("step", "derivation"):
        raise InvalidInput(f"'{level}.csv': the selection exports as step.csv or derivation.csv")
    pid, labels, name = exporting.check_export(session, project_id=project_id, level=level)
    chosen = _selection(request, session, project_id, ids)
    filename = exporting.filename(f"{name}-selection", level)
    return streams.limited(request, user,
                           exporting.stream_csv(request.app.state.sessionmaker, project_id=pid, labels=labels,
                                                level=level, safe=spreadsheet_safe, ids=chosen),
                           media_type="text/csv; charset=utf-8",
                           headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


@router.get("/projects/{project_id}/data/training/{name}")
def export_selection_training(request: Request, project_id: int, name: str, session: SessionDep, user: StaffUser,
                              ids: list[int] = Query([]), final_only: bool = False, ratings: str | None = None):
    """A training export (`step-rewards.jsonl`, `preference-pairs.parquet`, ...) made of the
    selection alone: its judged derivations, as the whole project's export would give them."""
    chosen = _selection(request, session, project_id, ids)
    return training_files.respond(request, session, project_id, name, None, None, final_only, ratings, ids=chosen)


@router.get("/projects/{project_id}/problems/{key}")
def problem_page(request: Request, project_id: int, key: str, session: SessionDep, user: StaffUser):
    """A problem and its perturbed twins, the reference and every model's derivation side by side."""
    return render(request, "pages/problem.html", {"view": problem_view.view(session, project_id=project_id, key=key)})
