"""Export queries, read through a server-side cursor so memory stays flat."""

from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.orm import Session

# One row per step per submitted annotation; a step nobody has submitted appears once.
STEP_ROWS = text("""
SELECT pj.name AS project, p.key AS problem, p.perturbation::text AS perturbation, m.name AS model,
       d.id AS derivation_id, s.index AS step_index, s.latex,
       coalesce((SELECT array_agg(sl.label) FROM step_labels sl
                  WHERE sl.annotation_id = a.id AND sl.step_id = s.id), '{}') AS labels,
       u.username AS annotator, a.submitted_at,
       coalesce((SELECT jsonb_object_agg(ac.label, ac.verdict) FROM auto_checks ac
                  WHERE ac.derivation_id = d.id AND ac.step_index = s.index), '{}') AS checks,
       adj.decided_at IS NOT NULL AS adjudicated, reviewer.username AS reviewer,
       coalesce((SELECT array_agg(fl.label) FROM final_labels fl
                  WHERE fl.derivation_id = d.id AND fl.step_id = s.id), '{}') AS final_labels
FROM steps s
JOIN derivations d ON d.id = s.derivation_id
JOIN problems p ON p.id = d.problem_id
JOIN llm_models m ON m.id = d.model_id
JOIN projects pj ON pj.id = d.project_id
LEFT JOIN annotations a ON a.derivation_id = d.id AND a.status = 'submitted'
LEFT JOIN users u ON u.id = a.annotator_id
LEFT JOIN adjudications adj ON adj.derivation_id = d.id
LEFT JOIN users reviewer ON reviewer.id = adj.reviewer_id
WHERE d.project_id = :project_id
ORDER BY d.id, s.index, u.username NULLS FIRST
""")

# One row per derivation per submitted annotation; unannotated derivations appear once.
DERIVATION_ROWS = text("""
SELECT pj.name AS project, p.key AS problem, p.perturbation::text AS perturbation, m.name AS model,
       d.id AS derivation_id,
       (SELECT count(*) FROM steps s WHERE s.derivation_id = d.id) AS steps, d.metrics,
       coalesce((SELECT jsonb_object_agg(c.label, c.n) FROM
                   (SELECT sl.label, count(*) AS n FROM step_labels sl WHERE sl.annotation_id = a.id
                    GROUP BY sl.label) c), '{}') AS label_counts,
       a.goal_reached, a.comment, u.username AS annotator, a.submitted_at,
       (SELECT ac.verdict FROM auto_checks ac WHERE ac.derivation_id = d.id AND ac.step_index = 0
         AND ac.label = 'goal_reached') AS checked_goal,
       adj.decided_at IS NOT NULL AS adjudicated, reviewer.username AS reviewer, adj.goal_reached AS final_goal,
       coalesce((SELECT jsonb_object_agg(c.label, c.n) FROM
                   (SELECT fl.label, count(*) AS n FROM final_labels fl WHERE fl.derivation_id = d.id
                    GROUP BY fl.label) c), '{}') AS final_counts
FROM derivations d
JOIN problems p ON p.id = d.problem_id
JOIN llm_models m ON m.id = d.model_id
JOIN projects pj ON pj.id = d.project_id
LEFT JOIN annotations a ON a.derivation_id = d.id AND a.status = 'submitted'
LEFT JOIN users u ON u.id = a.annotator_id
LEFT JOIN adjudications adj ON adj.derivation_id = d.id
LEFT JOIN users reviewer ON reviewer.id = adj.reviewer_id
WHERE d.project_id = :project_id
ORDER BY d.id, u.username NULLS FIRST
""")


def stream(session: Session, query, *, project_id: int, batch: int = 2000) -> Iterator:
    result = session.execute(query.execution_options(yield_per=batch), {"project_id": project_id})
    yield from result
