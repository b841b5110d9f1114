"""The five dashboards: per-model errors with 95% intervals, perturbation effects,
text metrics against humans, SymPy against humans, and progress. The database does
the counting (app.repositories.dashboards); this module turns counts into rates."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.models import PERTURBATIONS, Project
from app.repositories import dashboards as repo
from app.repositories import rollups
from app.repositories import projects as projects_repo
from app.repositories import users as users_repo
from app.repositories.dashboards import Filters

METRICS = ("rouge2", "bleu", "gleu")


@dataclass
class Rate:
    k: int
    n: int
    low: float | None = None
    high: float | None = None

    @property
    def value(self) -> float | None:
        return self.k / self.n if self.n else None


def rate(k: int, n: int) -> Rate:
    """A proportion with its 95% Wilson score interval (scipy)."""
    if not n:
        return Rate(k, n)
    from scipy.stats import binomtest

    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return Rate(k, n, float(ci.low), float(ci.high))


@dataclass
class Group:
    """One model (or one model x perturbation): sizes, per-label rates, goal, metrics."""
    model: str
    perturbation: str | None
    derivations: int = 0
    steps: int = 0
    annotated: int = 0
    judgements: int = 0
    judged_steps: int = 0
    goal_yes: int = 0
    goal_judged: int = 0
    label_steps: dict[str, int] = field(default_factory=dict)
    label_judgements: dict[str, int] = field(default_factory=dict)
    metric_sums: dict[str, float] = field(default_factory=dict)  # mean x derivations, to pool groups
    metric_n: dict[str, int] = field(default_factory=dict)

    def step_rate(self, label: str) -> Rate:
        return rate(self.label_steps.get(label, 0), self.judged_steps)

    def any_rate(self, label: str) -> Rate:
        """Share of judgements (derivations as judged) with at least one step so labelled."""
        return rate(self.label_judgements.get(label, 0), self.judgements)

    @property
    def goal(self) -> Rate:
        return rate(self.goal_yes, self.goal_judged)

    def metric(self, name: str) -> float | None:
        n = self.metric_n.get(name, 0)
        return self.metric_sums.get(name, 0.0) / n if n else None

    def value(self, key: str) -> float | None:
        """A named figure, for the perturbation heatmap: label rates, goal, metrics."""
        if key == "goal_reached":
            return self.goal.value
        if key in METRICS:
            return self.metric(key)
        return self.step_rate(key).value


@dataclass
class Dashboards:
    project: Project
    filters: Filters
    labels: list[dict]
    models: list[Group]  # per model, every perturbation pooled
    cells: dict[tuple[str, str], Group]  # (model, perturbation)
    spearman: list[dict]
    points: list[dict]
    checker: list[dict]
    sources: list[dict]  # other suggestion sources (predictions pushed through the API) against humans
    examples: list[dict]
    progress_models: list[dict]
    progress_annotators: list[dict]
    throughput: list[dict]

    @property
    def effect_keys(self) -> list[tuple[str, str]]:
        return [(item["key"], item["name"]) for item in self.labels] + [("goal_reached", "goal reached")] + \
            [(m, m.upper() if m != "rouge2" else "ROUGE-2") for m in METRICS]

    @property
    def ordered_cells(self) -> list[tuple[tuple[str, str], "Group"]]:
        """(model, perturbation) in model order, static first then VR, EE, AG, SR (the paper's order)."""
        return sorted(self.cells.items(), key=lambda kv: (kv[0][0], PERTURBATIONS.index(kv[0][1])
                                                          if kv[0][1] in PERTURBATIONS else len(PERTURBATIONS)))

    def delta(self, model: str, perturbation: str, key: str) -> float | None:
        here, static = self.cells.get((model, perturbation)), self.cells.get((model, "static"))
        if here is None or static is None:
            return None
        a, b = here.value(key), static.value(key)
        return None if a is None or b is None else a - b


def parse_filters(session: Session, *, project_id: int, model: str | None = None, perturbation: str | None = None,
                  annotator: str | None = None, since: str | None = None, until: str | None = None) -> Filters:
    if projects_repo.get(session, project_id) is None:
        raise NotFound(f"project {project_id} does not exist")
    problems = []
    model_id = annotator_id = None
    if model:
        ids = {m_id for m_id, _ in projects_repo.models_of(session, project_id)}
        if not model.isdigit() or int(model) not in ids:
            problems.append(f"model '{model}' is not a model of this project")
        else:
            model_id = int(model)
    if perturbation and perturbation not in PERTURBATIONS:
        problems.append(f"perturbation '{perturbation}': use one of {', '.join(PERTURBATIONS)}")
    if annotator:
        if not annotator.isdigit() or users_repo.get(session, int(annotator)) is None:
            problems.append(f"annotator '{annotator}' is not a user")
        else:
            annotator_id = int(annotator)
    days = {}
    for name, raw in (("since", since), ("until", until)):
        if raw:
            try:
                days[name] = date.fromisoformat(raw)
            except ValueError:
                problems.append(f"{name} '{raw}': use a date like 2026-11-23")
    if problems:
        raise InvalidInput("The filters are not valid.", details=problems)
    return Filters(project_id, model_id, perturbation or None, annotator_id, days.get("since"), days.get("until"))


def source(session: Session, filters: Filters):
    """Where the numbers come from: the maintained rollups (brought up to date first),
    or, for one annotator's or a date range's judgements, the live queries."""
    if filters.annotator_id is None and filters.since is None and filters.until is None:
        rollups.refresh(session)
        # A derivation a writer is changing right now (a check job saving) stays dirty: the
        # refresh skips rows another transaction holds. If it was never rolled up (just
        # imported), the rollups lack it (a model showed 496 derivations where the live count
        # was 500): read live this time, which sees the same committed state.
        if not rollups.pending(session, filters.project_id):
            return rollups
    return repo


def groups(session: Session, filters: Filters, src=None) -> tuple[dict[tuple[str, str], Group], list[Group]]:
    """Per (model, perturbation) and per model (perturbations pooled): sizes, label counts, goal, metrics."""
    src = src or source(session, filters)
    cells: dict[tuple[str, str], Group] = {}
    for row in src.totals(session, filters):
        group = Group(row["model"], row["perturbation"], **{k: row[k] for k in (
            "derivations", "steps", "annotated", "judgements", "judged_steps", "goal_yes", "goal_judged")})
        for name in METRICS:
            if row[f"{name}_n"]:
                group.metric_sums[name], group.metric_n[name] = float(row[f"{name}_sum"]), row[f"{name}_n"]
        cells[(row["model"], row["perturbation"])] = group
    for row in src.label_counts(session, filters):
        group = cells[(row["model"], row["perturbation"])]
        group.label_steps[row["label"]] = row["steps"]
        group.label_judgements[row["label"]] = row["judgements"]

    pooled: dict[str, Group] = {}
    for (model, _), g in sorted(cells.items()):
        p = pooled.setdefault(model, Group(model, None))
        for name in ("derivations", "steps", "annotated", "judgements", "judged_steps", "goal_yes", "goal_judged"):
            setattr(p, name, getattr(p, name) + getattr(g, name))
        for target, part in ((p.label_steps, g.label_steps), (p.label_judgements, g.label_judgements),
                               (p.metric_sums, g.metric_sums), (p.metric_n, g.metric_n)):
            for key, value in part.items():
                target[key] = target.get(key, 0) + value
    return cells, list(pooled.values())


def compute(session: Session, filters: Filters) -> Dashboards:
    project = projects_repo.get(session, filters.project_id)
    src = source(session, filters)
    cells, pooled = groups(session, filters, src)
    checker = []
    for row in src.checker_scores(session, filters):
        tp, fp, fn = row["tp"], row["fp"], row["fn"]
        checker.append({**row, "precision": rate(tp, tp + fp), "recall": rate(tp, tp + fn)})
    sources = []
    for row in repo.source_scores(session, filters):
        tp, fp, fn = row["tp"], row["fp"], row["fn"]
        sources.append({**row, "precision": rate(tp, tp + fp), "recall": rate(tp, tp + fn)})
    examples = defaultdict(list)
    for row in src.checker_examples(session, filters):
        examples[row["label"]].append(row)

    return Dashboards(
        project=project, filters=filters, labels=project.taxonomy, models=pooled, cells=cells,
        spearman=src.spearman(session, filters), points=src.metric_points(session, filters),
        checker=checker, sources=sources, examples=[e for rows in examples.values() for e in rows],
        progress_models=src.progress_models(session, filters),
        progress_annotators=src.progress_annotators(session, filters), throughput=src.throughput(session, filters),
    )
