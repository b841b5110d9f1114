"""SQL of background exports: the file row and its chunks."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from app.models import ExportChunk, ExportFile


def add(session: Session, **fields) -> ExportFile:
    export = ExportFile(**fields)
    session.add(export)
    session.flush()
    return export


def delete_older_than(session: Session, *, hours: int) -> int:
    """Finished exports made more than `hours` ago, with their chunks; returns how many."""
    return len(session.execute(
        delete(ExportFile).where(ExportFile.state.in_(("ready", "failed")),
                                 ExportFile.created_at < func.now() - text("make_interval(hours => :hours)")
                                 .bindparams(hours=hours))
        .returning(ExportFile.id)).all())


def get(session: Session, export_id: int) -> ExportFile | None:
    return session.get(ExportFile, export_id, populate_existing=True)


def clear_chunks(session: Session, export_id: int) -> None:
    session.execute(delete(ExportChunk).where(ExportChunk.export_id == export_id))


def add_chunk(session: Session, export_id: int, n: int, data: bytes) -> None:
    session.execute(ExportChunk.__table__.insert().values(export_id=export_id, n=n, data=data))


def finish(session: Session, export_id: int, *, size: int) -> None:
    session.execute(update(ExportFile).where(ExportFile.id == export_id)
                    .values(state="ready", size=size, error=None, finished_at=func.now()))


def fail(session: Session, export_id: int, error: str) -> None:
    session.execute(update(ExportFile).where(ExportFile.id == export_id)
                    .values(state="failed", error=error, finished_at=func.now()))


def chunks(session: Session, export_id: int) -> Iterator[bytes]:
    result = session.execute(select(ExportChunk.data).where(ExportChunk.export_id == export_id)
                             .order_by(ExportChunk.n).execution_options(yield_per=4))
    for (data,) in result:
        yield bytes(data)


def estimate_rows(session: Session, project_id: int, level: str) -> int:
    """About how many rows an export has (steps or derivations x submitted annotations)."""
    row = session.execute(text("""
        SELECT (SELECT count(*) FROM derivations d WHERE d.project_id = :p) AS derivations,
               (SELECT count(*) FROM steps s JOIN derivations d ON d.id = s.derivation_id WHERE d.project_id = :p) AS steps,
               (SELECT count(*) FROM annotations a JOIN derivations d ON d.id = a.derivation_id
                 WHERE d.project_id = :p AND a.status = 'submitted') AS annotations
    """), {"p": project_id}).one()
    per = max(1.0, row.annotations / row.derivations) if row.derivations else 1.0
    return int((row.steps if level == "step" else row.derivations) * per)
