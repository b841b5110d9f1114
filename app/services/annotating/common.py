"""What the annotate page's view, queue and writes share: finding the derivation, who may
open it, the annotator's own annotation and its state."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.errors import Forbidden, NotFound, StaleAnnotation
from app.models import Annotation, AnnotationStatus, Derivation, Role, User
from app.repositories import annotations as annotations_repo
from app.repositories import derivations as derivations_repo
from app.repositories import projects as projects_repo
from app.services.projects import get_project


def state_of(annotation: Annotation | None) -> str:
    """new | in_progress | submitted | changed (submitted, then changed: needs submitting again)."""
    if annotation is None:
        return "new"
    if annotation.status == AnnotationStatus.submitted:
        return "submitted" if annotation.submitted_version in (None, annotation.version) else "changed"
    return "in_progress"


STATE_TEXT = {"new": "not started", "in_progress": "in progress", "submitted": "submitted",
              "changed": "changed since submitted: submit again"}


def _derivation(session: Session, derivation_id: int) -> Derivation:
    derivation = derivations_repo.get_full(session, derivation_id)
    if derivation is None:
        raise NotFound(f"derivation {derivation_id} does not exist")
    return derivation


def _derivation_exists(session: Session, derivation_id: int) -> int:
    project_id = derivations_repo.get_project_id(session, derivation_id)
    if project_id is None:
        raise NotFound(f"derivation {derivation_id} does not exist")
    return project_id


_project = get_project


NOT_MEMBER = "You are not one of this project's annotators."


def check_project_access(session: Session, *, project_id: int, user: User) -> None:
    """Annotators work only in projects open to them (no members listed, or they are one). A
    project's gold companion does not exist for them (the same 404 as a missing project): its
    name and its list of items would tell gold from real; they meet gold items as items of the
    project they calibrate."""
    if user.role != Role.annotator:
        return
    project = projects_repo.get(session, project_id)
    if project is not None and project.gold_of is not None:
        raise NotFound(f"project {project_id} does not exist")
    if project is not None and project.archived_at is not None:
        raise Forbidden("This project is archived: it takes no more annotations (an admin can bring it back).")
    if not projects_repo.is_open_to(session, project_id, user.id):
        raise Forbidden(NOT_MEMBER)


def _calibrated(session: Session, project_id: int) -> int:
    """The project a derivation counts for: a gold item's is the project its companion calibrates."""
    project = projects_repo.get(session, project_id)
    return project.gold_of if project is not None and project.gold_of is not None else project_id


@dataclass(frozen=True)
class Seen:
    """What the writing browser tab last saw: the annotation's version, and the tab's id.
    A write is refused when the annotation changed since, unless this same tab changed it
    (its own quick changes may overtake each other's responses)."""
    version: int | None  # None: not version-checked, but the tab is recorded
    tab: str


def _own_annotation(session: Session, *, derivation_id: int, user: User, seen: Seen | None = None) -> Annotation:
    """The user's annotation of the derivation. Annotators get derivations from Next only,
    so the overlap holds; admins and reviewers may open and label any derivation."""
    annotation = annotations_repo.get(session, derivation_id=derivation_id, annotator_id=user.id,
                                      lock=seen is not None)
    if user.role == Role.annotator:  # removed from the project's annotators: their old work is closed to them
        open_ = projects_repo.derivation_open_to(session, derivation_id, user.id)
        if open_ is None:
            raise NotFound(f"derivation {derivation_id} does not exist")
        if not open_:
            raise Forbidden(NOT_MEMBER)
    if annotation is not None:
        if seen is not None and seen.version is not None and seen.version != annotation.version \
                and annotation.last_tab != seen.tab:
            raise StaleAnnotation(
                f"This annotation was changed in another tab or window (it is at version {annotation.version}, "
                f"this page showed version {seen.version}). Your change was not saved: here is the current state.",
                derivation_id=derivation_id)
        return annotation
    if user.role == Role.annotator:
        _derivation_exists(session, derivation_id)
        raise Forbidden("This derivation is not in your queue: use “Annotate next”.")
    # Created by this tab's first change: the tab is recorded at once (touch), so its next quick
    # changes, sent before this one's answer came back, are its own and never refused.
    return annotations_repo.get_or_create(session, derivation_id=derivation_id, annotator_id=user.id)
