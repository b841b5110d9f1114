"""The checker on the authors' own references in the sample files, against what their
engine recorded: `srepr_derivation` names, for every step, the operation and the steps
it was made from (`['substitute_RHS_for_LHS', 6, 4]`: from step 6, putting in step 4).
A reference is correct, so "incorrect" is never right on it; a step a later one was
made from is not irrelevant, whether it was the source or the equation substituted in."""

import ast
import json

import pytest

from app.math.checker import YES, check_derivation
from app.math.latex import split_steps
from tests.helpers import PAPER_FILES

VARIANTS = ("", "VR ", "EE ", "AG ", "SR ")


def _references():
    seen = {}
    for path in PAPER_FILES.values():
        for record in json.loads(path.read_text()):
            for variant in VARIANTS:
                recorded = record[variant + "srepr_derivation"]
                recorded = recorded if isinstance(recorded, list) else ast.literal_eval(recorded)
                seen.setdefault(record[variant + "derivation"], recorded)
    return list(seen.items())


def _used(recorded) -> set[int]:
    """1-based steps some later step was made from, per the authors' engine."""
    return {arg for operation, _ in recorded if operation != "premise" and isinstance(operation, list)
            for arg in operation[1:] if isinstance(arg, int)}


@pytest.fixture(scope="module")
def checked():
    out = []
    for text, recorded in _references():
        steps = split_steps(text)
        out.append((steps, recorded, check_derivation([steps[0]], steps[-1], steps)))
    return out


def test_every_reference_is_checked(checked):
    assert len(checked) >= 35  # 10 problems x 4 (SR keeps the static reference), less a few equal ones
    assert all(len(result.steps) == len(steps) for steps, _, result in checked)


def test_no_reference_step_is_called_incorrect(checked):
    wrong = [(steps[s.index - 1], s.verdicts["incorrect"].reason)
             for steps, _, result in checked for s in result.steps if s.verdicts["incorrect"].value == YES]
    assert wrong == []


def test_irrelevant_only_on_steps_no_later_step_was_made_from(checked):
    said, false = 0, []
    for steps, recorded, result in checked:
        used = _used(recorded)
        for s in result.steps:
            if s.verdicts["irrelevant"].value == YES:
                said += 1
                if s.index in used:
                    false.append((steps[s.index - 1], recorded[s.index - 1][0]))
    print(f"'irrelevant' said on {said} reference steps, {len(false)} of them used by a later step")
    assert false == []
    assert said >= 1  # the AG variants leave a step unused: the checker finds it


def test_a_step_substituted_into_a_later_one_counts_as_used():
    # step 3 is made from step 2 by putting step 1 in; step 1 is used although no step is made from it
    steps = [r"f{(x)} = x^{2}", r"\frac{d}{d x} f{(x)} = 2 x", r"\frac{d}{d x} x^{2} = 2 x"]
    result = check_derivation([r"f{(x)} = x^{2}"], steps[-1], steps)
    third = result.steps[2]
    assert (third.source, third.operation) == (2, "substitute")
    assert third.uses in ([1], [0])  # the premise as written, or its restatement in step 1
    assert result.steps[0].verdicts["irrelevant"].value != YES
