from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.models import Annotation, Derivation, Project, Step


def get_full(session: Session, derivation_id: int) -> Derivation | None:
    """A derivation with its problem, model and steps, loaded in two queries."""
    return session.scalar(
        select(Derivation)
        .where(Derivation.id == derivation_id)
        .options(
            joinedload(Derivation.problem),
            joinedload(Derivation.model),
            selectinload(Derivation.steps),
        )
    )


def get_project_id(session: Session, derivation_id: int) -> int | None:
    return session.scalar(select(Derivation.project_id).where(Derivation.id == derivation_id))


def step_in_derivation(session: Session, derivation_id: int, step_id: int) -> tuple[Step, list[dict]] | None:
    """The step, if it belongs to the derivation, with its project's taxonomy (one query: the hot path)."""
    row = session.execute(
        select(Step, Project.taxonomy)
        .join(Derivation, Derivation.id == Step.derivation_id)
        .join(Project, Project.id == Derivation.project_id)
        .where(Step.id == step_id, Step.derivation_id == derivation_id)
    ).first()
    return (row[0], row[1]) if row else None


def next_unclaimed(session: Session, *, project_id: int, annotator_id: int, overlap: int) -> int | None:
    """The derivation with the fewest annotations below the overlap that this
    annotator has not touched; locked rows are skipped so two annotators
    pressing Next at once do not both take the last slot."""
    taken = (
        select(func.count())
        .select_from(Annotation)
        .where(Annotation.derivation_id == Derivation.id)
        .scalar_subquery()
    )
    mine = select(Annotation.id).where(
        Annotation.derivation_id == Derivation.id, Annotation.annotator_id == annotator_id
    )
    return session.scalar(
        select(Derivation.id)
        .where(Derivation.project_id == project_id, ~mine.exists(), taken < overlap)
        .order_by(taken, Derivation.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=Derivation)
    )
