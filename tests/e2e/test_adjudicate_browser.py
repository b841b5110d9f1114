"""Adjudication in a real headless Chromium: a reviewer opens a derivation two
annotators disagree on, sets the final labels and goal, settles it, and the exported
CSV holds both annotators' labels and the final ones."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from app.db import transaction
from app.models import Step
from app.repositories import annotations as annotations_repo
from app.services import annotating
from tests.e2e.conftest import log_in, review_team

pytestmark = pytest.mark.e2e


def test_settle_a_disagreement_and_export_it(server, page):
    from playwright.sync_api import expect

    base, sessions = server
    with transaction(sessions) as session:
        project, ann, bob = review_team(session)
        d = annotating.next_derivation(session, project_id=project.id, user=ann)
        annotations_repo.get_or_create(session, derivation_id=d, annotator_id=bob.id)  # its second slot
        steps = session.scalars(select(Step).where(Step.derivation_id == d).order_by(Step.index)).all()
        annotating.set_step_label(session, derivation_id=d, step_id=steps[1].id, label="incorrect", on=True, user=ann)
        annotating.set_step_label(session, derivation_id=d, step_id=steps[1].id, label="skipped", on=True, user=bob)
        annotating.submit(session, derivation_id=d, user=ann, goal_reached=False, comment="sign slip")
        annotating.submit(session, derivation_id=d, user=bob, goal_reached=False, comment="jumped")
        project_id = project.id

    log_in(page, base, "rita")
    page.goto(f"{base}/projects/{project_id}")
    page.click("text=Disagreements")
    expect(page.locator("#disagreements")).to_contain_text("1 to settle")
    page.click(f"a[href='/derivations/{d}/review']")
    expect(page.locator("h1")).to_contain_text(f"Review derivation #{d}")
    row = page.locator(f"tr[data-step-id='{steps[1].id}']")
    expect(row).to_have_class("disputed")
    expect(row.locator("td.side").nth(0)).to_contain_text("incorrect")
    expect(row.locator("td.side").nth(1)).to_contain_text("skipped")

    final = row.locator(f"#final-{steps[1].id}")
    final.locator("button[data-label='incorrect']").click()
    expect(final.locator("button[data-label='incorrect']")).to_have_attribute("aria-pressed", "true")
    page.check("#settlement input[name=goal_reached][value=no]")
    page.fill("#settlement textarea[name=comment]", "a sign slip, not a jump")
    page.click("#settlement button[type=submit]")
    expect(page.locator("#settled")).to_contain_text("settled")

    page.goto(f"{base}/projects/{project_id}")
    with page.expect_download() as download:
        page.click("#export-options button[type=submit]")  # one row per step, the default
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    step2 = {r["annotator"]: r for r in rows if r["derivation_id"] == str(d) and r["step_index"] == "2"}
    assert set(step2) == {"ann", "bob"}
    assert (step2["ann"]["incorrect"], step2["ann"]["skipped"]) == ("1", "0")
    assert (step2["bob"]["incorrect"], step2["bob"]["skipped"]) == ("0", "1")
    for r in step2.values():
        assert (r["final_incorrect"], r["final_skipped"], r["adjudicated_by"]) == ("1", "0", "rita")
