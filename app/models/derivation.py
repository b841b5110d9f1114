import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Computed, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, created_at_column
from app.models.project import LLMModel


class Perturbation(str, enum.Enum):
    static = "static"
    VR = "VR"  # variable renaming
    EE = "EE"  # expression exchange
    AG = "AG"  # alternative goal
    SR = "SR"  # step removal


PERTURBATIONS = tuple(p.value for p in Perturbation)  # the one spelling of the list, in the paper's order


class Problem(Base):
    __tablename__ = "problems"
    __table_args__ = (UniqueConstraint("project_id", "key", "perturbation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    # The problem's id in its source (problem_id column, or a hash of the paper's prompt).
    key: Mapped[str] = mapped_column(String(200))
    perturbation: Mapped[Perturbation] = mapped_column(Enum(Perturbation, name="perturbation"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id", ondelete="SET NULL"), index=True)
    prompt: Mapped[str] = mapped_column(Text)
    # Premises, intermediate equations and goal read from "Given ..., then derive ..., then obtain ...".
    premises: Mapped[list[str]] = mapped_column(JSONB, default=list)
    intermediates: Mapped[list[str]] = mapped_column(JSONB, default=list)
    goal: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(Text)
    reference_srepr: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at_column()


QUEUE_RANK_SQL = "('x' || substr(md5(project_id::text || ':' || id::text), 1, 8))::bit(32)::integer"


class Derivation(Base):
    __tablename__ = "derivations"
    __table_args__ = (
        UniqueConstraint("project_id", "content_hash"),
        Index("ix_derivations_project_model", "project_id", "model_id"),
        Index("ix_derivations_queue", "project_id", "queue_rank", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("llm_models.id"))
    raw_text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20), default="import")  # import | generated
    content_hash: Mapped[str] = mapped_column(String(64))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("generation_runs.id", ondelete="SET NULL"), index=True)
    # Scores carried by the source (the paper's ROUGE/BLEU/GLEU/BLEURT), by name.
    metrics: Mapped[dict[str, float]] = mapped_column(JSONB, default=dict)
    # What the source said about this output beyond its text (lm-eval: task, doc, target, ...).
    source_record: Mapped[dict | None] = mapped_column(JSONB, nullable=True)
    # a gold item's known answer: {"labels": {step index: [labels]}, "goal_reached": bool, "kind": mutant kind}
    gold_truth: Mapped[dict | None] = mapped_column(JSONB, nullable=True)
    # Next's order (migration 0011): a hash of (project, id), interleaving models and problems.
    queue_rank: Mapped[int] = mapped_column(Computed(QUEUE_RANK_SQL, persisted=True))
    created_at: Mapped[datetime] = created_at_column()

    problem: Mapped["Problem"] = relationship(lazy="raise")
    model: Mapped[LLMModel] = relationship(lazy="raise")
    steps: Mapped[list["Step"]] = relationship(lazy="raise", order_by="Step.index")


class ParseStatus(str, enum.Enum):
    pending = "pending"
    parsed = "parsed"
    unparsed = "unparsed"


class Step(Base):
    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("derivation_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    derivation_id: Mapped[int] = mapped_column(ForeignKey("derivations.id", ondelete="CASCADE"))
    index: Mapped[int]  # 1-based, as annotators count
    latex: Mapped[str] = mapped_column(Text)  # exactly as the model wrote it
    parse_status: Mapped[ParseStatus] = mapped_column(
        Enum(ParseStatus, name="parse_status"), default=ParseStatus.pending
    )
    canonical: Mapped[str | None] = mapped_column(Text)  # SymPy form, filled by the math checks
