import json

import pytest

from app.math.latex import STEP_SEPARATOR, display_form, split_steps
from tests.helpers import PAPER_FILES


def test_split_keeps_each_equation_exactly():
    text = r" \eta{(a)} = e^{a} and \frac{d}{d a} \eta{(a)} = e^{a}"
    assert split_steps(text) == [r" \eta{(a)} = e^{a}", r"\frac{d}{d a} \eta{(a)} = e^{a}"]


def test_split_drops_blank_tail_of_truncated_output():
    assert split_steps("a = b and c = d and ") == ["a = b", "c = d"]


def test_split_does_not_cut_words_containing_and():
    assert split_steps(r"\operatorname{band}{(x)} = x and y = 1") == [r"\operatorname{band}{(x)} = x", "y = 1"]


@pytest.mark.parametrize("model", sorted(PAPER_FILES))
def test_every_sample_output_is_its_steps_rejoined(model):
    records = json.loads(PAPER_FILES[model].read_text())
    outputs = [v for r in records for k, v in r.items() if k.endswith("_" + model) and isinstance(v, str)]
    assert len(outputs) == 50
    for value in outputs:
        steps = split_steps(value)
        assert steps and all(step.strip() for step in steps)
        if not value.endswith(" and "):
            assert STEP_SEPARATOR.join(steps) == value


def test_display_form_undoes_t5_spacing_only():
    assert display_form(r"eta { (a) } = e ^ { a }") == r"\eta { (a) } = e ^ { a }"
    assert display_form(r"\ frac { d } { d a } \ eta { (a) }") == r"\frac { d } { d a } \eta { (a) }"
    # ordinary LaTeX is left alone, including a control space before one letter
    assert display_form(r"\eta{(a)} = e^{a}") == r"\eta{(a)} = e^{a}"
    assert display_form(r"a\ b = c") == r"a\ b = c"
