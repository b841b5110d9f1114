"""The per-model error breakdown: counts and per-step rates of each label."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models import Perturbation
from app.repositories.dashboards import Filters
from app.services import dashboards


@dataclass
class ModelRow:
    model: str
    derivations: int
    annotated: int  # derivations with at least one judgement
    steps: int  # steps of all its derivations
    judged_steps: int  # steps x judgements (a settled derivation: once): the denominator of the rates
    counts: dict[str, int]

    def rate(self, label: str) -> float | None:
        return self.counts.get(label, 0) / self.judged_steps if self.judged_steps else None


def parse_perturbation(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return Perturbation(value).value
    except ValueError:
        raise InvalidInput(
            f"perturbation '{value}': use one of {', '.join(p.value for p in Perturbation)}"
        ) from None




def per_model(session: Session, *, project_id: int, perturbation: str | None = None) -> list[ModelRow]:
    """The dashboards' counts (one SQL for both), pooled per model."""
    _, pooled = dashboards.groups(session, Filters(project_id, perturbation=perturbation))
    return [ModelRow(g.model, g.derivations, g.annotated, g.steps, g.judged_steps, dict(g.label_steps)) for g in pooled]


def chart_data(rows: list[ModelRow], taxonomy: list[dict]) -> dict:
    """Rates in percent, one series per label, for the bar chart."""
    return {
        "models": [row.model for row in rows],
        "series": [
            {"label": item["name"], "data": [round((row.rate(item["key"]) or 0) * 100, 2) for row in rows]}
            for item in taxonomy
        ],
    }
