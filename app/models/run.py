from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class GenerationRun(Base):
    """A model, a backend and decoding settings over a set of a project's problems."""

    __tablename__ = "generation_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    # The derivations' model (llm_models): its name is what dashboards show.
    model_id: Mapped[int] = mapped_column(ForeignKey("llm_models.id"))
    backend: Mapped[str] = mapped_column(String(20))  # hf-seq2seq | hf-causal | openai
    model_path: Mapped[str] = mapped_column(String(1000))  # local path, hub id or served model name
    # max_new_tokens, num_beams, do_sample, temperature, seed, batch_size
    decoding: Mapped[dict[str, Any]] = mapped_column(JSONB)
    perturbations: Mapped[list[str]] = mapped_column(JSONB)
    total: Mapped[int]  # problems asked
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
