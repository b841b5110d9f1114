"""Model-like outputs with known errors, made from engine reference derivations:
a known-answer test set of any size for the checker (and realistic demo data).

- skipped: an intermediate step dropped -> the step after it skips;
- redundant: an earlier step restated (sides swapped) -> redundant;
- incorrect: the last step corrupted (sign, constant, factor) -> incorrect, goal not reached;
- irrelevant: a true equation no later step uses, inserted before the last step;
- none: the reference itself (every step correct, goal reached).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import sympy
from sympy import Eq, Symbol

from app.math.engine import SYMBOLS, Engine, Problem, to_latex

KINDS = ("skipped", "redundant", "incorrect", "irrelevant", "none")


@dataclass
class Mutant:
    kind: str
    premises: list[str]
    goal: str
    steps: list[str]
    labels: dict[int, set[str]] = field(default_factory=dict)  # 1-based step -> true labels
    goal_reached: bool = True
    original: str | None = None  # incorrect: the step before it was corrupted
    reference: list[str] = field(default_factory=list)  # the unmutated derivation


def _corrupt(eq: Eq, rng: random.Random) -> Eq:
    rhs = eq.rhs
    choice = rng.randrange(3)
    if choice == 0 and rhs != 0:
        new = -rhs  # a sign slip
    elif choice == 1:
        new = rhs + 1  # a lost or extra term
    else:
        new = 2 * rhs if rhs != 0 else sympy.Integer(1)  # a wrong factor (e.g. a wrong derivative)
    # The label must be true: -rhs and 2 rhs of a side worth 0 (`d/dx 4`) are still right.
    # Derivatives only: doing the integrals too sent SymPy's heurisch into minutes and 6 GB
    # on one of seed 7's problems (an integral worth 0 is rare; +1 below stays a true slip).
    if sympy.expand((new - rhs).doit(integrals=False)) == 0:
        new = rhs + 1
    return Eq(eq.lhs, new, evaluate=False)


def mutate(problem: Problem, kind: str, rng: random.Random) -> Mutant | None:
    eqs = list(problem.equations)
    premise, goal = eqs[0], eqs[-1]
    labels: dict[int, set[str]] = {}
    goal_reached = True
    if kind == "skipped":
        if len(eqs) < 4:
            return None
        k = rng.randrange(1, len(eqs) - 1)  # never the premise, never the last
        del eqs[k]
        labels[k + 1] = {"skipped"}
    elif kind == "redundant":
        j = rng.randrange(1, len(eqs) - 1)
        eqs.insert(j + 1, Eq(eqs[j].rhs, eqs[j].lhs, evaluate=False))
        labels[j + 2] = {"redundant"}
    elif kind == "incorrect":
        original = to_latex(eqs[-1])
        eqs[-1] = _corrupt(eqs[-1], rng)
        labels[len(eqs)] = {"incorrect"}
        goal_reached = False
    elif kind == "irrelevant":
        fresh = [Symbol(n) for n in SYMBOLS if Symbol(n) not in premise.free_symbols]
        t = rng.choice(fresh)
        extra = Eq(t * premise.lhs, t * premise.rhs, evaluate=False)
        if any(extra == e for e in eqs):
            return None
        eqs.insert(len(eqs) - 1, extra)
        labels[len(eqs) - 1] = {"irrelevant"}
    elif kind != "none":
        raise ValueError(f"unknown mutant kind {kind}")
    return Mutant(kind=kind, premises=[to_latex(premise)], goal=to_latex(goal),
                  steps=[to_latex(e) for e in eqs], labels=labels, goal_reached=goal_reached,
                  original=original if kind == "incorrect" else None,
                  reference=[to_latex(e) for e in problem.equations])


def mutants(count: int, seed: int) -> list[Mutant]:
    """`count` mutants, the kinds in turn, from engine problems drawn with `seed`."""
    engine = Engine(seed)
    rng = random.Random(seed + 1)
    out: list[Mutant] = []
    while len(out) < count:
        problem = engine.derivation()
        made = mutate(problem, KINDS[len(out) % len(KINDS)], rng)
        if made:
            out.append(made)
    return out


def gold_from_reference(reference_steps: list[str], seed: int) -> list[dict]:
    """Gold (calibration) items from one correct derivation written in LaTeX (a reference, or a
    model's derivation judged correct): a mutant of each kind with its known labels ({"kind",
    "steps", "new": positions of the steps it made, "labels": {"k": [labels]}, "goal_reached"}).
    Empty when a step cannot be read or the derivation is too short. Runs in the sandbox."""
    from app.math.engine import Step
    from app.math.latex import ParseError, parse_equation

    try:
        eqs = [parse_equation(step) for step in reference_steps]
    except ParseError:
        return []
    if len(eqs) < 3:
        return []
    problem = Problem(steps=[Step("premise" if i == 0 else "step", (), None, eq) for i, eq in enumerate(eqs)],
                      intermediate=1)
    rng = random.Random(seed)
    out = []
    for kind in KINDS:
        made = mutate(problem, kind, rng)
        if made is not None:
            steps, new = _verbatim(made, reference_steps)
            out.append({"kind": kind, "steps": steps, "new": new, "goal_reached": made.goal_reached,
                        "labels": {str(k): sorted(v) for k, v in made.labels.items()}})
    return out


def _verbatim(made: Mutant, source: list[str]) -> tuple[list[str], list[int]]:
    """The mutant's steps with each one it kept as the source wrote it (spacing, notation: a
    reprinted step would give the item away), and the 0-based positions of the steps it made."""
    originals: dict[str, list[str]] = {}
    for printed, text in zip(made.reference, source):
        originals.setdefault(printed, []).append(text)
    steps, new = [], []
    for n, printed in enumerate(made.steps):
        if originals.get(printed):
            steps.append(originals[printed].pop(0))
        else:
            steps.append(printed)
            new.append(n)
    return steps, new
