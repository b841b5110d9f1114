"""The append-only history of labels and judgements (annotation_events)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.orm import Session

_EVENTS = """
SELECT e.id, e.at, e.kind, e.detail, e.derivation_id, s.index AS step_index,
       owner.username AS annotator, actor.username AS actor, pj.name AS project
FROM annotation_events e
JOIN derivations d ON d.id = e.derivation_id
JOIN projects pj ON pj.id = d.project_id
LEFT JOIN annotations a ON a.id = e.annotation_id
LEFT JOIN users owner ON owner.id = a.annotator_id
LEFT JOIN users actor ON actor.id = e.actor_id
LEFT JOIN steps s ON s.id = e.step_id
"""

_FOR_DERIVATION = text(_EVENTS + " WHERE e.derivation_id = :derivation_id ORDER BY e.id")
_FOR_PROJECT = text(_EVENTS + " WHERE d.project_id = :project_id ORDER BY e.id")


def for_derivation(session: Session, derivation_id: int) -> list[dict]:
    return [dict(r._mapping) for r in session.execute(_FOR_DERIVATION, {"derivation_id": derivation_id})]


def stream_for_project(session: Session, project_id: int, batch: int = 2000) -> Iterator:
    session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))  # read whole: plan as COPY would
    yield from session.execute(_FOR_PROJECT.execution_options(yield_per=batch), {"project_id": project_id})
