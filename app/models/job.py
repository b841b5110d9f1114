import enum
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Enum, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class JobState(str, enum.Enum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class Job(Base):
    """One unit of background work, claimed by a worker under a lease (app.jobs)."""

    __tablename__ = "jobs"
    __table_args__ = (
        # The claim query: queued jobs, and running ones whose lease lapsed, most urgent then oldest first.
        Index("ix_jobs_claim", text("priority DESC"), "id", postgresql_where=text("state IN ('queued', 'running')")),
        Index("ix_jobs_run_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # generate | check | export
    # app.jobs.INTERACTIVE (an export, one re-check) before app.jobs.BULK (an import's checks)
    priority: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    state: Mapped[JobState] = mapped_column(Enum(JobState, name="job_state"), default=JobState.queued)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("generation_runs.id", ondelete="CASCADE"))
    worker_id: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
