"""SQL of an import: everything in bulk, conflicts skipped, in the caller's transaction."""

import json
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql as psql
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.repositories import annotations as annotations_repo

from app.models import ImportBatch, Problem


def find_batch(session: Session, project_id: int, sha256: str) -> ImportBatch | None:
    return session.scalar(
        select(ImportBatch).where(ImportBatch.project_id == project_id, ImportBatch.sha256 == sha256)
    )


def add_batch(session: Session, **fields: Any) -> ImportBatch:
    batch = ImportBatch(**fields)
    session.add(batch)
    session.flush()
    return batch


def _copy(session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows into a table of ours: no statement to compile and no parameter limit
    (multi-row INSERTs spent most of a 15,000-derivation import compiling and binding)."""
    cursor = session.connection().connection.driver_connection.cursor()
    statement = psql.SQL("COPY {} ({}) FROM STDIN").format(
        psql.Identifier(table), psql.SQL(", ").join(map(psql.Identifier, columns)))
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as exc:  # as SQLAlchemy raises the driver's errors: callers handle one kind
        raise DBAPIError.instance(f"COPY {table}", None, exc, psycopg.Error) from exc


def _stage(session: Session, name: str, like: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A temporary table (dropped at commit) holding these rows, numbered n in their order."""
    session.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {name} ON COMMIT DROP AS "
                         f"SELECT 0::bigint AS n, {', '.join(columns)} FROM {like} WITH NO DATA"))
    session.execute(text(f"TRUNCATE {name}"))
    _copy(session, name, ("n", *columns), ([n, *row] for n, row in enumerate(rows)))


_PROBLEM_COLUMNS = ("project_id", "key", "perturbation", "prompt", "premises", "intermediates", "goal", "reference",
                    "reference_srepr")
_JSON_PROBLEM_COLUMNS = {"premises", "intermediates", "reference_srepr"}


def upsert_problems(session: Session, rows: Sequence[dict[str, Any]]) -> tuple[dict[tuple[str, str], int], int]:
    """Insert new problems; return ids of all of them by (key, perturbation) and how many were new."""
    if not rows:
        return {}, 0
    _stage(session, "import_problems", "problems", _PROBLEM_COLUMNS, (
        [json.dumps(r.get(c)) if c in _JSON_PROBLEM_COLUMNS and r.get(c) is not None else r.get(c)
         for c in _PROBLEM_COLUMNS] for r in rows))
    columns = ", ".join(_PROBLEM_COLUMNS)
    # Ids drawn first, in the file's order, so a perturbed problem is written with its static
    # parent's id (one already stored, else the one drawn for it here): setting parent_id by an
    # UPDATE afterwards rewrote every perturbed row and its prompt's trigram index entries
    # (~250 ms of a 1,500-derivation upload).
    session.execute(text("""
        CREATE TEMP TABLE IF NOT EXISTS import_problem_ids (n bigint PRIMARY KEY, id int) ON COMMIT DROP;
        TRUNCATE import_problem_ids;
        INSERT INTO import_problem_ids SELECT n, nextval(pg_get_serial_sequence('problems', 'id'))
        FROM (SELECT n FROM import_problems ORDER BY n) ordered"""))
    session.execute(text("ANALYZE import_problems, import_problem_ids"))  # joined below: let the planner hash them
    added = session.execute(text(f"""
        WITH statics AS (  -- the static problems of this file, by key, with the ids drawn for them
            SELECT DISTINCT ON (st.project_id, st.key) st.project_id, st.key, sid.id
            FROM import_problems st JOIN import_problem_ids sid ON sid.n = st.n
            WHERE st.perturbation = 'static' ORDER BY st.project_id, st.key, st.n
        ), new AS (
            INSERT INTO problems (id, parent_id, {columns})
            SELECT ids.id, CASE WHEN i.perturbation <> 'static' THEN coalesce(stored.id, statics.id) END,
                   {", ".join("i." + c for c in _PROBLEM_COLUMNS)}
            FROM import_problems i JOIN import_problem_ids ids ON ids.n = i.n
            LEFT JOIN problems stored ON stored.project_id = i.project_id AND stored.key = i.key
                                     AND stored.perturbation = 'static'
            LEFT JOIN statics ON statics.project_id = i.project_id AND statics.key = i.key
            ORDER BY i.n
            ON CONFLICT DO NOTHING RETURNING 1)
        SELECT count(*) FROM new""")).scalar_one()
    found = session.execute(text("""
        SELECT p.key, p.perturbation::text, p.id FROM problems p
        JOIN import_problems i ON i.project_id = p.project_id AND i.key = p.key AND i.perturbation = p.perturbation"""))
    return {(k, pert): i for k, pert, i in found}, added


def link_parents(session: Session, project_id: int) -> None:
    """A perturbed problem's parent is the static problem with the same key."""
    parent = Problem.__table__.alias("parent")
    session.execute(
        Problem.__table__.update()
        .where(
            Problem.project_id == project_id,
            Problem.perturbation != "static",
            Problem.parent_id.is_(None),
            parent.c.project_id == project_id,
            parent.c.key == Problem.key,
            parent.c.perturbation == "static",
        )
        .values(parent_id=parent.c.id)
    )


_DERIVATION_COLUMNS = ("project_id", "problem_id", "model_id", "raw_text", "source", "content_hash", "import_id",
                       "run_id", "metrics", "source_record")


def insert_derivations(session: Session, rows: Sequence[dict[str, Any]]) -> list[tuple[int, str]]:
    """Insert derivations not already in the project; return (id, content_hash) of the new ones."""
    if not rows:
        return []
    _stage(session, "import_derivations", "derivations", _DERIVATION_COLUMNS, (
        [json.dumps(r.get(c) or {}) if c == "metrics" else None if c == "source_record" and r.get(c) is None
         else json.dumps(r[c]) if c == "source_record" else r.get(c) for c in _DERIVATION_COLUMNS] for r in rows))
    columns = ", ".join(_DERIVATION_COLUMNS)
    return [tuple(r) for r in session.execute(text(f"""
        INSERT INTO derivations ({columns}) SELECT {columns} FROM import_derivations ORDER BY n
        ON CONFLICT (project_id, content_hash) DO NOTHING RETURNING id, content_hash"""))]


def insert_steps(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    _copy(session, "steps", ("derivation_id", "index", "latex", "parse_status"),
          ((r["derivation_id"], r["index"], r["latex"], r["parse_status"]) for r in rows))


def insert_source_labels(session: Session, annotator_id: int,
                         items: Sequence[tuple[int, bool | None, dict[int, list[str]], list[int]]]) -> int:
    """Labels a file already held, as one submitted annotation per derivation by the source's
    annotator: (derivation id, goal reached, 1-based step index -> labels, 1-based steps the
    source left unlabelled). Returns labels written."""
    if not items:
        return 0
    ids = session.execute(text("""
        INSERT INTO annotations (derivation_id, annotator_id, status, goal_reached, comment, version,
                                 submitted_at, submitted_version)
        SELECT d, :annotator, 'submitted', g, 'imported with the file', 1, now(), 1
        FROM unnest(CAST(:derivations AS int[]), CAST(:goals AS boolean[])) AS t(d, g)
        ON CONFLICT (derivation_id, annotator_id) DO NOTHING
        RETURNING id, derivation_id"""), {"annotator": annotator_id, "derivations": [item[0] for item in items],
                                          "goals": [item[1] for item in items]}).all()
    annotation = {derivation_id: a_id for a_id, derivation_id in ids}
    steps = {(d, i): s for s, d, i in session.execute(text(
        "SELECT id, derivation_id, index FROM steps WHERE derivation_id = ANY(:ids)"), {"ids": list(annotation)})}
    rows = [{"annotation_id": annotation[d], "step_id": steps[(d, index)], "label": label}
            for d, _, labels, _ in items if d in annotation
            for index, names in labels.items() if (d, index) in steps for label in names]
    if rows:
        session.execute(text("INSERT INTO step_labels (annotation_id, step_id, label) "
                             "VALUES (:annotation_id, :step_id, :label) ON CONFLICT DO NOTHING"), rows)
    unlabelled = [{"annotation_id": annotation[d], "step_id": steps[(d, index)]}
                  for d, _, _, indices in items if d in annotation for index in indices if (d, index) in steps]
    if unlabelled:
        session.execute(text("INSERT INTO step_notes (annotation_id, step_id, unlabelled) "
                             "VALUES (:annotation_id, :step_id, true) ON CONFLICT DO NOTHING"), unlabelled)
    annotations_repo.snapshot_submitted(session, list(annotation.values()))  # submitted as they come
    return len(rows)
