"""A hostile derivation costs its budget, not a worker: numbers too large to compute exactly are
refused when read, and past the derivation's time budget what is left is "unknown" and says why
(the sandbox's hard limit, which kills the process, is never reached)."""

import pytest

from app.math.latex import ParseError, parse_equation
from app.math.limits import CHECK_TIMEOUT, DERIVATION_SECONDS, TooSlow, budget, budget_spent, time_limit
from app.math.proposals import check_and_propose
from app.math.sandbox import Sandbox


@pytest.mark.parametrize("latex", [r"x = 10^{10^{10}}", r"y = (1000!)^{1000!}", r"z = 5000!"])
def test_numbers_too_large_are_refused_when_read(latex):
    with pytest.raises(ParseError, match="a number too large to work with"):
        parse_equation(latex)


def test_ordinary_numbers_still_read():
    assert str(parse_equation(r"x = 2^{100} + 20!")) == f"Eq(x, {2**100 + 2432902008176640000})"


def test_past_the_budget_every_soft_limit_stops_at_once():
    with budget(0.0):
        assert budget_spent()
        with pytest.raises(TooSlow):
            with time_limit(10):
                pass
    assert not budget_spent()


def test_a_hostile_derivation_ends_within_its_budget_and_says_why():
    steps = ["f{(x)} = x", r"\int \int \int \int e^{e^{e^{x}}} \sin{(x^{x})} dx dx dx dx = 1",
             r"\int e^{x^{x^{x}}} dx = 2", r"\frac{d^{60}}{d x^{60}} \tan{(\tan{(x)})} = 0",
             r"x = 10^{10^{10}}"]
    sandbox = Sandbox(1)
    try:
        outcome = sandbox.call(check_and_propose, [steps[0]], None, steps, None, timeout=CHECK_TIMEOUT)
    finally:
        sandbox.close()
    assert outcome.ok, outcome.error  # the hard limit was not needed
    reasons = [s.verdicts["incorrect"].reason for s in outcome.value.steps]
    assert any(f"time budget ({DERIVATION_SECONDS:g} s) is spent" in r for r in reasons), reasons
    assert reasons[-1] == "the step could not be parsed"
