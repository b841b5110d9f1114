"""Deleting derivations from the data page, undoably: a deletion is kept in the project's
trash for KEPT_DAYS (restore puts every row back with its ids: steps, annotations, labels,
settlements, history, checks, predictions, sample membership), then dropped for good."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.repositories import rollups
from app.repositories import trash as repo

KEPT_DAYS = 30  # long enough to notice a mistake; the rows are dead weight after that


def _cutoff() -> datetime:
    return datetime.now(timezone.utc) - timedelta(days=KEPT_DAYS)


def _purge(session: Session, project_id: int) -> None:
    """Expired entries go when the trash is next written to (a page view writes nothing)."""
    repo.purge_older_than(session, project_id, _cutoff())


def delete(session: Session, *, project_id: int, derivation_ids: list[int], actor_id: int, confirm: str,
           view: str = "") -> int:
    """Move the selection to the project's trash, asked for by name (`confirm=delete`); returns
    the trash entry's id."""
    if confirm != "delete":
        raise InvalidInput("delete: confirm it (confirm=delete): the selection's derivations go to the project's "
                           f"trash, with their annotations, and can be restored for {KEPT_DAYS} days")
    if not derivation_ids:
        raise InvalidInput("delete: nothing matches the selection")
    _purge(session, project_id)
    entry = repo.move_to_trash(session, project_id=project_id, derivation_ids=derivation_ids, actor_id=actor_id,
                               view=view)
    session.flush()
    return entry.id


def restore(session: Session, *, project_id: int, trash_id: int) -> tuple[int, int]:
    """Put a deletion back; returns (derivations, annotations) restored."""
    entry = repo.get(session, project_id, trash_id, lock=True)  # two restores at once: the second finds nothing
    if entry is None or entry.deleted_at < _cutoff():
        raise NotFound(f"trash entry {trash_id}: not in this project's trash (restored already, or older than "
                       f"{KEPT_DAYS} days)")
    counts = (entry.derivations, entry.annotations)
    try:
        with session.begin_nested():
            repo.restore(session, entry)
            session.flush()
    except IntegrityError as exc:
        detail = getattr(exc.orig, "diag", None)
        what = getattr(detail, "message_detail", None) or str(exc.orig).splitlines()[0]
        raise InvalidInput(f"restore: something these derivations refer to is gone ({what}); nothing was restored")
    rollups.refresh(session)
    return counts


def entries(session: Session, project_id: int) -> list[dict]:
    """The deletions that can still be restored, newest first."""
    return repo.entries(session, project_id, since=_cutoff())
