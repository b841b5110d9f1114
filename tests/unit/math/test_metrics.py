"""Our ROUGE-2 / BLEU / GLEU reproduce the scores the paper's files carry."""

import json

import pytest

from app.math.metrics import text_metrics
from tests.helpers import PAPER_FILES


@pytest.mark.parametrize("model", sorted(PAPER_FILES))
def test_reproduces_every_stored_static_score(model):
    records = json.loads(PAPER_FILES[model].read_text())
    assert len(records) == 10
    for record in records:
        ours = text_metrics(record[f"static_{model}"], record["derivation"])
        assert ours["rouge2"] == pytest.approx(record["static_rouge"], abs=1e-6)
        assert ours["bleu"] == pytest.approx(record["static_bleu"], abs=1e-6)
        assert ours["gleu"] == pytest.approx(record["static_gleu"], abs=1e-6)


def test_identical_texts_score_one_and_no_reference_scores_nothing():
    text = r"\eta{(a)} = e^{a} and \frac{d}{d a} \eta{(a)} = e^{a}"
    assert text_metrics(text, text) == pytest.approx({"rouge2": 1.0, "bleu": 1.0, "gleu": 1.0})
    assert text_metrics(text, None) == {}


def test_empty_prediction_scores_zero():
    assert text_metrics("", "a = b and c = d") == {"rouge2": 0.0, "bleu": 0.0, "gleu": 0.0}


def test_bleu_is_unsmoothed_a_zero_four_gram_precision_gives_zero():
    """Hugging Face evaluate's BLEU (the paper's) does not smooth: unigrams to trigrams match
    here but no 4-gram does, so the score is exactly 0 (a smoothed BLEU would give ~0.4)."""
    from app.math.metrics import bleu

    prediction, reference = "x = a + b", "x = a - b"
    assert bleu(prediction, reference) == 0.0
    assert bleu("y = x + 1 and z = 2", "y = x + 1 and z = 2") == pytest.approx(1.0)
