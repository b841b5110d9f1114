"""The engine's operations in one table: how each is applied to an equation and how a step
is recognised as made by it.

The engine (app.math.engine) draws an argument and applies; proposals (app.math.proposals)
apply the same operation with the argument the model used; the checker (app.math.checker)
asks which operation, if any, turns one equation into another (`one_operation`). A new
operation or a fix lands here once.

Recognition goes through the table in its order, for each orientation of the earlier
equation: an expansion also "adds zero", so it is tried before add and times. Some
operations are recognised by another's test (minus by add's: `c - a = d - b` holds for
either sign), and report that one's name.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import sympy
from sympy import Derivative, Eq, Integral

from app.math.calculus import (
    UNARY, bounded, derivatives_done, evaluable_integrals, evaluate_derivatives, evaluate_integrals,
    integrals_with,
    integrals_with_each, is_zero, peel, simple_factor,
)
from app.math.limits import TooSlow, time_limit


@dataclass(frozen=True)
class Sides:
    """A candidate step `c = d` beside an earlier equation `a = b` (one orientation of it)."""

    src: Eq
    a: object
    b: object
    c: object
    d: object
    others: list[Eq]  # the other known equations (what a substitution may use)
    exponents: list  # the powers tried: 2, 3 and the symbols around


@dataclass(frozen=True)
class Operation:
    name: str  # as the engine and the authors' srepr name it
    # (equation, argument) -> the new equation, or None where it does not apply
    apply: Callable[[Eq, object], Eq | None]
    # True (or the other equation used) when c = d is a = b by this operation; None: see `reported`
    recognise: Callable[[Sides], bool | Eq] | None
    reported: str  # the name the checker reports it by
    words: str  # for a proposal: "add {arg} to both sides"


def _both(fn) -> Callable[[Eq, object], Eq]:
    return lambda eq, arg: Eq(fn(eq.lhs, arg), fn(eq.rhs, arg), evaluate=False)


# --- applying -----------------------------------------------------------------

def _expand(eq: Eq, _arg) -> Eq | None:
    if any(p.exp.is_Number and p.exp > 4 for p in eq.atoms(sympy.Pow)):
        return None  # an expansion that would flood the equation
    return Eq(sympy.expand(eq.lhs), sympy.expand(eq.rhs), evaluate=False)


def _evaluate_integrals(eq: Eq, constant) -> Eq | None:
    """Each side's integrals evaluated; the constant of integration on the side that changed
    (the right one when both did). None when nothing changes."""
    lhs, rhs = evaluate_integrals(eq.lhs), evaluate_integrals(eq.rhs)
    if lhs == eq.lhs and rhs == eq.rhs:
        return None
    if rhs != eq.rhs:
        rhs = rhs + constant
    else:
        lhs = lhs + constant
    return Eq(lhs, rhs, evaluate=False)


def _substitute(forward: bool) -> Callable[[Eq, Eq], Eq | None]:
    """substitute_LHS_for_RHS puts the other equation's left side where its right side stands."""
    def apply(eq: Eq, other: Eq) -> Eq | None:
        pattern, replacement = (other.rhs, other.lhs) if forward else (other.lhs, other.rhs)
        if pattern.is_Atom or not eq.has(pattern):
            return None
        try:
            return Eq(eq.lhs.subs(pattern, replacement), eq.rhs.subs(pattern, replacement), evaluate=False)
        except ValueError:  # e.g. it would replace an integration variable
            return None
    return apply


# --- recognising --------------------------------------------------------------

def _is_expand(s: Sides) -> bool:
    try:
        return s.c == sympy.expand(s.a) and s.d == sympy.expand(s.b) and (s.c != s.a or s.d != s.b)
    except Exception:
        return False


def _is_wrapped(kind) -> Callable[[Sides], bool]:
    def recognise(s: Sides) -> bool:
        return peel(s.c, kind) is not None and peel(s.c, kind) == s.a and peel(s.d, kind) == s.b
    return recognise


def _is_unary(fn) -> Callable[[Sides], bool]:
    return lambda s: s.c == fn(s.a) and s.d == fn(s.b)


def _is_power(s: Sides) -> bool:
    c, d, a, b = s.c, s.d, s.a, s.b
    if c.is_Pow and d.is_Pow and c.base == a and d.base == b and c.exp == d.exp:
        return True
    # the power one side shows (`1/(∂²f)² = A⁴` is `∂²f = -1/A²` to the power -2)
    shown = [x.exp for x, base in ((c, a), (d, b)) if x.is_Pow and x.base == base and x.exp not in s.exponents]
    return not (a.is_Number and b.is_Number) and any(
        is_zero(c - a**t, 0.1) and is_zero(d - b**t, 0.1) for t in [*s.exponents, *shown])


def _is_add(s: Sides) -> bool:
    return bool(s.c - s.a != 0 and is_zero((s.c - s.a) - (s.d - s.b), 0.2))


def _is_times(s: Sides) -> bool:
    c, d, a, b = s.c, s.d, s.a, s.b
    if c == sympy.zoo * a and d == sympy.zoo * b:
        return True  # divided by 0, as the authors' engine sometimes does (SymPy writes zoo)
    if c != a and a != 0 and b != 0 and is_zero(c * b - d * a, 0.2):
        return True
    return bool(b == 0 and d == 0 and a != 0 and c != a and simple_factor(c / a))


def _is_evaluate_derivatives(s: Sides) -> bool:
    if not s.src.has(Derivative):
        return False
    for evaluate in (evaluate_derivatives, _derivatives_through_integrals):
        da, db = bounded(evaluate, s.a), bounded(evaluate, s.b)
        if da is not None and db is not None and is_zero(s.c - da, 0.2) and is_zero(s.d - db, 0.2):
            return True
        if not s.src.atoms(Derivative) or not any(d.expr.has(Integral) for d in s.src.atoms(Derivative)):
            return False
    return False


def _derivatives_through_integrals(expr):
    """The authors' engine (SymPy 1.5's doit) also differentiates an integral:
    ∂/∂J ∬ V dJ dM = ∫ V dM, and ∂/∂J ∬ J M dJ dM = J M²/2, what is left integrated (by the
    fast rule-based integrator: a full doit could run SymPy's heurisch for minutes)."""
    return evaluate_integrals(expr.replace(lambda e: isinstance(e, Derivative), lambda e: e.doit(integrals=False)))


def _constant_terms(rest) -> bool:
    """rest is ± a sum of symbols (constants of integration), no number, nothing else."""
    return all(t.is_Symbol or (t.is_Mul and len(t.args) == 2 and t.args[0] == -1 and t.args[1].is_Symbol)
               for t in sympy.Add.make_args(rest))


def _derivatives_inside_first(expr):
    return expr.replace(lambda e: isinstance(e, Integral) and e.function.has(Derivative),
                        lambda e: Integral(derivatives_done(e.function), *e.limits))


def _is_evaluate_integrals(s: Sides) -> bool:
    """Each side evaluated as the authors' engine may have: its integrals evaluated (SymPy's
    integrator), or the derivatives inside an integrand done first (they write
    ∫ ∂(f + i)/∂i di as ∫ 1 di = i, where SymPy gives f + i: the same up to the constant, but
    not where the constant lands in a product), or left as written (their engine can evaluate
    one side and keep the other: `∫ t dJ = J t + C`)."""
    if not s.src.has(Integral):
        return False
    first = (False, True) if s.src.has(Derivative) else (False,)
    for derivatives_first in first:
        for keep in (None, "a", "b"):
            if keep == "a" and s.c != s.a or keep == "b" and s.d != s.b:
                continue
            if _evaluates_integrals(s, derivatives_first, keep):
                return True
    return False


def _evaluates_integrals(s: Sides, derivatives_first: bool, keep: str | None) -> bool:
    src, a, b, c, d = s.src, s.a, s.b, s.c, s.d

    def side(x, which, constant=0):
        return x if keep == which else bounded(integrals_with(constant, derivatives_first), x)

    ea, eb = side(a, "a"), side(b, "b")
    if ea is None or eb is None or (ea, eb) == (a, b):
        return False
    rest = sympy.expand((c - d) - (ea - eb))
    variables = {lim[0] for i in src.atoms(Integral) for lim in i.limits}
    if rest == 0 or not (rest.free_symbols & variables) and _constant_terms(rest):
        return True
    if rest.has(sympy.log) and _constant_in(rest, variables):
        return True  # another branch of a logarithm: SymPy 1.5's log(F - r) is 1.14's log(r - F) + iπ
    # the authors' engine gives each evaluated integral its own constant, where the
    # integral stood (`x ∫ e^x dx` -> `x (e^x + C)`): try the step's new symbols there
    dst = Eq(c, d, evaluate=False)
    fresh = sorted(dst.free_symbols - src.free_symbols, key=str)[:3]
    for k in fresh:
        ka, kb = side(a, "a", k), side(b, "b", k)
        if ka is not None and kb is not None and is_zero((c - d) - (ka - kb), 0.2):
            return True
    if keep:
        return False
    # ... and each integral a constant of its own (`∫ χ' = ∫ log'` -> `ṙ + χ = Ψ + log`)
    if derivatives_first:
        a, b = bounded(_derivatives_inside_first, a), bounded(_derivatives_inside_first, b)
        if a is None or b is None:
            return False
    na, nb = evaluable_integrals(a), evaluable_integrals(b)
    if 2 <= na + nb <= len(fresh):
        for order in itertools.permutations(fresh, na + nb):
            ka = bounded(integrals_with_each(order[:na]), a)
            kb = bounded(integrals_with_each(order[na:]), b)
            if ka is not None and kb is not None and is_zero((c - d) - (ka - kb), 0.2):
                return True
    return False


def _constant_in(expr, variables) -> bool:
    """expr does not change with any of the variables (its derivatives cancel)."""
    try:
        with time_limit(0.2):
            return all(sympy.together(sympy.diff(expr, v)) == 0 for v in variables & expr.free_symbols)
    except (TooSlow, RecursionError):
        return False


def substituted(a, b, c, d, other: Eq) -> bool:
    """c = d is a = b with one side of `other` put for the other."""
    for p, q in ((other.lhs, other.rhs), (other.rhs, other.lhs)):
        if p.is_Atom or p == q:
            continue
        if not (a.has(p) or b.has(p)):
            continue
        ca, db = a.subs(p, q), b.subs(p, q)
        if c == ca and d == db:
            return True
        # SymPy may merge or reorder derivatives when substituting inside one
        if (ca.has(Derivative) or db.has(Derivative)) \
                and is_zero(bounded(derivatives_done, c - ca), 0.2) is True \
                and is_zero(bounded(derivatives_done, d - db), 0.2) is True:
            return True
    return False


def substituted_folded(a, b, c, d, other: Eq) -> bool:
    """A substitution the printer has folded: the engine replaced `φ c` by `ϑ(c, φ)` inside
    `φ c²`, printed `c ϑ(c, φ)`; the earlier step does not contain `φ c` as a term, but the
    two are the same once the equation is applied to both (exact equality, no simplification)."""
    for p, q in ((other.lhs, other.rhs), (other.rhs, other.lhs)):
        if p.is_Atom or p == q or not (c.has(p) or d.has(p)) or (c == a and d == b):
            continue
        try:
            if c.subs(p, q) == a.subs(p, q) and d.subs(p, q) == b.subs(p, q):
                return True
        except Exception:
            continue
    return False


def _is_substitute(s: Sides) -> Eq | None:
    """The equation substituted in: plain substitutions with every other equation first."""
    for test in (substituted, substituted_folded):
        for other in s.others:
            if test(s.a, s.b, s.c, s.d, other):
                return other
    return None


# --- the table, in the order recognition tries it ---------------------------------

TABLE: dict[str, Operation] = {op.name: op for op in [
    Operation("expand", _expand, _is_expand, "expand", "expand both sides"),
    Operation("differentiate", _both(Derivative), _is_wrapped(Derivative), "differentiate",
              "differentiate both sides w.r.t. {arg}"),
    Operation("integrate", _both(Integral), _is_wrapped(Integral), "integrate", "integrate both sides w.r.t. {arg}"),
    *(Operation(name, _both(lambda side, _arg, fn=fn: fn(side)), _is_unary(fn), name,
                f"take the {name} of both sides") for name, fn in UNARY.items()),
    Operation("power", _both(lambda side, arg: side**arg), _is_power, "power", "raise both sides to the power {arg}"),
    Operation("add", _both(lambda side, arg: side + arg), _is_add, "add", "add {arg} to both sides"),
    Operation("minus", _both(lambda side, arg: side - arg), None, "add", "subtract {arg} from both sides"),
    Operation("times", _both(lambda side, arg: arg * side), _is_times, "times", "multiply both sides by {arg}"),
    Operation("divide", _both(lambda side, arg: side / arg), None, "times", "divide both sides by {arg}"),
    Operation("evaluate_derivatives", _both(lambda side, _arg: evaluate_derivatives(side)), _is_evaluate_derivatives,
              "evaluate_derivatives", "evaluate the derivatives"),
    Operation("evaluate_integrals", _evaluate_integrals, _is_evaluate_integrals, "evaluate_integrals",
              "evaluate the integrals"),
    Operation("substitute_LHS_for_RHS", _substitute(True), _is_substitute, "substitute", "substitute {arg}"),
    Operation("substitute_RHS_for_LHS", _substitute(False), None, "substitute", "substitute {arg}"),
]}


def one_operation(src: Eq, dst: Eq, others: list[Eq]) -> tuple[str, Eq | None] | None:
    """The operation that turns src into dst, if one does (either side of dst may be written
    first: expression exchange swaps every equation), and the other equation it used (a
    substitution's), if any. "restate" when dst is src as it stands."""
    return _one_operation_sides(src, dst.lhs, dst.rhs, others) or _one_operation_sides(src, dst.rhs, dst.lhs, others)


def _one_operation_sides(src: Eq, c, d, others: list[Eq]) -> tuple[str, Eq | None] | None:
    dst = Eq(c, d, evaluate=False)
    exponents = [sympy.Integer(2), sympy.Integer(3), *sorted(dst.free_symbols - src.free_symbols, key=str),
                 *sorted(src.free_symbols, key=str)][:6]
    for a, b in ((src.lhs, src.rhs), (src.rhs, src.lhs)):
        if c == a and d == b:
            return "restate", None
        sides = Sides(src, a, b, c, d, others, exponents)
        for op in TABLE.values():
            if op.recognise is None:
                continue
            found = op.recognise(sides)
            if found is True:
                return op.reported, None
            if isinstance(found, Eq):
                return op.reported, found
    return None


def substitutes(src: Eq, dst: Eq, other: Eq) -> bool:
    """dst is src with `other` substituted in (either orientation of either equation)."""
    return any(f(a, b, c, d, other) for a, b in ((src.lhs, src.rhs), (src.rhs, src.lhs))
               for c, d in ((dst.lhs, dst.rhs), (dst.rhs, dst.lhs)) for f in (substituted, substituted_folded))

