from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.models import StepCorrection


def upsert(session: Session, *, derivation_id: int, step_id: int, author_id: int, latex: str,
           from_proposal: bool) -> None:
    stmt = insert(StepCorrection).values(derivation_id=derivation_id, step_id=step_id, author_id=author_id,
                                         latex=latex, from_proposal=from_proposal)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[StepCorrection.step_id, StepCorrection.author_id],
        set_={"latex": stmt.excluded.latex, "from_proposal": stmt.excluded.from_proposal,
              "updated_at": stmt.excluded.updated_at}))


def remove(session: Session, *, step_id: int, author_id: int) -> None:
    session.execute(delete(StepCorrection).where(StepCorrection.step_id == step_id,
                                                 StepCorrection.author_id == author_id))


def latest_for(session: Session, derivation_id: int) -> dict[int, StepCorrection]:
    """step id -> the latest correction of that step (whoever wrote it)."""
    out: dict[int, StepCorrection] = {}
    for c in session.scalars(select(StepCorrection).where(StepCorrection.derivation_id == derivation_id)
                             .order_by(StepCorrection.updated_at, StepCorrection.id)):
        out[c.step_id] = c
    return out
