"""The symbolic metric: reference steps reached up to SymPy equivalence, whatever the notation."""

from app.math.symbolic_metric import symbolic_scores

REFERENCE = [r"f{(x)} = x^{2}", r"\frac{d}{d x} f{(x)} = 2 x", r"x \frac{d}{d x} f{(x)} = 2 x^{2}"]


def test_the_same_equations_in_other_notation_score_as_the_reference():
    # sides swapped, T5 spacing, a product expanded otherwise: ROUGE-2 would punish all of it
    model = [r"x^{2} = f{(x)}", r"\ frac { d } { d x } f { (x) } = 2 x", r"x \frac{d}{d x} f{(x)} = 2 x x"]
    assert symbolic_scores(model, REFERENCE) == {"sym_recall": 1.0, "sym_precision": 1.0, "sym_goal": 1.0}


def test_a_wrong_step_and_an_extra_one_lower_recall_precision_and_goal():
    model = [r"f{(x)} = x^{2}", r"\frac{d}{d x} f{(x)} = 3 x", r"y = 1", r"x \frac{d}{d x} f{(x)} = 3 x^{2}"]
    scores = symbolic_scores(model, REFERENCE)
    assert scores == {"sym_recall": 1 / 3, "sym_precision": 1 / 4, "sym_goal": 0.0}


def test_nothing_to_score_against_and_nothing_readable():
    assert symbolic_scores(["x = 1"], ["not an equation"]) is None
    assert symbolic_scores(["no math here"], REFERENCE) == {"sym_recall": 0.0, "sym_precision": 0.0, "sym_goal": 0.0}
