"""The dashboards' maintained rollups (tables and triggers: migration 0007).

Triggers mark derivations dirty as their data changes; `refresh` recomputes the dirty
derivations' rows (with the same judgement CTEs the live queries use) and moves the
bucket totals by new minus old, in the reader's transaction. The readers below then
answer the unfiltered-by-annotator/date dashboards from bucket rows: a few dozen rows
per project however many labels there are. They return what the live queries in
app.repositories.dashboards return (a test holds them equal)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.repositories import dashboards as live
from app.repositories.dashboards import Filters

_LOCK = 7_246_001  # advisory lock key: one refresher at a time (bucket updates never interleave)
_BUCKET = ("project_id", "model_id", "perturbation")
_IN_BATCH = "derivation_id IN (SELECT derivation_id FROM rollup_batch)"
_ROW = ", scope.project_id, scope.model_id, scope.perturbation"  # a rollup row's bucket columns

# Per derivation rows, from the live CTEs restricted to the batch.
_BATCH_BASE = live.base("d.id IN (SELECT derivation_id FROM rollup_batch)")
_NEW_DERIVATIONS = text(_BATCH_BASE + """,
label_totals AS (SELECT derivation_id, count(*) AS k FROM labels GROUP BY derivation_id),
-- the data page's agreement state: each submitted annotation's labels and goal as one
-- signature; two different ones make the derivation disputed (as the Disagreements list)
signatures AS (
    SELECT a.derivation_id, a.annotator_id, coalesce(a.goal_reached::text, '-') || '|' ||
           coalesce(string_agg(sl.step_id || ':' || sl.label, ',' ORDER BY sl.step_id, sl.label), '') AS sig
    FROM annotations a JOIN scope ON scope.id = a.derivation_id LEFT JOIN step_labels sl ON sl.annotation_id = a.id
    WHERE a.status = 'submitted' GROUP BY a.derivation_id, a.id
),
agreement AS (SELECT derivation_id, count(*) AS submitted, count(DISTINCT sig) > 1 AS disputed,
                     array_agg(DISTINCT annotator_id) AS who
              FROM signatures GROUP BY derivation_id),
-- the data page's filter columns (migration 0019): the batch's label rows are new already
-- (_KINDS rolls labels up first), and SymPy's verdicts
label_sets AS (
    SELECT derivation_id, array_agg(label ORDER BY label) FILTER (WHERE steps > 0) AS human,
           array_agg(label ORDER BY label) FILTER (WHERE fp > 0) AS fp,
           array_agg(label ORDER BY label) FILTER (WHERE fn > 0) AS fn
    FROM rollup_labels WHERE """ + _IN_BATCH + """ GROUP BY derivation_id
),
said AS (
    SELECT c.derivation_id, array_agg(DISTINCT c.label) FILTER (WHERE c.verdict = 'yes') AS yes,
           bool_or(c.verdict = 'unknown') AS unknown
    FROM auto_checks c JOIN scope ON scope.id = c.derivation_id GROUP BY c.derivation_id
)
INSERT INTO rollup_derivations (derivation_id, project_id, model_id, perturbation, steps, judgements, goal_yes,
                                goal_judged, labelled, rouge2, bleu, gleu, submitted, disputed, settled,
                                annotators, human_labels, fp_labels, fn_labels, sympy_labels, sympy_unknown)
SELECT scope.id""" + _ROW + """, coalesce(sc.n, 0), coalesce(pd.n, 0), coalesce(pd.goal_yes, 0),
       coalesce(pd.goal_judged, 0), coalesce(lt.k, 0), (scope.metrics->>'rouge2')::float8,
       (scope.metrics->>'bleu')::float8, (scope.metrics->>'gleu')::float8,
       coalesce(ag.submitted, 0), coalesce(ag.disputed, false),
       EXISTS (SELECT 1 FROM adjudications adj WHERE adj.derivation_id = scope.id AND adj.decided_at IS NOT NULL),
       coalesce(ag.who, '{}'), coalesce(ls.human, '{}'), coalesce(ls.fp, '{}'), coalesce(ls.fn, '{}'),
       coalesce(sd.yes, '{}'), coalesce(sd.unknown, false)
FROM scope LEFT JOIN step_counts sc ON sc.derivation_id = scope.id
LEFT JOIN label_sets ls ON ls.derivation_id = scope.id
LEFT JOIN said sd ON sd.derivation_id = scope.id
LEFT JOIN per_derivation pd ON pd.derivation_id = scope.id
LEFT JOIN label_totals lt ON lt.derivation_id = scope.id
LEFT JOIN agreement ag ON ag.derivation_id = scope.id
""")

_NEW_LABELS = text(_BATCH_BASE + live.CHECKER_CTES + """,
both_sides AS (
    SELECT derivation_id, label, count(*) AS steps, count(DISTINCT jid) AS judgements,
           0 AS tp, 0 AS fp, 0 AS fn, 0 AS tn, 0 AS unknown
    FROM labels GROUP BY derivation_id, label
    UNION ALL
    SELECT derivation_id, label, 0, 0,
           count(*) FILTER (WHERE verdict = 'yes' AND human_yes), count(*) FILTER (WHERE verdict = 'yes' AND NOT human_yes),
           count(*) FILTER (WHERE verdict = 'no' AND human_yes), count(*) FILTER (WHERE verdict = 'no' AND NOT human_yes),
           count(*) FILTER (WHERE verdict = 'unknown')
    FROM pairs GROUP BY derivation_id, label
)
INSERT INTO rollup_labels (derivation_id, label, project_id, model_id, perturbation, steps, judgements,
                           tp, fp, fn, tn, unknown)
SELECT scope.id, b.label""" + _ROW + """, sum(b.steps), sum(b.judgements), sum(b.tp), sum(b.fp), sum(b.fn),
       sum(b.tn), sum(b.unknown)
FROM both_sides b JOIN scope ON scope.id = b.derivation_id
GROUP BY scope.id, b.label, scope.project_id, scope.model_id, scope.perturbation
""")

_NEW_DAYS = text(_BATCH_BASE + """
INSERT INTO rollup_days (derivation_id, annotator_id, day, project_id, model_id, perturbation, judgements,
                         submitted, active_seconds)
SELECT scope.id, w.annotator_id, w.day""" + _ROW + """, sum(w.judgements), sum(w.submitted), sum(w.active_seconds)
FROM (
    SELECT j.derivation_id, coalesce(j.annotator_id, 0) AS annotator_id, date_trunc('day', j.at)::date AS day,
           1 AS judgements, 0 AS submitted, 0::float8 AS active_seconds
    FROM judgements j
    UNION ALL  -- an annotator's submitted work counts for them, settled since or not
    SELECT a.derivation_id, a.annotator_id, date_trunc('day', a.submitted_at)::date, 0, 1,
           coalesce(a.active_seconds, 0)
    FROM annotations a JOIN scope ON scope.id = a.derivation_id WHERE a.status = 'submitted'
) w JOIN scope ON scope.id = w.derivation_id
GROUP BY 1, 2, 3, 4, 5, 6
""")

# (rows table, its new-rows statement, bucket table, extra bucket keys, bucket column -> aggregate)
_KINDS = (  # labels first: the derivations' rows read the batch's new label rows
    ("rollup_labels", _NEW_LABELS, "rollup_bucket_labels", ("label",),
     {c: f"sum({c})" for c in ("steps", "judgements", "tp", "fp", "fn", "tn", "unknown")}),
    ("rollup_derivations", _NEW_DERIVATIONS, "rollup_buckets", (), {
        "derivations": "count(*)", "steps": "sum(steps)", "annotated": "count(*) FILTER (WHERE judgements > 0)",
        "judgements": "sum(judgements)", "judged_steps": "sum(steps::bigint * judgements)",
        "goal_yes": "sum(goal_yes)", "goal_judged": "sum(goal_judged)", "labelled": "sum(labelled)",
        **{f"{m}_sum": f"coalesce(sum({m}::numeric), 0)" for m in ("rouge2", "bleu", "gleu")},
        **{f"{m}_n": f"count({m})" for m in ("rouge2", "bleu", "gleu")},
    }),
    ("rollup_days", _NEW_DAYS, "rollup_bucket_days", ("annotator_id", "day"),
     {"judgements": "sum(judgements)", "submitted": "sum(submitted)", "active_seconds": "sum(active_seconds::numeric)"}),
)


def _bucket_sql(rows: str, bucket: str, keys: tuple[str, ...], columns: dict[str, str]) -> tuple:
    keys = _BUCKET + keys
    grouped = (f"SELECT {', '.join(keys)}, {', '.join(f'{agg} AS {c}' for c, agg in columns.items())} "
               f"FROM {rows} WHERE {_IN_BATCH} GROUP BY {', '.join(keys)}")
    subtract = text(f"UPDATE {bucket} b SET {', '.join(f'{c} = b.{c} - s.{c}' for c in columns)} "
                    f"FROM ({grouped}) s WHERE {' AND '.join(f'b.{k} = s.{k}' for k in keys)}")
    add = text(f"INSERT INTO {bucket} ({', '.join(keys)}, {', '.join(columns)}) {grouped} "
               f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
               f"{', '.join(f'{c} = {bucket}.{c} + EXCLUDED.{c}' for c in columns)}")
    first = next(iter(columns))  # a bucket whose count fell to zero goes
    empty = text(f"DELETE FROM {bucket} WHERE {' AND '.join(f'{c} = 0' for c in columns)}"
                 if bucket != "rollup_buckets" else f"DELETE FROM {bucket} WHERE {first} = 0")
    return subtract, text(f"DELETE FROM {rows} WHERE {_IN_BATCH}"), add, empty


_NO_FILTERS = {"annotator_id": None, "since": None, "until": None}  # the judgement CTEs' other parameters
_STEPS = [(new, _bucket_sql(rows, bucket, keys, columns)) for rows, new, bucket, keys, columns in _KINDS]
_STALE_SPEARMAN = text("UPDATE rollup_spearman s SET stale = true FROM (SELECT DISTINCT project_id, model_id FROM "
                       f"rollup_derivations WHERE {_IN_BATCH}) t "
                       "WHERE s.project_id = t.project_id AND s.model_id = t.model_id AND NOT s.stale")


def refresh(session: Session) -> int:
    """Bring the rollups up to date with everything committed (and this transaction's
    own changes); returns how many derivations were recomputed."""
    if not session.execute(text("SELECT EXISTS (SELECT 1 FROM rollup_dirty)")).scalar_one():
        return 0
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    session.execute(text("CREATE TEMP TABLE IF NOT EXISTS rollup_batch (derivation_id int PRIMARY KEY) "
                         "ON COMMIT DROP"))
    session.execute(text("DELETE FROM rollup_batch"))
    # SKIP LOCKED: a row a writer is still marking stays for the next refresh, which will
    # see that writer's committed changes.
    claimed = session.execute(text("""
        WITH claimed AS (DELETE FROM rollup_dirty WHERE derivation_id IN
                         (SELECT derivation_id FROM rollup_dirty FOR UPDATE SKIP LOCKED) RETURNING derivation_id)
        INSERT INTO rollup_batch SELECT derivation_id FROM claimed""")).rowcount
    if not claimed:
        return 0
    session.execute(text("ANALYZE rollup_batch"))  # a bulk load's batch is large: let the planner know
    session.execute(_STALE_SPEARMAN)  # models of the old rows (a deleted derivation has no new row)
    session.execute(text("SET LOCAL enable_nestloop = off"))  # see dashboards._rows
    for new, (subtract, delete_old, add, empty) in _STEPS:
        session.execute(subtract)
        session.execute(delete_old)
        session.execute(new, _NO_FILTERS)
        session.execute(add)
        session.execute(empty)
    session.execute(text("SET LOCAL enable_nestloop = on"))
    session.execute(_STALE_SPEARMAN)
    if claimed > 10_000:  # a bulk load: fresh statistics, or the planner guesses the tables empty
        session.execute(text("ANALYZE rollup_derivations, rollup_labels, rollup_days"))
    return claimed


def pending(session: Session, project_id: int) -> bool:
    """Some derivation of the project still waits to be rolled up (after a refresh: one a
    transaction in flight holds)."""
    return session.execute(text(
        "SELECT EXISTS (SELECT 1 FROM rollup_dirty r JOIN derivations d ON d.id = r.derivation_id "
        "WHERE d.project_id = :p)"), {"p": project_id}).scalar_one()


def _where(f: Filters, alias: str = "b") -> str:
    return (f"{alias}.project_id = :project_id"
            f" AND (CAST(:model_id AS int) IS NULL OR {alias}.model_id = :model_id)"
            f" AND (CAST(:perturbation AS text) IS NULL OR {alias}.perturbation = :perturbation)")


def _rows(session: Session, sql: str, params: dict) -> list[dict]:
    return [dict(r._mapping) for r in session.execute(text(sql), params)]


def totals(session: Session, f: Filters) -> list[dict]:
    return _rows(session, f"""
        SELECT m.name AS model, b.perturbation, b.derivations, b.steps, b.annotated, b.judgements, b.judged_steps,
               b.goal_yes, b.goal_judged, b.rouge2_sum, b.rouge2_n, b.bleu_sum, b.bleu_n, b.gleu_sum, b.gleu_n
        FROM rollup_buckets b JOIN llm_models m ON m.id = b.model_id WHERE {_where(f)}
        ORDER BY m.name, b.perturbation""", f.params())


def label_counts(session: Session, f: Filters) -> list[dict]:
    return _rows(session, f"""
        SELECT m.name AS model, b.perturbation, b.label, b.steps, b.judgements
        FROM rollup_bucket_labels b JOIN llm_models m ON m.id = b.model_id
        WHERE {_where(f)} AND b.steps > 0""", f.params())


def checker_scores(session: Session, f: Filters) -> list[dict]:
    return _rows(session, f"""
        SELECT label, sum(tp)::bigint AS tp, sum(fp)::bigint AS fp, sum(fn)::bigint AS fn, sum(tn)::bigint AS tn,
               sum(unknown)::bigint AS unknown
        FROM rollup_bucket_labels b WHERE {_where(f)}
        GROUP BY label HAVING sum(tp + fp + fn + tn + unknown) > 0 ORDER BY label""", f.params())


def checker_examples(session: Session, f: Filters, per_kind: int = 5) -> list[dict]:
    """The first disagreements per label and kind lie in the first `per_kind` derivations
    having one of that kind (partial indexes find them); only those are examined live."""
    ids = [row["derivation_id"] for row in _rows(session, f"""
        SELECT x.derivation_id FROM (SELECT DISTINCT label FROM rollup_bucket_labels b WHERE {_where(f)}) l,
        LATERAL (SELECT derivation_id FROM rollup_labels r WHERE {_where(f, 'r')} AND r.label = l.label AND r.fp > 0
                 ORDER BY derivation_id LIMIT :per_kind) x
        UNION
        SELECT x.derivation_id FROM (SELECT DISTINCT label FROM rollup_bucket_labels b WHERE {_where(f)}) l,
        LATERAL (SELECT derivation_id FROM rollup_labels r WHERE {_where(f, 'r')} AND r.label = l.label AND r.fn > 0
                 ORDER BY derivation_id LIMIT :per_kind) x""", {**f.params(), "per_kind": per_kind})]
    return live.checker_examples(session, f, per_kind, among=ids) if ids else []


def _points_sql(f: Filters) -> str:
    return f"""
        SELECT r.derivation_id, r.model_id, r.rouge2, r.bleu, r.gleu, r.labelled::float8 / r.judgements AS errors
        FROM rollup_derivations r
        WHERE {_where(f, 'r')} AND r.judgements > 0
          AND r.rouge2 IS NOT NULL AND r.bleu IS NOT NULL AND r.gleu IS NOT NULL"""


def metric_points(session: Session, f: Filters, per_model: int = live.POINTS_PER_MODEL) -> list[dict]:
    # The same sample as the live query, read per model along an index on the sample
    # key; one JSON array back (thousands of points parse in C, not as result rows).
    return session.execute(text(f"""
        SELECT coalesce(json_agg(json_build_object('derivation_id', p.derivation_id, 'model', m.name,
                        'rouge2', p.rouge2, 'bleu', p.bleu, 'gleu', p.gleu, 'errors', p.errors)
                        ORDER BY p.derivation_id), '[]')
        FROM (SELECT DISTINCT b.model_id FROM rollup_buckets b WHERE {_where(f)} AND b.annotated > 0) models
        CROSS JOIN LATERAL ({_points_sql(f)} AND r.model_id = models.model_id
                            ORDER BY hashint4(r.derivation_id), r.derivation_id LIMIT :per_model) p
        JOIN llm_models m ON m.id = p.model_id"""), {**f.params(), "per_model": per_model}).scalar_one()


SPEARMAN_MAX_AGE = 60  # seconds a stale rho may be shown while its model's data changes


def spearman(session: Session, f: Filters, max_age: int = SPEARMAN_MAX_AGE) -> list[dict]:
    """Cached per model (and perturbation). A model missing from the cache, or stale for
    longer than `max_age` seconds, is computed from its rollup rows, under a shared lock
    so a refresh cannot mark it stale between our computing and our storing it. Rows
    served stale carry `as_of`, the time they were computed."""
    params = {**f.params(), "key": _LOCK, "cache_key": f.perturbation or "", "max_age": max_age}
    cached = """
        SELECT m.name AS model, s.derivations, s.rouge2, s.bleu, s.gleu,
               CASE WHEN s.stale THEN s.computed_at END AS as_of
        FROM rollup_spearman s JOIN llm_models m ON m.id = s.model_id
        WHERE s.project_id = :project_id AND s.perturbation = :cache_key
          AND (CAST(:model_id AS int) IS NULL OR s.model_id = :model_id) AND s.derivations > 0
        ORDER BY m.name"""
    todo = f"""
        SELECT DISTINCT b.model_id FROM rollup_buckets b WHERE {_where(f)} AND b.annotated > 0
          AND NOT EXISTS (SELECT 1 FROM rollup_spearman s WHERE s.project_id = b.project_id
                          AND s.model_id = b.model_id AND s.perturbation = :cache_key
                          AND (NOT s.stale OR s.computed_at > now() - make_interval(secs => :max_age)))"""
    if not session.execute(text(todo), params).first():
        return _drop_none(_rows(session, cached, params))
    session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), params)
    session.execute(text(f"""
        WITH todo AS ({todo}),
        points AS ({_points_sql(f)} AND r.model_id IN (SELECT model_id FROM todo)),
        {live.RANKED}
        INSERT INTO rollup_spearman (project_id, model_id, perturbation, derivations, rouge2, bleu, gleu)
        SELECT :project_id, todo.model_id, :cache_key, count(ranked.model_id), corr(r_rouge2, r_errors),
               corr(r_bleu, r_errors), corr(r_gleu, r_errors)
        FROM todo LEFT JOIN ranked ON ranked.model_id = todo.model_id GROUP BY todo.model_id
        ON CONFLICT (project_id, model_id, perturbation) DO UPDATE SET derivations = EXCLUDED.derivations,
            rouge2 = EXCLUDED.rouge2, bleu = EXCLUDED.bleu, gleu = EXCLUDED.gleu, stale = false,
            computed_at = now()"""), params)
    return _drop_none(_rows(session, cached, params))


def _drop_none(rows: list[dict]) -> list[dict]:
    """`as_of` only where a value is stale (fresh rows read like the live query's)."""
    for row in rows:
        if row["as_of"] is None:
            del row["as_of"]
    return rows


def progress_models(session: Session, f: Filters) -> list[dict]:
    return _rows(session, f"""
        SELECT m.name AS model, sum(b.derivations)::bigint AS derivations, sum(b.annotated)::bigint AS annotated
        FROM rollup_buckets b JOIN llm_models m ON m.id = b.model_id WHERE {_where(f)}
        GROUP BY m.name ORDER BY m.name""", f.params())


def progress_annotators(session: Session, f: Filters) -> list[dict]:
    return _rows(session, f"""
        SELECT u.username AS annotator, sum(b.submitted)::bigint AS submitted, sum(b.active_seconds)::float8 AS active_seconds
        FROM rollup_bucket_days b JOIN users u ON u.id = b.annotator_id WHERE {_where(f)} AND b.submitted > 0
        GROUP BY u.username ORDER BY u.username""", f.params())


def throughput(session: Session, f: Filters) -> list[dict]:
    return _rows(session, f"""
        SELECT b.day, sum(b.judgements)::bigint AS judgements FROM rollup_bucket_days b WHERE {_where(f)}
        GROUP BY b.day ORDER BY b.day""", f.params())
