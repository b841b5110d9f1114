"""Inter-annotator agreement: Krippendorff's alpha (nominal, `krippendorff`), pairwise
Cohen's kappa (scikit-learn) and raw percent agreement, per label and overall, each
with the number of items it rests on.

Items are steps judged by at least two submitted annotations. Per label, a step's value
is whether the annotator gave that label (0/1). Overall, its value is the annotator's
whole set of labels on the step ("correct" when none), one nominal category per set.
Goal reached is an item per derivation (yes/no; "not judged" is missing)."""

from __future__ import annotations

import itertools
import math
import warnings
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.errors import NotFound
from app.repositories import agreement as agreement_repo
from app.repositories import projects as projects_repo
from app.repositories import users as users_repo

Items = dict[Hashable, dict[int, Hashable]]  # item -> annotator id -> value


@dataclass
class Figure:
    name: str
    alpha: float | None
    percent: float | None  # share of items on which all their annotators agree
    items: int  # items with at least two values
    mean_kappa: float | None = None


@dataclass
class Report:
    figures: list[Figure]
    annotators: list[str]
    kappa: dict[tuple[str, str], float | None] = field(default_factory=dict)  # overall, per pair
    pair_items: dict[tuple[str, str], int] = field(default_factory=dict)
    time: list[dict] = field(default_factory=list)


def _pairable(items: Items) -> Items:
    return {item: values for item, values in items.items() if len(values) >= 2}


def alpha(items: Items) -> float | None:
    """Nominal alpha; None when it is undefined (fewer than two items, or a single value everywhere)."""
    import krippendorff
    import numpy as np

    items = _pairable(items)
    values = sorted({v for vs in items.values() for v in vs.values()}, key=repr)
    if len(items) < 1 or len(values) < 2:
        return None
    code = {v: i for i, v in enumerate(values)}
    annotators = sorted({a for vs in items.values() for a in vs})
    data = np.full((len(annotators), len(items)), np.nan)
    for column, vs in enumerate(items.values()):
        for annotator, value in vs.items():
            data[annotators.index(annotator), column] = code[value]
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def percent(items: Items) -> float | None:
    items = _pairable(items)
    if not items:
        return None
    return sum(len(set(vs.values())) == 1 for vs in items.values()) / len(items)


def kappa(items: Items, a: int, b: int) -> tuple[float | None, int]:
    """Cohen's kappa of two annotators over the items both judged; None when undefined."""
    from sklearn.metrics import cohen_kappa_score

    both = [(vs[a], vs[b]) for vs in items.values() if a in vs and b in vs]
    if len(both) < 2:
        return None, len(both)
    x, y = [repr(p[0]) for p in both], [repr(p[1]) for p in both]
    if len(set(x) | set(y)) < 2:  # one value throughout: chance agreement is total, kappa undefined
        return None, len(both)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = cohen_kappa_score(x, y)
    return (None if math.isnan(value) else float(value)), len(both)


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def compute(session: Session, *, project_id: int, model_id: int | None = None,
            perturbation: str | None = None) -> Report:
    project = projects_repo.get(session, project_id)
    if project is None:
        raise NotFound(f"project {project_id} does not exist")
    filters = {"project_id": project_id, "model_id": model_id, "perturbation": perturbation}
    steps: dict[int, dict[int, frozenset[str]]] = defaultdict(dict)
    for step_id, annotator_id, labels in agreement_repo.step_values(session, **filters):
        steps[step_id][annotator_id] = frozenset(labels)
    goals: Items = defaultdict(dict)
    for derivation_id, annotator_id, goal in agreement_repo.goal_values(session, **filters):
        goals[derivation_id][annotator_id] = goal

    names = {u.id: u.username for u in users_repo.list_all(session)}
    annotator_ids = sorted({a for vs in steps.values() for a in vs} | {a for vs in goals.values() for a in vs},
                           key=lambda a: names.get(a, ""))
    pairs = list(itertools.combinations(annotator_ids, 2))

    def figure(name: str, items: Items) -> Figure:
        return Figure(name, alpha(items), percent(items), len(_pairable(items)),
                      _mean([kappa(items, a, b)[0] for a, b in pairs]))

    overall: Items = {s: {a: "+".join(sorted(ls)) or "correct" for a, ls in vs.items()} for s, vs in steps.items()}
    figures = [figure("all labels (each step's label set)", overall)]
    for item in project.taxonomy:
        key = item["key"]
        figures.append(figure(item["name"], {s: {a: int(key in ls) for a, ls in vs.items()} for s, vs in steps.items()}))
    figures.append(figure("goal reached", goals))

    report = Report(figures, [names.get(a, "?") for a in annotator_ids],
                    time=agreement_repo.time_per_annotator(session, **filters))
    for a, b in pairs:
        value, n = kappa(overall, a, b)
        report.kappa[(names[a], names[b])] = report.kappa[(names[b], names[a])] = value
        report.pair_items[(names[a], names[b])] = report.pair_items[(names[b], names[a])] = n
    return report
