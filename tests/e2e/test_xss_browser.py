"""Hostile text in LaTeX, prompts, comments, model and project names, rendered by a real
Chromium on every page that shows it: nothing runs, and the text is shown as text."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.db import transaction
from app.models import Derivation, Role, Step, User
from app.services import annotating
from app.services.auth import create_user
from app.services.importing import import_file
from tests.e2e.conftest import PASSWORD, log_in
from tests.factories import assign

pytestmark = pytest.mark.e2e

RUN = "window.__pwned=1"
PAYLOADS = {
    "model": f"<img src=x onerror={RUN}>",
    "project": f"<svg onload={RUN}>",
    "prompt": f"Given a = b <script>{RUN}</script>, then obtain b = a",
    "steps": [f"x = <img src=x onerror=\"{RUN}\">", f"\\href{{javascript:{RUN}}}{{click}} = 1",
              f"\\url{{javascript:{RUN}}} = 2", "b = a"],
    "comment": f"<script>{RUN}</script><img src=x onerror={RUN}>",
}


def test_hostile_text_renders_inert(server, page):
    from playwright.sync_api import expect

    base, sessions = server
    record = {"problem_id": "xss", "prompt": PAYLOADS["prompt"], "model": PAYLOADS["model"],
              "reference": "a = b and b = a", "derivation": " and ".join(PAYLOADS["steps"])}
    with transaction(sessions) as s:
        import_file(s, project_name=PAYLOADS["project"], filename="xss.jsonl", data=json.dumps(record).encode())
        derivation = s.scalar(select(Derivation).where(Derivation.source == "import").order_by(Derivation.id.desc()))
        step = s.scalar(select(Step).where(Step.derivation_id == derivation.id).order_by(Step.index))
        other = create_user(s, username="mallory", password=PASSWORD, role=Role.annotator)
        alice = s.scalar(select(User).where(User.username == "alice"))
        for user, goal in ((alice, True), (other, False)):  # a disagreement, for the review page
            assign(s, user, derivation)
            annotating.set_step_label(s, derivation_id=derivation.id, step_id=step.id, label="incorrect",
                                      on=goal, user=user)
            annotating.submit(s, derivation_id=derivation.id, user=user, goal_reached=goal,
                              comment=PAYLOADS["comment"])
        d, project_id = derivation.id, derivation.project_id

    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, base)
    pages = ["/", f"/projects/{project_id}", f"/derivations/{d}", f"/derivations/{d}/review",
             f"/derivations/{d}/history", f"/projects/{project_id}/dashboards", f"/projects/{project_id}/breakdown",
             f"/projects/{project_id}/review", f"/projects/{project_id}/agreement"]
    for path in pages:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__pwned") is None, path
        assert page.locator("img[src=x], svg[onload], a[href^='javascript']").count() == 0, path
    assert not dialogs

    # shown as text, where they belong
    page.goto(f"{base}/derivations/{d}")
    expect(page.locator("body")).to_contain_text(PAYLOADS["prompt"])
    expect(page.locator(".step:nth-child(1)")).to_contain_text("<img src=x")
    page.goto(f"{base}/derivations/{d}/review")
    expect(page.locator("body")).to_contain_text(PAYLOADS["comment"])
    page.goto(f"{base}/projects/{project_id}/dashboards")
    expect(page.locator("#table-errors")).to_contain_text(PAYLOADS["model"])
    page.goto(f"{base}/")
    expect(page.locator("body")).to_contain_text(PAYLOADS["project"])
