"""SymPy proposes the correct step for a step that is wrong.

For step k marked incorrect, the known-correct equations are the premises and the
earlier steps not marked wrong. The proposal is, in this order:

1. the one-operation successor of a known-correct equation closest to the model's
   step: the same operation with the slip undone (the model differentiated step 3 and
   got the sign wrong: differentiate step 3);
2. else, as a fallback said as such ("the reference's step here"), the reference's
   step k, when one engine operation makes it from a known-correct equation (or it
   holds given the premises).

"No proposal" is a fine answer: when nothing is close enough, none is made. Pure
functions, meant to run in app.math.sandbox like every check; each SymPy call inside
is time-bounded (calculus.bounded).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import sympy
from sympy import Derivative, Eq, Integral, Symbol

from app.math import checker
from app.math.calculus import UNARY, bounded, evaluate_derivatives
from app.math.checker import NO, YES, DerivationCheck, _equivalent, _parse
from app.math.limits import budget
from app.math.engine import CONSTANTS, to_latex
from app.math.operations import TABLE, one_operation

MIN_SIMILARITY = 0.6  # below this, the closest successor is not "the same step with the slip undone"
MAX_SOURCES = 4  # known-correct equations tried, latest first


@dataclass
class Proposal:
    index: int  # 1-based step it corrects
    latex: str
    operation: str  # what was done, in words: "differentiate both sides w.r.t. a (from step 3)"
    source: int | None  # the equation it is made from (0: the premise), None when only "it holds"
    from_reference: bool


def _where(j: int) -> str:
    return "the premise" if j == 0 else f"step {j}"


OPERATION_WORDS = {
    "restate": "restate", "expand": "expand both sides", "differentiate": "differentiate both sides",
    "integrate": "integrate both sides", "power": "raise both sides to a power", "add": "add to both sides",
    "times": "multiply both sides", "evaluate_derivatives": "evaluate the derivatives",
    "evaluate_integrals": "evaluate the integrals", "substitute": "substitute",
    **{name: f"take the {name} of both sides" for name in UNARY},
}


def _simple(term) -> bool:
    """What an engine operation adds or multiplies by: a number, a symbol, a power of one,
    or a product of those (never a whole side, which would copy the slip)."""
    return all(f.is_Number or f.is_Symbol or (f.is_Pow and f.base.is_Symbol and f.exp.is_Number)
               for f in sympy.Mul.make_args(term)) and term != 0


def _arguments(source: Eq, model: Eq) -> list:
    """Terms and factors that turn a side of `source` into the same side of the model's step
    (either orientation): the argument the model used, read off the side it got right."""
    out = []
    for m_side, s_side in ((model.lhs, source.lhs), (model.rhs, source.rhs), (model.lhs, source.rhs),
                           (model.rhs, source.lhs)):
        diff = bounded(sympy.expand, m_side - s_side)
        if diff is not None and _simple(diff) and diff not in out:
            out.append(diff)
        if m_side.is_Pow and m_side.base == s_side and m_side.exp not in out:
            out.append(m_side.exp)  # raised to a power: the exponent as the model wrote it
        if s_side != 0:
            ratio = bounded(sympy.cancel, m_side / s_side)
            if ratio is not None and ratio != 1 and _simple(ratio) and ratio not in out:
                out.append(ratio)
    return out[:6]


def _apply(name: str, source: Eq, arg=None) -> Eq | None:
    """The engine's operation (app.math.operations.TABLE) on source, within the soft time
    limit; None past it or where the operation does not apply."""
    return bounded(lambda eq: TABLE[name].apply(eq, arg), source)


def _words(name: str, arg: str = "") -> str:
    return TABLE[name].words.format(arg=arg)


def _successors(source: Eq, model: Eq, others: list[tuple[int, Eq]], fresh: list[Symbol]):
    """(equation, words, cost) for engine operations on `source` that could be what the model
    did; the cost prefers the simpler argument when two explain the model's step as well
    (times τ or times 2τ: the slip is the 2)."""
    for made in _candidates(source, model, others, fresh):
        if made[0] is not None:
            yield made


def _candidates(source: Eq, model: Eq, others: list[tuple[int, Eq]], fresh: list[Symbol]):
    lhs, rhs = source.lhs, source.rhs
    free = sorted((s for s in source.free_symbols if s.name not in CONSTANTS), key=str)
    for x in free:
        yield _apply("differentiate", source, x), _words("differentiate", to_latex(x)), 0
        yield _apply("integrate", source, x), _words("integrate", to_latex(x)), 0
        # models differentiate and evaluate in one go: the slip is often in the evaluation
        done = bounded(evaluate_derivatives, Derivative(rhs, x))
        if done is not None and not done.has(Derivative):
            yield (Eq(Derivative(lhs, x), done, evaluate=False),
                   f"{_words('differentiate', to_latex(x))} and evaluate the right", 0.02)
    for power in (2, 3):  # the engine's usual exponents (a squared side expands: no Pow to read it from)
        yield _apply("power", source, sympy.Integer(power)), _words("power", str(power)), 0.05
    for t in _arguments(source, model):
        numbers = sum(1 for f in sympy.Mul.make_args(t) if f.is_Number and abs(f) != 1)
        cost = 0.05 * (sympy.count_ops(t) + numbers)
        yield _apply("add", source, t), _words("add", to_latex(t)), cost
        yield _apply("times", source, t), _words("times", to_latex(t)), cost
        if t.is_Number or t.is_Symbol:
            yield _apply("power", source, t), _words("power", to_latex(t)), cost
    for name in UNARY:
        yield _apply(name, source), _words(name), 0
    yield _apply("expand", source), _words("expand"), 0
    if source.has(Derivative):
        yield _apply("evaluate_derivatives", source), _words("evaluate_derivatives"), 0
    if source.has(Integral):
        for c in fresh[:1] or [Symbol("C")]:  # the model's own name for the constant, if it wrote one
            yield _apply("evaluate_integrals", source, c), _words("evaluate_integrals"), 0
    for j, other in others:
        for name in ("substitute_RHS_for_LHS", "substitute_LHS_for_RHS"):
            yield _apply(name, source, other), _words(name, _where(j)), 0


def _closeness(candidate: Eq, model: Eq, model_latex: str) -> float:
    """How like the model's step: sides equal as written count most, then the LaTeX's likeness."""
    same_sides = max(int(candidate.lhs == model.lhs) + int(candidate.rhs == model.rhs),
                     int(candidate.lhs == model.rhs) + int(candidate.rhs == model.lhs))
    text = difflib.SequenceMatcher(None, to_latex(candidate), model_latex).ratio()
    return same_sides + text


def _fresh_symbols(model: Eq, known: list[tuple[int, Eq]]) -> list[Symbol]:
    seen = set().union(*(e.free_symbols for _, e in known)) if known else set()
    return sorted(model.free_symbols - seen, key=str)


def _undo_the_slip(k: int, model: Eq, known: list[tuple[int, Eq]]) -> Proposal | None:
    """The one-operation successor of a known-correct equation closest to the model's step."""
    best: tuple[float, Eq, str, int] | None = None
    fresh = _fresh_symbols(model, known)
    for j, source in list(reversed(known))[:MAX_SOURCES]:
        others = [(i, e) for i, e in known if e is not source]
        for candidate, words, cost in _successors(source, model, others, fresh):
            if candidate.lhs == candidate.rhs or any(candidate == e for _, e in known):
                continue
            score = _closeness(candidate, model, to_latex(model)) - cost
            if best is None or score > best[0]:
                best = (score, candidate, words, j)
    if best is None or best[0] < MIN_SIMILARITY or _equivalent(best[1], model):
        return None
    _, candidate, words, j = best
    # one engine operation on a checked-correct equation: correct by construction (testing it at
    # random points would refuse a renamed constant of integration)
    return Proposal(k, to_latex(candidate), f"{words} ({_where(j)})", j, False)


def _reference_step(k: int, model: Eq, known: list[tuple[int, Eq]], reference: list[str] | None,
                    ctx: "checker._Context") -> Proposal | None:
    """The reference's step k, when it follows from a known-correct equation or holds: a
    fallback, said as such (it may have nothing to do with what went wrong)."""
    if not reference or k > len(reference):
        return None
    wanted = _parse(reference[k - 1])
    if wanted is None or _equivalent(wanted, model):
        return None
    for j, e in reversed(known):
        found = one_operation(e, wanted, [x for _, x in known if x is not e])
        if found and found[0] != "restate":
            words = OPERATION_WORDS.get(found[0], found[0])
            return Proposal(k, reference[k - 1], f"the reference's step here: {words} ({_where(j)})", j, True)
    truth, _ = ctx.truth(wanted)
    if truth == "true":
        return Proposal(k, reference[k - 1], "the reference's step here (holds given the premises)", None, True)
    return None


def propose_step(k: int, model_latex: str, model: Eq, known: list[tuple[int, Eq]], reference: list[str] | None,
                 ctx: "checker._Context") -> Proposal | None:
    """A correction for step k (1-based) from the known-correct equations (position, Eq): the
    model's own step with the slip undone, else the reference's step there."""
    return _undo_the_slip(k, model, known) or _reference_step(k, model, known, reference, ctx)


def proposals(premises: list[str], steps: list[str], result: DerivationCheck,
              reference: list[str] | None = None) -> list[Proposal]:
    """A proposal (or none) for every step the check says is incorrect."""
    variables = checker.problem_variables(premises)
    premise_eqs = [eq for eq in (_parse(p, variables) for p in premises) if eq is not None]
    step_eqs = [_parse(s, variables) for s in steps]
    ctx = checker._Context(premise_eqs, step_eqs, None)
    known: list[tuple[int, Eq]] = [(0, p) for p in premise_eqs]
    out = []
    for check, eq in zip(result.steps, step_eqs):
        if eq is None:
            continue
        if check.verdicts.get("incorrect") and check.verdicts["incorrect"].value == YES:
            try:
                made = propose_step(check.index, steps[check.index - 1], eq, known, reference, ctx)
            except Exception:  # a SymPy failure costs this proposal, nothing else
                made = None
            if made is not None:
                out.append(made)
        elif check.verdicts.get("incorrect") and check.verdicts["incorrect"].value == NO:
            known.append((check.index, eq))  # checked and correct: a proposal may start from it
    return out


def check_and_propose(premises: list[str], goal: str | None, steps: list[str],
                      reference: list[str] | None = None) -> DerivationCheck:
    """The check, with proposals for its incorrect steps and, given the reference, the symbolic
    metric (app.math.symbolic_metric): one sandbox call for all three."""
    checker.read_ahead(premises, goal, steps)
    with budget():  # one budget for the check and its proposals
        result = checker.check_derivation(premises, goal, steps)
        result.proposals = proposals(premises, steps, result, reference)
    if reference:
        from app.math.symbolic_metric import symbolic_scores

        result.metrics = symbolic_scores(steps, reference)
    return result
