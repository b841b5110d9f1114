"""A project's own labels: edited on the settings page (add, rename, describe, reorder,
retire), or set from a preset; a retired label leaves new work and keeps old data."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from sqlalchemy import select

from app.errors import InvalidInput
from app.models import Project, Role, StepLabel
from app.services import annotating, taxonomy
from tests.helpers import htmx, login
from tests.factories import assign, make_derivation, make_project, make_user, steps_of


def _rows(*labels):
    return [{"key": k, "name": n, "help": "", "rating": r, "retired": ret} for k, n, r, ret in labels]


def test_retiring_a_label_keeps_every_label_made_with_it(client, db):
    project = make_project(db)
    d, fresh = make_derivation(db, project=project), make_derivation(db, project=project)
    ann = make_user(db, username="ann")
    assign(db, ann, d, fresh)
    s1 = steps_of(db, d)[0]
    annotating.set_step_label(db, derivation_id=d.id, step_id=s1.id, label="skipped", on=True, user=ann)
    annotating.submit(db, derivation_id=d.id, user=ann, goal_reached=True, comment="")
    # the ProcessBench preset lacks "skipped": data uses it, so it stays, retired; unused ones go
    labels = taxonomy.apply_preset(db, project_id=project.id, preset="processbench")
    assert [(i["key"], i["retired"]) for i in labels] == [("first_error", False), ("skipped", True)]
    assert db.scalar(select(StepLabel.label)) == "skipped"  # the old label is still there

    token = login(client, "ann")
    page = client.get(f"/derivations/{fresh.id}").text  # new work: no button for it
    assert 'data-label="first_error" data-hotkey="1"' in page and 'data-label="skipped"' not in page
    old = client.get(f"/derivations/{d.id}").text  # where it is on it shows, to be taken off
    assert re.search(r'class="label on retired"[^>]*\s+data-label="skipped"', old)
    refused = client.post(f"/derivations/{fresh.id}/steps/{steps_of(db, fresh)[0].id}/labels/skipped?on=true",
                          headers=htmx(token))
    assert refused.status_code == 422 and "is retired in this project" in html.unescape(refused.text)

    make_user(db, username="boss", role=Role.admin)
    login(client, "boss")
    export = client.get(f"/projects/{project.id}/export.csv?level=step").text
    rows = list(csv.DictReader(io.StringIO(export)))
    assert {"first_error", "skipped"} <= set(rows[0]) and any(r["skipped"] == "1" for r in rows)


def test_the_settings_page_renames_reorders_adds_and_refuses_bad_labels(client, db):
    project = make_project(db)
    make_user(db, username="boss", role=Role.admin)
    token = login(client, "boss")
    page = client.get(f"/projects/{project.id}/settings").text
    assert 'id="labels-settings"' in page and "<code>incorrect</code>" in page and "Use this preset" in page
    form = {"order": ["2", "1", "3", "4", "5"], "key": ["incorrect", "irrelevant", "redundant", "skipped", "sign_slip"],
            "name": ["Wrong", "Irrelevant", "Redundant", "Skipped steps", "Sign slip"],
            "help": ["", "", "", "", "a sign lost"], "rating": ["-1", "0", "0", "0", "-1"], "retired": ["", "", "1", "", ""]}
    saved = client.post(f"/projects/{project.id}/taxonomy", data=form, headers=htmx(token))
    assert saved.status_code == 200 and "Labels saved." in saved.text
    db.refresh(project)
    assert [(i["key"], i["name"], i.get("retired")) for i in project.taxonomy] == [
        ("irrelevant", "Irrelevant", False), ("incorrect", "Wrong", False), ("redundant", "Redundant", True),
        ("skipped", "Skipped steps", False), ("sign_slip", "Sign slip", False)]
    bad = dict(form, key=["incorrect", "incorrect", "redundant", "skipped", "Sign slip!"])
    refused = client.post(f"/projects/{project.id}/taxonomy", data=bad, headers=htmx(token))
    text = html.unescape(refused.text)
    assert refused.status_code == 422 and "key 'incorrect' is given twice" in text and "key 'Sign slip!'" in text
    db.refresh(project)
    assert project.taxonomy[1]["name"] == "Wrong"  # unchanged
    preset = client.post(f"/projects/{project.id}/taxonomy/preset", data={"preset": "lemma"}, headers=htmx(token))
    assert preset.status_code == 200 and "calculation" in preset.text


def test_label_rules(db):
    project = make_project(db)
    with pytest.raises(InvalidInput) as none_left:
        taxonomy.update(db, project_id=project.id, rows=_rows(("a", "A", -1, True)))
    assert "keep at least one label that is not retired" in none_left.value.details
    with pytest.raises(InvalidInput) as too_many:
        taxonomy.update(db, project_id=project.id, rows=_rows(*[(f"l{i}", f"L{i}", 0, False) for i in range(10)]))
    assert any("at most 9 labels" in d for d in too_many.value.details)
    with pytest.raises(InvalidInput, match="preset 'mine'"):
        taxonomy.apply_preset(db, project_id=project.id, preset="mine")
    assert db.get(Project, project.id).label_keys == ["incorrect", "irrelevant", "redundant", "skipped"]
    # an unused label is simply removed; the old projects' taxonomy reads with ratings filled in
    assert taxonomy.ratings(db.get(Project, project.id)) == {"incorrect": -1, "irrelevant": 0, "redundant": 0, "skipped": 0}
    taxonomy.update(db, project_id=project.id, rows=_rows(("incorrect", "Incorrect", -1, False)))
    assert db.get(Project, project.id).label_keys == ["incorrect"]
