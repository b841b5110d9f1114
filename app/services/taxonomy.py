"""A project's labels: add, rename, describe, reorder and retire them, or start from a preset.

Each label is {key, name, help, rating, retired}: the key is what the data stores (it never
changes once labels use it), the name and help are what annotators see, the rating is what
the step-rewards export gives a step with that label (-1, 0 or +1; a step without one gets
+1), and a retired label is hidden from new work while every label and event already made
with it stays (exports, dashboards and agreement keep its column). The order is the keys'
order on the annotate page (1-9).
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models import Project
from app.repositories import projects as projects_repo
from app.services.projects import get_project

MAX_ACTIVE = 9  # keys 1-9 on the annotate page
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PAPER_RATINGS = {"incorrect": -1}  # the paper's other labels are not errors of reasoning: 0

PRESETS: dict[str, tuple[str, list[dict]]] = {
    "paper": ("the paper's four (incorrect, irrelevant, redundant, skipped steps)", [
        {"key": "incorrect", "name": "Incorrect", "help": "does not follow from the premises and earlier steps", "rating": -1},
        {"key": "irrelevant", "name": "Irrelevant", "help": "plays no part in reaching the goal", "rating": 0},
        {"key": "redundant", "name": "Redundant", "help": "repeats or is trivially equivalent to an earlier step", "rating": 0},
        {"key": "skipped", "name": "Skipped steps", "help": "needs more than one operation from what came before", "rating": 0},
    ]),
    "lemma": ("LEMMA-style error types", [
        {"key": "calculation", "name": "Calculation error", "help": "an arithmetic or algebra slip", "rating": -1},
        {"key": "misreading", "name": "Misreading the question", "help": "uses a quantity or condition the question does not give", "rating": -1},
        {"key": "wrong_formula", "name": "Wrong formula or theorem", "help": "applies a rule that does not hold here", "rating": -1},
        {"key": "logic", "name": "Logic error", "help": "the conclusion does not follow from what came before", "rating": -1},
        {"key": "incomplete", "name": "Incomplete", "help": "stops short, or leaves a case out", "rating": -1},
        {"key": "other_error", "name": "Other error", "help": "an error of another kind (say which in the step's note)", "rating": -1},
    ]),
    "processbench": ("ProcessBench: one mark on the first wrong step", [
        {"key": "first_error", "name": "First wrong step", "help": "the earliest step that is wrong (mark one step only)", "rating": -1},
    ]),
    "prm800k": ("PRM800K ratings: -1 / 0 per step (no mark: +1)", [
        {"key": "negative", "name": "Negative (-1)", "help": "wrong, or makes reaching the answer harder", "rating": -1},
        {"key": "neutral", "name": "Neutral (0)", "help": "reasonable but does not help", "rating": 0},
    ]),
}


def items(project: Project) -> list[dict]:
    """The taxonomy with every field filled (projects made before ratings and retiring have neither)."""
    return items_of(project.taxonomy)


def items_of(taxonomy: list[dict]) -> list[dict]:
    return [{"key": i["key"], "name": i.get("name") or i["key"], "help": i.get("help", ""),
             "rating": i.get("rating", PAPER_RATINGS.get(i["key"], 0)), "retired": bool(i.get("retired", False))}
            for i in taxonomy]


def ratings(project: Project) -> dict[str, int]:
    return {i["key"]: i["rating"] for i in items(project)}


def _check(rows: list[dict]) -> list[dict]:
    out, seen, problems = [], set(), []
    for n, row in enumerate(rows, start=1):
        key = (row.get("key") or "").strip()
        name = (row.get("name") or "").strip()
        if not key and not name:
            continue  # an empty "add a label" row
        where = f"label {n}"
        if not KEY.match(key):
            problems.append(f"{where}: key '{key}': use a-z, 0-9 and _ (starting with a letter, at most 40)")
        elif key in seen:
            problems.append(f"{where}: key '{key}' is given twice")
        seen.add(key)
        if not name or len(name) > 80:
            problems.append(f"{where}: name: 1-80 characters")
        help_text = (row.get("help") or "").strip()
        if len(help_text) > 300:
            problems.append(f"{where}: description: at most 300 characters")
        try:
            rating = int(row.get("rating", 0))
        except (TypeError, ValueError):
            rating = None
        if rating not in (-1, 0, 1):
            problems.append(f"{where}: rating: -1, 0 or 1")
        out.append({"key": key, "name": name, "help": help_text, "rating": rating,
                    "retired": bool(row.get("retired"))})
    active = [r for r in out if not r["retired"]]
    if not active:
        problems.append("keep at least one label that is not retired")
    if len(active) > MAX_ACTIVE:
        problems.append(f"at most {MAX_ACTIVE} labels in use at once (keys 1-{MAX_ACTIVE}); retire some")
    if problems:
        raise InvalidInput("the labels were not changed", details=problems)
    return out


def update(session: Session, *, project_id: int, rows: list[dict]) -> list[dict]:
    """Replace the project's labels by `rows` (in their order). A label some data uses can be
    renamed, described, re-rated, moved and retired, never removed: it stays, retired."""
    project = get_project(session, project_id)
    new = _check(rows)
    dropped = [old for old in items(project) if old["key"] not in {r["key"] for r in new}]
    in_use = projects_repo.label_keys_in_use(session, project_id) if dropped else set()  # one query, only if needed
    new += [{**old, "retired": True} for old in dropped if old["key"] in in_use]  # data holds it: retire, not drop
    project.taxonomy = new
    # gold items (app.services.gold) are labelled with the project's labels, whatever they are now
    projects_repo.set_gold_taxonomy(session, project_id, new)
    session.flush()
    return new


def apply_preset(session: Session, *, project_id: int, preset: str) -> list[dict]:
    """The preset's labels; the project's labels that data uses and the preset lacks stay, retired."""
    if preset not in PRESETS:
        raise InvalidInput(f"preset '{preset}': use one of {', '.join(PRESETS)}")
    return update(session, project_id=project_id, rows=[dict(item) for item in PRESETS[preset][1]])


def check_label(taxonomy: list[dict], label: str, on: bool) -> None:
    """A label can be put on a step only when the project has it and it is not retired
    (a retired one can still be taken off)."""
    item = next((i for i in taxonomy if i["key"] == label), None)
    if item is None:
        raise InvalidInput(f"label '{label}' is not in this project's taxonomy "
                           f"({', '.join(i['key'] for i in taxonomy if not i.get('retired'))})")
    if on and item.get("retired"):
        raise InvalidInput(f"label '{label}' is retired in this project: it can be taken off a step, not put on")
