"""Correcting a wrong step in a real headless Chromium: on the review page the reviewer sees
SymPy's proposed step, types their own LaTeX and watches KaTeX render it as they type, then
accepts SymPy's instead; a re-check is queued ahead of bulk work."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db import transaction
from app.math.sandbox import Sandbox
from app.models import Step, StepCorrection
from app.repositories import annotations as annotations_repo
from app.repositories import checks as checks_repo
from app.services import annotating, checking
from tests.e2e.conftest import htmx_ready, log_in, review_team
from tests.factories import make_derivation

pytestmark = pytest.mark.e2e


def test_accept_or_type_the_correct_step(server, page):
    from playwright.sync_api import expect

    base, sessions = server
    with transaction(sessions) as session:
        project, ann, bob = review_team(session)
        d = make_derivation(session, project=project, text=r"f{(x)} = x^{2} and \frac{d}{d x} f{(x)} = 3 x",
                            reference=r"f{(x)} = x^{2} and \frac{d}{d x} f{(x)} = 2 x").id
        steps = session.scalars(select(Step).where(Step.derivation_id == d).order_by(Step.index)).all()
        for user in (ann, bob):
            annotations_repo.get_or_create(session, derivation_id=d, annotator_id=user.id)
        annotating.set_step_label(session, derivation_id=d, step_id=steps[1].id, label="incorrect", on=True, user=ann)
        annotating.submit(session, derivation_id=d, user=ann, goal_reached=False, comment="")
        annotating.submit(session, derivation_id=d, user=bob, goal_reached=False, comment="")
        sandbox = Sandbox(1)
        try:
            for checked in checking.check_items(sandbox, checks_repo.to_check(session, derivation_ids=[d])):
                checks_repo.save(session, checked.derivation_id, checked.rows, checked.parse, checked.proposals)
        finally:
            sandbox.close()
    step_id = steps[1].id

    log_in(page, base, "rita")
    page.goto(f"{base}/derivations/{d}/review")
    htmx_ready(page)
    box = page.locator(f"#correction-{step_id}")
    expect(box.locator(".proposal")).to_contain_text("SymPy proposes")
    expect(box.locator(".proposal .math")).to_have_attribute("data-rendered", "katex")

    field = box.locator("input[name=latex]")
    field.fill(r"\frac{d}{d x} f{(x)} = 2 x")  # typing: the preview renders as it goes
    preview = page.locator(f"#preview-{step_id}")
    expect(preview.locator(".katex")).to_have_count(1)
    field.fill(r"\frac{d}{d x} f{(x)} = \frac{")  # not LaTeX yet: shown raw, marked
    expect(preview).to_have_class("math-preview unrendered")
    field.fill(r"\frac{d}{d x} f{(x)} = 2 x")
    box.locator("button", has_text="Save").click()
    expect(page.locator(f"#correction-{step_id} [data-correction]")).to_have_attribute(
        "data-correction", r"\frac{d}{d x} f{(x)} = 2 x")

    page.locator(f"#correction-{step_id} button.accept-proposal").click()
    expect(page.locator(f"#correction-{step_id} [data-correction]")).to_contain_text("SymPy's, accepted")
    with transaction(sessions) as session:
        [row] = session.scalars(select(StepCorrection)).all()
        proposal = checks_repo.proposals_for(session, d)[2]
        assert (row.latex, row.from_proposal) == (proposal.latex, True)

    page.click("text=Re-check with SymPy")
    expect(page.locator("#recheck-status")).to_have_attribute("data-state", "queued")  # no worker in this test
