"""LaTeX to SymPy on the notation models really write."""

import pytest
from sympy import Derivative, E, Ei, Eq, Function, Integral, Mul, Symbol, cos, erf, exp, pi, sin, sqrt

from app.math.latex import ParseError, parse_equation

a, x, y = Symbol("a"), Symbol("x"), Symbol("y")
eta = Function("\\eta")
s = Symbol("\\mathbf{s}")
fp = Symbol("f^{\\prime}")


@pytest.mark.parametrize("latex,expected", [
    (r"\eta{(a)} = e^{a}", Eq(eta(a), exp(a))),
    (r"eta { (a) } = e ^ { a }", Eq(eta(a), exp(a))),  # T5: spaced, backslash lost
    # ... also before an operator: `tau` is τ there, not t·a·u (found by the large engine corpus)
    (r"tau + \ cos { (\ tau) } = 1", Eq(Symbol("\\tau") + cos(Symbol("\\tau")), 1)),
    (r"phi a = x ^ { 2 }", Eq(Symbol("\\phi") * a, x**2)),
    (r"\ frac { d } { d a } \ eta { (a) } = e ^ { a }", Eq(Derivative(eta(a), a), exp(a))),
    (r"\frac{d^{2}}{d \mathbf{s}^{2}} \sin{(\mathbf{s})} = - \sin{(\mathbf{s})}", Eq(Derivative(sin(s), (s, 2)), -sin(s))),
    (r"\operatorname{F_{g}}{(x,y)} = x y", Eq(Function("F_{g}")(x, y), x * y)),
    (r"\eta{(a)} \frac{d}{d a} \eta{(a)} = \eta^{2}{(a)}", Eq(eta(a) * Derivative(eta(a), a), eta(a) ** 2)),
    (r"\int \cos{(x)} dx = C + \sin{(x)}", Eq(Integral(cos(x), x), Symbol("C") + sin(x))),
    (r"\iint x d x d y = 1", Eq(Integral(x, x, y), 1)),
    (r"\hat{x}_0 (x + 1) = 2", Eq(Symbol("\\hat{x}_{0}") * (x + 1), 2)),
    (r"P_{e} = 1", Eq(Symbol("P_{e}"), 1)),
    (r"a^{\dagger} = f^*", Eq(Symbol("a^{\\dagger}"), Symbol("f^{*}"))),
    (r"x = x", Eq(x, x, evaluate=False)),  # an equation, not True
    (r"e^{0} = 1", Eq(E**0, 1, evaluate=False)),
    (r"x = y = 2.", Eq(x, 2)),  # a chain states first = last; trailing period ignored
    # what SymPy's printer makes of the engine's special functions, decorated variables and powers
    (r"\operatorname{Ei}{(x)} = \frac{\sqrt{\pi} \operatorname{erf}{(x)}}{2}", Eq(Ei(x), sqrt(pi) * erf(x) / 2)),
    (r"\frac{d^{2}}{d (f^{\prime})^{2}} \sin{(f^{\prime})} = 1", Eq(Derivative(sin(fp), (fp, 2)), 1)),
    (r"(\tau^{\prime})^{2}{(x)} = x", Eq(Function("\\tau^{\\prime}")(x) ** 2, x)),
    (r"\frac{3 (y + x)}{x} = 1", Eq(Mul(3, y + x, 1 / x), 1)),  # not distributed: as SymPy builds it
])
def test_parses_faithfully(latex, expected):
    assert parse_equation(latex) == expected


@pytest.mark.parametrize("one,other", [
    (r"\theta_1{(g)} = x", r"\theta_{1}{(g)} = x"),
    (r"f^* = x", r"f^{*} = x"),
    (r"f' = x", r"f^{\prime} = x"),
    (r"\operatorname{F_{g}}{(x)} = 1", r"F_{g}{(x)} = 1"),
    # mixed partials of an undefined function commute
    (r"\frac{\partial^{2}}{\partial x\partial y} f{(x,y)} = 1", r"\frac{\partial^{2}}{\partial y\partial x} f{(x,y)} = 1"),
])
def test_one_name_however_braced(one, other):
    assert parse_equation(one) == parse_equation(other)


def test_a_derivative_whose_variable_is_unreadable_is_not_a_fraction():
    with pytest.raises(ParseError, match="derivative"):
        parse_equation(r"\frac{d^{2}}{d (x + y)^{2}} f{(x)} = 1")


def test_an_equation_of_equal_sides_survives_the_sandbox():
    from app.math.latex import parsed_sides
    from app.math.sandbox import Sandbox

    sandbox = Sandbox(1)
    try:
        outcome = sandbox.call(parsed_sides, "x = x", timeout=30)
    finally:
        sandbox.close()
    assert outcome.ok and outcome.value == (x, x)  # not True


@pytest.mark.parametrize("latex,reason", [
    (r"(\mathbf{J} + \mathbf{v})", "not an equation"),
    (r"\frac { x } { \mathbf {", "unbalanced braces"),
    (r"x = \foo{y}", "unknown command"),
    (r"x = +", "'+' has nothing after it"),  # cut short: not read as another equation
])
def test_unparseable_steps_say_why(latex, reason):
    with pytest.raises(ParseError) as caught:
        parse_equation(latex)
    assert reason in str(caught.value)


def test_no_eval_on_model_text():
    # Python in LaTeX clothing is just letters to the parser
    with pytest.raises(ParseError):
        parse_equation(r"__import__('os').system('x') = 1")
