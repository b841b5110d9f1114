"""The key flow in a real headless Chromium: log in, tag two steps with the
keyboard, reload and see them kept, submit, and find them in the exported CSV."""

from __future__ import annotations

import csv
import io
import threading
import time

import pytest
import uvicorn

from app.config import Settings
from app.db import make_engine, make_sessionmaker, transaction
from app.models import AutoCheck, Role
from app.services.auth import create_user
from app.services.importing import import_file
from tests.conftest import PAPER_FILES, free_port

pytestmark = pytest.mark.e2e
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "e2e password 1"
# First in the queue: step 2 is LaTeX KaTeX cannot render; it must stay taggable.
BROKEN = ('{"problem_id": "broken", "prompt": "Given a = b, then obtain c = d", "model": "m", '
          '"reference": "a = b and c = d", "derivation": "a = b and \\\\frac{1}{ = c and c = d"}\n')


@pytest.fixture
def server(fresh_database_url, tmp_path):
    from app.main import create_app

    sessions = make_sessionmaker(make_engine(fresh_database_url))
    with transaction(sessions) as session:
        import_file(session, project_name="e2e", filename="broken.jsonl", data=BROKEN.encode())
        import_file(session, project_name="e2e", filename="gpt4.json", data=PAPER_FILES["gpt-4"].read_bytes())
        create_user(session, username="alice", password=PASSWORD, role=Role.admin)
        # a SymPy suggestion on the first derivation's first step, to accept with `a`
        session.add(AutoCheck(derivation_id=1, step_index=1, label="irrelevant", verdict="yes", reason="unused"))
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path, secret_key="e2e", _env_file=None)
    port = free_port()
    config = uvicorn.Config(create_app(settings, sessions), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", sessions
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True)
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        yield pg
        browser.close()
        assert not errors, errors  # no JavaScript error on any page


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

    # the help overlay and the reference are one key away
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_hidden()
    page.keyboard.press("r")
    expect(page.locator("#reference")).to_be_visible()

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
        page.click("text=Export steps (CSV)")
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    derivation_id = url.rsplit("/", 1)[1]
    mine = [r for r in rows if r["derivation_id"] == derivation_id]
    assert [(r["step_index"], r["incorrect"], r["irrelevant"], r["redundant"], r["annotator"]) for r in mine] == [
        ("1", "0", "1", "0", "alice"), ("2", "1", "0", "0", "alice"), ("3", "0", "0", "1", "alice"),
    ]
    assert mine[1]["latex"] == "\\frac{1}{ = c" and mine[0]["submitted_at"]
