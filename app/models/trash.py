from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class Trash(Base):
    """One bulk deletion of derivations, undoable for a while: the rows it removed are kept in
    trash_rows (every table that hangs off those derivations), so a restore puts them back with
    the same ids, and until then no other query has to know they exist."""

    __tablename__ = "trash"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    deleted_at: Mapped[datetime] = created_at_column()
    derivations: Mapped[int] = mapped_column(Integer)  # how many derivations it removed
    annotations: Mapped[int] = mapped_column(Integer)
    view: Mapped[str] = mapped_column(Text, default="", server_default="")  # the data page's view it was deleted from
    sample_ids: Mapped[list[Any]] = mapped_column(JSONB, default=list)  # a few ids, to say which


class TrashRow(Base):
    """One removed row, as PostgreSQL's to_jsonb wrote it."""

    __tablename__ = "trash_rows"
    __table_args__ = (Index("ix_trash_rows_trash_id_table_name", "trash_id", "table_name"),)

    # no key of its own in the table (read back by entry and table); the mapper needs one
    trash_id: Mapped[int] = mapped_column(ForeignKey("trash.id", ondelete="CASCADE"), primary_key=True)
    table_name: Mapped[str] = mapped_column(Text, primary_key=True)
    row: Mapped[dict[str, Any]] = mapped_column(JSONB)
