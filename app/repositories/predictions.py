"""Other suggestion sources' verdicts (an external judge, a process reward model)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.models import Prediction


def upsert(session: Session, rows: list[dict]) -> None:
    """A source's verdicts; pushing the same (source, derivation, step, label) again replaces them."""
    for start in range(0, len(rows), 5000):  # under the driver's parameter limit
        stmt = insert(Prediction).values(rows[start:start + 5000])
        session.execute(stmt.on_conflict_do_update(
            index_elements=[Prediction.source, Prediction.derivation_id, Prediction.step_index, Prediction.label],
            set_={"verdict": stmt.excluded.verdict, "score": stmt.excluded.score, "reason": stmt.excluded.reason}))


def yes_for(session: Session, derivation_id: int) -> list[Prediction]:
    """The verdicts that say yes on a derivation, by source and label."""
    return list(session.scalars(select(Prediction).where(Prediction.derivation_id == derivation_id,
                                                         Prediction.verdict == "yes")
                                .order_by(Prediction.source, Prediction.label)))
