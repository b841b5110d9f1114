"""Agreement figures against hand-computed values.

The data is the worked example of Krippendorff's "Computing Krippendorff's
Alpha-Reliability" (2011): four observers, twelve units, values 1-5, some missing;
nominal alpha = 0.743. Here a unit is a one-step derivation and a value is the label
set an annotator gave its step (1: none, 2: incorrect, 3: irrelevant, 4: redundant,
5: skipped); a missing value is an annotator who did not submit that derivation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import Step
from app.services import agreement, annotating
from tests.factories import assign, make_derivation, make_project, make_user

VALUES = {  # observer -> values of units 1..12 (None: missing)
    "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
}
LABEL = {1: None, 2: "incorrect", 3: "irrelevant", 4: "redundant", 5: "skipped"}


@pytest.fixture
def example(db):
    project = make_project(db)
    users = {name: make_user(db, username=f"obs{name}") for name in VALUES}
    units = [make_derivation(db, project=project, text=f"x_{u} = {u}", model="m") for u in range(12)]
    for name, values in VALUES.items():
        user = users[name]
        for unit, value in zip(units, values):
            if value is None:
                continue
            assign(db, user, unit)
            step = db.scalar(select(Step).where(Step.derivation_id == unit.id))
            if LABEL[value]:
                annotating.set_step_label(db, derivation_id=unit.id, step_id=step.id, label=LABEL[value], on=True,
                                          user=user)
            annotating.submit(db, derivation_id=unit.id, user=user, goal_reached=value != 2, comment="")
    db.flush()
    return project


def test_krippendorff_alpha_kappa_and_percent_match_the_worked_example(db, example):
    report = agreement.compute(db, project_id=example.id)
    overall = report.figures[0]
    assert overall.alpha == pytest.approx(0.743, abs=5e-4)  # Krippendorff (2011)
    assert overall.items == 11  # unit 12 has a single value: not pairable
    assert overall.percent == pytest.approx(8 / 11)  # units 1,3,4,5,7,9,10,11 agree fully
    # A and B both judged units 1-9: agree on 8; marginals A 3/3/2/1, B 2/4/2/1 (values 1-4)
    # p_o = 72/81, p_e = 23/81, kappa = 49/58
    assert report.kappa[("obsA", "obsB")] == pytest.approx(49 / 58)
    assert report.pair_items[("obsA", "obsB")] == 9


def test_per_label_alpha_matches_a_hand_computed_coincidence_matrix(db, example):
    report = agreement.compute(db, project_id=example.id)
    incorrect = next(f for f in report.figures if f.name == "Incorrect")
    # 0/1 "incorrect": 40 pairable values, 13 ones; D_o = (2+2+2)/40, D_e = 2*13*27/(40*39)
    assert incorrect.alpha == pytest.approx(1 - (6 / 40) / (702 / 1560))
    assert incorrect.alpha == pytest.approx(2 / 3)
    assert incorrect.percent == pytest.approx(8 / 11) and incorrect.items == 11


def test_goal_reached_and_undefined_figures(db, example):
    report = agreement.compute(db, project_id=example.id)
    goal = next(f for f in report.figures if f.name == "goal reached")
    # goal "no" exactly where the value is 2 ("incorrect"): the same 0/1 data as that label
    incorrect = next(f for f in report.figures if f.name == "Incorrect")
    assert goal.alpha == pytest.approx(incorrect.alpha) and goal.items == 11
    assert agreement.alpha({1: {1: "a", 2: "a"}, 2: {1: "a", 2: "a"}}) is None  # one value: undefined
    assert agreement.kappa({1: {1: "a", 2: "a"}}, 1, 2) == (None, 1)


def test_filters_narrow_the_items(db, example):
    other = make_derivation(db, project=example, text="y = 1", model="other-model")
    report = agreement.compute(db, project_id=example.id, model_id=other.model_id)
    assert report.figures[0].items == 0 and report.figures[0].alpha is None
