from typing import Any

from sqlalchemy import delete, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.models import Annotation, AnnotationEvent, AnnotationStatus, Derivation, StepLabel, StepNote


def get(session: Session, *, derivation_id: int, annotator_id: int, lock: bool = False) -> Annotation | None:
    statement = select(Annotation).where(
        Annotation.derivation_id == derivation_id, Annotation.annotator_id == annotator_id
    )
    if lock:  # a version check then a write: no other writer in between
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return session.scalar(statement)


def get_or_create(session: Session, *, derivation_id: int, annotator_id: int) -> Annotation:
    annotation = get(session, derivation_id=derivation_id, annotator_id=annotator_id)
    if annotation is not None:
        return annotation
    session.execute(
        insert(Annotation)
        .values(derivation_id=derivation_id, annotator_id=annotator_id, status=AnnotationStatus.in_progress,
                comment="", version=1)
        .on_conflict_do_nothing(index_elements=["derivation_id", "annotator_id"])
    )
    annotation = get(session, derivation_id=derivation_id, annotator_id=annotator_id)
    assert annotation is not None
    return annotation


def _in_progress(project_id: int, annotator_id: int):
    return (select(Annotation)
            .join(Derivation, Derivation.id == Annotation.derivation_id)
            .where(Derivation.project_id == project_id, Annotation.annotator_id == annotator_id,
                   Annotation.status == AnnotationStatus.in_progress))


def oldest_in_progress(session: Session, *, project_id: int, annotator_id: int) -> int | None:
    """The annotator's oldest unfinished derivation that they have not skipped."""
    return session.scalar(
        _in_progress(project_id, annotator_id).with_only_columns(Annotation.derivation_id)
        .where(Annotation.skipped_at.is_(None))
        .order_by(Annotation.created_at, Annotation.id)
        .limit(1)
    )


def longest_skipped(session: Session, *, project_id: int, annotator_id: int, exclude: int | None = None) -> int | None:
    """The skipped derivation skipped longest ago (Next serves these once nothing new is left)."""
    query = (_in_progress(project_id, annotator_id).with_only_columns(Annotation.derivation_id)
             .where(Annotation.skipped_at.is_not(None)))
    if exclude is not None:
        query = query.where(Annotation.derivation_id != exclude)
    return session.scalar(query.order_by(Annotation.skipped_at, Annotation.id).limit(1))


_UNSET = object()


def previous(session: Session, *, project_id: int, annotator_id: int, derivation_id: int,
             current=_UNSET) -> int | None:
    """The derivation the annotator was given before this one (in the order Next gave them).
    `current`: the annotator's annotation of this derivation when the caller has it (or None)."""
    if current is _UNSET:
        current = get(session, derivation_id=derivation_id, annotator_id=annotator_id)
    query = (select(Annotation.derivation_id)
             .join(Derivation, Derivation.id == Annotation.derivation_id)
             .where(Derivation.project_id == project_id, Annotation.annotator_id == annotator_id,
                    Annotation.derivation_id != derivation_id))
    if current is not None:
        query = query.where(tuple_(Annotation.created_at, Annotation.id) < (current.created_at, current.id))
    return session.scalar(query.order_by(Annotation.created_at.desc(), Annotation.id.desc()).limit(1))


def queue_counts(session: Session, *, project_id: int, annotator_id: int) -> dict[str, int]:
    skipped, submitted = session.execute(
        select(func.count().filter(Annotation.skipped_at.is_not(None),
                                   Annotation.status == AnnotationStatus.in_progress),
               func.count().filter(Annotation.status == AnnotationStatus.submitted))
        .select_from(Annotation).join(Derivation, Derivation.id == Annotation.derivation_id)
        .where(Derivation.project_id == project_id, Annotation.annotator_id == annotator_id)
    ).one()
    return {"skipped": skipped, "submitted": submitted}


def labels_by_step(session: Session, annotation_id: int) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for step_id, label in session.execute(
        select(StepLabel.step_id, StepLabel.label).where(StepLabel.annotation_id == annotation_id)
    ):
        out.setdefault(step_id, set()).add(label)
    return out


def notes_by_step(session: Session, annotation_id: int) -> dict[int, tuple[str, bool]]:
    return {step_id: (note, unsure) for step_id, note, unsure in session.execute(
        select(StepNote.step_id, StepNote.note, StepNote.unsure).where(StepNote.annotation_id == annotation_id))}


def set_note(session: Session, *, annotation_id: int, step_id: int, note: str, unsure: bool) -> tuple[str, bool] | None:
    """Write a step's note and unsure flag; returns the old (note, unsure) when that changed anything."""
    old = session.execute(select(StepNote.note, StepNote.unsure).where(
        StepNote.annotation_id == annotation_id, StepNote.step_id == step_id).with_for_update()).first()
    old = (old[0], old[1]) if old else ("", False)
    if old == (note, unsure):
        return None
    session.execute(insert(StepNote).values(annotation_id=annotation_id, step_id=step_id, note=note, unsure=unsure)
                    .on_conflict_do_update(index_elements=["annotation_id", "step_id"],
                                           set_={"note": note, "unsure": unsure, "updated_at": func.now()}))
    return old


def labels_of_step(session: Session, annotation_id: int, step_id: int) -> set[str]:
    return set(
        session.scalars(
            select(StepLabel.label).where(StepLabel.annotation_id == annotation_id, StepLabel.step_id == step_id)
        )
    )


def set_label(session: Session, *, annotation_id: int, step_id: int, label: str, on: bool) -> bool:
    """Put a label on a step or take it off; True when that changed anything."""
    # RETURNING, not rowcount: ORM-enabled INSERT reports rowcount -1.
    if on:
        statement = (
            insert(StepLabel)
            .values(annotation_id=annotation_id, step_id=step_id, label=label)
            .on_conflict_do_nothing()
            .returning(StepLabel.label)
        )
    else:
        statement = (
            delete(StepLabel)
            .where(StepLabel.annotation_id == annotation_id, StepLabel.step_id == step_id, StepLabel.label == label)
            .returning(StepLabel.label)
        )
    return session.execute(statement).first() is not None


def set_fields(session: Session, annotation_id: int, **values: Any) -> None:
    """Change bookkeeping (a skip) without bumping the version: the judgement is unchanged."""
    session.execute(update(Annotation).where(Annotation.id == annotation_id).values(**values)
                    .execution_options(synchronize_session="fetch"))


def touch(session: Session, annotation_id: int, **values: Any) -> None:
    """Apply changes and bump the version, in one statement."""
    session.execute(
        update(Annotation)
        .where(Annotation.id == annotation_id)
        .values(version=Annotation.version + 1, **values)
        .execution_options(synchronize_session="fetch")  # RETURNING on PostgreSQL: no extra query
    )


def snapshot_submitted(session: Session, annotation_ids: list[int]) -> None:
    """Record the annotations' labels, goal and comment as their submitted version."""
    params = {"ids": annotation_ids}
    session.execute(text("DELETE FROM submitted_step_labels WHERE annotation_id = ANY(:ids)"), params)
    session.execute(text("""INSERT INTO submitted_step_labels (annotation_id, step_id, label)
                            SELECT annotation_id, step_id, label FROM step_labels WHERE annotation_id = ANY(:ids)"""),
                    params)
    session.execute(text("""UPDATE annotations SET submitted_goal_reached = goal_reached, submitted_comment = comment
                            WHERE id = ANY(:ids)"""), params)


def add_event(session: Session, *, derivation_id: int, actor_id: int, kind: str, annotation_id: int | None = None,
              step_id: int | None = None, detail: dict[str, Any] | None = None) -> None:
    session.execute(
        insert(AnnotationEvent).values(
            annotation_id=annotation_id, derivation_id=derivation_id, actor_id=actor_id, kind=kind, step_id=step_id,
            detail=detail or {},
        )
    )


def add_active_time(session: Session, annotation_id: int, seconds: float) -> float:
    # not touch(): time is not a change of the judgement, so the version stays
    return session.execute(
        update(Annotation).where(Annotation.id == annotation_id)
        .values(active_seconds=Annotation.active_seconds + seconds)
        .returning(Annotation.active_seconds)
    ).scalar_one()


def list_for_annotator(session: Session, *, project_id: int, annotator_id: int, limit: int = 200) -> list[Annotation]:
    return list(
        session.scalars(
            select(Annotation)
            .join(Derivation, Derivation.id == Annotation.derivation_id)
            .where(Derivation.project_id == project_id, Annotation.annotator_id == annotator_id)
            .order_by(Annotation.updated_at.desc())
            .limit(limit)
        )
    )


def assign_many(session: Session, *, annotator_id: int, derivation_ids: list[int]) -> int:
    """Put derivations in an annotator's queue (an annotation in progress each, as Next makes
    one), leaving any the annotator has already; returns how many were new."""
    if not derivation_ids:
        return 0
    rows = [{"derivation_id": d, "annotator_id": annotator_id, "status": AnnotationStatus.in_progress, "comment": "",
             "version": 1} for d in sorted(set(derivation_ids))]
    return len(session.execute(insert(Annotation).values(rows)
                               .on_conflict_do_nothing(index_elements=["derivation_id", "annotator_id"])
                               .returning(Annotation.id)).all())


# What a reset keeps: each annotation's judgement (and each settlement) as an event of the
# derivation's history, written before the rows go.
_RESET_ANNOTATION_EVENTS = text("""
INSERT INTO annotation_events (derivation_id, actor_id, kind, detail)
SELECT a.derivation_id, :actor, 'annotation reset', jsonb_build_object(
    'annotator', u.username, 'status', a.status::text, 'goal_reached', a.goal_reached, 'comment', a.comment,
    'submitted_at', to_char(a.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'labels', coalesce((SELECT jsonb_agg(jsonb_build_object('step', s.index, 'label', sl.label) ORDER BY s.index, sl.label)
                        FROM step_labels sl JOIN steps s ON s.id = sl.step_id WHERE sl.annotation_id = a.id), '[]'))
FROM annotations a JOIN users u ON u.id = a.annotator_id
WHERE a.derivation_id = ANY(:ids) ORDER BY a.derivation_id, a.id""")
_RESET_SETTLEMENT_EVENTS = text("""
INSERT INTO annotation_events (derivation_id, actor_id, kind, detail)
SELECT adj.derivation_id, :actor, 'settlement reset', jsonb_build_object(
    'reviewer', u.username, 'goal_reached', adj.goal_reached, 'comment', adj.comment,
    'labels', coalesce((SELECT jsonb_agg(jsonb_build_object('step', s.index, 'label', fl.label) ORDER BY s.index, fl.label)
                        FROM final_labels fl JOIN steps s ON s.id = fl.step_id WHERE fl.derivation_id = adj.derivation_id), '[]'))
FROM adjudications adj LEFT JOIN users u ON u.id = adj.reviewer_id
WHERE adj.derivation_id = ANY(:ids) ORDER BY adj.derivation_id""")


def reset(session: Session, *, derivation_ids: list[int], actor_id: int) -> tuple[int, int]:
    """Every annotation and settlement of these derivations removed, each kept as a 'reset'
    event first; the earlier events stay, detached from the annotation row that goes (their
    actor says who acted). Returns (annotations, settlements) removed."""
    params = {"ids": derivation_ids, "actor": actor_id}
    annotations = session.execute(_RESET_ANNOTATION_EVENTS, params).rowcount
    settlements = session.execute(_RESET_SETTLEMENT_EVENTS, params).rowcount
    session.execute(text("""UPDATE annotation_events SET annotation_id = NULL WHERE annotation_id IN
                            (SELECT id FROM annotations WHERE derivation_id = ANY(:ids))"""), params)
    session.execute(text("DELETE FROM adjudications WHERE derivation_id = ANY(:ids)"), params)
    session.execute(text("DELETE FROM annotations WHERE derivation_id = ANY(:ids)"), params)
    return annotations, settlements
