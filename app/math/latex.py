"""Model output as equations: splitting, display form, and parsing to SymPy.

Parsing never evaluates text: it rewrites the LaTeX (app.math.normalize) and hands
it to SymPy's ANTLR LaTeX grammar (`parse_latex`), then maps placeholders back to
the real names and rebuilds the tree with SymPy's constructors. Rebuilding can be
slow for hostile input (2^{99999999}), so callers outside tests go through
app.math.sandbox, which runs it in a killable process.
"""

from __future__ import annotations

import functools
import math
import re
import warnings

import sympy
from sympy import E, Eq, Function, Integral, Symbol
from sympy.core.function import AppliedUndef

from app.math.normalize import NO_LOWER_LIMIT, NormalizeError, canonical_name, rewrite, undo_t5_spacing

# Functions SymPy's printer writes as \\operatorname{name}: integrals of the engine's bodies
# produce them (Ei, Si, erf, ...), so they are read as the functions, not as undefined ones.
# The srepr whitelist (app.math.srepr) holds the same names; a test checks both against the engine.
SPECIAL_FUNCTIONS = {name: getattr(sympy, name) for name in (
    "Ei", "Si", "Ci", "Shi", "Chi", "li", "Li", "erf", "erfc", "erfi", "expint", "gamma", "uppergamma",
    "lowergamma", "polylog", "LambertW", "fresnels", "fresnelc", "asinh", "acosh", "atanh", "acot", "asec",
    "acsc", "sign", "Heaviside", "atan2", "besselj", "bessely", "airyai", "airybi",
)}
SPECIAL_FUNCTIONS.update({"arcsinh": sympy.asinh, "arccosh": sympy.acosh, "arctanh": sympy.atanh,
                          "atan": sympy.atan, "asin": sympy.asin, "acos": sympy.acos})

# The paper joins equations with the word "and" between spaces.
STEP_SEPARATOR = " and "


class ParseError(ValueError):
    """A step that cannot be read as one equation; the message says why."""


def split_steps(text: str) -> list[str]:
    """Split a derivation into its equations, each kept exactly as written.

    Each piece is the exact substring between separators (no stripping), so a
    step's LaTeX is what the model wrote. Blank pieces (an output that ends in
    " and ") are dropped: there is nothing to annotate; the derivation keeps
    its raw text in full.
    """
    return [piece for piece in text.split(STEP_SEPARATOR) if piece.strip()]


# Math inside prose, as chain-of-thought solutions write it: $$…$$, $…$, \[…\], \(…\)
_MATH_SPANS = re.compile(r"\$\$(.+?)\$\$|(?<!\\)\$(.+?)(?<!\\)\$|\\\[(.+?)\\\]|\\\((.+?)\\\)", re.S)


def math_spans(text: str) -> list[str]:
    """The math pieces of a step written as prose with delimiters (none for plain LaTeX)."""
    return [next(g for g in m.groups() if g is not None) for m in _MATH_SPANS.finditer(text)]


def is_mixed(text: str) -> bool:
    """Prose with delimited math (`We have $f(x) = x^2$.`), not one LaTeX equation."""
    return _MATH_SPANS.search(text) is not None


def display_form(latex: str) -> str:
    """The step as KaTeX should see it: T5 spacing undone where it is unambiguous."""
    return undo_t5_spacing(latex)


@functools.lru_cache(maxsize=4096)
def _parse_latex(text: str):
    """SymPy's ANTLR LaTeX grammar on one side of a rewritten equation.

    Cached: the text holds placeholders, not names, so a family's variants (renamed,
    sides swapped, the same premise in every derivation) parse once per worker; SymPy
    expressions are immutable. Two-stage prediction, the ANTLR runtime's own advice: SLL
    first, and the full-context LL that sympy.parse_latex always uses only when SLL
    fails. LL prediction spent ~75% of a check on this notation; pinned versions
    (sympy 1.14, antlr 4.11) because the parser classes are sympy internals."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _parse_sll(text)
        except _SLLFailed:
            from sympy.parsing.latex import parse_latex

            return parse_latex(text, backend="antlr")


class _SLLFailed(Exception):
    pass


def _parse_sll(text: str):
    import antlr4
    from antlr4.atn.PredictionMode import PredictionMode
    from antlr4.error.ErrorListener import ErrorListener
    from antlr4.error.ErrorStrategy import BailErrorStrategy
    from antlr4.error.Errors import ParseCancellationException
    from sympy.parsing.latex._parse_latex_antlr import LaTeXLexer, LaTeXParser, convert_relation

    class _Fail(ErrorListener):
        def syntaxError(self, *args):
            raise _SLLFailed()

    lexer = LaTeXLexer(antlr4.InputStream(text.strip()))
    lexer.removeErrorListeners()
    lexer.addErrorListener(_Fail())
    parser = LaTeXParser(antlr4.CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(_Fail())
    parser._interp.predictionMode = PredictionMode.SLL
    parser._errHandler = BailErrorStrategy()
    try:
        relation = parser.math().relation()
    except ParseCancellationException:
        raise _SLLFailed() from None
    return convert_relation(relation)


def rebuild(expr, symbols: dict | None = None, functions: dict | None = None):
    """Rebuild bottom-up with evaluating constructors, so forms that mean the same
    compare equal (-1*x and -x); nested integrals become one (\\iint). Equations
    stay unevaluated: `x = x` is a step, not True. Placeholders are swapped for their
    names on the way (symbols: placeholder symbol -> value; functions: placeholder -> name),
    not by xreplace first: that would evaluate the grammar's unevaluated tree too early."""
    symbols, functions = symbols or {}, functions or {}
    if isinstance(expr, Symbol):
        return symbols.get(expr, expr)
    if not expr.args or isinstance(expr, sympy.Number):
        return expr
    if isinstance(expr, sympy.Mul):
        # one product, however the grammar nested it: Mul(Mul(3, b + K), 1/K) rebuilt inside out
        # would distribute the 3 first and no longer equal SymPy's own 3 (b + K) / K
        return sympy.Mul(*[rebuild(a, symbols, functions) for a in _factors(expr)])
    args = [rebuild(a, symbols, functions) for a in expr.args]
    if isinstance(expr, Eq):
        return Eq(*args, evaluate=False)
    if isinstance(expr, Integral) and any(len(lim) == 3 and lim[1] == _NO_LOWER for lim in args[1:]):
        # an upper limit only (`\\int\\limits^{b}`): the marker normalize put for the lower one out again
        args = [args[0], *(sympy.Tuple(lim[0], lim[2]) if len(lim) == 3 and lim[1] == _NO_LOWER else lim
                           for lim in args[1:])]
    if isinstance(expr, Integral) and isinstance(args[0], Integral):
        inner = args[0]
        return Integral(inner.function, *inner.limits, *args[1:])
    if isinstance(expr, AppliedUndef) and expr.func.__name__ in functions:
        return _function(functions[expr.func.__name__])(*args)
    _not_too_large(expr, args)
    return expr.func(*args)


_NO_LOWER = Symbol(NO_LOWER_LIMIT)

MAX_DIGITS = 10_000  # a number the text asks SymPy to compute exactly, at most (10^{10^{10}} has 10^10)


def _not_too_large(expr, args) -> None:
    """Refuse, before SymPy computes it in C where no soft limit can stop it, an exact power
    or factorial of numbers with more than MAX_DIGITS digits."""
    if isinstance(expr, sympy.Pow) and args[0].is_Number and args[1].is_Number:
        base, exponent = args
        if abs(base) not in (0, 1) and exponent.is_real and abs(exponent) > 1:
            digits = float(abs(exponent)) * math.log10(float(abs(base))) if abs(exponent) < 10**300 else math.inf
            if digits > MAX_DIGITS:
                raise ParseError(f"a number too large to work with ({digits:.3g} digits)")
    if isinstance(expr, sympy.factorial) and args[0].is_Number and args[0] > 3000:
        raise ParseError("a number too large to work with (a factorial of more than 3,000)")


def sorted_partials(expr):
    """Mixed partial derivatives of an undefined function with their variables in one order
    (they commute; SymPy keeps the order it was given, so d/dx d/dy f and d/dy d/dx f differ)."""
    return expr.replace(
        lambda e: isinstance(e, sympy.Derivative) and isinstance(e.expr, AppliedUndef) and len(e.variable_count) > 1,
        lambda e: sympy.Derivative(e.expr, *sorted(e.variable_count, key=lambda vc: str(vc[0]))))


def canonical_names(expr):
    """expr with every symbol and undefined function renamed by canonical_name (to compare a
    parsed equation with an srepr or an engine equation spelled another way)."""
    if isinstance(expr, sympy.Eq):  # side by side: rebuilding an Eq of equal sides gives True
        return sympy.Eq(canonical_names(expr.lhs), canonical_names(expr.rhs), evaluate=False)
    symbols = {s: sympy.Symbol(canonical_name(s.name)) for s in expr.atoms(sympy.Symbol)}
    expr = expr.xreplace(symbols)
    return sorted_partials(expr.replace(lambda e: isinstance(e, AppliedUndef),
                                        lambda e: sympy.Function(canonical_name(e.func.__name__))(*e.args)))


def _factors(expr) -> list:
    out = []
    for a in expr.args:
        out += _factors(a) if isinstance(a, sympy.Mul) else [a]
    return out


def _function(name: str):
    return SPECIAL_FUNCTIONS.get(name) or Function(name)


def parsed_sides(latex: str, variables: frozenset[str] = frozenset()) -> tuple:
    """parse_equation's two sides: what a sandbox call returns (an Eq of equal sides would
    come back from the worker process as True: unpickling evaluates it)."""
    eq = parse_equation(latex, variables)
    return eq.lhs, eq.rhs


def parse_equation(latex: str, variables: frozenset[str] = frozenset()) -> Eq:
    """One step's LaTeX -> sympy Eq, or ParseError saying why not. `variables`: names the
    problem uses as variables though they are constants elsewhere (`\\pi` in the authors' engine)."""
    try:
        rewritten = rewrite(latex.strip().rstrip(".,;"), variables)
    except NormalizeError as exc:
        raise ParseError(str(exc)) from None
    sides = rewritten.text.split(" = ")
    if len(sides) < 2 or any("=" in side for side in sides):
        raise ParseError("not an equation: no '=' between two expressions")
    parsed_sides = []
    for side in sides:
        try:
            # each side alone: parsing "a = a" whole would give True, not an equation
            parsed_sides.append(_parse_latex(side))
        except Exception as exc:  # the grammar raises several kinds; all mean "unreadable"
            raise ParseError(f"SymPy's LaTeX parser could not read '{side.strip()}' ({type(exc).__name__})") from None
    # \\tilde{\\infty} is how SymPy prints complex infinity (zoo)
    symbols = {Symbol(letter): sympy.zoo if name == "\\tilde{\\infty}" else Symbol(name)
               for letter, name in rewritten.symbols.items()}
    if rewritten.euler:
        symbols[Symbol(rewritten.euler)] = E
    for letter, (name, args) in rewritten.applied.items():  # d/d f{(x)}, ∫ … d L{(y)}
        symbols[Symbol(letter)] = _function(name)(*(Symbol(a) for a in args))
    symbols[Symbol("pi")] = sympy.pi  # the grammar reads \\pi as a symbol in some places (\\sqrt{\\pi})
    functions = rewritten.functions

    def restore(side):
        return sorted_partials(rebuild(side, symbols, functions))

    # sides restored apart (rebuilding an Eq of equal sides would give True);
    # a chain a = b = c states its first and last member equal
    try:
        return Eq(restore(parsed_sides[0]), restore(parsed_sides[-1]), evaluate=False)
    except (ValueError, TypeError) as exc:  # e.g. a derivative by an expression, not a symbol
        raise ParseError(f"not a well-formed expression ({exc})") from None

