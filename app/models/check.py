from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
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
