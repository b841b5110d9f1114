"""Undoable deletion: a selection of derivations moved, with every row that hangs off them,
into trash_rows (one JSON object per row, as to_jsonb writes it), and put back with the same
ids. While they are in the trash no other query sees them: they are simply not in their
tables (a deleted_at column would have had to be remembered by every query of every page,
export and dashboard; one forgotten and a deleted derivation's labels are counted).

The rollups follow by themselves: their triggers mark the derivations dirty on the delete
and on the restore."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from app.models import Trash, User
from app.repositories.cascades import plan_cascades_once

_OF = "derivation_id = ANY(:ids)"
_OF_ANNOTATIONS = "annotation_id IN (SELECT id FROM annotations WHERE derivation_id = ANY(:ids))"
# Every table whose rows are removed with a derivation (its foreign keys cascade from
# derivations), parents before children: the order rows are put back in. A test holds this
# list equal to what the database's foreign keys say.
TABLES: tuple[tuple[str, str], ...] = (
    ("derivations", "id = ANY(:ids)"),
    ("steps", _OF),
    ("annotations", _OF),
    ("adjudications", _OF),
    ("step_labels", _OF_ANNOTATIONS),
    ("submitted_step_labels", _OF_ANNOTATIONS),
    ("step_notes", _OF_ANNOTATIONS),
    ("final_labels", _OF),
    ("annotation_events", _OF),
    ("auto_checks", _OF),
    ("sample_items", _OF),
    ("step_proposals", _OF),
    ("step_corrections", _OF),
    ("predictions", _OF),
)


def move_to_trash(session: Session, *, project_id: int, derivation_ids: list[int], actor_id: int,
                  view: str) -> Trash:
    """Copy the derivations' rows into a new trash entry, then delete the derivations (the
    foreign keys cascade to the rest)."""
    plan_cascades_once(session)
    # Locked first: a label saved, an annotation begun or a check written meanwhile would be
    # removed by the cascade without being in the copy. Writers already in flight are waited
    # for (their rows are then copied); later ones wait for this and find the derivation gone.
    session.execute(text("SELECT 1 FROM derivations WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"),
                    {"ids": derivation_ids})
    annotations = session.scalar(text("SELECT count(*) FROM (SELECT 1 FROM annotations WHERE derivation_id = ANY(:ids) "
                                      "ORDER BY id FOR UPDATE) locked"), {"ids": derivation_ids})
    entry = Trash(project_id=project_id, deleted_by_id=actor_id, derivations=len(derivation_ids),
                  annotations=annotations, view=view, sample_ids=sorted(derivation_ids)[:5])
    session.add(entry)
    session.flush()
    for table, where in TABLES:  # table names come from the constant list above, never from input
        session.execute(text(f"INSERT INTO trash_rows (trash_id, table_name, row) "
                             f"SELECT :trash, '{table}', to_jsonb(t) FROM {table} t WHERE {where}"),
                        {"trash": entry.id, "ids": derivation_ids})
    session.execute(text("DELETE FROM derivations WHERE id = ANY(:ids)"), {"ids": derivation_ids})
    return entry


def _columns(session: Session, table: str) -> list[str]:
    return list(session.scalars(text("SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) AND "
                                     "attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum"),
                                {"t": table}))


def restore(session: Session, entry: Trash) -> None:
    """Put the entry's rows back with their ids, then drop the entry. Only the columns the
    rows were saved with are written, so a column added since keeps its default (generated
    columns, such as the queue's rank, are computed again). Raises
    sqlalchemy's IntegrityError when something they refer to is gone (the caller says what)."""
    plan_cascades_once(session)
    for table, _ in TABLES:
        saved = session.scalar(text("SELECT row FROM trash_rows WHERE trash_id = :t AND table_name = :n LIMIT 1"),
                               {"t": entry.id, "n": table})
        if saved is None:
            continue
        columns = [f'"{c}"' for c in _columns(session, table) if c in saved]
        session.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) "
                             f"SELECT {', '.join('x.' + c for c in columns)} FROM trash_rows r, "
                             f"jsonb_populate_record(NULL::{table}, r.row) AS x "
                             "WHERE r.trash_id = :t AND r.table_name = :n"), {"t": entry.id, "n": table})
    session.delete(entry)


def entries(session: Session, project_id: int, *, since: datetime) -> list[dict]:
    """The project's trash deleted since `since`, newest first, with who deleted each."""
    rows = session.execute(select(Trash, User.username).outerjoin(User, User.id == Trash.deleted_by_id)
                           .where(Trash.project_id == project_id, Trash.deleted_at >= since)
                           .order_by(Trash.deleted_at.desc(), Trash.id.desc()))
    return [{"entry": entry, "by": username} for entry, username in rows]


def get(session: Session, project_id: int, trash_id: int, *, lock: bool = False) -> Trash | None:
    query = select(Trash).where(Trash.id == trash_id, Trash.project_id == project_id)
    return session.scalar(query.with_for_update() if lock else query)


def purge_older_than(session: Session, project_id: int, cutoff: datetime) -> int:
    """Drop the entries deleted before `cutoff` for good (their rows with them)."""
    return session.execute(delete(Trash).where(Trash.project_id == project_id, Trash.deleted_at < cutoff)).rowcount

