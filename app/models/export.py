from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class ExportFile(Base):
    """An export prepared in the background by a worker, kept in PostgreSQL (the only store:
    the worker that writes it may run on another machine than the web server)."""

    __tablename__ = "export_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(String(20))  # step | derivation | events
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending | ready | failed
    size: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class ExportChunk(Base):
    """One piece (about 1 MiB) of an export file, in order."""

    __tablename__ = "export_chunks"

    export_id: Mapped[int] = mapped_column(ForeignKey("export_files.id", ondelete="CASCADE"), primary_key=True)
    n: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
