"""Issue 24 item 3: an upload shows its progress, and the import's result (or its error)
appears where the person is looking, not below the fold."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import func, select

from app.models import Derivation, Project
from tests.helpers import PAPER_FILES
from tests.e2e.conftest import log_in

WATCH_STATUS = """() => { window.statusLog = [];
  new MutationObserver(() => window.statusLog.push(document.getElementById('import-status').textContent))
    .observe(document.getElementById('import-status'), {childList: true, characterData: true, subtree: true}); }"""


def _in_view(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and 0 <= box["y"] and box["y"] + min(box["height"], 40) <= page.viewport_size["height"]


def test_an_upload_shows_progress_and_its_result_in_view(server, page, tmp_path):
    base, sessions = server
    log_in(page, base)
    page.goto(base + "/import")
    page.evaluate(WATCH_STATUS)
    page.fill("input[name=project]", "uploaded")
    page.set_input_files("input[name=file]", str(PAPER_FILES["flan-t5-large"]))
    page.click("#import-form button[type=submit]")
    expect(page.locator("#import-result .flash.ok")).to_contain_text("Imported 50 new derivation(s)", timeout=30000)
    assert _in_view(page, "#import-result .flash.ok")
    log = page.evaluate("window.statusLog")
    assert log and log[0].startswith("Uploading"), log
    with sessions() as session:
        project = session.scalar(select(Project).where(Project.name == "uploaded"))
        assert session.scalar(select(func.count()).select_from(Derivation)
                              .where(Derivation.project_id == project.id)) == 50

    # a bad file: the error says where, in view, and the button works again
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem_id": "q", "prompt": "p", "model": "m"}\n')
    page.set_input_files("input[name=file]", str(bad))
    page.click("#import-form button[type=submit]")
    expect(page.locator("#flash")).to_contain_text("line 1", timeout=30000)
    assert _in_view(page, "#flash") and page.locator("#import-form button[type=submit]").is_enabled()
