from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import CurrentUser, SessionDep
from app.errors import InvalidInput, NotFound
from app.services import annotating, gold
from app.services.projects import project_of_derivation
from app.web import refs
from app.web.refs import DerivationRef, StepRef
from app.web.templating import is_fragment_request, render

router = APIRouter()


def _goal(value: str) -> bool | None:
    if value in ("", "unknown"):
        return None
    if value in ("yes", "no"):
        return value == "yes"
    raise InvalidInput(f"goal_reached '{value}': use yes, no or leave it empty")


def _seen(request: Request) -> annotating.Seen | None:
    """The annotate page sends the version it shows (0: no annotation yet) and its tab id
    with every change; requests without them (scripts, no JavaScript) are not version-checked."""
    version, tab = request.headers.get("X-Annotation-Version"), request.headers.get("X-Tab")
    if version is None and tab is None:
        return None
    if (version is not None and not version.isdigit()) or not tab or len(tab) > 40:
        raise InvalidInput("X-Annotation-Version must be a whole number and X-Tab a tab id of 1-40 characters")
    return annotating.Seen(int(version) if version is not None else None, tab)


def _redirect(request: Request, url: str) -> Response:
    if is_fragment_request(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


NO_STORE = {"Cache-Control": "no-store"}  # Back must not show a stale copy of live work


def _to_next(request: Request, session, *, project_id: int, user, skipping: int | None = None) -> Response:
    derivation_id = annotating.next_derivation(session, project_id=project_id, user=user, skipping=skipping)
    return _redirect(request, f"/derivations/{refs.of(request).encode(derivation_id)}" if derivation_id
                     else f"/projects/{project_id}/next")


@router.get("/projects/{project_id}/next")
def next_page(request: Request, project_id: int, session: SessionDep, user: CurrentUser):
    """Reading only (a GET must not claim work): the annotator's unfinished derivation, or a
    button that asks for the next one, or "all done"."""
    state = annotating.queue_state(session, project_id=project_id, user=user)
    if state.current is not None:
        return RedirectResponse(f"/derivations/{refs.of(request).encode(state.current)}", status_code=303)
    return render(request, "pages/all_done.html", {"project_id": project_id, "state": state}, headers=NO_STORE)


@router.post("/projects/{project_id}/next")
def claim_next(request: Request, project_id: int, session: SessionDep, user: CurrentUser):
    return _to_next(request, session, project_id=project_id, user=user)


@router.post("/derivations/{derivation_id}/skip")
def skip(request: Request, derivation_id: DerivationRef, session: SessionDep, user: CurrentUser):
    """Next on the annotate page: this one goes to the back of the queue, the next one opens."""
    project_id = annotating.skip(session, derivation_id=derivation_id, user=user)
    return _to_next(request, session, project_id=project_id, user=user, skipping=derivation_id)


@router.get("/derivations/{derivation_id}/previous")
def previous(request: Request, derivation_id: DerivationRef, session: SessionDep, user: CurrentUser):
    found = annotating.previous_derivation(session, derivation_id=derivation_id, user=user)
    if found is None:
        raise NotFound("This is the first derivation you were given in this project: there is none before it.")
    return RedirectResponse(f"/derivations/{refs.of(request).encode(found)}", status_code=303)


@router.get("/derivations/{derivation_id}")
def annotate_page(request: Request, derivation_id: DerivationRef, session: SessionDep, user: CurrentUser, changed: bool = False):
    """`changed`: this tab's last change was refused (another tab had changed the annotation)."""
    view = annotating.open_derivation(session, derivation_id=derivation_id, user=user)
    return render(request, "pages/annotate.html", {"view": view, "changed": changed}, headers=NO_STORE)


@router.post("/derivations/{derivation_id}/steps/{step_id}/labels/{label}")
def set_label(
    request: Request, derivation_id: DerivationRef, step_id: StepRef, label: str, session: SessionDep, user: CurrentUser,
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


@router.post("/derivations/{derivation_id}/steps/{step_id}/note")
def set_note(
    request: Request, derivation_id: DerivationRef, step_id: StepRef, session: SessionDep, user: CurrentUser,
    note: str = Form(""), unsure: bool = Form(False),
):
    annotation, note, unsure = annotating.set_step_note(
        session, derivation_id=derivation_id, step_id=step_id, note=note, unsure=unsure, user=user,
        seen=_seen(request))
    return render(request, "partials/save_status.html", {"annotation": annotation},
                  headers={"X-Annotation-Version": str(annotation.version)})


@router.post("/derivations/{derivation_id}/judgement")
def save_judgement(
    request: Request, derivation_id: DerivationRef, session: SessionDep, user: CurrentUser,
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
    request: Request, derivation_id: DerivationRef, session: SessionDep, user: CurrentUser,
    goal_reached: str = Form(""), comment: str = Form(""),
):
    project_id = annotating.submit(
        session, derivation_id=derivation_id, user=user, goal_reached=_goal(goal_reached), comment=comment,
        seen=_seen(request),
    )
    if gold.feedback(session, derivation_id=derivation_id, user=user) is not None:  # an onboarding item
        return _redirect(request, f"/derivations/{refs.of(request).encode(derivation_id)}/feedback")
    return _to_next(request, session, project_id=project_id, user=user)


@router.get("/derivations/{derivation_id}/feedback")
def gold_feedback(request: Request, derivation_id: DerivationRef, session: SessionDep, user: CurrentUser):
    """The answer to an onboarding item, beside the annotator's labels."""
    found = gold.feedback(session, derivation_id=derivation_id, user=user)  # None: nothing to show (a page says so)
    project_id = project_of_derivation(session, derivation_id)  # a gold item's: the project it calibrates
    if project_id is None:
        raise NotFound(f"derivation {derivation_id} does not exist")
    return render(request, "pages/feedback.html", {"feedback": found, "project_id": project_id}, headers=NO_STORE)


@router.post("/derivations/{derivation_id}/time")
def active_time(request: Request, derivation_id: DerivationRef, session: SessionDep, user: CurrentUser, seconds: float = Form(...)):
    """The annotate page reports time spent active (page visible, annotator at work)."""
    total = annotating.record_active_time(session, derivation_id=derivation_id, user=user, seconds=seconds)
    return Response(status_code=204, headers={"X-Active-Seconds": f"{total:.1f}"})
