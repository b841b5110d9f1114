"""What agreement is computed from: every submitted judgement of every step of the
derivations that at least two annotators submitted (filtered by model, perturbation)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

_SCOPE = """
    SELECT d.id FROM derivations d JOIN problems p ON p.id = d.problem_id
    WHERE d.project_id = :project_id
      AND (CAST(:model_id AS int) IS NULL OR d.model_id = :model_id)
      AND (CAST(:perturbation AS text) IS NULL OR p.perturbation::text = :perturbation)
"""

_MULTI = f"""
    SELECT a.derivation_id FROM annotations a JOIN ({_SCOPE}) scope ON scope.id = a.derivation_id
    WHERE a.status = 'submitted' GROUP BY a.derivation_id HAVING count(*) >= 2
"""

_STEP_VALUES = text(f"""
SELECT s.id AS step_id, a.annotator_id,
       coalesce(array_agg(sl.label ORDER BY sl.label) FILTER (WHERE sl.label IS NOT NULL), '{{}}') AS labels
FROM ({_MULTI}) multi
JOIN steps s ON s.derivation_id = multi.derivation_id
JOIN annotations a ON a.derivation_id = multi.derivation_id AND a.status = 'submitted'
LEFT JOIN step_labels sl ON sl.annotation_id = a.id AND sl.step_id = s.id
GROUP BY s.id, a.annotator_id
""")

_GOAL_VALUES = text(f"""
SELECT a.derivation_id, a.annotator_id, a.goal_reached
FROM ({_MULTI}) multi JOIN annotations a ON a.derivation_id = multi.derivation_id AND a.status = 'submitted'
WHERE a.goal_reached IS NOT NULL
""")

_TIME = text(f"""
SELECT u.username, count(*) AS submitted, sum(a.active_seconds) AS seconds,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY a.active_seconds) AS median_seconds
FROM annotations a JOIN ({_SCOPE}) scope ON scope.id = a.derivation_id JOIN users u ON u.id = a.annotator_id
WHERE a.status = 'submitted'
GROUP BY u.username ORDER BY u.username
""")


def _params(project_id: int, model_id: int | None, perturbation: str | None) -> dict:
    return {"project_id": project_id, "model_id": model_id, "perturbation": perturbation}


def step_values(session: Session, *, project_id: int, model_id: int | None = None,
                perturbation: str | None = None) -> list[tuple[int, int, list[str]]]:
    return [tuple(r) for r in session.execute(_STEP_VALUES, _params(project_id, model_id, perturbation))]


def goal_values(session: Session, *, project_id: int, model_id: int | None = None,
                perturbation: str | None = None) -> list[tuple[int, int, bool]]:
    return [tuple(r) for r in session.execute(_GOAL_VALUES, _params(project_id, model_id, perturbation))]


def time_per_annotator(session: Session, *, project_id: int, model_id: int | None = None,
                       perturbation: str | None = None) -> list[dict]:
    return [dict(r._mapping) for r in session.execute(_TIME, _params(project_id, model_id, perturbation))]
