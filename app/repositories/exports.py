"""Export statements: CSV by COPY, JSONL through a server-side cursor; memory stays flat."""

from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.orm import Session


def _whole_result_plan(session: Session) -> None:
    # A server-side cursor is planned for its first 10% of rows by default (fast-start
    # nested loops); an export reads every row, so plan for all of them, as COPY does.
    session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))


# JSONL of everything, one JSON object per line, built by PostgreSQL; filtered like the
# dashboards (model, perturbation). Each query is read through a server-side cursor.
_JSONL_SCOPE = """
    SELECT d.id FROM derivations d JOIN problems p ON p.id = d.problem_id
    WHERE d.project_id = :project_id
      AND (CAST(:model_id AS int) IS NULL OR d.model_id = :model_id)
      AND (CAST(:perturbation AS text) IS NULL OR p.perturbation::text = :perturbation)
      AND (CAST(:ids AS int[]) IS NULL OR d.id = ANY(CAST(:ids AS int[])))
"""

JSONL_QUERIES = [
    text("""
SELECT jsonb_build_object('type', 'problem', 'id', p.id, 'key', p.key, 'perturbation', p.perturbation::text,
       'parent_id', p.parent_id, 'prompt', p.prompt, 'premises', p.premises, 'intermediates', p.intermediates,
       'goal', p.goal, 'reference', p.reference, 'reference_srepr', p.reference_srepr)
FROM problems p WHERE p.project_id = :project_id
  AND (CAST(:perturbation AS text) IS NULL OR p.perturbation::text = :perturbation)
  AND (CAST(:ids AS int[]) IS NULL OR p.id IN (SELECT problem_id FROM derivations WHERE id = ANY(CAST(:ids AS int[]))))
ORDER BY p.id"""),
    text(f"""
SELECT jsonb_build_object('type', 'derivation', 'id', d.id, 'problem_id', d.problem_id, 'model', m.name,
       'source', d.source, 'run_id', d.run_id, 'raw_text', d.raw_text, 'metrics', d.metrics, 'source_record', d.source_record,
       'steps', coalesce((SELECT jsonb_agg(jsonb_build_object('id', s.id, 'index', s.index, 'latex', s.latex,
                  'parse_status', s.parse_status::text, 'canonical', s.canonical) ORDER BY s.index)
                  FROM steps s WHERE s.derivation_id = d.id), '[]'),
       'checks', coalesce((SELECT jsonb_agg(jsonb_build_object('step_index', ac.step_index, 'label', ac.label,
                  'verdict', ac.verdict, 'reason', ac.reason) ORDER BY ac.step_index, ac.label)
                  FROM auto_checks ac WHERE ac.derivation_id = d.id), '[]'))
FROM derivations d JOIN llm_models m ON m.id = d.model_id
WHERE d.id IN ({_JSONL_SCOPE}) ORDER BY d.id"""),
    text(f"""
SELECT jsonb_build_object('type', 'annotation', 'id', a.id, 'derivation_id', a.derivation_id, 'annotator', u.username,
       'status', a.status::text, 'goal_reached', a.goal_reached, 'comment', a.comment, 'version', a.version,
       'submitted_at', to_char(a.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'active_seconds', a.active_seconds,
       'labels', coalesce((SELECT jsonb_agg(jsonb_build_object('step_id', sl.step_id, 'label', sl.label)
                  ORDER BY sl.step_id, sl.label) FROM step_labels sl WHERE sl.annotation_id = a.id), '[]'),
       'submitted_version', a.submitted_version, 'submitted_goal_reached', a.submitted_goal_reached,
       'submitted_comment', a.submitted_comment,
       'submitted_labels', coalesce((SELECT jsonb_agg(jsonb_build_object('step_id', sl.step_id, 'label', sl.label)
                  ORDER BY sl.step_id, sl.label) FROM submitted_step_labels sl WHERE sl.annotation_id = a.id), '[]'),
       'unlabelled_step_ids', coalesce((SELECT jsonb_agg(sn.step_id ORDER BY sn.step_id) FROM step_notes sn
                  WHERE sn.annotation_id = a.id AND sn.unlabelled), '[]'))
FROM annotations a JOIN users u ON u.id = a.annotator_id
WHERE a.derivation_id IN ({_JSONL_SCOPE}) ORDER BY a.id"""),
    text(f"""
SELECT jsonb_build_object('type', 'adjudication', 'derivation_id', adj.derivation_id, 'reviewer', u.username,
       'goal_reached', adj.goal_reached, 'comment', adj.comment, 'decided_at', to_char(adj.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       'labels', coalesce((SELECT jsonb_agg(jsonb_build_object('step_id', fl.step_id, 'label', fl.label)
                  ORDER BY fl.step_id, fl.label) FROM final_labels fl WHERE fl.derivation_id = adj.derivation_id), '[]'))
FROM adjudications adj LEFT JOIN users u ON u.id = adj.reviewer_id
WHERE adj.derivation_id IN ({_JSONL_SCOPE}) ORDER BY adj.derivation_id"""),
    text(f"""
SELECT jsonb_build_object('type', 'event', 'id', e.id, 'derivation_id', e.derivation_id,
       'annotation_id', e.annotation_id, 'actor', u.username, 'kind', e.kind, 'step_id', e.step_id,
       'detail', e.detail, 'at', to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
FROM annotation_events e LEFT JOIN users u ON u.id = e.actor_id
WHERE e.derivation_id IN ({_JSONL_SCOPE}) ORDER BY e.id"""),
]


def stream_jsonl(session: Session, params: dict, batch: int = 2000) -> Iterator:
    _whole_result_plan(session)
    for query in JSONL_QUERIES:
        yield from session.execute(query.execution_options(yield_per=batch), params)


# CSV exports are written by PostgreSQL itself (COPY ... TO STDOUT): as fast as the
# database can produce rows, in constant memory. They are lossless: every cell holds the
# stored text. With `safe` (the "spreadsheet-safe" option) free text goes through csv_safe()
# (migration 0009) so a spreadsheet never runs a cell as a formula. Timestamps are ISO 8601
# in UTC. Label columns depend on the project's taxonomy, so the statement is composed with
# psycopg.sql (identifiers and literals quoted by psycopg, never pasted as text).
ISO = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def _text(safe: bool):
    return (lambda expr: f"csv_safe({expr})") if safe else (lambda expr: expr)
def _label_columns(labels: list[str], template: str, prefix: str = ""):
    from psycopg import sql

    return [sql.SQL(template).format(label=sql.Literal(label)) + sql.SQL(" AS ") + sql.Identifier(prefix + label)
            for label in labels]


def _chosen(ids: list[int] | None):
    """The data page's selection, when an export is of that alone (COPY takes no parameters:
    the ids go in as a literal, each an int)."""
    from psycopg import sql

    if ids is None:
        return sql.SQL("")
    return sql.SQL(" AND d.id = ANY(CAST({ids} AS int[]))").format(ids=sql.Literal([int(i) for i in ids]))


def step_copy(project_id: int, labels: list[str], safe: bool = False, ids: list[int] | None = None):
    """One row per step and submitted annotation. A step nobody has annotated yet has one
    row with annotated = 0 and its label columns 0 (not empty: pandas would make them floats)."""
    from psycopg import sql

    t = _text(safe)
    columns = [
        sql.SQL(f"{t('pj.name')} AS project, {t('p.key')} AS problem, p.perturbation::text AS perturbation, "
                f"{t('m.name')} AS model, d.id AS derivation_id, s.index AS step_index, {t('s.latex')} AS latex, "
                "(a.id IS NOT NULL)::int AS annotated"),
        # empty where the annotation's source left the step unlabelled (unknown, not 0)
        *_label_columns(labels, "CASE WHEN EXISTS (SELECT 1 FROM step_notes sn WHERE sn.annotation_id = a.id "
                                "AND sn.step_id = s.id AND sn.unlabelled) THEN NULL ELSE "
                                "(EXISTS (SELECT 1 FROM submitted_step_labels sl "
                                "WHERE sl.annotation_id = a.id AND sl.step_id = s.id AND sl.label = {label}))::int END"),
        sql.SQL(f"{t('u.username')} AS annotator, {ISO.format('a.submitted_at')} AS submitted_at"),
        *_label_columns(labels, "(SELECT ac.verdict FROM auto_checks ac WHERE ac.derivation_id = d.id "
                                "AND ac.step_index = s.index AND ac.label = {label})", "sympy_"),
        sql.SQL("(adj.decided_at IS NOT NULL)::int AS adjudicated"),
        *_label_columns(labels, "(adj.decided_at IS NOT NULL AND EXISTS (SELECT 1 FROM final_labels fl "
                                "WHERE fl.derivation_id = d.id AND fl.step_id = s.id AND fl.label = {label}))::int",
                        "final_"),
        sql.SQL(f"CASE WHEN adj.decided_at IS NULL THEN NULL ELSE {t('reviewer.username')} END AS adjudicated_by"),
    ]
    return sql.SQL("""COPY (SELECT {columns}
FROM steps s
JOIN derivations d ON d.id = s.derivation_id
JOIN problems p ON p.id = d.problem_id
JOIN llm_models m ON m.id = d.model_id
JOIN projects pj ON pj.id = d.project_id
LEFT JOIN annotations a ON a.derivation_id = d.id AND a.status = 'submitted'
LEFT JOIN users u ON u.id = a.annotator_id
LEFT JOIN adjudications adj ON adj.derivation_id = d.id
LEFT JOIN users reviewer ON reviewer.id = adj.reviewer_id
WHERE d.project_id = {project_id}{chosen}
ORDER BY d.id, s.index, u.username NULLS FIRST) TO STDOUT WITH (FORMAT csv, HEADER)""").format(
        columns=sql.SQL(", ").join(columns), project_id=sql.Literal(project_id), chosen=_chosen(ids))


def derivation_copy(project_id: int, labels: list[str], metrics: tuple[str, ...], safe: bool = False,
                    ids: list[int] | None = None):
    from psycopg import sql

    t = _text(safe)
    columns = [
        sql.SQL(f"{t('pj.name')} AS project, {t('p.key')} AS problem, p.perturbation::text AS perturbation, "
                f"{t('m.name')} AS model, d.id AS derivation_id, "
                "(SELECT count(*) FROM steps s WHERE s.derivation_id = d.id) AS steps, "
                "(a.id IS NOT NULL)::int AS annotated"),
        *_label_columns(labels, "(SELECT count(*) FROM submitted_step_labels sl "
                                "WHERE sl.annotation_id = a.id AND sl.label = {label})"),
        sql.SQL("CASE a.submitted_goal_reached WHEN true THEN 'yes' WHEN false THEN 'no' END AS goal_reached, "
                f"{t('a.submitted_comment')} AS comment, {t('u.username')} AS annotator, "
                f"{ISO.format('a.submitted_at')} AS submitted_at"),
        *[sql.SQL("d.metrics ->> {name} AS ").format(name=sql.Literal(name)) + sql.Identifier(name) for name in metrics],
        sql.SQL("(SELECT ac.verdict FROM auto_checks ac WHERE ac.derivation_id = d.id AND ac.step_index = 0 "
                "AND ac.label = 'goal_reached') AS sympy_goal_reached, "
                "(SELECT ac.verdict FROM auto_checks ac WHERE ac.derivation_id = d.id AND ac.step_index = 0 "
                "AND ac.label = 'goal_stated') AS sympy_goal_stated"),
        sql.SQL("(adj.decided_at IS NOT NULL)::int AS adjudicated"),
        *_label_columns(labels, "CASE WHEN adj.decided_at IS NULL THEN 0 ELSE (SELECT count(*) FROM final_labels fl "
                                "WHERE fl.derivation_id = d.id AND fl.label = {label}) END", "final_"),
        sql.SQL("CASE WHEN adj.decided_at IS NULL THEN NULL WHEN adj.goal_reached THEN 'yes' "
                "WHEN NOT adj.goal_reached THEN 'no' END AS final_goal_reached, "
                f"CASE WHEN adj.decided_at IS NULL THEN NULL ELSE {t('reviewer.username')} END AS adjudicated_by"),
    ]
    return sql.SQL("""COPY (SELECT {columns}
FROM derivations d
JOIN problems p ON p.id = d.problem_id
JOIN llm_models m ON m.id = d.model_id
JOIN projects pj ON pj.id = d.project_id
LEFT JOIN annotations a ON a.derivation_id = d.id AND a.status = 'submitted'
LEFT JOIN users u ON u.id = a.annotator_id
LEFT JOIN adjudications adj ON adj.derivation_id = d.id
LEFT JOIN users reviewer ON reviewer.id = adj.reviewer_id
WHERE d.project_id = {project_id}{chosen}
ORDER BY d.id, u.username NULLS FIRST) TO STDOUT WITH (FORMAT csv, HEADER)""").format(
        columns=sql.SQL(", ").join(columns), project_id=sql.Literal(project_id), chosen=_chosen(ids))


BLOCK = 64 * 1024


def copy_out(session: Session, statement) -> Iterator[bytes]:
    """COPY's output in blocks of ~64 KiB: psycopg gives one block per row, and each block
    a streaming response sends on its own costs far more than the row (15x at 15,000 rows)."""
    cursor = session.connection().connection.driver_connection.cursor()
    buffer = bytearray()
    with cursor.copy(statement) as copy:
        for block in copy:
            buffer += block
            if len(buffer) >= BLOCK:
                yield bytes(buffer)
                buffer.clear()
    if buffer:
        yield bytes(buffer)
