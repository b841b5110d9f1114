"""The checker on engine references it was never tuned to: every family and
perturbation, rendered as SymPy prints them and as GPT and FLAN-T5 write them.
A reference is correct by construction, so any "incorrect" is a false one.
The large corpus (thousands of references, other seeds) is `bench/checker_corpus.py`."""

import pytest

from app.math.corpus import evaluate_references, render, t5_spacing
from app.math.engine import generate
from app.math.latex import SPECIAL_FUNCTIONS
from app.math.srepr import CONSTRUCTORS, read_srepr

import sympy

SEED = 101  # a seed no rule was written against


@pytest.fixture(scope="module")
def report():
    return evaluate_references(12, SEED)


def test_no_false_incorrect_on_references(report):
    assert report.derivations >= 12 * 4 * 3  # every family, perturbation and style
    assert report.false_incorrect == []


def test_no_false_irrelevant_on_references(report):
    # the engine makes every step from the one before it: none is irrelevant
    assert report.irrelevant_yes == []


def test_every_reference_equation_parses_faithfully(report):
    parsed, total = report.faithful
    assert total > 200
    assert parsed / total >= 0.995, report.unfaithful[:5]


@pytest.mark.parametrize("style", ["paper", "gpt", "t5"])
def test_every_style_parses(report, style):
    parsed, total = report.parsed[style]
    assert parsed / total >= 0.985


def test_timeouts_are_rare(report):
    assert len(report.timeouts) <= max(1, report.derivations // 500), report.timeouts


def test_model_like_renderings():
    steps = [r"\eta{(a)} = e^{a}", r"\frac{d}{d a} \eta{(a)} = e^{a}"]
    assert render(steps, "gpt") == [r" \eta{(a)} = e^{a}", steps[1]]
    assert render(steps, "t5") == [r"eta { (a) } = e ^ { a }", r"\ frac { d } { d a } \ eta { (a) } = e ^ { a }"]
    assert t5_spacing(r"\operatorname{J_{\varepsilon}}{(x)}") == r"\ operatorname { J_ { \ varepsilon } } { (x) }"


def test_the_srepr_whitelist_reads_everything_the_engine_makes():
    names = set()
    for family in generate(40, seed=SEED):
        for problem in family:
            for eq in problem.equations:
                text = sympy.srepr(eq)
                names |= {type(e).__name__ for e in sympy.preorder_traversal(eq)}
                assert read_srepr(text) == eq, text
    special = {n for n in names if n in SPECIAL_FUNCTIONS}
    assert special, "the corpus holds special functions (Ei, Si, erf, ...)"
    assert special <= set(CONSTRUCTORS)
