"""Hostile and random LaTeX and srepr (hypothesis) against the parser, the srepr reader
and the checker: every input ends in a value or a clear error within its time limit,
nothing crashes the caller, and nothing is ever eval()'d or exec()'d."""

from __future__ import annotations

import builtins
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.math.latex import ParseError, parse_equation
from app.math.limits import TooSlow, time_limit
from app.math.sandbox import Sandbox
from app.math.srepr import SreprError, read_srepr
from app.math.checker import check_derivation

TOKENS = ["x", "y", "a", "b", "1", "2", "10", "=", "+", "-", "*", "/", "^", "_", "{", "}", "(", ")", " ",
          "\\frac", "\\int", "\\partial", "\\sin", "\\cos", "\\exp", "\\log", "\\sqrt", "\\left(", "\\right)",
          "\\cdot", "d", "dx", "\\mathbf{H}", "\\hat{p}_0", "\\infty", "!", ",", "\\\\", "\\href{javascript:x}",
          "\\" , "%", "&", "'", "\"", "\\alpha", "e^{", "^{999}", "\\prod", "\\sum", "\\lim"]
side = st.lists(st.sampled_from([t for t in TOKENS if t != "="]), min_size=1, max_size=20).map("".join)
# mostly "lhs = rhs" (reaches the ANTLR parser and SymPy), some token soup, some any text
latex_text = (st.tuples(side, side).map(" = ".join) | st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)
              | st.text(max_size=80))

SREPR_TOKENS = ["Symbol(", "Integer(", "Add(", "Mul(", "Pow(", "Eq(", "'x'", "1", "-1", ")", ",", " ",
                "__import__(", "'os'", ".system", "lambda", ":", "[", "]", "9" * 30, "**", "Function(", "'f'",
                "exec", "eval", "(", "getattr", "__class__"]
srepr_text = st.lists(st.sampled_from(SREPR_TOKENS), max_size=30).map("".join) | st.text(max_size=60)


@contextmanager
def no_eval():
    """Any eval/exec while parsing fails the test (sympify and parse_expr on text use eval).
    Only around the call: hypothesis itself compiles code."""
    real = builtins.eval, builtins.exec

    def tripwire(*args, **kwargs):
        raise AssertionError(f"eval/exec called with {str(args[:1])[:100]}")
    builtins.eval = builtins.exec = tripwire
    try:
        yield
    finally:
        builtins.eval, builtins.exec = real


FUZZ = settings(max_examples=300, deadline=None)


@FUZZ
@given(latex_text)
def test_the_parser_answers_or_refuses_and_never_evals(text):
    try:
        with no_eval(), time_limit(2.0):  # the sandbox's hard limit guards production; here a soft one
            parse_equation(text)
    except (ParseError, TooSlow):
        pass


@FUZZ
@given(srepr_text)
def test_the_srepr_reader_answers_or_refuses_and_never_evals(text):
    try:
        with no_eval(), time_limit(2.0):
            read_srepr(text)
    except (SreprError, TooSlow):
        pass


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox(workers=2)
    yield box
    box.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(latex_text, min_size=1, max_size=4), latex_text)
def test_the_checker_in_its_sandbox_always_answers(sandbox, steps, goal):
    outcome = sandbox.call(check_derivation, ["x = y"], goal, steps, timeout=10)
    assert outcome.ok != bool(outcome.error)  # either a verdict or a message (a timeout says so), never neither
    if outcome.ok:
        assert len(outcome.value.steps) == len(steps)


def test_the_sandbox_still_answers_after_the_fuzzing(sandbox):
    outcome = sandbox.call(check_derivation, ["a = b"], "b = a", ["b = a"], timeout=30)
    assert outcome.ok and outcome.value.goal_reached.value == "yes"
