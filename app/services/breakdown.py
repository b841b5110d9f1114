"""The per-model error breakdown: counts and per-step rates of each label."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models import Perturbation
from app.services import projects
from app.repositories import stats as stats_repo


@dataclass
class ModelRow:
    model: str
    derivations: int
    annotated: int  # derivations with at least one submitted annotation
    steps: int  # steps of all its derivations
    judged_steps: int  # steps x submitted annotations: the denominator of the rates
    annotations: int
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


get_project = projects.get_project  # the breakdown page and its neighbours look projects up the same way


def per_model(session: Session, *, project_id: int, perturbation: str | None = None) -> list[ModelRow]:
    models, labels = stats_repo.per_model(session, project_id=project_id, perturbation=perturbation)
    counts: dict[str, dict[str, int]] = {}
    for model, label, n in labels:
        counts.setdefault(model, {})[label] = n
    return [ModelRow(**row, counts=counts.get(row["model"], {})) for row in models]


def chart_data(rows: list[ModelRow], taxonomy: list[dict]) -> dict:
    """Rates in percent, one series per label, for the bar chart."""
    return {
        "models": [row.model for row in rows],
        "series": [
            {"label": item["name"], "data": [round((row.rate(item["key"]) or 0) * 100, 2) for row in rows]}
            for item in taxonomy
        ],
    }
