import json

import pytest

from app.math.prompt import parse_prompt, target_prompt
from tests.helpers import PAPER_FILES


def test_premise_intermediate_and_goal():
    p = parse_prompt(r"Given \eta{(a)} = e^{a}, then derive \frac{d}{d a} \eta{(a)} = e^{a}, then obtain \eta{(a)} = 1")
    assert p.premises == [r"\eta{(a)} = e^{a}"]
    assert p.intermediates == [r"\frac{d}{d a} \eta{(a)} = e^{a}"]
    assert p.goal == r"\eta{(a)} = 1"


def test_several_premises_and_intermediates():
    p = parse_prompt("Given a = b and c = d, then derive e = f, then derive g = h, then obtain i = j")
    assert p.premises == ["a = b", "c = d"]
    assert p.intermediates == ["e = f", "g = h"]
    assert p.goal == "i = j"


def test_step_removal_prompt_has_no_intermediate():
    p = parse_prompt("Given a = b, then obtain c = d")
    assert (p.premises, p.intermediates, p.goal) == (["a = b"], [], "c = d")


def test_few_shot_prompt_uses_the_last_target():
    prompt = "examples...\n\nPrompt: Given x = 1, then obtain y = 2\n\nDerivation: x = 1 and y = 2\n\n\nPrompt: Given u = v, then obtain w = z"
    assert target_prompt(prompt) == "Given u = v, then obtain w = z"
    assert parse_prompt(prompt).goal == "w = z"


def test_other_prompt_forms_are_not_understood():
    p = parse_prompt("Prove that the sum of two even numbers is even.")
    assert not p.understood and p.premises == [] and p.goal is None


@pytest.mark.parametrize("model", sorted(PAPER_FILES))
def test_all_sample_prompts_are_understood(model):
    for record in json.loads(PAPER_FILES[model].read_text()):
        for key in ("prompt", "VR prompt", "EE prompt", "AG prompt", "SR prompt"):
            parsed = parse_prompt(record[key])
            assert parsed.understood, key
            if key == "SR prompt":
                assert parsed.intermediates == []
