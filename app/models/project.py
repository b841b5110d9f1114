from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column

# The paper's taxonomy (DESIGN.md): three per-step labels and one between steps.
DEFAULT_TAXONOMY: list[dict[str, str]] = [
    {"key": "incorrect", "name": "Incorrect", "help": "does not follow from the premises and earlier steps"},
    {"key": "irrelevant", "name": "Irrelevant", "help": "plays no part in reaching the goal"},
    {"key": "redundant", "name": "Redundant", "help": "repeats or is trivially equivalent to an earlier step"},
    {"key": "skipped", "name": "Skipped steps", "help": "needs more than one operation from what came before"},
]


# New projects start with these guidelines for the paper's taxonomy (admins edit them on the
# Settings page): what each label means, with an example of each.
DEFAULT_GUIDELINES = r"""Judge each **step** (one equation) against the premises and the steps before it.
A step with no label is *correct*. Several labels may apply to one step.

## 1 · Incorrect
The equation does not follow from the premises and earlier steps: a wrong derivative, a sign
slip, an invalid substitution. *Example:* after `f(x) = x^2`, the step `d/dx f(x) = 3x`.
A step that follows correctly from an earlier *wrong* step is not incorrect itself.

## 2 · Irrelevant
True or not, it plays no part in reaching the goal. *Example:* with the goal `2 f(x) = 2x^2`,
the step `f(x) + y = x^2 + y` when no later step uses it.

## 3 · Redundant
It repeats, or is trivially equivalent to, an earlier step. *Example:* `d/dx f(x) = 2x`
followed by `2x = d/dx f(x)` (the sides swapped).

## 4 · Skipped steps
The step needs more than one operation from what came before: the model jumped. *Example:*
from `f(x) = x^2` straight to `d^2/dx^2 f(x) = 2` (two differentiations at once).

## Goal reached
*Yes* when the last step is the goal the prompt asks for (up to rearranging). Mark steps
**unsure** (`u`) when you cannot decide, and say why in the step's note (`e`).
"""


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    taxonomy: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=lambda: list(DEFAULT_TAXONOMY))
    # How many annotators label each derivation.
    overlap: Mapped[int] = mapped_column(default=1)
    # Blind: annotators see neither the model's name nor anyone else's labels.
    blind: Mapped[bool] = mapped_column(default=True, server_default="true")
    # Markdown shown to annotators on their first visit and behind a key on the annotate page.
    guidelines: Mapped[str] = mapped_column(Text, default=DEFAULT_GUIDELINES, server_default="")
    # which derivation Next serves: interleaved | uncertain | balanced (app.repositories.derivations)
    queue_strategy: Mapped[str] = mapped_column(String(20), default="interleaved", server_default="interleaved")
    # gold (calibration) items: a hidden companion project holds them (so no report, export or
    # agreement figure of this project ever counts them); Next mixes them into the queue
    gold_of: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), nullable=True)
    gold_rate: Mapped[int] = mapped_column(default=0, server_default="0")  # percent of each annotator's items
    onboarding_gold: Mapped[int] = mapped_column(default=0, server_default="0")  # a newcomer's first items
    # archived: kept whole and readable by staff, out of annotators' sight and queues
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = created_at_column()

    @property
    def label_keys(self) -> list[str]:
        return [item["key"] for item in self.taxonomy]


class LLMModel(Base):
    """A model whose derivations are studied (named `llm_models`: `models` is ambiguous)."""

    __tablename__ = "llm_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = created_at_column()


class ImportBatch(Base):
    """One imported file; its hash makes a second import of the same file a no-op."""

    __tablename__ = "imports"
    __table_args__ = (UniqueConstraint("project_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(20))
    derivations_added: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()


class ProjectMember(Base):
    """Who annotates a project. A project with no members is open to every annotator."""

    __tablename__ = "project_members"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = created_at_column()


class SampleItem(Base):
    """A derivation in the project's stratified sample; when a sample exists the queue serves only it."""

    __tablename__ = "sample_items"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    derivation_id: Mapped[int] = mapped_column(ForeignKey("derivations.id", ondelete="CASCADE"), primary_key=True)
