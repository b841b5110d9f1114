"""What the engine's operations and the checker's recognition of them compute with:
evaluating derivatives and integrals as the engine does, and SymPy calls bounded in time
(app.math.limits). Shared by app.math.engine, app.math.operations, app.math.checker and
app.math.proposals; it imports none of them.
"""

from __future__ import annotations

import functools

import sympy
from sympy import Derivative, Integral

from app.math.latex import sorted_partials
from app.math.limits import OP_SECONDS, TooSlow, time_limit

UNARY = {"cos": sympy.cos, "sin": sympy.sin, "exp": sympy.exp, "log": sympy.log}


def has_undefined(expr) -> bool:
    return bool(expr.atoms(sympy.core.function.AppliedUndef))


def evaluate_derivatives(expr):
    # not through integrals: d/dy of an integral would evaluate the integral too, and lose
    # its constant of integration
    return expr.replace(lambda e: isinstance(e, Derivative) and not e.expr.has(Integral), lambda e: e.doit())


def easy_integral(e) -> bool:
    """Small integrands with numeric powers: SymPy integrates these in milliseconds
    (others can take minutes, and a time limit would make the engine depend on the clock)."""
    f = e.function
    return (not has_undefined(f) and not f.has(Integral, Derivative) and sympy.count_ops(f) <= 8
            and all(p.exp.is_Number for p in f.atoms(sympy.Pow)))


def _integrate(e):
    # rule-based (manualintegrate): fast and deterministic on the engine's small integrands;
    # SymPy's heuristic integrator can spend seconds on the same
    from sympy.integrals.manualintegrate import manualintegrate

    result = e.function
    for limit in e.limits:
        result = manualintegrate(result, limit[0])
        if result.has(Integral):
            return e
    return result


@functools.lru_cache(maxsize=256)  # the engine asks "does it change?" before applying
def evaluate_integrals(expr):
    """Integrals of known functions evaluated; integrals of undefined functions kept."""
    return expr.replace(lambda e: isinstance(e, Integral) and not has_undefined(e.function), _integrate)


def generic_case(expr):
    """SymPy 1.14's integrator answers ∫ log(θ p) dp with a Piecewise over θ ≠ 0; SymPy 1.5,
    which made the authors' corpus, wrote the generic case alone. Recognising their steps takes
    that case (the engine's own operations still refuse a Piecewise)."""
    return expr.replace(lambda e: isinstance(e, sympy.Piecewise) and isinstance(e.args[0].cond, sympy.Ne),
                        lambda e: e.args[0].expr)


def evaluate_integrals_generic(expr):
    return generic_case(evaluate_integrals(expr))


def is_zero(expr, seconds: float = OP_SECONDS, simplify: bool = False) -> bool | None:
    """True when expr is 0 after expansion (and, if asked, simplification); None when
    SymPy could not tell in time (or expr is None: an operation before it ran out of time).
    Expansion is cheap; simplify is kept for proofs."""
    if expr is None:
        return None
    if expr == 0:
        return True
    try:
        with time_limit(seconds):
            expanded = sympy.expand(sorted_partials(expr))
            if expanded == 0:
                return True
            if simplify:
                return sympy.simplify(expanded, doit=False) == 0
            return False
    except (TooSlow, RecursionError):
        return None
    except Exception:
        return None


def simple_factor(ratio) -> bool:
    """A number, a symbol or a power of one (what times/divide multiply by)."""
    ratio = sympy.factor_terms(ratio)
    factors = sympy.Mul.make_args(ratio)
    return all(f.is_Number or f.is_Symbol or (f.is_Pow and f.base.is_Symbol and f.exp.is_Number) for f in factors)


def peel(expr, kind):
    """Derivative/Integral minus its outermost variable (SymPy merges d/dx d/dy f into one object)."""
    if not isinstance(expr, kind):
        return None
    if kind is Derivative:
        variables = list(expr.variables)
        return Derivative(expr.expr, *variables[:-1]) if len(variables) > 1 else expr.expr
    limits = list(expr.limits)
    return Integral(expr.function, *limits[:-1]) if len(limits) > 1 else expr.function


@functools.lru_cache(maxsize=64)
def integrals_with(constant, derivatives_first: bool = False):
    """The integrals evaluated as `evaluated` does, each plus `constant` (one function per
    constant, so bounded remembers its results); with derivatives_first, the derivatives inside
    an integrand done before it is integrated (an integrand they make 0 integrates to the
    constant alone)."""
    def one(e):
        if derivatives_first and e.function.has(Derivative):
            f = derivatives_done(e.function)
            if f == 0:
                return constant
            if not has_undefined(f):
                e = Integral(f, *e.limits)
        done = evaluated(e)
        return e if done == e else done + constant

    def evaluate(expr):
        return expr.replace(lambda e: isinstance(e, Integral), one)
    return evaluate


@functools.lru_cache(maxsize=1024)  # each integral is asked for again with every constant tried
def evaluated(integral):
    """The integral evaluated as the authors' engine does: known functions; the integral of a
    derivative of an undefined function (∫ χ'(x) dx = χ(x)); a polynomial in the variable whose
    coefficients hold undefined functions of other symbols (∫ H(θ) df = f H(θ)); else unchanged."""
    f = integral.function
    if not has_undefined(f):
        return evaluate_integrals_generic(integral)
    if f.has(Derivative):
        # the rule-based integrator: `doit` tries heurisch, ~0.15-0.2 s even where it fails
        return _integrate(integral)
    variables = integral.variables
    # a polynomial in the variables only (integrated at once): other integrands can keep the
    # integrator busy for the whole budget on every step that is compared with this one
    if not f.has(Integral) and f.is_polynomial(*variables) and not any(
            u.free_symbols & set(variables) for u in f.atoms(sympy.core.function.AppliedUndef)):
        return generic_case(_integrate(integral))
    return integral


def evaluable_integrals(expr) -> int:
    return sum(1 for i in expr.atoms(Integral) if evaluated(i) != i)


@functools.lru_cache(maxsize=256)
def integrals_with_each(constants: tuple):
    """The integrals evaluated, the n-th (in SymPy's order) plus constants[n]."""
    def evaluate(expr):
        todo = iter(constants)

        def one(e):
            done = evaluated(e)
            return e if done == e else done + next(todo, 0)
        return expr.replace(lambda e: isinstance(e, Integral), one)
    return evaluate


def _with_constant(integral, constant):
    done = evaluate_integrals_generic(integral)
    return integral if done == integral else done + constant


def derivatives_done(expr):
    # derivatives only: an integral here is compared as written (evaluating one can take
    # SymPy minutes: ∫ x e^{cos x} dx has no elementary antiderivative)
    return expr.doit(integrals=False)


@functools.lru_cache(maxsize=4096)
def _bounded_cached(fn, expr):
    with time_limit(OP_SECONDS):
        return fn(expr)


def bounded(fn, expr):
    """fn(expr) within the soft limit, or None; remembered per expression, since every later
    step is compared with the same earlier ones (a timeout is not remembered: the limit is
    the clock's, and the next call may have more of it)."""
    try:
        return _bounded_cached(fn, expr)
    except (TooSlow, RecursionError):
        return None
    except Exception:
        return None
