"""Aggregates for the per-model breakdown, computed in PostgreSQL (GROUP BY), never row by row."""

from sqlalchemy import text
from sqlalchemy.orm import Session

# Filtered derivations: one project, optionally one perturbation.
_SCOPE = """
    SELECT d.id, d.model_id FROM derivations d JOIN problems p ON p.id = d.problem_id
    WHERE d.project_id = :project_id AND (CAST(:perturbation AS text) IS NULL OR p.perturbation::text = :perturbation)
"""

# A settled adjudication replaces its derivation's annotations by one judgement: the final labels.
_DECIDED = "SELECT adj.derivation_id FROM adjudications adj WHERE adj.decided_at IS NOT NULL"

_PER_MODEL = text(f"""
WITH scope AS ({_SCOPE}),
step_counts AS (
    SELECT s.derivation_id, count(*) AS n FROM steps s JOIN scope ON scope.id = s.derivation_id GROUP BY 1
),
submitted AS (
    SELECT a.id, a.derivation_id, scope.model_id FROM annotations a JOIN scope ON scope.id = a.derivation_id
    WHERE a.status = 'submitted'
),
judgements AS (
    SELECT derivation_id, model_id FROM submitted WHERE derivation_id NOT IN ({_DECIDED})
    UNION ALL
    SELECT scope.id, scope.model_id FROM scope WHERE scope.id IN ({_DECIDED})
)
SELECT m.name AS model,
       count(DISTINCT scope.id) AS derivations,
       (SELECT count(DISTINCT derivation_id) FROM submitted WHERE submitted.model_id = m.id) AS annotated,
       coalesce(sum(sc.n), 0)::bigint AS steps,
       (SELECT coalesce(sum(sc2.n), 0)::bigint FROM judgements j JOIN step_counts sc2 ON sc2.derivation_id = j.derivation_id
         WHERE j.model_id = m.id) AS judged_steps,
       (SELECT count(*) FROM submitted WHERE submitted.model_id = m.id) AS annotations
FROM scope JOIN llm_models m ON m.id = scope.model_id
LEFT JOIN step_counts sc ON sc.derivation_id = scope.id
GROUP BY m.id, m.name ORDER BY m.name
""")

_LABELS = text(f"""
WITH scope AS ({_SCOPE}),
given AS (
    SELECT scope.model_id, sl.label FROM step_labels sl
    JOIN annotations a ON a.id = sl.annotation_id AND a.status = 'submitted'
    JOIN scope ON scope.id = a.derivation_id
    WHERE a.derivation_id NOT IN ({_DECIDED})
    UNION ALL
    SELECT scope.model_id, fl.label FROM final_labels fl JOIN scope ON scope.id = fl.derivation_id
    WHERE fl.derivation_id IN ({_DECIDED})
)
SELECT m.name AS model, given.label, count(*) AS n
FROM given JOIN llm_models m ON m.id = given.model_id
GROUP BY m.name, given.label
""")


def per_model(session: Session, *, project_id: int, perturbation: str | None) -> tuple[list[dict], list[tuple]]:
    params = {"project_id": project_id, "perturbation": perturbation}
    models = [dict(r._mapping) for r in session.execute(_PER_MODEL, params)]
    labels = [tuple(r) for r in session.execute(_LABELS, params)]
    return models, labels
