"""A project switched to the ProcessBench preset (one mark: the first wrong step), annotated
with the keys in a real Chromium; the step-rewards training export gives the first error
where the annotator put it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.db import transaction
from app.models import Project, Role
from app.services import taxonomy
from app.services.auth import create_user
from tests.e2e.conftest import PASSWORD, button, htmx_ready, log_in
from tests.helpers import derivation_in

pytestmark = pytest.mark.e2e


def test_processbench_first_error_from_the_browser_to_the_export(server, page):
    from playwright.sync_api import expect

    base, sessions = server
    with transaction(sessions) as session:
        project = session.scalar(select(Project).where(Project.name == "e2e"))
        taxonomy.apply_preset(session, project_id=project.id, preset="processbench")
        create_user(session, username="ann", password=PASSWORD, role=Role.annotator)
        project_id = project.id

    log_in(page, base, "alice")  # the admin sees the preset on the settings page
    page.goto(f"{base}/projects/{project_id}/settings")
    expect(page.locator("#labels-settings tr[data-key='first_error'] input[name=name]")).to_have_value("First wrong step")

    log_in(page, base, "ann")
    page.goto(f"{base}/projects/{project_id}")
    page.click("text=Annotate next")
    page.wait_for_url("**/derivations/*")
    derivation_id = derivation_in(page.url, "e2e")
    htmx_ready(page)
    expect(page.locator(".labels").first.locator("button")).to_have_count(1)  # one mark, key 1
    page.keyboard.press("j")  # step 2
    page.keyboard.press("1")
    expect(button(page, 2, "first_error")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#annotate")).to_have_attribute("data-pending", "0", timeout=15000)
    url = page.url
    page.keyboard.press("Enter")  # submit
    page.wait_for_url(lambda u: u != url)

    log_in(page, base, "alice")
    answer = page.request.get(f"{base}/projects/{project_id}/training/step-rewards.jsonl")
    assert answer.ok
    [record] = [r for r in map(json.loads, answer.text().splitlines()) if r["derivation_id"] == derivation_id]
    assert record["first_error"] == 1 and record["ratings"][:2] == [1, -1]
    assert record["labels"][1] == ["first_error"] and record["judged_by"] == "agreed"
