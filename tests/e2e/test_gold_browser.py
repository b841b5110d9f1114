"""Gold items in a real Chromium: a newcomer's first item is a gold one (nothing on the page
says so); after submitting it they see the answer beside their labels, continue to the
project's own items, and the agreement page shows their accuracy on gold."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db import transaction
from app.models import Derivation, Project, Role
from app.services import gold
from app.services.auth import create_user
from tests.e2e.conftest import PASSWORD, htmx_ready, log_in
from tests.helpers import derivation_in, ref

pytestmark = pytest.mark.e2e


def test_a_newcomer_meets_a_gold_item_and_gets_feedback(server, page):
    from playwright.sync_api import expect

    base, sessions = server
    with transaction(sessions) as session:
        project = session.scalar(select(Project).where(Project.name == "e2e"))
        assert gold.make(session, project_id=project.id, count=5, seed=3) == 5
        gold.set_rates(session, project_id=project.id, rate=0, onboarding=1)
        create_user(session, username="ann", password=PASSWORD, role=Role.annotator)
        project_id = project.id

    log_in(page, base, "ann")
    page.goto(f"{base}/projects/{project_id}")
    page.click("text=Annotate next")
    page.wait_for_url("**/derivations/*")
    first = derivation_in(page.url, "e2e")
    assert page.url.rsplit("/", 1)[1] != str(first)  # an enciphered reference, not the row id (a gold block)
    assert not page.locator(f"text=#{first}").count()
    expect(page.locator("body")).not_to_contain_text("gold")
    htmx_ready(page)
    page.keyboard.press("1")  # "incorrect" on step 1 (right or wrong: the feedback will say)
    expect(page.locator("#annotate")).to_have_attribute("data-pending", "0", timeout=15000)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/derivations/{ref(first, 'e2e')}/feedback")
    expect(page.locator("h1")).to_contain_text("practice item")
    expect(page.locator("#feedback tbody tr")).not_to_have_count(0)
    page.click("text=Continue")
    page.wait_for_url(lambda url: "/derivations/" in url and "feedback" not in url and f"/{ref(first, 'e2e')}" not in url)
    second = derivation_in(page.url, "e2e")
    with transaction(sessions) as session:
        assert session.get(Derivation, first).gold_truth is not None
        assert session.get(Derivation, second).gold_truth is None  # onboarding done: the project's own

    log_in(page, base, "alice")
    page.goto(f"{base}/projects/{project_id}/agreement")
    row = page.locator("#gold-table tr[data-annotator='ann'][data-label='incorrect']")
    expect(row).to_have_count(1)
    expect(row.locator("td[data-accuracy]")).to_contain_text("%")
