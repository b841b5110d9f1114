"""The engine: reproducible by seed, the paper's prompt and perturbations, and
references its own checker finds correct."""

import pytest
from sympy import Eq

from app.math.checker import check_derivation
from app.math.engine import generate, prompt_text, reference_text, to_latex
from app.math.evaluation import evaluate
from app.math.latex import parse_equation
from app.math.prompt import parse_prompt


def test_same_seed_same_problems_other_seed_others():
    first = [reference_text(p) for fam in generate(15, seed=3) for p in fam]
    again = [reference_text(p) for fam in generate(15, seed=3) for p in fam]
    other = [reference_text(p) for fam in generate(15, seed=4) for p in fam]
    assert first == again and first != other


def test_families_have_the_four_perturbations():
    for family in generate(10, seed=1):
        static, *variants = family
        assert 4 <= len(static.steps) <= 9
        by = {p.variant: p for p in family}
        assert set(by) >= {"static", "VR", "EE", "SR"}
        assert parse_prompt(prompt_text(static)).intermediates  # "then derive M"
        assert not parse_prompt(prompt_text(by["SR"])).intermediates  # M dropped
        assert reference_text(by["SR"]) == reference_text(static)  # reference unchanged
        assert all(e.lhs == s.rhs and e.rhs == s.lhs for e, s in zip(by["EE"].equations, static.equations))
        static_names = {str(x) for eq in static.equations for x in eq.free_symbols}
        renamed = {str(x) for eq in by["VR"].equations for x in eq.free_symbols}
        assert static_names.isdisjoint(renamed)
        if "AG" in by:
            assert by["AG"].goal != static.goal and by["AG"].equations[:-1] == static.equations[:-1]


def test_prompts_and_references_parse_back():
    for family in generate(10, seed=2):
        for problem in family:
            for eq in problem.equations:
                assert isinstance(parse_equation(to_latex(eq)), Eq)


@pytest.mark.parametrize("seed", [7, 8])
def test_references_pass_their_own_checker(seed):
    for family in generate(8, seed=seed):
        for problem in family:
            latex = [to_latex(eq) for eq in problem.equations]
            result = check_derivation([latex[0]], latex[-1], latex)
            flagged = [(s.index, label, v.reason) for s in result.steps for label, v in s.verdicts.items()
                       if v.value == "yes"]
            assert flagged == [], (problem.variant, latex, flagged)
            assert result.goal_reached.value == "yes"


def test_mutant_evaluation_scores_each_label():
    report = evaluate(25, seed=5)
    assert report.references == 5 and report.false_incorrect_on_references == 0
    for label in ("incorrect", "redundant", "skipped", "irrelevant"):
        score = report.scores[label]
        assert score.tp > 0, label  # each kind of error is found at least once
    assert report.scores["goal_reached"].precision == 1.0
