"""An annotator's writes: labels, notes, the judgement, submit, active time; each written
when made (the request's transaction commits it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.models import Annotation, AnnotationStatus, Step, User
from app.repositories import annotations as annotations_repo
from app.repositories import derivations as derivations_repo
from app.services.taxonomy import check_label
from app.services.annotating.common import _derivation_exists, Seen, _own_annotation, state_of


MAX_ACTIVE_REPORT = 120.0  # seconds one report may add (the page reports every 15 s)


def record_active_time(session: Session, *, derivation_id: int, user: User, seconds: float) -> float:
    """Add active seconds reported by the annotate page; returns the annotation's total."""
    if not 0 <= seconds <= MAX_ACTIVE_REPORT:
        raise InvalidInput(f"seconds: 0..{MAX_ACTIVE_REPORT:.0f} per report (got {seconds})")
    annotation = annotations_repo.get(session, derivation_id=derivation_id, annotator_id=user.id)
    if annotation is None:
        _derivation_exists(session, derivation_id)
        raise NotFound(f"you have no annotation of derivation {derivation_id}")
    return annotations_repo.add_active_time(session, annotation.id, seconds)


@dataclass
class LabelChange:
    step: Step
    labels: set[str]  # the step's labels after the change
    taxonomy: list[dict]
    status: str  # of the annotation: state_of()
    version: int  # of the annotation, after the change


def set_step_label(
    session: Session, *, derivation_id: int, step_id: int, label: str, on: bool, user: User, seen: Seen | None = None
) -> LabelChange:
    """Set (not toggle) a label, so a repeated or replayed request changes nothing more."""
    found = derivations_repo.step_in_derivation(session, derivation_id, step_id)
    if found is None:
        _derivation_exists(session, derivation_id)
        raise NotFound(f"step {step_id} is not a step of derivation {derivation_id}")
    step, taxonomy = found
    check_label(taxonomy, label, on)
    annotation = _own_annotation(session, derivation_id=derivation_id, user=user, seen=seen)
    if annotations_repo.set_label(session, annotation_id=annotation.id, step_id=step_id, label=label, on=on):
        annotations_repo.touch(session, annotation.id, last_tab=seen.tab if seen else None)
        annotations_repo.add_event(
            session, annotation_id=annotation.id, derivation_id=derivation_id, actor_id=user.id,
            kind="label_on" if on else "label_off", step_id=step_id,
            detail={"label": label, "old": not on, "new": on},
        )
    return LabelChange(
        step, annotations_repo.labels_of_step(session, annotation.id, step_id), taxonomy, state_of(annotation),
        annotation.version,
    )


MAX_COMMENT = 10_000
MAX_NOTE = 2_000


def set_step_note(session: Session, *, derivation_id: int, step_id: int, note: str, unsure: bool, user: User,
                  seen: Seen | None = None) -> tuple[Annotation, str, bool]:
    """An annotator's note on a step and their "unsure" flag: part of the judgement (versioned, in the history)."""
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"note: at most {MAX_NOTE} characters ({len(note)} given)")
    if derivations_repo.step_in_derivation(session, derivation_id, step_id) is None:
        _derivation_exists(session, derivation_id)
        raise NotFound(f"step {step_id} is not a step of derivation {derivation_id}")
    annotation = _own_annotation(session, derivation_id=derivation_id, user=user, seen=seen)
    old = annotations_repo.set_note(session, annotation_id=annotation.id, step_id=step_id, note=note, unsure=unsure)
    if old is not None:
        annotations_repo.touch(session, annotation.id, last_tab=seen.tab if seen else None)
        annotations_repo.add_event(
            session, annotation_id=annotation.id, derivation_id=derivation_id, actor_id=user.id, kind="note",
            step_id=step_id, detail={"note": note, "unsure": unsure, "old": {"note": old[0], "unsure": old[1]}})
    return annotation, note, unsure


def save_judgement(
    session: Session, *, derivation_id: int, user: User, goal_reached: bool | None, comment: str,
    seen: Seen | None = None,
) -> Annotation:
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"comment: at most {MAX_COMMENT} characters ({len(comment)} given)")
    _derivation_exists(session, derivation_id)
    annotation = _own_annotation(session, derivation_id=derivation_id, user=user, seen=seen)
    changes = {}
    old = {"goal_reached": annotation.goal_reached, "comment": annotation.comment}
    if annotation.goal_reached != goal_reached:
        changes["goal_reached"] = goal_reached
    if annotation.comment != comment:
        changes["comment"] = comment
    if changes:
        annotations_repo.touch(session, annotation.id, last_tab=seen.tab if seen else None, **changes)
        annotations_repo.add_event(
            session, annotation_id=annotation.id, derivation_id=derivation_id, actor_id=user.id, kind="judgement",
            detail={**{k: v for k, v in changes.items()}, "old": {k: old[k] for k in changes}},
        )
    return annotation


def submit(
    session: Session, *, derivation_id: int, user: User, goal_reached: bool | None, comment: str,
    seen: Seen | None = None,
) -> int:
    """Save the judgement and mark the work done; returns the project id (for Next)."""
    project_id = _derivation_exists(session, derivation_id)
    annotation = save_judgement(
        session, derivation_id=derivation_id, user=user, goal_reached=goal_reached, comment=comment, seen=seen
    )
    # version and submitted_version move together: the submitted state is this version
    annotations_repo.touch(
        session, annotation.id, status=AnnotationStatus.submitted, submitted_at=datetime.now(timezone.utc),
        submitted_version=Annotation.version + 1, skipped_at=None, last_tab=seen.tab if seen else None,
    )
    annotations_repo.snapshot_submitted(session, [annotation.id])  # what exports read until the next submit
    annotations_repo.add_event(session, annotation_id=annotation.id, derivation_id=derivation_id, actor_id=user.id,
                               kind="submit")
    return project_id
