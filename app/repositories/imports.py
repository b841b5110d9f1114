"""SQL of an import: everything in bulk, conflicts skipped, in the caller's transaction."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.models import Derivation, ImportBatch, Problem, Step

# A multi-row INSERT binds rows × columns parameters, and the driver allows 65,535 in one
# statement: 1,000 rows of any of these tables stay well under it.
ROWS_PER_STATEMENT = 1000


def find_batch(session: Session, project_id: int, sha256: str) -> ImportBatch | None:
    return session.scalar(
        select(ImportBatch).where(ImportBatch.project_id == project_id, ImportBatch.sha256 == sha256)
    )


def add_batch(session: Session, **fields: Any) -> ImportBatch:
    batch = ImportBatch(**fields)
    session.add(batch)
    session.flush()
    return batch


def upsert_problems(session: Session, rows: Sequence[dict[str, Any]]) -> tuple[dict[tuple[str, str], int], int]:
    """Insert new problems; return ids of all of them by (key, perturbation) and how many were new."""
    added = 0
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        result = session.execute(
            insert(Problem).values(list(rows[start : start + ROWS_PER_STATEMENT])).on_conflict_do_nothing()
            .returning(Problem.id)
        )
        added += len(result.all())
    project_id = rows[0]["project_id"] if rows else None
    keys = [(r["key"], r["perturbation"]) for r in rows]
    ids: dict[tuple[str, str], int] = {}
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        found = session.execute(
            select(Problem.key, Problem.perturbation, Problem.id).where(
                Problem.project_id == project_id, tuple_(Problem.key, Problem.perturbation).in_(chunk)
            )
        )
        ids.update({(k, p.value if hasattr(p, "value") else p): i for k, p, i in found})
    return ids, added


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


def insert_derivations(session: Session, rows: Sequence[dict[str, Any]]) -> list[tuple[int, str]]:
    """Insert derivations not already in the project; return (id, content_hash) of the new ones."""
    new: list[tuple[int, str]] = []
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        result = session.execute(
            insert(Derivation)
            .values(list(rows[start : start + ROWS_PER_STATEMENT]))
            .on_conflict_do_nothing(index_elements=["project_id", "content_hash"])
            .returning(Derivation.id, Derivation.content_hash)
        )
        new += [tuple(r) for r in result.all()]
    return new


def insert_steps(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(Step), list(rows))
