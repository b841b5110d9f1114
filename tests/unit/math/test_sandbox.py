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
    # a single big-integer power: C-level work that no signal interrupts (the parser itself
    # refuses such numbers now: app.math.latex.MAX_DIGITS)
    outcome = sandbox.call(operator.pow, 7, 987654321, timeout=0.5)
    assert not outcome.ok and outcome.timed_out and "0.5" in outcome.error
    assert sandbox.respawns >= 1
    assert sandbox.call(operator.add, 1, 2).value == 3


def test_exceptions_are_reported_not_raised(sandbox):
    outcome = sandbox.call(parse_equation, r"\frac{1}{", timeout=5)
    assert not outcome.ok and not outcome.timed_out and "ParseError" in outcome.error


def test_the_time_limit_excludes_a_cold_start():
    # A fresh interpreter: SymPy's LaTeX grammar loads on the first parse (well over 0.3 s);
    # only the call itself may count against its limit.
    import subprocess
    import sys

    code = ("from app.math.sandbox import Sandbox; from app.math.latex import parse_equation; "
            "o = Sandbox(workers=1).call(parse_equation, 'y = 2', timeout=0.3); print(o.ok, o.error)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["True", "None"], out.stderr


def _allocate(megabytes):
    return len(bytearray(megabytes * 1024 * 1024))


def test_memory_is_bounded_and_the_worker_lives_on(sandbox):
    outcome = sandbox.call(_allocate, 4096, timeout=30)
    assert not outcome.ok and "MemoryError" in outcome.error
    assert sandbox.call(_allocate, 10, timeout=30).value == 10 * 1024 * 1024
