"""The paper's text metrics (ROUGE-2, BLEU, GLEU against the reference), computed by a
worker's metrics job after an import or a generation run rather than during it: they
are ~80% of an import's time, and the import's transaction stays set-based and short."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.math.metrics import text_metrics
from app.repositories import derivations as derivations_repo


def score_derivations(session: Session, *, derivation_ids: list[int]) -> int:
    """Compute and store the metrics of these derivations (those with a reference); returns how many."""
    rows = derivations_repo.texts_for_metrics(session, derivation_ids)
    values = [(d, text_metrics(text, reference)) for d, text, reference in rows if reference]
    derivations_repo.add_metrics(session, values)
    return len(values)
