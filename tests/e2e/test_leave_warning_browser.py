"""Submit and Next leave the page without the browser's "Leave site?" warning: the request
that navigates away is not unsaved work (issue 24, item 1). This test fails on the page before
the fix (the Submit request counted as an unsaved change while the page navigated)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import htmx_ready, log_in

pytestmark = pytest.mark.e2e


def test_submit_after_saved_raises_no_leave_warning(server, page):
    from playwright.sync_api import expect

    base, _ = server
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.type), d.dismiss()))
    log_in(page, base)
    page.goto(base + "/derivations/3")
    htmx_ready(page)
    page.keyboard.press("1")
    expect(page.locator("#save-status")).to_contain_text("Saved")  # what the server said
    start = page.url
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: url != start, timeout=15000)
    page.wait_for_load_state("load")
    assert dialogs == [], dialogs
