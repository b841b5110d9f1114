"""Quick keys in a real Chromium, on a slow network: every change lands, in order.

The first change creates the annotation; the next ones are pressed ~30 ms apart while
each answer takes 150 ms, so without the page's queue they would overtake each other
(and three presses of one key would not be on, off, on). Then Back after Submit shows
the current state, and a change made there is saved, not refused as "another tab"."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from app.db import transaction
from app.models import Annotation, Step, StepLabel
from tests.e2e.conftest import button, htmx_ready, log_in

pytestmark = pytest.mark.e2e


def test_quick_keys_on_a_slow_network_are_all_saved_in_order(server, page):
    from playwright.sync_api import expect

    base, sessions = server
    log_in(page, base)

    def slow(route):
        if route.request.method == "POST":
            time.sleep(0.15)
        route.continue_()

    page.route("**/derivations/**", slow)
    page.goto(base + "/derivations/3")  # an admin opening a derivation nobody has started
    expect(page.locator("#status-badge")).to_have_text("not started")
    htmx_ready(page)
    for key in ["1", "1", "1", "j", "2", "4", "4", "g"]:
        page.keyboard.press(key)
        page.wait_for_timeout(30)
    # what the annotator asked for shows at once, before the answers
    expect(button(page, 1, "incorrect")).to_have_attribute("aria-pressed", "true")
    expect(button(page, 2, "irrelevant")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#annotate")).to_have_attribute("data-pending", "0", timeout=15000)
    expect(page.locator("#save-status")).to_contain_text("Saved")
    with transaction(sessions) as session:
        labels = set(session.execute(
            select(Step.index, StepLabel.label).join(Step, Step.id == StepLabel.step_id)
            .where(Step.derivation_id == 3)).all())
        goal = session.scalar(select(Annotation.goal_reached).where(Annotation.derivation_id == 3))
    assert labels == {(1, "incorrect"), (2, "irrelevant")}
    assert goal is True
    page.reload()
    expect(button(page, 1, "incorrect")).to_have_attribute("aria-pressed", "true")
    expect(button(page, 2, "skipped")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#changed-elsewhere")).to_have_count(0)

    # submit, then Back: the page is the current one (submitted), and a change there is kept
    page.unroute("**/derivations/**")
    url = page.url
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: u != url and "/derivations/" in u)
    page.go_back()
    expect(page).to_have_url(url)
    expect(page.locator("#status-badge")).to_have_text("submitted")
    htmx_ready(page)
    page.keyboard.press("j")
    page.keyboard.press("3")
    expect(page.locator("#status-badge")).to_have_text("changed since submitted: submit again")
    expect(page.locator("#changed-elsewhere")).to_have_count(0)
    expect(page.locator("#save-status")).to_contain_text("submit again")


def test_skip_previous_and_guidelines(server, page):
    from playwright.sync_api import expect

    base, sessions = server
    with transaction(sessions) as session:
        from app.models import Project
        session.scalar(select(Project)).guidelines = "## Incorrect\n\nA step is *incorrect* when ..."
    log_in(page, base)
    page.click("text=Annotate next")
    expect(page.locator("#guidelines")).to_be_visible()
    htmx_ready(page)  # first visit: shown by itself
    expect(page.locator("#guidelines h2", has_text="Incorrect")).to_be_visible()
    page.keyboard.press("i")
    expect(page.locator("#guidelines")).to_be_hidden()
    first = page.url
    page.keyboard.press("n")  # skip: the next one opens
    page.wait_for_url(lambda u: u != first)
    htmx_ready(page)
    expect(page.locator("#guidelines")).to_be_hidden()  # not again
    second = page.url
    page.keyboard.press("p")
    page.wait_for_url(first)
    htmx_ready(page)
    page.keyboard.press("u")  # unsure on step 1
    expect(page.locator(".step:nth-child(1) input[name=unsure]")).to_be_checked()
    expect(page.locator("#annotate")).to_have_attribute("data-pending", "0")
    expect(page.locator("#save-status")).to_contain_text("Saved")
    page.reload()
    expect(page.locator(".step:nth-child(1) input[name=unsure]")).to_be_checked()
    assert second != first
