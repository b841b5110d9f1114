"""Issue 24 item 3 and issue 25 item 4, in the browser: a project made with "New project",
its tools in labelled groups, the settings page laid out as read (a key badge inline, words
over their fields, no bold typing), renamed, and deleted once its name is typed."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from app.models import Project
from tests.e2e.conftest import log_in, screenshot


def test_a_project_from_new_to_deleted(server, page):
    base, sessions = server
    log_in(page, base)
    page.click("#new-project summary")
    page.fill("#new-project input[name=name]", "pilot study")
    page.select_option("#new-project select[name=preset]", "processbench")
    page.click("#new-project button[type=submit]")
    page.wait_for_url(lambda u: "/projects/" in u)
    expect(page.locator("h1")).to_have_text("pilot study")
    screenshot(page, "project")
    legends = page.locator(".toolbar legend").all_inner_texts()
    assert legends == ["Annotate", "Analyse", "Export", "Training data", "Manage"]
    for dropdown in page.locator(".toolbar select").all():  # every drop-down says what it chooses
        assert dropdown.evaluate("s => !!s.closest('label')"), dropdown.evaluate("s => s.outerHTML")

    page.click("text=Settings")
    page.wait_for_url(lambda u: u.endswith("/settings"))
    screenshot(page, "settings")
    kbd = page.locator("#settings label kbd").first.bounding_box()
    assert kbd["width"] < 40, kbd  # the `i` key inline, not a full-width bar
    weight = page.locator("textarea[name=guidelines]").evaluate("t => getComputedStyle(t).fontWeight")
    assert weight == "400"
    gold = [page.locator(f"#gold-settings input[name={n}]").bounding_box() for n in ("rate", "onboarding")]
    assert abs(gold[0]["y"] - gold[1]["y"]) < 2, gold  # side by side, at one height

    page.fill("#project-lifecycle input[name=name]", "pilot study (2026)")
    page.click("#project-lifecycle button:has-text('Save name and description')")
    expect(page.locator(".flash.ok")).to_contain_text("Name and description saved.")
    with sessions() as session:
        assert session.scalar(select(Project.name).where(Project.name.like("pilot%"))) == "pilot study (2026)"

    page.fill("#project-lifecycle input[name=confirm]", "pilot study")  # not its name: nothing goes
    page.click("#project-lifecycle button.danger")
    expect(page.locator("body")).to_contain_text("type the project's name, 'pilot study (2026)'")
    page.go_back()
    page.fill("#project-lifecycle input[name=confirm]", "pilot study (2026)")
    page.click("#project-lifecycle button.danger")
    page.wait_for_url(lambda u: "deleted=" in u)
    expect(page.locator(".flash.ok")).to_contain_text("Project ‘pilot study (2026)’ deleted.")
    with sessions() as session:
        assert session.scalar(select(Project).where(Project.name.like("pilot%"))) is None
