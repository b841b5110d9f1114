from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import CurrentUser, SessionDep
from app.errors import InvalidInput
from app.services import annotating
from app.web.templating import is_fragment_request, render

router = APIRouter()


def _goal(value: str) -> bool | None:
    if value in ("", "unknown"):
        return None
    if value in ("yes", "no"):
        return value == "yes"
    raise InvalidInput(f"goal_reached '{value}': use yes, no or leave it empty")


def _seen(request: Request) -> annotating.Seen | None:
    """The annotate page sends the version it shows and its tab id with every change;
    requests without them (scripts, no JavaScript) are not version-checked."""
    version, tab = request.headers.get("X-Annotation-Version"), request.headers.get("X-Tab", "")
    if version is None:
        return None
    if not version.isdigit() or not tab or len(tab) > 40:
        raise InvalidInput("X-Annotation-Version must be a whole number and X-Tab a tab id of 1-40 characters")
    return annotating.Seen(int(version), tab)


def _redirect(request: Request, url: str) -> Response:
    if is_fragment_request(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@router.get("/projects/{project_id}/next")
def next_derivation(request: Request, project_id: int, session: SessionDep, user: CurrentUser):
    derivation_id = annotating.next_derivation(session, project_id=project_id, user=user)
    if derivation_id is None:
        return render(request, "pages/all_done.html", {"project_id": project_id})
    return RedirectResponse(f"/derivations/{derivation_id}", status_code=303)


@router.get("/derivations/{derivation_id}")
def annotate_page(request: Request, derivation_id: int, session: SessionDep, user: CurrentUser, changed: bool = False):
    """`changed`: this tab's last change was refused (another tab had changed the annotation)."""
    view = annotating.open_derivation(session, derivation_id=derivation_id, user=user)
    return render(request, "pages/annotate.html", {"view": view, "changed": changed})


@router.post("/derivations/{derivation_id}/steps/{step_id}/labels/{label}")
def set_label(
    request: Request, derivation_id: int, step_id: int, label: str, session: SessionDep, user: CurrentUser,
    on: bool = True,
):
    change = annotating.set_step_label(
        session, derivation_id=derivation_id, step_id=step_id, label=label, on=on, user=user, seen=_seen(request)
    )
    return render(
        request, "partials/label_change.html",
        {"derivation_id": derivation_id, "step": change.step, "labels": change.labels, "taxonomy": change.taxonomy,
         "status": change.status},
        headers={"X-Annotation-Version": str(change.version)},
    )


@router.post("/derivations/{derivation_id}/judgement")
def save_judgement(
    request: Request, derivation_id: int, session: SessionDep, user: CurrentUser,
    goal_reached: str = Form(""), comment: str = Form(""),
):
    annotation = annotating.save_judgement(
        session, derivation_id=derivation_id, user=user, goal_reached=_goal(goal_reached), comment=comment,
        seen=_seen(request),
    )
    return render(request, "partials/save_status.html", {"annotation": annotation},
                  headers={"X-Annotation-Version": str(annotation.version)})


@router.post("/derivations/{derivation_id}/submit")
def submit(
    request: Request, derivation_id: int, session: SessionDep, user: CurrentUser,
    goal_reached: str = Form(""), comment: str = Form(""),
):
    project_id = annotating.submit(
        session, derivation_id=derivation_id, user=user, goal_reached=_goal(goal_reached), comment=comment,
        seen=_seen(request),
    )
    return _redirect(request, f"/projects/{project_id}/next")


@router.post("/derivations/{derivation_id}/time")
def active_time(request: Request, derivation_id: int, session: SessionDep, user: CurrentUser, seconds: float = Form(...)):
    """The annotate page reports time spent active (page visible, annotator at work)."""
    total = annotating.record_active_time(session, derivation_id=derivation_id, user=user, seconds=seconds)
    return Response(status_code=204, headers={"X-Active-Seconds": f"{total:.1f}"})
