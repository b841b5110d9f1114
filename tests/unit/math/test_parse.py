"""LaTeX to SymPy on the notation models really write."""

import pytest
from sympy import Derivative, E, Eq, Function, Integral, Symbol, cos, exp, sin

from app.math.latex import ParseError, parse_equation

a, x, y = Symbol("a"), Symbol("x"), Symbol("y")
eta = Function("\\eta")
s = Symbol("\\mathbf{s}")


@pytest.mark.parametrize("latex,expected", [
    (r"\eta{(a)} = e^{a}", Eq(eta(a), exp(a))),
    (r"eta { (a) } = e ^ { a }", Eq(eta(a), exp(a))),  # T5: spaced, backslash lost
    (r"\ frac { d } { d a } \ eta { (a) } = e ^ { a }", Eq(Derivative(eta(a), a), exp(a))),
    (r"\frac{d^{2}}{d \mathbf{s}^{2}} \sin{(\mathbf{s})} = - \sin{(\mathbf{s})}", Eq(Derivative(sin(s), (s, 2)), -sin(s))),
    (r"\operatorname{F_{g}}{(x,y)} = x y", Eq(Function("F_g")(x, y), x * y)),
    (r"\eta{(a)} \frac{d}{d a} \eta{(a)} = \eta^{2}{(a)}", Eq(eta(a) * Derivative(eta(a), a), eta(a) ** 2)),
    (r"\int \cos{(x)} dx = C + \sin{(x)}", Eq(Integral(cos(x), x), Symbol("C") + sin(x))),
    (r"\iint x d x d y = 1", Eq(Integral(x, x, y), 1)),
    (r"\hat{x}_0 (x + 1) = 2", Eq(Symbol("\\hat{x}_0") * (x + 1), 2)),
    (r"P_{e} = 1", Eq(Symbol("P_e"), 1)),
    (r"a^{\dagger} = f^*", Eq(Symbol("a^{\\dagger}"), Symbol("f^*"))),
    (r"x = x", Eq(x, x, evaluate=False)),  # an equation, not True
    (r"e^{0} = 1", Eq(E**0, 1, evaluate=False)),
    (r"x = y = 2.", Eq(x, 2)),  # a chain states first = last; trailing period ignored
])
def test_parses_faithfully(latex, expected):
    assert parse_equation(latex) == expected


@pytest.mark.parametrize("latex,reason", [
    (r"(\mathbf{J} + \mathbf{v})", "not an equation"),
    (r"\frac { x } { \mathbf {", "unbalanced braces"),
    (r"x = \foo{y}", "unknown command"),
    (r"x = +", "could not read"),
])
def test_unparseable_steps_say_why(latex, reason):
    with pytest.raises(ParseError) as caught:
        parse_equation(latex)
    assert reason in str(caught.value)


def test_no_eval_on_model_text():
    # Python in LaTeX clothing is just letters to the parser
    with pytest.raises(ParseError):
        parse_equation(r"__import__('os').system('x') = 1")
