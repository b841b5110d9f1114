"""Agreement, adjudication and history: for reviewers and admins."""

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from app.deps import SessionDep, StaffUser
from app.errors import InvalidInput
from app.models import Perturbation
from app.services import adjudication, agreement, breakdown, checking, corrections, gold
from app.services.projects import get_project, models_of
from app.web.templating import is_fragment_request, render

router = APIRouter()


def _filters(session, project_id: int, model: str | None, perturbation: str | None) -> dict:
    chosen = breakdown.parse_perturbation(perturbation)
    models = models_of(session, project_id)
    model_id = None
    if model:
        if not model.isdigit() or int(model) not in {m_id for m_id, _ in models}:
            raise InvalidInput(f"model '{model}' is not a model of this project")
        model_id = int(model)
    return {"model_id": model_id, "perturbation": chosen, "models": models,
            "perturbations": [p.value for p in Perturbation]}


@router.get("/projects/{project_id}/agreement")
def agreement_page(request: Request, project_id: int, session: SessionDep, user: StaffUser,
                   model: str | None = None, perturbation: str | None = None):
    project = get_project(session, project_id)
    filters = _filters(session, project_id, model, perturbation)
    report = agreement.compute(session, project_id=project_id, model_id=filters["model_id"],
                               perturbation=filters["perturbation"])
    return render(request, "pages/agreement.html", {"project": project, "report": report, **filters,
                                                     "gold": gold.accuracy(session, project_id=project_id)},
                  block="agreement")


@router.get("/projects/{project_id}/review")
def review_list(request: Request, project_id: int, session: SessionDep, user: StaffUser,
                model: str | None = None, perturbation: str | None = None):
    project = get_project(session, project_id)
    filters = _filters(session, project_id, model, perturbation)
    rows = adjudication.disagreements(session, project_id=project_id, model_id=filters["model_id"],
                                      perturbation=filters["perturbation"])
    return render(request, "pages/review_list.html", {"project": project, "rows": rows, **filters}, block="disagreements")


@router.get("/derivations/{derivation_id}/review")
def review_page(request: Request, derivation_id: int, session: SessionDep, user: StaffUser, back: str | None = None):
    view = adjudication.review(session, derivation_id=derivation_id)
    # the data page's view it was opened from: a link back to the same filters, sort and page
    # (only a path of this site's data pages: never an address elsewhere)
    data = f"/projects/{view.project.id}/data"
    back = back if back and (back == data or back.startswith(data + "?")) else None
    return render(request, "pages/review.html", {"view": view, "back": back})


@router.post("/derivations/{derivation_id}/final/{step_id}/{label}")
def set_final_label(request: Request, derivation_id: int, step_id: int, label: str, session: SessionDep,
                    user: StaffUser, on: bool = True):
    labels = adjudication.set_final_label(session, derivation_id=derivation_id, step_id=step_id, label=label, on=on,
                                          reviewer=user)
    view = adjudication.review(session, derivation_id=derivation_id)
    return render(request, "partials/final_labels.html",
                  {"derivation_id": derivation_id, "step_id": step_id, "labels": labels,
                   "taxonomy": view.project.taxonomy})


@router.post("/derivations/{derivation_id}/settle")
def settle(request: Request, derivation_id: int, session: SessionDep, user: StaffUser,
           goal_reached: str = Form(""), comment: str = Form("")):
    if goal_reached not in ("", "yes", "no"):
        raise InvalidInput(f"goal_reached '{goal_reached}': use yes, no or leave it empty")
    adjudication.settle(session, derivation_id=derivation_id, reviewer=user,
                        goal_reached=None if goal_reached == "" else goal_reached == "yes", comment=comment)
    view = adjudication.review(session, derivation_id=derivation_id)
    return render(request, "pages/review.html", {"view": view}, block="settlement")


@router.get("/derivations/{derivation_id}/history")
def history_page(request: Request, derivation_id: int, session: SessionDep, user: StaffUser):
    view, events = adjudication.history(session, derivation_id=derivation_id)
    return render(request, "pages/history.html",
                  {"derivation": view.derivation, "project": view.project, "events": events})


@router.post("/derivations/{derivation_id}/recheck")
def recheck(request: Request, derivation_id: int, session: SessionDep, user: StaffUser):
    """SymPy checks this derivation again, ahead of any bulk checks (after a checker upgrade, say)."""
    job_id = checking.recheck(session, derivation_id=derivation_id)
    if not is_fragment_request(request):  # a plain form post: back to the page
        return RedirectResponse(f"/derivations/{derivation_id}/review", status_code=303)
    return render(request, "partials/recheck.html", {"derivation_id": derivation_id, "job_id": job_id,
                                                     "state": "queued"})


@router.get("/derivations/{derivation_id}/recheck/{job_id}")
def recheck_status(request: Request, derivation_id: int, job_id: int, session: SessionDep, user: StaffUser):
    state = checking.recheck_state(session, derivation_id=derivation_id, job_id=job_id)
    # done: the page reloads to show the new suggestions
    headers = {"HX-Refresh": "true"} if state == "done" else None
    return render(request, "partials/recheck.html", {"derivation_id": derivation_id, "job_id": job_id,
                                                     "state": state}, headers=headers)


@router.post("/derivations/{derivation_id}/steps/{step_id}/correction")
def set_correction(request: Request, derivation_id: int, step_id: int, session: SessionDep, user: StaffUser,
                   latex: str = Form(""), accept: bool = Form(False)):
    """The correct step: SymPy's proposal accepted (accept=true), or the reviewer's LaTeX (empty clears it)."""
    corrections.set_correction(session, derivation_id=derivation_id, step_id=step_id, latex=latex,
                               accept_proposal=accept, reviewer=user)
    view = adjudication.review(session, derivation_id=derivation_id)
    step = next(s for s in view.derivation.steps if s.id == step_id)
    return render(request, "partials/correction.html", {"view": view, "step": step})
