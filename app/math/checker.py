"""SymPy pre-annotation: suggested labels for each step of a model derivation.

For step k, given the premises, the goal and steps 1..k-1:
- redundant: equivalent to an earlier step (same, sides swapped, or equal up to
  rearrangement);
- incorrect: does not hold once the premises' definitions are substituted and
  derivatives/integrals evaluated (refuted symbolically or at random points);
  a step that follows by one operation from a wrong step is "built on an
  error", not incorrect;
- skipped: holds, but no single engine operation gives it from the premises or
  an earlier step;
- irrelevant: holds, yet no later step is made from it (decided only when every
  later step's source was found);
- goal stated: the last step is the goal (up to sides and rearrangement);
- goal reached: stated, and no step on the way is incorrect (unknown when one could not be checked).
Every verdict is yes / no / unknown (unparsed, or SymPy ran out of time).
Numbers at random points may refute a step, never prove one: a step that
only passes numerically is reported as such in the reason.

Pure functions of their input. `check_derivation` is meant to run inside
app.math.sandbox (hard limit, process killed on overrun); inside it, each SymPy
simplification also has a soft per-operation limit (SIGPROF, CPU time) so one slow step
costs "unknown" for that step, not the whole derivation.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass, field

import numpy
import sympy
from sympy import Derivative, Eq, Integral, Symbol
from sympy.core.function import AppliedUndef

from app.math.calculus import is_zero
from app.math.latex import ParseError, is_mixed, math_spans, parse_equation
from app.math.limits import OP_SECONDS, TooSlow, budget, time_limit, why_too_slow
from app.math.normalize import READING_PRODUCT, constants_used_as_variables
from app.math.operations import one_operation as _one_operation
from app.math.operations import substitutes

LABELS = ("incorrect", "irrelevant", "redundant", "skipped")
YES, NO, UNKNOWN = "yes", "no", "unknown"


@dataclass
class Verdict:
    value: str  # yes / no / unknown
    reason: str


@dataclass
class StepCheck:
    index: int  # 1-based
    parsed: bool
    canonical: str | None  # srepr of the parsed equation
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    source: int | None = None  # step it was made from (0 = a premise)
    uses: list[int] = field(default_factory=list)  # other steps it used (the equation a substitution put in)
    operation: str | None = None
    built_on_error: bool = False


@dataclass
class DerivationCheck:
    steps: list[StepCheck]
    # reached: the last step is the goal AND no step on the way is incorrect
    goal_reached: Verdict
    # stated: the last step is the goal (which the prompt states: alone it proves little)
    goal_stated: Verdict | None = None
    proposals: list = field(default_factory=list)  # app.math.proposals.Proposal, for incorrect steps
    metrics: dict | None = None  # the symbolic metric against the reference (app.math.symbolic_metric)


# --- algebra helpers (all bounded) ------------------------------------------

def _equivalent(a: Eq, b: Eq) -> bool:
    """The same equation: identical, sides swapped, or each side the same after expansion.
    (Not "same lhs - rhs": adding x to both sides is a step, not a repeat.)"""
    for lhs, rhs in ((b.lhs, b.rhs), (b.rhs, b.lhs)):
        if a.lhs == lhs and a.rhs == rhs:
            return True
    for lhs, rhs in ((b.lhs, b.rhs), (b.rhs, b.lhs)):
        if is_zero(a.lhs - lhs, 0.2) and is_zero(a.rhs - rhs, 0.2):
            return True
    return False


def _antiderivative(integral, constant):
    """Evaluate an integral variable by variable, each with the constant (∬ f dx dy
    gets one per integration, as a derivation that integrates twice writes it).
    The constants' part is integrated apart (a polynomial: cheap), so SymPy integrates
    each integrand once however many constants are tried."""
    result, extra = integral.function, sympy.Integer(0)
    for limit in integral.limits:
        result = _integrate_once(Integral(result, limit))
        extra = sympy.integrate(extra, limit[0]) + constant
    return result + extra


_too_slow: set = set()  # integrals that overran the limit in this derivation: not tried again


def _integrate_once(integral):
    if integral in _too_slow:
        raise TooSlow()
    try:
        return _integrate_cached(integral)
    except TooSlow:
        _too_slow.add(integral)
        raise


@functools.lru_cache(maxsize=1024)
def _integrate_cached(integral):
    with time_limit(OP_SECONDS * 2):
        return integral.doit()


def _with_constants(expr, first, rest):
    seen = []

    def evaluate(e):
        seen.append(e)
        return _antiderivative(e, first if len(seen) == 1 else rest)

    return expr.replace(lambda e: isinstance(e, Integral), evaluate)


class _Context:
    """Definitions from the premises (f(x) = body) and symbols that may be constants of integration."""

    def __init__(self, premises: list[Eq], steps: list[Eq | None], goal: Eq | None):
        self.definitions: dict = {}
        premise_symbols: set = set()
        for p in premises:
            premise_symbols |= p.free_symbols
            for lhs, rhs in ((p.lhs, p.rhs), (p.rhs, p.lhs)):
                if isinstance(lhs, AppliedUndef) and all(isinstance(a, Symbol) for a in lhs.args):
                    self.definitions[lhs.func] = (lhs.args, rhs)
                    break
                if isinstance(lhs, Symbol) and lhs not in rhs.free_symbols:
                    self.definitions[lhs] = ((), rhs)
                    break
        seen: set = set()
        for eq in [*steps, goal]:
            if eq is not None:
                seen |= eq.free_symbols
        self.premise_symbols = premise_symbols
        self.constants = sorted(seen - premise_symbols, key=str)
        # The engine treats constants of integration as interchangeable (`C + x^2 = x^2 + K`,
        # `0 = F_g - P_g`): once the derivation integrates, a symbol the premises lack may be one
        integrates = any(eq is not None and eq.has(Integral) for eq in [*premises, *steps, goal])
        self.integration_constants = set(self.constants) if integrates else set()

    def substitute(self, expr):
        for _ in range(3):  # definitions may refer to one another
            new = expr.replace(
                lambda e: isinstance(e, AppliedUndef) and e.func in self.definitions,
                lambda e: self.definitions[e.func][1].subs(dict(zip(self.definitions[e.func][0], e.args)),
                                                           simultaneous=True),
            )
            new = new.xreplace({k: v[1] for k, v in self.definitions.items() if isinstance(k, Symbol)})
            if new == expr:
                break
            expr = new
        return expr

    # Long because the cases of one comparison (integrals, constants of integration, branches)
    # fall through to each other in order, under one time limit.
    def truth(self, eq: Eq) -> tuple[str, str]:
        """("true" | "false" | "unknown", reason) for the equation given the premises."""
        try:
            with time_limit(OP_SECONDS * 2):
                residual = self.substitute(eq.lhs - eq.rhs)
                # an integral a derivative takes away (d/dv of an integral over w, d/dx of one
                # over x) leaves no antiderivative, so no constant of integration to allow for
                has_integrals = residual.has(Integral) and residual.doit(integrals=False).has(Integral)
                variables = {lim[0] for i in residual.atoms(Integral) for lim in i.limits}
                # a constant of integration may be any of the step's new symbols (or none);
                # replace() works inside out, so nested integrals each get theirs: the
                # innermost the first of a pair of constants, the others the second
                shifts = [0] + [sign * c for c in self.constants[:3] for sign in (1, -1)] if has_integrals else [0]
                pairs = [(k, k) for k in shifts]
                if len(residual.atoms(Integral)) > 1:
                    pairs += [(k1, k2) for k1 in shifts[1:] for k2 in shifts[1:] if k1 != k2][:12]
                if has_integrals:
                    candidates = [_with_constants(residual, first, rest).doit() for first, rest in pairs]
                else:  # not evaluating an integral a derivative takes away (it may have no closed form)
                    candidates = [residual.doit(integrals=False)]
                # ... or the constant was added to a whole side, after the integral was evaluated
                candidates += [candidates[0] + shift for shift in shifts[1:]]
        except (TooSlow, RecursionError):
            return "unknown", why_too_slow()
        except Exception as exc:
            return "unknown", f"SymPy could not evaluate it ({type(exc).__name__})"
        first = candidates[0]
        if first.atoms(AppliedUndef):
            return "unknown", "uses functions the premises do not define"
        if first.has(Integral) or first.has(Derivative):
            return "unknown", "an integral or derivative SymPy cannot evaluate"
        for candidate in candidates:
            if is_zero(candidate):
                return "true", "holds given the premises" + (
                    " (up to a constant of integration)" if candidate is not first else "")
        # antiderivatives that differ by something constant in the integration variables
        # (SymPy's may expand what the step kept factored) are the same antiderivative
        if has_integrals and all(is_zero(sympy.diff(first, v), simplify=True) for v in variables):
            return "true", "holds given the premises (up to a constant of integration)"
        for candidate in candidates:
            if candidate.free_symbols and candidate.free_symbols <= self.integration_constants \
                    and not candidate.has(Integral, Derivative):
                return "true", "holds given the premises, up to constants of integration"
        # `i` the premises do not use is the imaginary unit (`\cos J = (e^{iJ} + e^{-iJ})/2`)
        imaginary = Symbol("i")
        if imaginary in first.free_symbols and imaginary not in self.premise_symbols:
            as_unit = first.xreplace({imaginary: sympy.I})
            if is_zero(as_unit) or self._numerically_zero(as_unit):
                return "true", "holds given the premises, reading i as the imaginary unit"
        # constants of integration are arbitrary: an equation that holds for some choice of
        # them (`(τ + e^β) e^β = (ζ + e^β) e^β`: τ = ζ; `0 = F_g - P_g`) is not a slip
        if self.integration_constants and self._holds_for_some_constants(first):
            return "true", "holds given the premises, for some choice of the constants of integration"
        numeric = [self._numerically_zero(c) for c in candidates]
        for candidate, zero in zip(candidates, numeric):
            if zero:
                if is_zero(candidate, OP_SECONDS, simplify=True):
                    return "true", "holds given the premises"
                return "true", "holds at 3 random points (not proved symbolically)"
        if numeric and all(z is False for z in numeric):
            evidence = next((e for e in (self._evidence(eq, c, has_integrals) for c in candidates[:4])
                             if e is not None), None)
            if evidence is None:  # no evidence, no "incorrect"
                return "unknown", "the sides differ at random points, but their values could not be shown"
            return "false", f"does not hold given the premises: {evidence}"
        return "unknown", "SymPy could not decide"

    def _evidence(self, eq: Eq, residual, has_integrals: bool) -> str | None:
        """Where the sides differ, in numbers an annotator can check: at the first random point,
        each side's value (the difference, where integrals carry a constant), and the
        difference itself when it simplifies to something short."""
        try:
            with time_limit(OP_SECONDS * 2):
                sides = [] if has_integrals else [self.substitute(side).doit(integrals=False)
                                                  for side in (eq.lhs, eq.rhs)]
                cancelled = any(side.has(Integral, Derivative) for side in sides)
                if cancelled:
                    sides = []  # integrals SymPy cannot evaluate that cancel: show the difference
                symbols = sorted(set().union(residual.free_symbols, *(x.free_symbols for x in sides)), key=str)
                rng = random.Random(0)
                point = {s: sympy.Float(rng.uniform(0.5, 1.7)) for s in symbols}
                where = ", ".join(f"{s} = {_number(v)}" for s, v in point.items())
                if has_integrals or cancelled:
                    text = f"left − right = {_number(residual.subs(point).evalf(15))}" + (
                        " for every constant of integration tried" if has_integrals else "")
                else:
                    values = [side.subs(point).evalf(15) for side in sides]
                    text = f"the left side is {_number(values[0])}, the right side {_number(values[1])}"
        except (TooSlow, RecursionError, TypeError, ValueError, ZeroDivisionError, OverflowError):
            return None
        try:  # the difference itself, when it is short: a bonus, not the evidence
            with time_limit(OP_SECONDS):
                short = sympy.simplify(residual)
            if short.count_ops() <= 12 and not short.has(Integral, Derivative):
                text += f" (left − right = {sympy.sstr(short)})"
        except (TooSlow, RecursionError, TypeError, ValueError, ZeroDivisionError, OverflowError):
            pass
        return f"at {where}, {text}" if where else text

    def _holds_for_some_constants(self, expr) -> bool:
        """Whether numbers for the constants of integration in `expr` make it zero for every
        value of the other symbols. Only where `expr` is linear in the constants (what adding
        constants and combining equations gives): its coefficients at random points make a
        linear system, solved by least squares and checked at points it was not solved on."""
        constants = sorted(expr.free_symbols & self.integration_constants, key=str)
        if not constants or expr.has(Integral, Derivative):
            return False
        try:
            with time_limit(OP_SECONDS * 2):
                slopes = [sympy.diff(expr, k) for k in constants]
                if any(slope.free_symbols & set(constants) for slope in slopes):
                    return False  # not linear in the constants: undecided here
                rest = expr.xreplace({k: 0 for k in constants})
                others = sorted(expr.free_symbols - set(constants), key=str)
                rng = random.Random(1)
                rows, rhs = [], []
                for _ in range(len(constants) + 4):
                    point = {s: sympy.Float(rng.uniform(0.5, 1.7)) for s in others}
                    rows.append([complex(slope.xreplace(point).evalf(15)) for slope in slopes])
                    rhs.append(-complex(rest.xreplace(point).evalf(15)))
        except (TooSlow, TypeError, ValueError, ZeroDivisionError, OverflowError, RecursionError):
            return False
        values = [v for row in rows for v in row] + rhs
        if not all(math.isfinite(abs(v)) for v in values) or all(abs(v) < 1e-12 for row in rows for v in row):
            return False  # a point says nothing, or the constants have vanished
        a, b = numpy.array(rows), numpy.array(rhs)
        solution, *_ = numpy.linalg.lstsq(a, b, rcond=None)
        scale = max(1.0, float(numpy.abs(b).max()), float(numpy.abs(a).max()))
        return bool(numpy.abs(a @ solution - b).max() < 1e-9 * scale)

    @staticmethod
    def _numerically_zero(expr) -> bool | None:
        rng = random.Random(0)
        symbols = sorted(expr.free_symbols, key=str)
        values = []
        complex_seen = False
        for _ in range(3):
            point = {s: sympy.Float(rng.uniform(0.5, 1.7)) for s in symbols}
            try:
                with time_limit(OP_SECONDS):
                    value = complex(expr.subs(point).evalf(15))
            except (TooSlow, TypeError, ValueError, ZeroDivisionError, OverflowError, RecursionError):
                return None
            if abs(value.imag) > 1e-9 * max(1.0, abs(value.real)) and _branch_dependent(expr):
                complex_seen = True
            values.append(abs(value))
        if not all(math.isfinite(v) for v in values):
            return None  # 0/0, log(0), ...: a point says nothing either way
        zero = all(v < 1e-9 for v in values)
        if not zero and complex_seen and _zero_on_another_branch(expr):
            # a power of a negative base with a non-integer exponent: (ab)^p and a^p b^p differ
            # by the branch taken, and with powers combined formally the two sides agree
            return None
        return zero


def _zero_on_another_branch(expr) -> bool:
    """Whether expr vanishes at random points once powers are combined formally ((ab)^p = a^p b^p,
    (a^p)^q = a^{pq}), as the engine's operations treat them."""
    try:
        with time_limit(OP_SECONDS):
            forced = sympy.expand_power_base(sympy.powdenest(expr, force=True), force=True)
            rng = random.Random(0)
            symbols = sorted(forced.free_symbols, key=str)
            for _ in range(3):
                point = {s: sympy.Float(rng.uniform(0.5, 1.7)) for s in symbols}
                if abs(complex(forced.subs(point).evalf(15))) > 1e-9:
                    return False
            return True
    except (TooSlow, TypeError, ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return False


def _branch_dependent(expr) -> bool:
    """Whether expr raises something to a power that is not an integer (or takes a log): its
    complex values then depend on the branch, not only on the equation."""
    return any(not p.exp.is_integer for p in expr.atoms(sympy.Pow)) or expr.has(sympy.log)


def _number(value) -> str:
    """4 significant figures; a complex value's imaginary part only when it is not ~0."""
    z = complex(value)
    z = complex(z.real + 0.0, z.imag + 0.0)  # never "-0"
    if abs(z.imag) < 1e-12 * max(1.0, abs(z.real)):
        return f"{z.real:.4g}"
    return f"{z.real:.4g} {'+' if z.imag >= 0 else '−'} {abs(z.imag):.4g}i"


def _solved_for(residual, integral, t):
    """residual (= 0) solved for the one integral in it, when it is linear in it; else None."""
    r = residual.xreplace({integral: t})
    if r.has(Integral):
        return None
    coeff = sympy.expand(r.diff(t))
    if coeff == 0 or coeff.has(t):
        return None
    return -sympy.expand(r - coeff * t) / coeff


def _constant_already_fixed(ctx: _Context, eq: Eq, earlier: list[tuple[int, Eq]]) -> tuple[int, object] | None:
    """An equation that holds only up to a constant of integration is still wrong when an
    earlier correct step with the same indefinite integral already fixed the constant and
    this one implies another: solved for that integral, the two differ by a nonzero
    number (`∫f = F + κ`, then `∫f / 3 = κ/3 + 1 + F/3`). Only a number counts: a
    difference in symbols may be the constants' names (unknown, as before)."""
    try:
        with time_limit(OP_SECONDS * 2):
            residual = ctx.substitute(eq.lhs - eq.rhs)
            integrals = residual.atoms(Integral)
            if len(integrals) != 1:
                return None
            integral = next(iter(integrals))
            t = sympy.Dummy("integral")
            mine = _solved_for(residual, integral, t)
            if mine is None:
                return None
            for j, e in reversed(earlier):
                theirs_residual = ctx.substitute(e.lhs - e.rhs)
                if theirs_residual.atoms(Integral) != {integral}:
                    continue
                theirs = _solved_for(theirs_residual, integral, t)
                if theirs is None:
                    continue
                offset = sympy.expand((mine - theirs).doit())
                if offset.has(Integral, Derivative) or offset.free_symbols or not offset.is_number:
                    return None
                value = complex(offset.evalf(15))
                return (j, offset) if abs(value) > 1e-9 else None
    except (TooSlow, RecursionError, TypeError, ValueError, ZeroDivisionError):
        return None
    return None


def _other_reading(latex: str, variables: frozenset[str], eq: Eq) -> Eq | None:
    """The step read with each derivative operator acting on one factor, where that differs."""
    other = _parse(latex, variables | {READING_PRODUCT})
    return other if other is not None and other != eq else None


def _source_in_other_reading(latex: str, variables: frozenset[str], eq: Eq,
                             known: list[tuple[int, Eq]]) -> int | None:
    """The earlier equation one operation makes the step from, read the other way (the
    authors' printer writes `\\frac{d}{dt} f \\int g` alike for (d/dt f)·∫g and d/dt (f ∫g))."""
    other = _other_reading(latex, variables, eq)
    if other is None:
        return None
    for j, e in reversed(known):
        if _one_operation(e, other, [x for _, x in known if x is not e]):
            return j
    return None


def _parse(latex: str | None, variables: frozenset[str] = frozenset()) -> Eq | None:
    """The step's equation: the whole LaTeX, or in prose with delimited math (chain of thought)
    the one equation it holds; None (so "unknown") when there is none, or several."""
    if not latex:
        return None
    if is_mixed(latex):
        equations = [span for span in math_spans(latex) if "=" in span]
        if len(equations) != 1:
            return None
        latex = equations[0]
    try:
        return parse_equation(latex, variables)
    except ParseError:
        return None


def problem_variables(premises: list[str]) -> frozenset[str]:
    """Names the premises use as variables though they are constants elsewhere (`\\pi` in
    `F_x{(\\pi)} = e^{e^{\\pi}}`): a symbol in every step of that problem."""
    out: frozenset[str] = frozenset()
    for p in premises:
        out |= constants_used_as_variables(p or "")
    return out


def _relate(ctx: _Context, check: StepCheck, eq: Eq, premise_eqs: list[Eq], known: list[tuple[int, Eq]]):
    """What the step is to what came before: a premise restated, a repeat of step k, one
    operation from step k (set on `check`), and whether it holds given the premises."""
    restates_premise = any(_equivalent(eq, p) for p in premise_eqs)
    earlier = next((j for j, e in known if j > 0 and _equivalent(eq, e)), None)
    source = None
    for j, e in reversed(known):
        others = [x for _, x in known if x is not e]
        found = _one_operation(e, eq, others)
        if found:
            source, (check.operation, helper) = j, found
            # the equation substituted in is used too: an earlier step is not irrelevant for it
            check.uses = [k for k, x in known if x is helper][:1]
            break
    check.source = source
    truth, why = ctx.truth(eq)
    return restates_premise, earlier, source, truth, why


def check_derivation(premises: list[str], goal: str | None, steps: list[str]) -> DerivationCheck:
    """Within the derivation's time budget (app.math.limits): past it, what is left is "unknown"."""
    read_ahead(premises, goal, steps)
    with budget():
        return _check_derivation(premises, goal, steps)


def read_ahead(premises: list[str], goal: str | None, steps: list[str]) -> None:
    """Parse every equation before the budget starts (the parses are cached): the budget is for
    reasoning. ANTLR's parse of a long equation costs ~0.1 s of CPU, the first in a worker ~1 s,
    and spent inside the budget it turned seed 11's mutants "unknown" (the sandbox's hard limit
    still bounds parsing)."""
    variables = problem_variables(premises)
    for latex in (*premises, goal, *steps):
        _parse(latex, variables)


# Long because the verdicts of a step are a ladder read top to bottom: the order of the
# branches is the rules' precedence, which splitting would scatter.
def _check_derivation(premises: list[str], goal: str | None, steps: list[str]) -> DerivationCheck:
    _too_slow.clear()
    variables = problem_variables(premises)
    premise_eqs = [eq for eq in (_parse(p, variables) for p in premises) if eq is not None]
    goal_eq = _parse(goal, variables)
    step_eqs = [_parse(s, variables) for s in steps]
    ctx = _Context(premise_eqs, step_eqs, goal_eq)
    checks: list[StepCheck] = []
    # (position in `known`, equation): premises are 0, steps are their 1-based index
    known: list[tuple[int, Eq]] = [(0, p) for p in premise_eqs]
    wrong: set[int] = set()
    for index, eq in enumerate(step_eqs, start=1):
        check = StepCheck(index=index, parsed=eq is not None, canonical=sympy.srepr(eq) if eq is not None else None)
        checks.append(check)
        if eq is None:
            check.verdicts = {label: Verdict(UNKNOWN, "the step could not be parsed") for label in LABELS}
            continue
        try:
            restates_premise, earlier, source, truth, why = _relate(ctx, check, eq, premise_eqs, known)
        except Exception as exc:  # a SymPy bug on one step costs that step, said as such (not a timeout)
            check.verdicts = {label: Verdict(UNKNOWN, f"the checker failed on this step ({type(exc).__name__}: "
                                                      f"{str(exc)[:200]})") for label in LABELS}
            known.append((index, eq))
            continue

        if earlier is not None and check.operation == "expand" and check.source == earlier:
            earlier = None  # expanding is an engine operation, not a repeat
        if earlier is not None:
            redundant = Verdict(YES, f"repeats step {earlier}")
        elif restates_premise:
            redundant = Verdict(NO, "restates the premise")
        else:
            redundant = Verdict(NO, "new")

        if truth == "false" and source is not None and source in wrong:
            check.built_on_error = True
            incorrect = Verdict(NO, f"follows from step {source} ({check.operation}), which is wrong: built on an error, not verified")
            wrong.add(index)
        elif truth == "false" and source is not None:
            # an engine operation applied to a correct equation gives a correct one: the exact
            # match is a proof, the refutation at random points is not (constants of integration)
            incorrect = Verdict(NO, f"follows from {'the premise' if source == 0 else f'step {source}'} "
                                    f"({check.operation}) exactly; its value at random points differs, as constants of "
                                    "integration make it")
        elif truth == "false" and (other := _other_reading(steps[index - 1], variables, eq)) is not None \
                and ctx.truth(other)[0] == "true":
            # `\frac{d}{d a} f \frac{d}{d a} g`: d/da (f · g') as the authors' printer means it, or
            # f' · g' as a model may; wrong in one reading, right in the other: not evidence
            incorrect = Verdict(UNKNOWN, "reads two ways: as a derivative of the whole product it does not hold, "
                                         "as a product of derivatives it does")
        elif truth == "false":
            incorrect = Verdict(YES, why)
            wrong.add(index)
        elif truth == "true" and source is None and "constant of integration" in why and (
                fixed := _constant_already_fixed(ctx, eq, [(j, e) for j, e in known if j not in wrong])) is not None:
            j, offset = fixed
            incorrect = Verdict(YES, f"holds only up to a constant of integration, but {'the premise' if j == 0 else f'step {j}'} "
                                     f"already fixed that constant: the two differ by {offset}")
            wrong.add(index)
        elif truth == "true":
            incorrect = Verdict(NO, why)
        elif source is not None and source not in wrong:
            incorrect = Verdict(NO, f"follows from {'the premise' if source == 0 else f'step {source}'} ({check.operation})")
        else:
            incorrect = Verdict(UNKNOWN, why)

        if earlier is not None or restates_premise:
            skipped = Verdict(NO, "not a new step")
        elif source is not None:
            skipped = Verdict(NO, f"one operation ({check.operation}) from "
                                  f"{'the premise' if source == 0 else f'step {source}'}")
        elif truth == "true" and (j := _source_in_other_reading(steps[index - 1], variables, eq, known)) is not None:
            skipped = Verdict(UNKNOWN, f"reads two ways: as a product of derivatives it is one operation from "
                                       f"{'the premise' if j == 0 else f'step {j}'}, as a derivative of the whole "
                                       "product it is not")
        elif truth == "true":
            skipped = Verdict(YES, "holds, but no single operation gives it from the premises or an earlier step")
        elif truth == "false":
            skipped = Verdict(NO, "does not hold (see incorrect)")
        else:
            skipped = Verdict(UNKNOWN, why)
        check.verdicts = {"incorrect": incorrect, "redundant": redundant, "skipped": skipped}
        known.append((index, eq))

    _irrelevance(checks, step_eqs, goal_eq, known)
    stated = _goal_verdict(step_eqs, goal_eq)
    return DerivationCheck(steps=checks, goal_reached=_reached(stated, checks), goal_stated=stated)


def _reached(stated: Verdict, checks: list[StepCheck]) -> Verdict:
    """The goal counts as reached only by a derivation with no incorrect step on the way:
    writing the goal down (the prompt gives it) after a wrong step is not reaching it."""
    if stated.value != YES:
        return stated
    wrong = [c.index for c in checks if c.verdicts.get("incorrect") and c.verdicts["incorrect"].value == YES]
    if wrong:
        return Verdict(NO, f"the last step is the goal, but step {wrong[0]} is incorrect")
    unclear = [c.index for c in checks if not c.verdicts.get("incorrect") or c.verdicts["incorrect"].value == UNKNOWN]
    if unclear:
        return Verdict(UNKNOWN, f"the last step is the goal, but step {unclear[0]} could not be checked")
    return Verdict(YES, "the last step is the goal and no step on the way is incorrect")


def _made_from(c: StepCheck, checks: list[StepCheck], known: list[tuple[int, Eq]]) -> int | None:
    """A later step one operation makes from step c, or with c as the equation substituted in:
    each step's source is the first found, scanning back, and an equation may have come from
    either of two earlier ones. Asked only of a step about to be called irrelevant."""
    eqs = dict((k, e) for k, e in known if k > 0)
    mine = eqs.get(c.index)
    if mine is None:
        return None
    for x in checks:
        target = eqs.get(x.index)
        if x.index <= c.index or target is None:
            continue
        earlier = [e for k, e in known if k < x.index and k != c.index]
        try:
            if _one_operation(mine, target, earlier):
                return x.index
            if any(substitutes(e, target, mine) for e in earlier):
                return x.index  # c is the equation substituted in
        except (TooSlow, RecursionError):
            return None
    return None


def _irrelevance(checks: list[StepCheck], step_eqs: list[Eq | None], goal: Eq | None,
                 known: list[tuple[int, Eq]] = ()) -> None:
    used = {c.source for c in checks if c.source} | {k for c in checks for k in c.uses}
    last = max((c.index for c in checks if c.parsed), default=0)
    for c in checks:
        if not c.parsed:
            continue
        later = [x for x in checks if x.index > c.index]
        traced = all(x.parsed and (x.source is not None or x.verdicts["redundant"].value == YES) for x in later)
        if c.index == last or (goal is not None and _equivalent(step_eqs[c.index - 1], goal)):
            c.verdicts["irrelevant"] = Verdict(NO, "reaches the goal" if c.index == last else "is the goal")
        elif c.verdicts["redundant"].reason == "restates the premise" and any(
                x.index > c.index and (x.source == 0 or 0 in x.uses) for x in checks):
            # the premise written out as a step: what is made from the premise is made from it
            c.verdicts["irrelevant"] = Verdict(NO, "the premise, which later steps use")
        elif c.index in used:
            users = sorted(x.index for x in checks if x.source == c.index or c.index in x.uses)
            c.verdicts["irrelevant"] = Verdict(NO, f"used by step {users[0]}")
        elif c.verdicts["redundant"].value == YES:
            c.verdicts["irrelevant"] = Verdict(NO, "a repeat (see redundant)")
        elif traced and c.verdicts["incorrect"].value == NO and (user := _made_from(c, checks, known)) is not None:
            c.verdicts["irrelevant"] = Verdict(NO, f"step {user} can be made from it")
        elif traced and c.verdicts["incorrect"].value == NO:
            c.verdicts["irrelevant"] = Verdict(YES, "no later step is made from it")
        else:
            c.verdicts["irrelevant"] = Verdict(UNKNOWN, "could not trace every later step")


def _goal_verdict(step_eqs: list[Eq | None], goal: Eq | None) -> Verdict:
    if goal is None:
        return Verdict(UNKNOWN, "the goal could not be parsed")
    parsed = [e for e in step_eqs if e is not None]
    if not step_eqs or step_eqs[-1] is None:
        return Verdict(UNKNOWN, "the last step could not be parsed")
    if _equivalent(parsed[-1], goal):
        return Verdict(YES, "the last step is the goal")
    return Verdict(NO, "the last step is not the goal")
