"""Model output as equations: splitting, display form, and parsing to SymPy.

Parsing never evaluates text: it rewrites the LaTeX (app.math.normalize) and hands
it to SymPy's ANTLR LaTeX grammar (`parse_latex`), then maps placeholders back to
the real names and rebuilds the tree with SymPy's constructors. Rebuilding can be
slow for hostile input (2^{99999999}), so callers outside tests go through
app.math.sandbox, which runs it in a killable process.
"""

from __future__ import annotations

import warnings

import sympy
from sympy import E, Eq, Function, Integral, Symbol
from sympy.core.function import AppliedUndef

from app.math.normalize import NormalizeError, rewrite, undo_t5_spacing

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


def display_form(latex: str) -> str:
    """The step as KaTeX should see it: T5 spacing undone where it is unambiguous."""
    return undo_t5_spacing(latex)


def _parse_latex(text: str):
    from sympy.parsing.latex import parse_latex

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse_latex(text, backend="antlr")


def rebuild(expr):
    """Rebuild bottom-up with evaluating constructors, so forms that mean the same
    compare equal (-1*x and -x); nested integrals become one (\\iint). Equations
    stay unevaluated: `x = x` is a step, not True."""
    if not expr.args or isinstance(expr, (Symbol, sympy.Number)):
        return expr
    args = [rebuild(a) for a in expr.args]
    if isinstance(expr, Eq):
        return Eq(*args, evaluate=False)
    if isinstance(expr, Integral) and isinstance(args[0], Integral):
        inner = args[0]
        return Integral(inner.function, *inner.limits, *args[1:])
    return expr.func(*args)


def parse_equation(latex: str) -> Eq:
    """One step's LaTeX -> sympy Eq, or ParseError saying why not."""
    try:
        rewritten = rewrite(latex.strip().rstrip(".,;"))
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
    symbols = {Symbol(letter): Symbol(name) for letter, name in rewritten.symbols.items()}
    if rewritten.euler:
        symbols[Symbol(rewritten.euler)] = E
    functions = rewritten.functions

    def restore(side):
        side = side.xreplace(symbols)
        if functions:
            side = side.replace(
                lambda e: isinstance(e, AppliedUndef) and e.func.__name__ in functions,
                lambda e: Function(functions[e.func.__name__])(*e.args),
            )
        return rebuild(side)

    # sides restored apart (rebuilding an Eq of equal sides would give True);
    # a chain a = b = c states its first and last member equal
    try:
        return Eq(restore(parsed_sides[0]), restore(parsed_sides[-1]), evaluate=False)
    except (ValueError, TypeError) as exc:  # e.g. a derivative by an expression, not a symbol
        raise ParseError(f"not a well-formed expression ({exc})") from None

