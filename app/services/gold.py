"""Gold (calibration) items: mutants with known errors of correct derivations of the
project's own problems, mixed into each annotator's queue and looking like any other item,
so that each annotator's accuracy per label can be measured. A mutant is made from a model's
derivation judged correct where there is one (its steps kept as the model wrote them), else
from the reference written the way the model writes (its spacing): a reference copied word
for word, which the `r` key shows, gave the item away.

They live in a hidden companion project (`gold_of` = the project): every report, export,
agreement figure and training export of the project counts only the project's own
derivations, so gold items never reach them. Next serves gold first to a newcomer (the
project's onboarding round, with feedback after each submit), then keeps it at the
project's gold rate. Labels follow the paper's taxonomy (the mutants' known errors are
incorrect, irrelevant, redundant, skipped): a project with other labels cannot have gold.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.math.corpus import render as render_in_style
from app.math.corpus import t5_spacing
from app.math.latex import split_steps
from app.math.mutants import KINDS, gold_from_reference
from app.math.sandbox import Sandbox, default_sandbox
from app.models import Derivation, Project, User
from app.repositories import gold as gold_repo
from app.repositories import projects as projects_repo
from app.schemas.importing import DerivationIn
from app.services.importing import content_hash, import_records
from app.services.projects import get_project
from app.services.training import judged

GOLD_LABELS = ("incorrect", "irrelevant", "redundant", "skipped")
MAX_RATE = 50  # percent
MAX_ONBOARDING = 50
MAX_ITEMS = 500


def _companion(session: Session, project: Project) -> Project:
    found = gold_repo.companion(session, project.id)
    if found is None:
        found, _ = projects_repo.get_or_create(session, f"{project.name} (gold items of project {project.id})")
        found.gold_of = project.id
    found.taxonomy = project.taxonomy  # the same labels as the project's, whatever they are now
    found.guidelines = project.guidelines
    session.flush()
    return found


def make(session: Session, *, project_id: int, count: int, seed: int = 0, sandbox: Sandbox | None = None) -> int:
    """Up to `count` new gold items from the project's references; returns how many were added."""
    project = get_project(session, project_id)
    if not 1 <= count <= MAX_ITEMS:
        raise InvalidInput(f"gold items: 1..{MAX_ITEMS} at a time (got {count})")
    if not set(GOLD_LABELS) <= set(project.label_keys):
        raise InvalidInput("gold items need the paper's labels (incorrect, irrelevant, redundant, skipped): "
                           "their known errors are of those kinds")
    # each problem with a reference, and a model that answered it (a gold item looks like its output)
    problems = gold_repo.problems_with_reference_and_model(session, project_id)
    if not problems:
        raise InvalidInput("no problem of this project has a reference to make gold items from")
    sandbox = sandbox or default_sandbox()
    styles = {name: style_of(steps) for name, steps in gold_repo.model_steps(session, project_id).items()}
    correct: dict[int, list] = defaultdict(list)  # problem id -> its model derivations judged correct
    for d in judged(session, project_id=project_id):
        if d.goal_reached and not any(d.labels.values()) and not d.unlabelled:
            correct[d.problem_id].append(d)
    bases = [(problem, _base(problem, model, correct.get(problem.id, []), styles)) for problem, model in problems]
    records, truths = [], {}
    for problem, base, item in _spread(bases, count, seed, sandbox):
        rec = DerivationIn(problem_id=problem.key, prompt=problem.prompt, model=base.model, steps=base.write(item),
                           reference=problem.reference, perturbation=problem.perturbation.value)
        records.append(rec)
        truths[content_hash(rec)] = {"labels": item["labels"], "goal_reached": item["goal_reached"],
                                     "kind": item["kind"]}
    if not records:
        raise InvalidInput("none of the project's references could be read to make gold items")
    companion = _companion(session, project)
    batch = hashlib.sha256(f"gold:{project_id}:{seed}:{sorted(truths)}".encode()).hexdigest()
    result = import_records(session, project_name=companion.name, filename="gold items", sha256=batch, fmt="gold",
                            records=records)
    gold_repo.set_truths(session, companion.id, truths)
    session.flush()
    return result.added


def style_of(steps: list[tuple[int, str]]) -> str:
    """How a model writes, from its steps: "t5" (FLAN-T5's tokenizer spacing, `\\ frac { d }`),
    "gpt" (a leading space on the first step) or "paper" (as the authors' printer)."""
    if not steps:
        return "paper"
    if sum(bool(_T5.search(latex)) for _, latex in steps) * 2 >= len(steps):
        return "t5"
    firsts = [latex for index, latex in steps if index == 1]
    if firsts and sum(latex[:1].isspace() for latex in firsts) * 2 >= len(firsts):
        return "gpt"
    return "paper"


_T5 = re.compile(r"\\ [A-Za-z]| \{ ")


@dataclass
class _Base:
    """What a problem's gold items are made from: a correct derivation and how to write them."""
    model: str
    steps: list[str]
    style: str
    verbatim: bool  # a model's own derivation: its kept steps stay as written, new ones get its style

    def write(self, item: dict) -> list[str]:
        if not self.verbatim:
            return render_in_style(item["steps"], self.style)
        return [t5_spacing(step) if self.style == "t5" and n in item["new"] else step
                for n, step in enumerate(item["steps"])]


def _base(problem, model: str, correct: list, styles: dict[str, str]) -> list[_Base]:
    """The problem's candidates, best first: its model derivations judged correct, then the reference."""
    out = [_Base(d.model, [latex for _, _, latex in d.steps], styles.get(d.model, "paper"), True) for d in correct]
    return out + [_Base(model, split_steps(problem.reference), styles.get(model, "paper"), False)]


def _spread(bases: list, count: int, seed: int, sandbox: Sandbox):
    """Up to `count` (problem, base, mutant), in the order they are served: across problem
    families (a problem and its VR/EE/AG/SR twins are one; never two of one family in a row
    while others are left) and across error kinds (each family's next item is the kind least
    used so far). "Make 20" once gave 20 mutants of one problem, served back to back."""
    rng = random.Random(seed)
    families: dict[int, list] = defaultdict(list)
    for n, (problem, candidates) in enumerate(bases):
        families[problem.parent_id or problem.id].append((n, problem, candidates))
    order = list(families.values())
    rng.shuffle(order)
    for family in order:
        rng.shuffle(family)
    made: dict[int, list[dict]] = {}  # problem id -> its mutants not used yet
    chosen: dict[int, _Base] = {}  # problem id -> what its mutants were made from
    used_kinds: dict[str, int] = defaultdict(int)
    out, last, round_ = [], None, 0
    while len(out) < count:
        progressed = False
        for key, family in enumerate(order):
            if len(out) >= count:
                break
            n, problem, candidates = family[round_ % len(family)]
            if problem.id not in made:
                made[problem.id], chosen[problem.id] = [], candidates[-1]
                for base in candidates:  # the first that gives mutants (a model's steps may not parse)
                    outcome = sandbox.call(gold_from_reference, base.steps, seed + n, timeout=10.0)
                    # a model's derivation unchanged ("none") is a copy of an item the annotator may
                    # have had: only its mutants
                    items = [m for m in (outcome.value if outcome.ok else []) if not (base.verbatim and
                                                                                     m["kind"] == "none")]
                    if items:
                        made[problem.id], chosen[problem.id] = items, base
                        break
            left = made[problem.id]
            if not left or (key == last and len(order) > 1):
                continue
            item = min(left, key=lambda m: (used_kinds[m["kind"]], KINDS.index(m["kind"])))
            left.remove(item)
            used_kinds[item["kind"]] += 1
            out.append((problem, chosen[problem.id], item))
            last, progressed = key, True
        round_ += 1
        if not progressed and round_ > max(len(f) for f in order) * len(KINDS):
            break
    return out


def set_rates(session: Session, *, project_id: int, rate: int, onboarding: int) -> Project:
    project = get_project(session, project_id)
    if not 0 <= rate <= MAX_RATE:
        raise InvalidInput(f"gold rate: 0..{MAX_RATE} percent of each annotator's items (got {rate})")
    if not 0 <= onboarding <= MAX_ONBOARDING:
        raise InvalidInput(f"onboarding: 0..{MAX_ONBOARDING} gold items first (got {onboarding})")
    project.gold_rate, project.onboarding_gold = rate, onboarding
    session.flush()
    return project


def item_count(session: Session, project_id: int) -> int:
    companion = gold_repo.companion(session, project_id)
    if companion is None:
        return 0
    return gold_repo.item_count(session, companion.id)


def due(session: Session, *, project: Project, user: User) -> int | None:
    """The gold item Next serves this annotator now, or None: an unfinished one first; then
    during onboarding (their first N items) always; after it, whenever their gold share has
    fallen below the project's rate."""
    if project.gold_of is not None or (not project.gold_rate and not project.onboarding_gold):
        return None
    companion = gold_repo.companion(session, project.id)
    if companion is None:
        return None
    submitted, had, unfinished = gold_repo.counts(session, project.id, companion.id, user.id)
    if unfinished is not None:
        return unfinished
    onboarding = had < project.onboarding_gold
    behind = project.gold_rate and had * 100 < (submitted + had + 1) * project.gold_rate
    if not (onboarding or behind):
        return None
    return gold_repo.next_item(session, companion.id, user.id)


@dataclass
class Feedback:
    derivation_id: int
    rows: list[dict]  # per step: index, latex, yours, answer, right
    goal: tuple[bool | None, bool]  # (yours, the answer)
    onboarding_left: int


def feedback(session: Session, *, derivation_id: int, user: User) -> Feedback | None:
    """After an onboarding gold item is submitted: the known answer beside the annotator's."""
    derivation = session.get(Derivation, derivation_id)
    if derivation is None or derivation.gold_truth is None:
        return None
    companion_id = derivation.project_id
    project = session.get(Project, session.get(Project, companion_id).gold_of)
    _, had, _ = gold_repo.counts(session, project.id, companion_id, user.id)
    mine = next(iter(gold_repo.answers(session, companion_id, annotator_id=user.id, derivation_id=derivation_id)), None)
    if mine is None or had > project.onboarding_gold:
        return None  # not submitted, or past the onboarding round: gold stays unannounced
    truth = derivation.gold_truth["labels"]
    steps = gold_repo.steps_of(session, derivation_id)
    rows = []
    for index, latex in steps:
        yours = sorted(mine["given"].get(str(index), []))
        answer = sorted(truth.get(str(index), []))
        rows.append({"index": index, "latex": latex, "yours": yours, "answer": answer, "right": yours == answer})
    return Feedback(derivation_id, rows, (None, derivation.gold_truth["goal_reached"]),
                    max(project.onboarding_gold - had, 0))


def accuracy(session: Session, *, project_id: int) -> list[dict]:
    """Per annotator and label, their steps against the known answers: counts and accuracy."""
    companion = gold_repo.companion(session, project_id)
    if companion is None:
        return []
    tally: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0, "tn": 0})
    items: dict[str, int] = defaultdict(int)
    for a in gold_repo.answers(session, companion.id):
        items[a["annotator"]] += 1
        truth = a["truth"]["labels"]
        for index in range(1, a["steps"] + 1):
            yours, answer = set(a["given"].get(str(index), [])), set(truth.get(str(index), []))
            for label in GOLD_LABELS:
                cell = tally[(a["annotator"], label)]
                cell[("t" if (label in yours) == (label in answer) else "f") +
                     ("p" if label in yours else "n")] += 1
    out = []
    for (annotator, label), c in sorted(tally.items()):
        n = sum(c.values())
        out.append({"annotator": annotator, "label": label, "items": items[annotator], "steps": n, **c,
                    "accuracy": (c["tp"] + c["tn"]) / n if n else None,
                    "recall": c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else None,
                    "precision": c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else None})
    return out


def answers_export(session: Session, *, project_id: int) -> list[dict]:
    """The gold export: every submitted gold item, per annotator, its steps with the known
    answer and the annotator's labels (the only export gold items appear in)."""
    get_project(session, project_id)
    companion = gold_repo.companion(session, project_id)
    if companion is None:
        return []
    steps: dict[int, list[str]] = defaultdict(list)
    for derivation_id, latex in gold_repo.steps_of_project(session, companion.id):
        steps[derivation_id].append(latex)
    out = []
    for a in gold_repo.answers(session, companion.id):
        truth = a["truth"]
        rows = [{"index": i, "latex": latex, "answer": sorted(truth["labels"].get(str(i), [])),
                 "given": sorted(a["given"].get(str(i), []))} for i, latex in enumerate(steps[a["derivation_id"]], 1)]
        out.append({"annotator": a["annotator"], "derivation_id": a["derivation_id"], "kind": truth["kind"],
                    "goal_reached": truth["goal_reached"], "steps": rows,
                    "steps_right": sum(r["answer"] == r["given"] for r in rows)})
    return out
