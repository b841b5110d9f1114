"""A generation run in a real headless Chromium: an admin queues it from the form,
the run page polls (htmx) while a worker runs it, and shows it done without a reload."""

from __future__ import annotations

import threading

import pytest

from app.worker.backends import BackendCache
from app.worker.handlers import Context
from app.worker.loop import Worker
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e


def test_queue_a_run_and_watch_it_finish(server, page, tiny_model):
    from playwright.sync_api import expect

    base, sessions = server
    log_in(page, base)
    page.click("table.grid a:text-is('e2e')")  # the project link (the New project form lists it too)
    page.click("text=Generate (runs)")
    page.fill("input[name=model]", str(tiny_model))
    page.fill("input[name=name]", "tiny-browser")
    for perturbation in ("VR", "EE", "AG", "SR"):
        page.uncheck(f"input[name=perturbations][value={perturbation}]")
    page.fill("input[name=max_new_tokens]", "16")
    page.click("text=Queue the run")

    expect(page.locator("h1")).to_contain_text("Run #1")
    progress = page.locator("#run-progress")
    expect(progress).to_contain_text("Waiting for a worker")
    expect(progress).to_contain_text("queued")
    loaded_url = page.url

    worker = Worker(Context(sessions, BackendCache("cpu")), kinds=["generate"], poll_seconds=0.2)
    thread = threading.Thread(target=worker.run, kwargs={"exit_when_idle": True})
    thread.start()
    thread.join(timeout=120)
    assert worker.stats.done == 1 and worker.stats.failed == 0

    # the page's own polling brings the result in (11 static problems: 10 of the paper + the broken one)
    expect(progress.locator(".badge")).to_have_text("done", timeout=15_000)
    expect(progress).to_contain_text("11 of 11 derivations (100%)")
    expect(progress).not_to_have_attribute("hx-trigger", "every 2s")
    assert page.url == loaded_url  # no reload
    page.click("text=Annotate the new derivations")
    expect(page.locator("h1")).to_contain_text("Derivation #")
