"""Large exports, prepared in the background: a worker writes the CSV into PostgreSQL in
~1 MiB chunks (constant memory), and the page offers the download once it is ready."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from app import jobs
from app.errors import InvalidInput, NotFound
from app.models import ExportFile, User
from app.repositories import export_files as repo
from app.repositories import jobs as jobs_repo
from app.services import exporting

CHUNK = 1 << 20
# Above this many rows an export in the browser is prepared in the background instead
# (COPY streams ~150k rows/s here: some 15 s and more).
BACKGROUND_ROWS = 2_000_000


def request(session: Session, *, project_id: int, level: str, user: User, spreadsheet_safe: bool = False,
            keep_hours: int | None = None) -> ExportFile:
    """Queue an export (its job in the same transaction). Exports older than `keep_hours`
    are deleted first: prepared files do not pile up in the database."""
    if level not in ("step", "derivation", "events"):
        raise InvalidInput(f"level '{level}': use step, derivation or events")
    exporting.check_export(session, project_id=project_id, level=level)
    if keep_hours is not None:
        repo.delete_older_than(session, hours=keep_hours)
    export = repo.add(session, project_id=project_id, level=level, created_by_id=user.id,
                      options={"spreadsheet_safe": spreadsheet_safe})
    jobs_repo.add(session, kind=jobs.EXPORT, payload={"export_id": export.id}, priority=jobs.INTERACTIVE)
    return export


def should_run_in_background(session: Session, *, project_id: int, level: str) -> bool:
    return level in ("step", "derivation") and repo.estimate_rows(session, project_id, level) > BACKGROUND_ROWS


def get(session: Session, *, export_id: int) -> ExportFile:
    export = repo.get(session, export_id)
    if export is None:
        raise NotFound(f"export {export_id} does not exist")
    return export


def write(sessions: sessionmaker[Session], finish, *, export_id: int) -> int:
    """Stream the export into chunks inside `finish()` (the job's finishing transaction:
    the file becomes ready exactly when the job is done; a re-run replaces it)."""
    with sessions() as session:
        export = repo.get(session, export_id)
        if export is None:
            return 0
        project_id, level = export.project_id, export.level
        safe = bool((export.options or {}).get("spreadsheet_safe"))
        _, labels, _ = exporting.check_export(session, project_id=project_id, level=level)
    with finish() as session:
        repo.clear_chunks(session, export_id)
        buffer, n, size = bytearray(), 0, 0
        for text in exporting.stream_csv(sessions, project_id=project_id, labels=labels, level=level, safe=safe):
            buffer += text.encode("utf-8")
            while len(buffer) >= CHUNK:  # a stream block may hold several chunks
                repo.add_chunk(session, export_id, n, bytes(buffer[:CHUNK]))
                n, size = n + 1, size + CHUNK
                del buffer[:CHUNK]
        if buffer:
            repo.add_chunk(session, export_id, n, bytes(buffer))
            size += len(buffer)
        repo.finish(session, export_id, size=size)
    return size


def stream(sessions: sessionmaker[Session], *, export_id: int):
    session = sessions()
    try:
        with session.begin():
            yield from repo.chunks(session, export_id)
    finally:
        session.close()


def fail(session: Session, *, export_id: int, error: str) -> None:
    repo.fail(session, export_id, error[:4000])
