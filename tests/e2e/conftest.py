"""Real-browser fixtures: a served app on a database of its own, and headless Chromium."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from app.config import Settings
from app.db import make_engine, make_sessionmaker, transaction
from sqlalchemy import select, update

from app.models import AutoCheck, Project, Role
from app.services.auth import create_user
from app.services.importing import import_file
from tests.helpers import PAPER_FILES, free_port
from tests.factories import score_all

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "e2e password 1"
# First in the queue: step 2 is LaTeX KaTeX cannot render; it must stay taggable.
BROKEN = ('{"problem_id": "broken", "prompt": "Given a = b, then obtain c = d", "model": "m", '
          '"reference": "a = b and c = d", "derivation": "a = b and \\\\frac{1}{ = c and c = d"}\n')


def review_team(session):
    """The e2e project with overlap 2, a reviewer (rita) and two annotators (ann, bob);
    returns (project, ann, bob)."""
    project = session.scalar(select(Project).where(Project.name == "e2e"))
    project.overlap = 2
    create_user(session, username="rita", password=PASSWORD, role=Role.reviewer)
    ann = create_user(session, username="ann", password=PASSWORD, role=Role.annotator)
    bob = create_user(session, username="bob", password=PASSWORD, role=Role.annotator)
    return project, ann, bob


def log_in(page, base: str, username: str = "alice") -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def button(page, step_no: int, label: str):
    """A label button of the annotate page's step `step_no` (1-based)."""
    return page.locator(f".step:nth-child({step_no}) .labels button[data-label='{label}']")


def saved(page) -> None:
    """Wait for what the server said, not the page's own state: every change of the annotate
    page answered and "Saved" shown (a label button is pressed the moment the key is, before
    the server has stored anything)."""
    from playwright.sync_api import expect

    expect(page.locator("#annotate")).to_have_attribute("data-pending", "0", timeout=15000)
    expect(page.locator("#save-status")).to_contain_text("Saved")


def htmx_ready(page) -> None:
    """Wait until htmx has wired the page up: it initialises in a timer after the deferred
    scripts, which can be after the load event a test waits for (no person is that fast)."""
    page.locator("[data-htmx-powered]").first.wait_for(state="attached")


def screenshot(page, name: str) -> None:
    """The README's pictures: `make screenshots` runs the browser tests with
    DERIVLAB_SCREENSHOTS=docs/screenshots; otherwise nothing is written."""
    folder = os.environ.get("DERIVLAB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


@pytest.fixture
def server(fresh_database_url, tmp_path):
    from app.main import create_app

    sessions = make_sessionmaker(make_engine(fresh_database_url))
    with transaction(sessions) as session:
        import_file(session, project_name="e2e", filename="broken.jsonl", data=BROKEN.encode())
        import_file(session, project_name="e2e", filename="gpt4.json", data=PAPER_FILES["gpt-4"].read_bytes())
        score_all(session)
        # no guidelines: they open by themselves on a first visit (test_fast_keys_browser tests that)
        session.execute(update(Project).values(guidelines=""))
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
        context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 800})
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        yield pg
        browser.close()
        assert not errors, errors  # no JavaScript error on any page
