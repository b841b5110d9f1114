"""The key flow in a real headless Chromium: log in, tag two steps with the
keyboard, reload and see them kept, submit, and find them in the exported CSV."""

from __future__ import annotations

import csv
import io

import pytest

from tests.helpers import derivation_in
from tests.e2e.conftest import PASSWORD, log_in, saved, screenshot

pytestmark = pytest.mark.e2e


def pressed(page, step_no: int, label: str):
    return page.locator(f".step:nth-child({step_no}) .labels button[data-label='{label}']")


def test_tag_with_keyboard_reload_submit_export(server, page):
    from playwright.sync_api import expect

    base, sessions = server
    page.goto(base + "/")
    expect(page).to_have_url(base + "/login?next=/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.click("text=Annotate next")
    expect(page.locator("h1")).to_contain_text("Derivation #")
    # the queue is shuffled; the derivation with the step KaTeX cannot render is #1
    page.goto(base + "/derivations/1")
    url = page.url

    # the step KaTeX cannot render shows its raw text, still taggable
    broken = page.locator(".step:nth-child(2) .math")
    expect(broken).to_have_attribute("data-rendered", "raw")
    expect(broken).to_have_text("\\frac{1}{ = c")
    expect(page.locator(".step:nth-child(1) .math")).to_have_attribute("data-rendered", "katex")

    # step 1 is current; j moves to step 2, 1 = incorrect; j to step 3, 3 = redundant
    page.keyboard.press("j")
    page.keyboard.press("1")
    expect(pressed(page, 2, "incorrect")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("j")
    page.keyboard.press("3")
    expect(pressed(page, 3, "redundant")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#status-badge")).to_have_text("in progress")
    # a step's labels, "unsure" and note share one line (they stacked down the left: ~185 px a step)
    for n in (1, 2, 3):
        labels = page.locator(f".step:nth-child({n}) .labels").bounding_box()
        note = page.locator(f".step:nth-child({n}) .step-note").bounding_box()
        assert abs((labels["y"] + labels["height"] / 2) - (note["y"] + note["height"] / 2)) < 12, (labels, note)
        assert note["x"] > labels["x"] + labels["width"] - 1
    screenshot(page, "annotate")

    # the help overlay and the reference are one key away
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_hidden()
    page.keyboard.press("r")
    expect(page.locator("#reference")).to_be_visible()

    saved(page)  # a reload shows what the server stored: wait until it has
    page.reload()
    expect(pressed(page, 2, "incorrect")).to_have_attribute("aria-pressed", "true")
    expect(pressed(page, 3, "redundant")).to_have_attribute("aria-pressed", "true")
    expect(pressed(page, 1, "incorrect")).to_have_attribute("aria-pressed", "false")

    # step 1 is current after a reload; `a` accepts SymPy's suggestion for it
    expect(page.locator(".step:nth-child(1) .suggestion")).to_contain_text("irrelevant")
    page.keyboard.press("a")
    expect(pressed(page, 1, "irrelevant")).to_have_attribute("aria-pressed", "true")

    page.keyboard.press("g")  # goal reached: yes
    expect(page.locator("#save-status")).to_contain_text("Saved")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: u != url and "/derivations/" in u)

    # the admin downloads the step CSV from the project page
    project_link = page.locator(".annotate-head a.push")
    project_link.click()
    with page.expect_download() as download:
        page.click("#export-options button[type=submit]")  # one row per step, the default
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    derivation_id = str(derivation_in(url, "e2e"))
    mine = [r for r in rows if r["derivation_id"] == derivation_id]
    assert [(r["step_index"], r["incorrect"], r["irrelevant"], r["redundant"], r["annotator"]) for r in mine] == [
        ("1", "0", "1", "0", "alice"), ("2", "1", "0", "0", "alice"), ("3", "0", "0", "1", "alice"),
    ]
    assert mine[1]["latex"] == "\\frac{1}{ = c" and mine[0]["submitted_at"]


def test_a_six_step_derivation_fits_one_laptop_screen(server, page):
    """Issue 24, item 2: the steps, their labels and the goal of a typical 6-step derivation on
    one 1280x800 screen, without scrolling (it took ~990 px)."""
    from sqlalchemy import func, select

    from app.models import Step
    from tests.helpers import ref

    base, sessions = server
    with sessions() as session:
        six = session.execute(select(Step.derivation_id).group_by(Step.derivation_id)
                              .having(func.count() == 6).order_by(Step.derivation_id).limit(1)).scalar_one()
    log_in(page, base)
    page.goto(f"{base}/derivations/{ref(six, 'e2e')}")
    assert page.viewport_size == {"width": 1280, "height": 800}
    assert page.locator(".step").count() == 6
    for n in range(1, 7):  # each step's last label button and note box are on screen
        for box in (page.locator(f".step:nth-child({n}) .labels button").last.bounding_box(),
                    page.locator(f".step:nth-child({n}) .step-note input[type=text]").bounding_box()):
            assert box["y"] + box["height"] <= 800, (n, box)
    for selector in ("#judgement input[value=yes]", "#judgement textarea", "#submit-button"):
        box = page.locator(selector).bounding_box()
        assert box["y"] + box["height"] <= 800, (selector, box)
