"""Exports say what was judged and submitted: a derivation counts as judged when all of the
project's k annotators submitted and agree (or a reviewer settled it), and an annotation
reopened and changed but not submitted again reaches no export until it is."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from app.models import Project
from app.repositories import api as api_repo
from app.services import annotating, exporting, training
from tests.factories import assign, make_derivation, make_project, make_user, steps_of


def _step_csv(sessions, project: Project) -> list[dict]:
    text = "".join(exporting.stream_csv(sessions, project_id=project.id, labels=project.label_keys, level="step"))
    return list(csv.DictReader(io.StringIO(text)))


def test_a_reopened_change_waits_for_its_submit(db, sessions):
    project = make_project(db)
    d = make_derivation(db, project=project)
    ann = make_user(db, username="ann")
    assign(db, ann, d)
    first = steps_of(db, d)[1]
    annotating.set_step_label(db, derivation_id=d.id, step_id=first.id, label="incorrect", on=True, user=ann)
    annotating.submit(db, derivation_id=d.id, user=ann, goal_reached=False, comment="")
    # reopened: the label taken off and the goal changed, not submitted again
    annotating.set_step_label(db, derivation_id=d.id, step_id=first.id, label="incorrect", on=False, user=ann)
    annotating.save_judgement(db, derivation_id=d.id, user=ann, goal_reached=True, comment="second thoughts")
    db.flush()

    rows = _step_csv(sessions, project)
    assert [r["incorrect"] for r in rows] == ["0", "1", "0"]
    [rewards] = training.build(db, project_id=project.id, kind="step-rewards").records
    assert rewards["ratings"] == [1, -1, 1] and rewards["goal_reached"] is False
    [listed], _ = api_repo.annotations(db, project_id=project.id, since=None, limit=10, offset=0)
    assert listed["goal_reached"] is False and listed["comment"] == ""

    annotating.submit(db, derivation_id=d.id, user=ann, goal_reached=True, comment="second thoughts")
    db.flush()
    assert [r["incorrect"] for r in _step_csv(sessions, project)] == ["0", "0", "0"]
    [rewards] = training.build(db, project_id=project.id, kind="step-rewards").records
    assert rewards["ratings"] == [1, 1, 1] and rewards["goal_reached"] is True


def test_agreed_means_all_k_annotators_submitted(db):
    project = make_project(db, overlap=3)
    d = make_derivation(db, project=project)
    people = [make_user(db, username=name) for name in ("a1", "a2", "a3")]
    for n, user in enumerate(people, start=1):
        assign(db, user, d)
        annotating.submit(db, derivation_id=d.id, user=user, goal_reached=True, comment="")
        db.flush()
        records = training.build(db, project_id=project.id, kind="step-rewards").records
        assert len(records) == (1 if n == 3 else 0), f"{n} of 3 submitted"
    assert records[0]["judged_by"] == "agreed"
    assert db.scalar(select(Project.overlap).where(Project.id == project.id)) == 3


def test_a_correction_without_an_error_label_cannot_be_settled_silently(db):
    import pytest

    from app.errors import InvalidInput
    from app.models import Role
    from app.services import adjudication, corrections

    project = make_project(db, overlap=2)
    d = make_derivation(db, project=project)
    rita = make_user(db, username="rita", role=Role.reviewer)
    step = steps_of(db, d)[1]
    for name in ("a1", "a2"):
        user = make_user(db, username=name)
        assign(db, user, d)
        annotating.submit(db, derivation_id=d.id, user=user, goal_reached=name == "a1", comment="")
    corrections.set_correction(db, derivation_id=d.id, step_id=step.id, latex=r"\frac{d}{d x} f{(x)} = 2 x",
                               accept_proposal=False, reviewer=rita)
    with pytest.raises(InvalidInput, match="step 2 has a correction but no error label: mark it \\(incorrect\\)"):
        adjudication.settle(db, derivation_id=d.id, reviewer=rita, goal_reached=True, comment="")
    adjudication.set_final_label(db, derivation_id=d.id, step_id=step.id, label="incorrect", on=True, reviewer=rita)
    adjudication.settle(db, derivation_id=d.id, reviewer=rita, goal_reached=True, comment="")
    [record] = training.build(db, project_id=project.id, kind="corrections").records
    assert record["error_step"] == 2 and record["correction"] == r"\frac{d}{d x} f{(x)} = 2 x"
