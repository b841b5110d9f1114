import enum
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Enum, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class AnnotationStatus(str, enum.Enum):
    in_progress = "in_progress"
    submitted = "submitted"


class Annotation(Base):
    """One annotator's judgement of one derivation."""

    __tablename__ = "annotations"
    __table_args__ = (
        UniqueConstraint("derivation_id", "annotator_id"),
        Index("ix_annotations_annotator_status", "annotator_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    derivation_id: Mapped[int] = mapped_column(ForeignKey("derivations.id", ondelete="CASCADE"))
    annotator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[AnnotationStatus] = mapped_column(
        Enum(AnnotationStatus, name="annotation_status"), default=AnnotationStatus.in_progress
    )
    goal_reached: Mapped[bool | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    # Bumped on every change: lets a second tab find out it is stale.
    version: Mapped[int] = mapped_column(default=1)
    # The browser tab that made the last change (see annotating.Seen).
    last_tab: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The version that was submitted: when `version` has moved on, the change needs submitting again.
    submitted_version: Mapped[int | None]
    # The goal and comment as last submitted (with submitted_step_labels): what exports read.
    submitted_goal_reached: Mapped[bool | None]
    submitted_comment: Mapped[str | None] = mapped_column(Text)
    # Set by Next on unfinished work: the queue serves it again only after everything new.
    skipped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Time with the page visible and the annotator active (the browser reports it), not wall time.
    active_seconds: Mapped[float] = mapped_column(default=0.0, server_default="0")


class StepNote(Base):
    """An annotator's note on one step, and whether they are unsure of its labels."""

    __tablename__ = "step_notes"

    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"), primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id", ondelete="CASCADE"), primary_key=True)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    unsure: Mapped[bool] = mapped_column(default=False, server_default="false")
    # The source left the step without a label (ProcessBench after the first error, PRM800K
    # unrated): not the same as no error label, which means the step is right.
    unlabelled: Mapped[bool] = mapped_column(default=False, server_default="false")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())


class StepLabel(Base):
    __tablename__ = "step_labels"

    annotation_id: Mapped[int] = mapped_column(
        ForeignKey("annotations.id", ondelete="CASCADE"), primary_key=True
    )
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id", ondelete="CASCADE"), primary_key=True, index=True)
    label: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = created_at_column()


class SubmittedStepLabel(Base):
    """A step label as it stood when the annotation was last submitted: exports read these, so a
    reopened change nobody submitted yet never reaches them."""

    __tablename__ = "submitted_step_labels"

    annotation_id: Mapped[int] = mapped_column(
        ForeignKey("annotations.id", ondelete="CASCADE"), primary_key=True
    )
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id", ondelete="CASCADE"), primary_key=True, index=True)
    label: Mapped[str] = mapped_column(String(40), primary_key=True)


class AnnotationEvent(Base):
    """Append-only history of every change an annotator or reviewer makes. A reviewer's
    final labels have no annotation: they belong to the derivation."""

    __tablename__ = "annotation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"), index=True)
    derivation_id: Mapped[int | None] = mapped_column(ForeignKey("derivations.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # label_on, label_off, judgement, submit, final_on, final_off, final_judgement, settle
    kind: Mapped[str] = mapped_column(String(40))
    step_id: Mapped[int | None] = mapped_column(ForeignKey("steps.id", ondelete="CASCADE"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    at: Mapped[datetime] = created_at_column()


class Adjudication(Base):
    """A reviewer's settlement of a derivation the annotators disagree on. Once decided,
    its final labels are what dashboards count (exports keep every annotator's too)."""

    __tablename__ = "adjudications"

    derivation_id: Mapped[int] = mapped_column(ForeignKey("derivations.id", ondelete="CASCADE"), primary_key=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    goal_reached: Mapped[bool | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()


class FinalLabel(Base):
    __tablename__ = "final_labels"

    derivation_id: Mapped[int] = mapped_column(ForeignKey("adjudications.derivation_id", ondelete="CASCADE"),
                                               primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(40), primary_key=True)
