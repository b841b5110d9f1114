"""Time-bounded SymPy: an overrunning call is killed and reported, and the pool goes on."""

import operator

import pytest

from app.math.latex import parse_equation
from app.math.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox(workers=1)
    yield box
    box.close()


def test_result_comes_back(sandbox):
    outcome = sandbox.call(operator.mul, 6, 7)
    assert outcome.ok and outcome.value == 42


def test_overrun_is_killed_and_the_next_call_works(sandbox):
    # a single big-integer power: C-level work that no signal interrupts
    outcome = sandbox.call(parse_equation, r"x = 7^{987654321}", timeout=0.5)
    assert not outcome.ok and outcome.timed_out and "0.5" in outcome.error
    assert sandbox.respawns >= 1
    assert sandbox.call(operator.add, 1, 2).value == 3


def test_exceptions_are_reported_not_raised(sandbox):
    outcome = sandbox.call(parse_equation, r"\frac{1}{", timeout=5)
    assert not outcome.ok and not outcome.timed_out and "ParseError" in outcome.error
