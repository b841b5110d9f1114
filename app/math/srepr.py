"""Reading the paper's `srepr` strings without eval.

`Equality(Function('\\eta')(Symbol('a', commutative=True)), exp(...))` is parsed
with Python's `ast` module and built by walking the tree: only calls to the
whitelisted SymPy constructors below, string/number literals and boolean
assumption keywords are accepted. Anything else (names, attributes, lambdas,
subscripts, comprehensions, dunder strings) is refused with a message that
says what and where.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import sympy

from app.math.latex import SPECIAL_FUNCTIONS

MAX_LENGTH = 200_000
_NUMBER = re.compile(r"-?\d+(\.\d*)?(e-?\d+)?")
MAX_DEPTH = 200

CONSTRUCTORS: dict[str, Any] = {
    name: getattr(sympy, name)
    for name in (
        "Equality", "Eq", "Symbol", "Dummy", "Integer", "Rational", "Float", "Add", "Mul", "Pow", "Derivative",
        "Integral", "Tuple", "exp", "log", "sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh",
        "asin", "acos", "atan", "sqrt", "Abs", "factorial", "Subs",
    )
} | {name: fn for name, fn in SPECIAL_FUNCTIONS.items() if name == fn.__name__}
CONSTANTS: dict[str, Any] = {
    "E": sympy.E, "pi": sympy.pi, "I": sympy.I, "oo": sympy.oo, "zoo": sympy.zoo, "nan": sympy.nan,
    "Half": sympy.S.Half, "One": sympy.S.One, "Zero": sympy.S.Zero, "NegativeOne": sympy.S.NegativeOne,
    "EulerGamma": sympy.EulerGamma,
}
ASSUMPTIONS = {"commutative", "real", "positive", "negative", "integer", "nonnegative", "nonzero", "complex",
               "finite", "rational", "prime", "even", "odd", "nonpositive", "extended_real"}


class SreprError(ValueError):
    """The string is not a srepr made of whitelisted SymPy constructors."""


def _where(node: ast.AST) -> str:
    return f"column {getattr(node, 'col_offset', 0) + 1}"


def _build(node: ast.AST, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise SreprError("expression nested too deeply")
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (str, int, float)) and not isinstance(node.value, bool):
            if isinstance(node.value, int) and abs(node.value) > 10**100:
                raise SreprError(f"integer literal too large at {_where(node)}")
            return node.value
        raise SreprError(f"literal {node.value!r} is not allowed at {_where(node)}")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        value = _build(node.operand, depth + 1)
        if isinstance(value, str):
            raise SreprError(f"cannot negate text at {_where(node)}")
        return -value
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise SreprError(f"name '{node.id}' is not allowed at {_where(node)}")
    if isinstance(node, ast.Call):
        func = node.func
        # Function('f')(x, y): an undefined function applied to arguments
        if (isinstance(func, ast.Call) and isinstance(func.func, ast.Name) and func.func.id == "Function"
                and len(func.args) == 1 and not func.keywords):
            name = _build(func.args[0], depth + 1)
            if not isinstance(name, str):
                raise SreprError(f"Function needs a name in quotes at {_where(func)}")
            return sympy.Function(name)(*[_build(a, depth + 1) for a in node.args])
        if not isinstance(func, ast.Name):
            raise SreprError(f"only calls of SymPy constructors are allowed ({type(func).__name__} at {_where(func)})")
        if func.id not in CONSTRUCTORS:
            raise SreprError(f"'{func.id}' is not an allowed constructor at {_where(func)}")
        args = [_build(a, depth + 1) for a in node.args]
        kwargs = {}
        for kw in node.keywords:
            value = kw.value.value if isinstance(kw.value, ast.Constant) else None
            if func.id == "Float" and kw.arg == "precision" and isinstance(value, int) and 0 < value <= 10_000:
                kwargs["precision"] = value
                continue
            if func.id not in ("Symbol", "Dummy") or kw.arg not in ASSUMPTIONS or not isinstance(value, bool):
                raise SreprError(f"keyword '{kw.arg}' is not allowed in {func.id} at {_where(kw.value)}")
            kwargs[kw.arg] = value
        if func.id in ("Symbol", "Dummy") and not (len(args) == 1 and isinstance(args[0], str)):
            raise SreprError(f"Symbol needs one name in quotes at {_where(func)}")
        if func.id == "Float" and not (len(args) == 1 and (not isinstance(args[0], str) or _NUMBER.fullmatch(args[0]))):
            raise SreprError(f"Float needs one number at {_where(func)}")
        if func.id not in ("Symbol", "Dummy", "Float") and any(isinstance(a, str) for a in args):
            raise SreprError(f"'{func.id}' does not take text at {_where(func)}")
        if func.id in ("Equality", "Eq"):
            return sympy.Eq(*args, evaluate=False)
        return CONSTRUCTORS[func.id](*args, **kwargs)
    raise SreprError(f"{type(node).__name__} is not allowed at {_where(node)}")


def read_srepr(text: str) -> Any:
    """Build the SymPy object a srepr string describes, or raise SreprError."""
    if not isinstance(text, str):
        raise SreprError("srepr must be text")
    if len(text) > MAX_LENGTH:
        raise SreprError(f"srepr longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise SreprError(f"not a srepr expression ({exc.msg} at column {exc.offset})") from None
    except RecursionError:
        raise SreprError("expression nested too deeply") from None
    try:
        return _build(tree.body)
    except RecursionError:
        raise SreprError("expression nested too deeply") from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, SreprError):
            raise
        raise SreprError(f"SymPy refused the arguments ({exc})") from None
