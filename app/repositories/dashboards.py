"""The dashboards' aggregates, all computed in PostgreSQL (GROUP BY, window functions):
no query here returns a row per label.

Every query starts from the same filtered judgements: each submitted annotation,
except on derivations a reviewer settled, which count once with their final labels
(when filtering by one annotator, that annotator's own annotations are used)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Filters:
    project_id: int
    model_id: int | None = None
    perturbation: str | None = None
    annotator_id: int | None = None
    since: date | None = None  # judgements made on or after this day
    until: date | None = None  # ... and on or before this day

    def params(self) -> dict:
        return {"project_id": self.project_id, "model_id": self.model_id, "perturbation": self.perturbation,
                "annotator_id": self.annotator_id, "since": self.since,
                "until": self.until + timedelta(days=1) if self.until else None}


_FILTERED = """d.project_id = :project_id
      AND (CAST(:model_id AS int) IS NULL OR d.model_id = :model_id)
      AND (CAST(:perturbation AS text) IS NULL OR p.perturbation::text = :perturbation)"""


def base(scope: str = _FILTERED) -> str:
    """The judgements CTEs over the derivations matching `scope` (a WHERE condition on
    d = derivations, p = problems); app.repositories.rollups reuses them per derivation."""
    return _BASE_TEMPLATE.replace("{scope}", scope)


_BASE_TEMPLATE = """
WITH scope AS (
    SELECT d.id, d.project_id, d.model_id, d.metrics, p.perturbation::text AS perturbation
    FROM derivations d JOIN problems p ON p.id = d.problem_id
    WHERE {scope}
),
decided AS (
    SELECT adj.derivation_id, adj.goal_reached, adj.decided_at
    FROM adjudications adj JOIN scope ON scope.id = adj.derivation_id
    WHERE adj.decided_at IS NOT NULL AND CAST(:annotator_id AS int) IS NULL
),
judgements AS (  -- jid > 0: an annotation's id; jid < 0: a settled derivation's id, negated
    SELECT a.id AS jid, a.derivation_id, scope.model_id, scope.perturbation, a.annotator_id, a.goal_reached,
           a.submitted_at AS at
    FROM annotations a JOIN scope ON scope.id = a.derivation_id
    WHERE a.status = 'submitted'
      AND (CAST(:annotator_id AS int) IS NULL OR a.annotator_id = :annotator_id)
      AND NOT EXISTS (SELECT 1 FROM decided WHERE decided.derivation_id = a.derivation_id)
      AND (CAST(:since AS date) IS NULL OR a.submitted_at >= :since)
      AND (CAST(:until AS date) IS NULL OR a.submitted_at < :until)
    UNION ALL
    SELECT -decided.derivation_id, decided.derivation_id, scope.model_id, scope.perturbation, NULL,
           decided.goal_reached, decided.decided_at
    FROM decided JOIN scope ON scope.id = decided.derivation_id
    WHERE (CAST(:since AS date) IS NULL OR decided.decided_at >= :since)
      AND (CAST(:until AS date) IS NULL OR decided.decided_at < :until)
),
labels AS (
    SELECT j.jid, j.derivation_id, j.model_id, j.perturbation, sl.step_id, sl.label
    FROM judgements j JOIN step_labels sl ON sl.annotation_id = j.jid WHERE j.jid > 0
    UNION ALL
    SELECT j.jid, j.derivation_id, j.model_id, j.perturbation, fl.step_id, fl.label
    FROM judgements j JOIN final_labels fl ON fl.derivation_id = j.derivation_id WHERE j.jid < 0
),
step_counts AS (
    SELECT s.derivation_id, count(*) AS n FROM steps s JOIN scope ON scope.id = s.derivation_id GROUP BY 1
),
per_derivation AS (  -- judgements per derivation, and their goals
    SELECT derivation_id, count(*) AS n, count(*) FILTER (WHERE goal_reached) AS goal_yes,
           count(*) FILTER (WHERE goal_reached IS NOT NULL) AS goal_judged
    FROM judgements GROUP BY derivation_id
)
"""
_BASE = base()

# Per model and perturbation: sizes, judged steps, goal, and per label the labelled steps
# and the judgements with at least one such label.
_TOTALS = text(_BASE + """
SELECT m.name AS model, scope.perturbation,
       count(*) AS derivations,
       coalesce(sum(sc.n), 0)::bigint AS steps,
       count(pd.derivation_id) AS annotated,
       coalesce(sum(pd.n), 0)::bigint AS judgements,
       coalesce(sum(sc.n * pd.n), 0)::bigint AS judged_steps,
       coalesce(sum(pd.goal_yes), 0)::bigint AS goal_yes,
       coalesce(sum(pd.goal_judged), 0)::bigint AS goal_judged,
       coalesce(sum((scope.metrics->>'rouge2')::float8), 0) AS rouge2_sum, count(scope.metrics->>'rouge2') AS rouge2_n,
       coalesce(sum((scope.metrics->>'bleu')::float8), 0) AS bleu_sum, count(scope.metrics->>'bleu') AS bleu_n,
       coalesce(sum((scope.metrics->>'gleu')::float8), 0) AS gleu_sum, count(scope.metrics->>'gleu') AS gleu_n
FROM scope JOIN llm_models m ON m.id = scope.model_id
LEFT JOIN step_counts sc ON sc.derivation_id = scope.id
LEFT JOIN per_derivation pd ON pd.derivation_id = scope.id
GROUP BY m.name, scope.perturbation
ORDER BY m.name, scope.perturbation
""")

_LABEL_COUNTS = text(_BASE + """
SELECT m.name AS model, labels.perturbation, labels.label, count(*) AS steps, count(DISTINCT labels.jid) AS judgements
FROM labels JOIN llm_models m ON m.id = labels.model_id
GROUP BY m.name, labels.perturbation, labels.label
""")

# Per derivation (one point each): the text metrics and the human error count (labelled
# steps per judgement, averaged over its judgements); Spearman's rho per model as the
# Pearson correlation of average ranks.
_METRIC_POINTS = _BASE + """,
label_totals AS (SELECT derivation_id, count(*) AS k FROM labels GROUP BY derivation_id),
joined AS MATERIALIZED (  -- joined before the metrics filter, whose selectivity PostgreSQL underestimates
    SELECT scope.id, scope.model_id, (scope.metrics->>'rouge2')::float8 AS rouge2,
           (scope.metrics->>'bleu')::float8 AS bleu, (scope.metrics->>'gleu')::float8 AS gleu,
           coalesce(lt.k, 0)::float8 / pd.n AS errors
    FROM scope JOIN per_derivation pd ON pd.derivation_id = scope.id
    LEFT JOIN label_totals lt ON lt.derivation_id = scope.id
),
points AS (SELECT * FROM joined WHERE rouge2 IS NOT NULL AND bleu IS NOT NULL AND gleu IS NOT NULL)
"""

# Average ranks per model of a `points` CTE (model_id, errors, rouge2, bleu, gleu).
RANKED = """ranked AS (
    SELECT model_id,
           rank() OVER (PARTITION BY model_id ORDER BY errors) + (count(*) OVER (PARTITION BY model_id, errors) - 1) / 2.0 AS r_errors,
           rank() OVER (PARTITION BY model_id ORDER BY rouge2) + (count(*) OVER (PARTITION BY model_id, rouge2) - 1) / 2.0 AS r_rouge2,
           rank() OVER (PARTITION BY model_id ORDER BY bleu) + (count(*) OVER (PARTITION BY model_id, bleu) - 1) / 2.0 AS r_bleu,
           rank() OVER (PARTITION BY model_id ORDER BY gleu) + (count(*) OVER (PARTITION BY model_id, gleu) - 1) / 2.0 AS r_gleu
    FROM points
)"""

_SPEARMAN = text(_METRIC_POINTS + ",\n" + RANKED + """
SELECT m.name AS model, count(*) AS derivations, corr(r_rouge2, r_errors) AS rouge2, corr(r_bleu, r_errors) AS bleu,
       corr(r_gleu, r_errors) AS gleu
FROM ranked JOIN llm_models m ON m.id = ranked.model_id
GROUP BY m.name ORDER BY m.name
""")

# The scatter plots a fixed pseudo-random sample per model (hashint4 of the id: the same
# points on every load, spread over the whole project rather than its oldest imports).
_POINTS = text(_METRIC_POINTS + """
SELECT derivation_id, model, rouge2, bleu, gleu, errors FROM (
    SELECT points.id AS derivation_id, m.name AS model, rouge2, bleu, gleu, errors,
           row_number() OVER (PARTITION BY points.model_id ORDER BY hashint4(points.id), points.id) AS k
    FROM points JOIN llm_models m ON m.id = points.model_id
) sampled WHERE k <= :per_model ORDER BY derivation_id
""")

# SymPy's suggestions against the humans: a step's label is "human yes" when at least
# half of its judgements gave it; goal reached likewise per derivation.
CHECKER_CTES = """,
judged_steps AS (
    SELECT s.id AS step_id, s.derivation_id, s.index, pd.n
    FROM steps s JOIN per_derivation pd ON pd.derivation_id = s.derivation_id
),
human AS (SELECT step_id, label, count(*) AS k FROM labels GROUP BY step_id, label),
pairs AS (
    SELECT js.derivation_id, js.index, ac.label, ac.verdict, coalesce(h.k, 0) * 2 >= js.n AS human_yes
    FROM judged_steps js
    JOIN auto_checks ac ON ac.derivation_id = js.derivation_id AND ac.step_index = js.index
    LEFT JOIN human h ON h.step_id = js.step_id AND h.label = ac.label
    WHERE ac.label <> 'goal_reached'
    UNION ALL
    SELECT pd.derivation_id, 0, 'goal_reached', ac.verdict, pd.goal_yes * 2 >= pd.goal_judged
    FROM per_derivation pd
    JOIN auto_checks ac ON ac.derivation_id = pd.derivation_id AND ac.step_index = 0 AND ac.label = 'goal_reached'
    WHERE pd.goal_judged > 0
)
"""
_CHECKER = _BASE + CHECKER_CTES

# Other suggestion sources (predictions pushed through the API), scored the same way; live
# (not rolled up): a source's predictions are few beside the labels.
_SOURCE_SCORES = text(_BASE + """,
judged_steps AS (
    SELECT s.id AS step_id, s.derivation_id, s.index, pd.n
    FROM steps s JOIN per_derivation pd ON pd.derivation_id = s.derivation_id
),
human AS (SELECT step_id, label, count(*) AS k FROM labels GROUP BY step_id, label),
pairs AS (
    SELECT pr.source, pr.label, pr.verdict, coalesce(h.k, 0) * 2 >= js.n AS human_yes
    FROM judged_steps js
    JOIN predictions pr ON pr.derivation_id = js.derivation_id AND pr.step_index = js.index
    LEFT JOIN human h ON h.step_id = js.step_id AND h.label = pr.label
    WHERE pr.label <> 'goal_reached'
    UNION ALL
    SELECT pr.source, 'goal_reached', pr.verdict, pd.goal_yes * 2 >= pd.goal_judged
    FROM per_derivation pd
    JOIN predictions pr ON pr.derivation_id = pd.derivation_id AND pr.step_index = 0 AND pr.label = 'goal_reached'
    WHERE pd.goal_judged > 0
)
SELECT source, label,
       count(*) FILTER (WHERE verdict = 'yes' AND human_yes) AS tp,
       count(*) FILTER (WHERE verdict = 'yes' AND NOT human_yes) AS fp,
       count(*) FILTER (WHERE verdict = 'no' AND human_yes) AS fn,
       count(*) FILTER (WHERE verdict = 'no' AND NOT human_yes) AS tn,
       count(*) FILTER (WHERE verdict = 'unknown') AS unknown
FROM pairs GROUP BY source, label ORDER BY source, label
""")

_CHECKER_SCORES = text(_CHECKER + """
SELECT label,
       count(*) FILTER (WHERE verdict = 'yes' AND human_yes) AS tp,
       count(*) FILTER (WHERE verdict = 'yes' AND NOT human_yes) AS fp,
       count(*) FILTER (WHERE verdict = 'no' AND human_yes) AS fn,
       count(*) FILTER (WHERE verdict = 'no' AND NOT human_yes) AS tn,
       count(*) FILTER (WHERE verdict = 'unknown') AS unknown
FROM pairs GROUP BY label ORDER BY label
""")

_EXAMPLES_SQL = """
SELECT label, kind, derivation_id, index FROM (
    SELECT label, CASE WHEN verdict = 'yes' THEN 'SymPy yes, humans no' ELSE 'SymPy no, humans yes' END AS kind,
           derivation_id, index,
           row_number() OVER (PARTITION BY label, verdict ORDER BY derivation_id, index) AS n
    FROM pairs WHERE (verdict = 'yes' AND NOT human_yes) OR (verdict = 'no' AND human_yes)
) x WHERE n <= :per_kind ORDER BY label, kind, derivation_id, index
"""
_CHECKER_EXAMPLES = text(_CHECKER + _EXAMPLES_SQL)
_CHECKER_EXAMPLES_AMONG = text(base(_FILTERED + " AND d.id = ANY(CAST(:among AS int[]))") + CHECKER_CTES
                               + _EXAMPLES_SQL)

_PROGRESS_MODELS = text(_BASE + """
SELECT m.name AS model, count(*) AS derivations, count(pd.derivation_id) AS annotated
FROM scope JOIN llm_models m ON m.id = scope.model_id LEFT JOIN per_derivation pd ON pd.derivation_id = scope.id
GROUP BY m.name ORDER BY m.name
""")

# An annotator's submitted work, whether a reviewer settled the derivation since or not (the
# settlement replaces their labels in the error statistics, not their work)
_PROGRESS_ANNOTATORS = text(_BASE + """
SELECT u.username AS annotator, count(*) AS submitted, sum(a.active_seconds) AS active_seconds
FROM annotations a JOIN scope ON scope.id = a.derivation_id JOIN users u ON u.id = a.annotator_id
WHERE a.status = 'submitted'
  AND (CAST(:annotator_id AS int) IS NULL OR a.annotator_id = :annotator_id)
  AND (CAST(:since AS date) IS NULL OR a.submitted_at >= :since)
  AND (CAST(:until AS date) IS NULL OR a.submitted_at < :until)
GROUP BY u.username ORDER BY u.username
""")

_THROUGHPUT = text(_BASE + """
SELECT date_trunc('day', at)::date AS day, count(*) AS judgements
FROM judgements GROUP BY 1 ORDER BY 1
""")


def _rows(session: Session, query, params: dict, hash_joins: bool = True) -> list[dict]:
    # These are set-at-a-time aggregates over CTEs whose sizes the planner cannot see; a
    # nested loop chosen on a wrong estimate turns seconds into minutes. Hash joins
    # are right here, except over a handful of derivations (`hash_joins=False`).
    session.execute(text(f"SET LOCAL enable_nestloop = {'off' if hash_joins else 'on'}"))
    try:
        return [dict(r._mapping) for r in session.execute(query, params)]
    finally:
        session.execute(text("SET LOCAL enable_nestloop = on"))


def totals(session: Session, f: Filters) -> list[dict]:
    return _rows(session, _TOTALS, f.params())


def label_counts(session: Session, f: Filters) -> list[dict]:
    return _rows(session, _LABEL_COUNTS, f.params())


def spearman(session: Session, f: Filters) -> list[dict]:
    return _rows(session, _SPEARMAN, f.params())


POINTS_PER_MODEL = 1000


def metric_points(session: Session, f: Filters, per_model: int = POINTS_PER_MODEL) -> list[dict]:
    return _rows(session, _POINTS, {**f.params(), "per_model": per_model})


def checker_scores(session: Session, f: Filters) -> list[dict]:
    return _rows(session, _CHECKER_SCORES, f.params())


def checker_examples(session: Session, f: Filters, per_kind: int = 5, among: list[int] | None = None) -> list[dict]:
    """The first disagreements per label and kind; `among`: only in these derivations."""
    if among is not None:
        return _rows(session, _CHECKER_EXAMPLES_AMONG, {**f.params(), "per_kind": per_kind, "among": among},
                     hash_joins=False)
    return _rows(session, _CHECKER_EXAMPLES, {**f.params(), "per_kind": per_kind})


def progress_models(session: Session, f: Filters) -> list[dict]:
    return _rows(session, _PROGRESS_MODELS, f.params())


def progress_annotators(session: Session, f: Filters) -> list[dict]:
    return _rows(session, _PROGRESS_ANNOTATORS, f.params())


def throughput(session: Session, f: Filters) -> list[dict]:
    return _rows(session, _THROUGHPUT, f.params())


def source_scores(session: Session, f: Filters) -> list[dict]:
    # live over the project's judgements: run only where a source pushed something (most
    # projects have none, and the dashboards must stay fast at a million labels)
    if not session.execute(text("SELECT EXISTS (SELECT 1 FROM predictions pr JOIN derivations d ON "
                                "d.id = pr.derivation_id WHERE d.project_id = :project_id)"),
                           {"project_id": f.project_id}).scalar_one():
        return []
    return _rows(session, _SOURCE_SCORES, f.params())
