from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class AutoCheck(Base):
    """A SymPy suggestion: one label's verdict for one step (step_index 0: the derivation, label goal_reached)."""

    __tablename__ = "auto_checks"

    derivation_id: Mapped[int] = mapped_column(ForeignKey("derivations.id", ondelete="CASCADE"), primary_key=True)
    step_index: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(40), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(10))  # yes / no / unknown
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_at_column()


class StepProposal(Base):
    """SymPy's proposed correct step for a step it found incorrect (app.math.proposals);
    replaced with the derivation's suggestions on every check."""

    __tablename__ = "step_proposals"

    derivation_id: Mapped[int] = mapped_column(ForeignKey("derivations.id", ondelete="CASCADE"), primary_key=True)
    step_index: Mapped[int] = mapped_column(primary_key=True)
    latex: Mapped[str] = mapped_column(Text)
    operation: Mapped[str] = mapped_column(Text)  # in words: "differentiate both sides w.r.t. a (step 3)"
    source: Mapped[int | None] = mapped_column(nullable=True)  # the equation it is made from (0: the premise)
    from_reference: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = created_at_column()


class StepCorrection(Base):
    """The correct step, as a reviewer settled it: SymPy's proposal accepted, or their own
    LaTeX. One per step and author; the training exports take the latest."""

    __tablename__ = "step_corrections"
    __table_args__ = (UniqueConstraint("step_id", "author_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    derivation_id: Mapped[int] = mapped_column(ForeignKey("derivations.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    latex: Mapped[str] = mapped_column(Text)
    from_proposal: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = created_at_column()


class Prediction(Base):
    """A suggestion from another source than SymPy (an external judge, a PRM), pushed through
    the API: one label's verdict for one step (step_index 0: the derivation, goal_reached)."""

    __tablename__ = "predictions"

    source: Mapped[str] = mapped_column(String(80), primary_key=True)
    derivation_id: Mapped[int] = mapped_column(ForeignKey("derivations.id", ondelete="CASCADE"), primary_key=True,
                                               index=True)
    step_index: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(40), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(10))  # yes / no / unknown
    score: Mapped[float | None] = mapped_column(nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = created_at_column()
