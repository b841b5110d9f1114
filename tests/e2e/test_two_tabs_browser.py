"""Two tabs on one annotation in a real Chromium: the tab that missed the other's change
is told, lands on the current state, and its change is not written."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db import transaction
from app.models import StepLabel
from tests.e2e.conftest import button, log_in, saved

pytestmark = pytest.mark.e2e


def test_the_stale_tab_is_told_and_sees_the_current_state(server, page):
    from playwright.sync_api import expect

    base, sessions = server
    log_in(page, base)
    page.click("text=Annotate next")
    expect(page.locator("h1")).to_contain_text("Derivation #")
    button(page, 1, "incorrect").click()  # the annotation exists from now on
    expect(button(page, 1, "incorrect")).to_have_attribute("aria-pressed", "true")
    saved(page)  # stored: the page presses the button before the server answers
    url = page.url

    second = page.context.new_page()
    second.goto(url)
    expect(button(second, 1, "incorrect")).to_have_attribute("aria-pressed", "true")

    # tab 1 goes on tagging (quickly: its own changes never collide) ...
    page.keyboard.press("j")
    page.keyboard.press("3")
    page.keyboard.press("4")
    expect(button(page, 2, "skipped")).to_have_attribute("aria-pressed", "true")
    expect(button(page, 2, "redundant")).to_have_attribute("aria-pressed", "true")
    saved(page)  # what tab 2 has not seen must be stored before it acts
    # ... then tab 2, which has not seen that, removes "incorrect" from step 1
    button(second, 1, "incorrect").click()
    expect(second.locator("#changed-elsewhere")).to_be_visible()
    expect(second).to_have_url(url + "?changed=true")
    expect(button(second, 1, "incorrect")).to_have_attribute("aria-pressed", "true")  # not removed
    expect(button(second, 2, "skipped")).to_have_attribute("aria-pressed", "true")  # tab 1's work shown

    with transaction(sessions) as session:
        labels = set(session.execute(select(StepLabel.label)).scalars())
    assert labels == {"incorrect", "redundant", "skipped"}

    # now current, tab 2 may change it
    button(second, 1, "incorrect").click()
    expect(button(second, 1, "incorrect")).to_have_attribute("aria-pressed", "false")
    saved(second)
    with transaction(sessions) as session:
        assert set(session.execute(select(StepLabel.label)).scalars()) == {"redundant", "skipped"}
