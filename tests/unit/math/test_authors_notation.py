"""Notation of the authors' printer (SymPy 1.5.1) that the parser misread: each test fails on
the parser before this change. Equations are taken from ../shared/data/authors_engine_a.jsonl."""

import pytest
import sympy
from sympy import Derivative, Function, Integral, Symbol
from sympy.core.function import AppliedUndef

from app.math.checker import problem_variables
from app.math.latex import ParseError, parse_equation
from app.math.latex import canonical_names


def S(name):
    return Symbol(name)


def test_an_operator_before_an_unbracketed_minus_acts_on_the_negated_term():
    eq = parse_equation(r"\frac{\partial}{\partial \mathbf{B}} - \frac{\operatorname{F_{N}}{(\mathbf{B},n_{1})}}{n_{1}}"
                        r" = \frac{\partial}{\partial \mathbf{B}} - \frac{\mathbf{B} - n_{1}}{n_{1}}")
    B, n = S(r"\mathbf{B}"), S("n_{1}")
    assert eq.lhs == Derivative(-Function("F_{N}")(B, n) / n, B)
    assert isinstance(eq.rhs, Derivative) and eq.rhs.variables == (B,)
    assert sympy.expand(eq.rhs.expr - (n - B) / n) == 0


def test_pi_as_a_function_name():
    eq = canonical_names(parse_equation(r"\pi{(v,\hat{p})} = \cos{(\hat{p} + v)}"))
    assert isinstance(eq.lhs, AppliedUndef) and eq.lhs.func.__name__ == r"\pi"


def test_pi_as_the_integration_variable():
    eq = parse_equation(r"\int F_x{(\pi)} d\pi = \int e^{e^{\pi}} d\pi")
    pi = S(r"\pi")
    assert eq.rhs == Integral(sympy.exp(sympy.exp(pi)), pi)
    assert not eq.has(sympy.pi)


def test_pi_is_a_variable_in_every_step_of_a_problem_whose_premise_makes_it_one():
    premise = r"\operatorname{z^{*}}{(\pi)} = e^{\cos{(\pi)}}"
    variables = problem_variables([premise])
    assert variables == {r"\pi"}
    step = parse_equation(r"F = e^{e^{\pi}}", variables)
    assert step.rhs == sympy.exp(sympy.exp(S(r"\pi")))
    # and where nothing makes it a variable, it stays the constant
    assert parse_equation(r"y = \cos{(\pi)}").rhs == -1
    assert problem_variables([r"y = \cos{(\pi)} x"]) == frozenset()
    assert problem_variables([r"y = \frac{1}{2}(\pi)"]) == frozenset()  # a product, not an argument


def test_a_subscript_after_a_prime_is_one_name():
    eq = parse_equation(r"T{(A_{y},g^{\prime}_{\varepsilon})} = A_{y} - g^{\prime}_{\varepsilon}")
    names = {s.name for s in eq.free_symbols}
    assert names == {"A_{y}", r"g^{\prime}_{\varepsilon}"}


def test_a_derivative_acts_on_the_whole_product_that_follows_it_derivatives_included():
    eq = parse_equation(r"\frac{d}{d J} \mu_{0}{(J)} \frac{d}{d J} \cos{(J)} = \frac{d}{d J} (\frac{d}{d J} \cos{(J)})^{2}")
    J = S("J")
    mu = Function(r"\mu_{0}")(J)
    assert canonical_names(eq).lhs == Derivative(mu * Derivative(sympy.cos(J), J), J)


def test_hbar_as_the_old_printer_wrote_a_function_named_hbar():
    eq = canonical_names(parse_equation(r"\bar{\h}{(L_{\varepsilon},x)} = \frac{L_{\varepsilon}}{x}"))
    assert eq.lhs.func.__name__ == r"\hbar"


def test_complex_infinity_as_printed():
    eq = parse_equation(r"\tilde{\infty} x = \tilde{\infty} \sin{(x)}")
    assert eq.lhs.has(sympy.zoo)


def test_a_derivative_of_symbolic_order_is_refused_not_read_as_a_fraction():
    import pytest

    from app.math.latex import ParseError

    with pytest.raises(ParseError, match="order"):
        parse_equation(r"\frac{\partial^{- \frac{\partial}{\partial a} (Q - a)}}{\partial a^{- \frac{\partial}{\partial a} (Q - a)}}"
                       r" W{(a,Q)} = \frac{\partial}{\partial a} (Q - a)")


@pytest.mark.parametrize("garbled", [r"{ (u) } = e^u", r"{(u)} = e^{u}", r"g = { (u) } + 1"])
def test_a_lost_function_name_is_refused_not_read_as_another_equation(garbled):
    # FLAN-T5 writes `{ (u) } = e^u` for `f{(u)} = e^{u}`: read as `u = e^u`, it was "incorrect"
    with pytest.raises(ParseError, match="a function's name is missing before"):
        parse_equation(garbled)


@pytest.mark.parametrize("fine,expected", [(r"{(x + 1)}^{2} = y", "Eq((x + 1)**2, y)"),
                                           (r"\frac{1}{(x)} = y", "Eq(1/x, y)"),
                                           (r"F_{x}{(u)} = 1", "Eq(F_{x}(u), 1)")])
def test_braced_parentheses_that_are_a_base_or_an_argument_still_read(fine, expected):
    assert str(parse_equation(fine)) == expected


def test_a_step_wrong_in_one_reading_of_an_operator_product_and_right_in_the_other_is_unknown():
    """FLAN-T5 on the sample files: (η')² = η (eᵃ)' holds; d/da (η · η') = η (eᵃ)' does not."""
    from app.math.checker import check_derivation

    steps = [r"\eta{(a)} = e^{a}",
             r"\frac{d}{d a} \eta{(a)} \frac{d}{d a} \eta{(a)} = \eta{(a)} \frac{d}{d a} e^{a}",
             r"\frac{d}{d a} \eta{(a)} \frac{d}{d a} \eta{(a)} = 3 \eta{(a)} \frac{d}{d a} e^{a}"]
    result = check_derivation([steps[0]], None, steps)
    ambiguous, wrong = result.steps[1].verdicts["incorrect"], result.steps[2].verdicts["incorrect"]
    assert ambiguous.value == "unknown" and "reads two ways" in ambiguous.reason
    assert wrong.value == "yes"  # wrong in both readings


@pytest.mark.parametrize("latex, expected", [
    (r"\int (- A_{y} + \operatorname{f_{\mathbf{v}}}{(A_{y},S,W)})^{A_{y}} dL{(A_{y})} = \int (A_{y} S W - A_{y})^{A_{y}} dL{(A_{y})}",
     "Eq(Integral((-A_{y} + f_{\\mathbf{v}}(A_{y}, S, W))**A_{y}, L(A_{y})), Integral((A_{y}*S*W - A_{y})**A_{y}, L(A_{y})))"),
    (r"\int \mathbf{v}{(C_{2})} d\mathbf{v}{(C_{2})} = x", "Eq(Integral(\\mathbf{v}(C_{2}), \\mathbf{v}(C_{2})), x)"),
    (r"\ int \ mathbf { v } { (C_ { 2 } ) } d \ mathbf { v } { (C_ { 2 } ) } = x",
     "Eq(Integral(\\mathbf{v}(C_{2}), \\mathbf{v}(C_{2})), x)"),
    (r"\iint \operatorname{g^{\prime}_{\varepsilon}}{(\mathbf{H},a^{\dagger})} dr{(\mathbf{H})} d\mathbf{H} = 2",
     "Eq(Integral(g^{\\prime}_{\\varepsilon}(\\mathbf{H}, a^{\\dagger}), r(\\mathbf{H}), \\mathbf{H}), 2)"),
    (r"\frac{1}{\frac{d}{d f{(C_{d})}} f{(C_{d})}} = 1", "Eq(1/Derivative(f(C_{d}), f(C_{d})), 1)"),
])
def test_an_integral_or_derivative_with_respect_to_a_function_is_read_as_one(latex, expected):
    # it was read as A_y · ∫ … dL (another equation), then refused; the authors' engine makes
    # these (their srepr: Integral(…, Tuple(L(A_y)))), and SymPy takes a function as the variable
    assert str(parse_equation(latex)) == expected


@pytest.mark.parametrize("latex", [
    r"\int x d f{(x + 1)} = y",  # of an expression: no reading
    r"\frac{d}{d f{(2 x)}} f{(2 x)} = 1",
])
def test_a_function_of_an_expression_as_the_variable_is_refused(latex):
    with pytest.raises(ParseError, match="function of an expression"):
        parse_equation(latex)


@pytest.mark.parametrize("latex, expected", [
    # SymPy 1.5's printer writes a name `x^\prime` as `\operatorname{x^{{\}'}}` (braces unbalanced)
    (r"S + \operatorname{x^{{\}'}}{(S)} = S + \cos{(S)}", "Eq(S + x^{\\prime}(S), S + cos(S))"),
    (r"\operatorname{x^{{\}'}}^{v_{1}}{(\dot{z},v_{1})} = (\dot{z} - v_{1})^{v_{1}}",
     "Eq(x^{\\prime}(\\dot{z}, v_{1})**v_{1}, (\\dot{z} - v_{1})**v_{1})"),
    # an upper limit only, as the printer writes Integral(f, (x, b))
    (r"\int\limits^{U{(\mathbf{M})} - 1} U{(\mathbf{M})} d\mathbf{M} = 0",
     "Eq(Integral(U(\\mathbf{M}), (\\mathbf{M}, U(\\mathbf{M}) - 1)), 0)"),
    (r"\int_{0}^{1} x dx = y", "Eq(Integral(x, (x, 0, 1)), y)"),
    (r"\int^{2}_{1} x dx = y", "Eq(Integral(x, (x, 1, 2)), y)"),
    # the gamma function as the printer writes it, beside a function named Gamma
    (r"\dot{y}{(\hat{x})} \Gamma(1 + \frac{1}{2 P_{e}}) = 1", "Eq(\\dot{y}(\\hat{x})*gamma(1 + 1/(2*P_{e})), 1)"),
    (r"\Gamma{(x)} = 2", "Eq(\\Gamma(x), 2)"),
])
def test_the_printers_other_forms_are_read_as_printed(latex, expected):
    assert str(parse_equation(latex)) == expected
