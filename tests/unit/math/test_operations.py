"""The table of operations: what the engine applies, the checker recognises, by one entry."""

import pytest
import sympy
from sympy import Eq, Function, Integral, Symbol

from app.math.engine import OPERATIONS
from app.math.operations import TABLE, one_operation

x, y, C = Symbol("x"), Symbol("y"), Symbol("C")
f, g = Function("f"), Function("g")
SOURCE = Eq(f(x), x**2 + y, evaluate=False)

ARGUMENTS = {
    "add": y, "minus": y, "times": 3, "divide": y, "power": sympy.Integer(2), "differentiate": x, "integrate": x,
    "cos": None, "sin": None, "exp": None, "log": None, "expand": None,
}


def test_every_operation_the_engine_draws_is_in_the_table_and_nothing_else():
    assert set(OPERATIONS) == set(TABLE)


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_what_an_operation_makes_is_recognised_as_it(name):
    source = Eq(f(x), (x + y) ** 2, evaluate=False) if name == "expand" else SOURCE
    made = TABLE[name].apply(source, ARGUMENTS[name])
    assert one_operation(source, made, []) == (TABLE[name].reported, None)
    # either side written first (expression exchange)
    assert one_operation(source, Eq(made.rhs, made.lhs, evaluate=False), []) == (TABLE[name].reported, None)


def test_evaluated_derivatives_and_integrals_are_recognised():
    with_derivative = Eq(f(x), sympy.Derivative(x**3, x), evaluate=False)
    made = TABLE["evaluate_derivatives"].apply(with_derivative, None)
    assert made.rhs == 3 * x**2
    assert one_operation(with_derivative, made, []) == ("evaluate_derivatives", None)

    with_integral = Eq(f(x), Integral(2 * x, x), evaluate=False)
    made = TABLE["evaluate_integrals"].apply(with_integral, C)
    assert made.rhs == x**2 + C  # the constant where the integral was
    assert one_operation(with_integral, made, []) == ("evaluate_integrals", None)
    assert TABLE["evaluate_integrals"].apply(SOURCE, C) is None  # nothing to evaluate


@pytest.mark.parametrize("name", ["substitute_LHS_for_RHS", "substitute_RHS_for_LHS"])
def test_a_substitution_is_recognised_with_the_equation_it_used(name):
    other = Eq(g(y), x**2, evaluate=False) if name == "substitute_LHS_for_RHS" else Eq(x**2, g(y), evaluate=False)
    made = TABLE[name].apply(SOURCE, other)
    assert made == Eq(f(x), g(y) + y, evaluate=False)
    assert one_operation(SOURCE, made, [other]) == ("substitute", other)
    # a pattern the equation lacks, or a bare symbol, is no substitution
    assert TABLE[name].apply(SOURCE, Eq(g(x), sympy.sin(y), evaluate=False)) is None


def test_a_wrong_step_is_no_operation():
    assert one_operation(SOURCE, Eq(f(x) + y, x**2 + 2 * y + 1, evaluate=False), []) is None
