"""A problem side by side, as the paper's authors read their outputs in a PDF: the problem's
static form and each perturbed twin (one key), the reference and every model's derivation in
columns, a model's step on the reference step's row where it is the same equation (whitespace
aside), the steps it wrote instead on rows of their own; each step with its human labels and
SymPy's verdicts."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.errors import NotFound
from app.math.latex import split_steps
from app.models import Perturbation
from app.repositories import problem_view as repo
from app.services.projects import get_project

ORDER = [p.value for p in Perturbation]


@dataclass
class Cell:
    latex: str
    index: int
    same: bool = False  # the same equation as the reference step on its row
    human: dict[str, int] = field(default_factory=dict)
    sympy: list[str] = field(default_factory=list)


@dataclass
class Column:
    derivation_id: int
    model: str
    annotations: int
    settled: bool


@dataclass
class Variant:
    perturbation: str
    prompt: str
    columns: list[Column]
    rows: list[tuple[Cell | None, list[Cell | None]]]  # (reference step, each column's step)


@dataclass
class ProblemView:
    project_id: int
    project_name: str
    key: str
    variants: list[Variant]


def _plain(latex: str) -> str:
    return re.sub(r"\s+", "", latex)


def align(reference: list[str], columns: list[list[str]]) -> list[tuple[int | None, list[int | None]]]:
    """Rows of (reference step position, each column's step position): a column's step on the
    reference step's row where difflib matches them (equal ignoring whitespace), the others on
    rows of their own after the last matched one, in order."""
    after: list[dict[int, list[int]]] = []  # per column: reference position (-1: before all) -> unmatched steps
    matched: list[dict[int, int]] = []
    for steps in columns:
        pairs = difflib.SequenceMatcher(a=[_plain(s) for s in reference], b=[_plain(s) for s in steps],
                                        autojunk=False).get_matching_blocks()
        on_row = {pair.a + k: pair.b + k for pair in pairs for k in range(pair.size)}
        by_step = {b: a for a, b in on_row.items()}
        loose: dict[int, list[int]] = {}
        last = -1
        for b in range(len(steps)):
            if b in by_step:
                last = by_step[b]
            else:
                loose.setdefault(last, []).append(b)
        matched.append(on_row)
        after.append(loose)
    rows: list[tuple[int | None, list[int | None]]] = []
    for a in range(-1, len(reference)):
        if a >= 0:
            rows.append((a, [m.get(a) for m in matched]))
        extra = max((len(loose.get(a, [])) for loose in after), default=0)
        for k in range(extra):
            rows.append((None, [loose.get(a, [])[k] if k < len(loose.get(a, [])) else None for loose in after]))
    return rows


def view(session: Session, *, project_id: int, key: str) -> ProblemView:
    project = get_project(session, project_id)
    problems = sorted(repo.family(session, project_id, key), key=lambda p: ORDER.index(p.perturbation.value))
    if not problems:
        raise NotFound(f"problem '{key}' is not in project {project_id}")
    found = repo.derivations(session, [p.id for p in problems])
    ids = [d.id for d, _ in found]
    steps = repo.steps(session, ids)
    human, settled = repo.human_labels(session, ids)
    sympy = repo.sympy_yes(session, ids)
    counts = repo.submitted_counts(session, ids)
    variants = []
    for problem in problems:
        mine = [(d, model) for d, model in found if d.problem_id == problem.id]
        reference = split_steps(problem.reference) if problem.reference else []
        texts = [[s.latex for s in steps[d.id]] for d, _ in mine]
        rows = []
        for a, bs in align(reference, texts):
            ref = Cell(reference[a], a + 1) if a is not None else None
            cells = []
            for (d, _), b in zip(mine, bs):
                if b is None:
                    cells.append(None)
                    continue
                step = steps[d.id][b]
                cells.append(Cell(step.latex, step.index, same=a is not None and _plain(step.latex) == _plain(ref.latex),
                                  human=human.get(step.id, {}), sympy=sympy.get((d.id, step.index), [])))
            rows.append((ref, cells))
        variants.append(Variant(perturbation=problem.perturbation.value, prompt=problem.prompt, rows=rows,
                                columns=[Column(d.id, model, counts.get(d.id, 0), d.id in settled) for d, model in mine]))
    return ProblemView(project_id=project_id, project_name=project.name, key=key, variants=variants)
