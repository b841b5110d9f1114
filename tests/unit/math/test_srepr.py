import pytest
import sympy
from sympy import Derivative, Eq, Function, Integral, Symbol, exp

from app.math.srepr import SreprError, read_srepr


def test_reads_the_papers_srepr():
    text = ("Equality(Derivative(Function('\\\\eta')(Symbol('a', commutative=True)), Tuple(Symbol('a', commutative=True), "
            "Integer(1))), exp(Symbol('a', commutative=True)))")
    a = Symbol("a")
    assert read_srepr(text) == Eq(Derivative(Function("\\eta")(a), a), exp(a))


def test_reads_numbers_integrals_and_constants():
    x = Symbol("x")
    assert read_srepr("Integral(Mul(Rational(1, 2), Pow(Symbol('x'), Integer(-1))), Tuple(Symbol('x')))") == \
        Integral(x**-1 / 2, x)
    assert read_srepr("Add(pi, E, Float('1.5'))") == sympy.pi + sympy.E + sympy.Float(1.5)


HOSTILE = [
    "__import__('os').system('echo pwned')",
    "Symbol('x').__class__.__bases__",
    "(lambda: 1)()",
    "Symbol('x')[0]",
    "[Symbol('x') for _ in range(9)]",
    "eval('1+1')",
    "Integer(1) + Integer(2)",
    "Symbol('x', commutative=__import__('os'))",
    "Function(Symbol('x'))(Symbol('y'))",
    "Add(Symbol('x'), 'import os')",
    "Symbol()",
    "open('/etc/passwd')",
    "Pow(Integer(2), Integer(" + "9" * 200 + "))",
    "Add(" * 500 + "Integer(1)" + ")" * 500,
    "Symbol('x'",
    "",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_srepr_is_refused_with_a_message(text):
    with pytest.raises(SreprError) as caught:
        read_srepr(text)
    assert str(caught.value)
