"""A step KaTeX cannot render costs that step only (issue 24, item 11): 3,000 nested braces in
prose threw "Maximum call stack size exceeded" out of auto-render and every later step stayed raw."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from app.db import transaction
from app.models import Derivation, Project, Role
from app.services.auth import create_user
from app.services.importing import import_file
from tests.e2e.conftest import PASSWORD, htmx_ready, log_in
from tests.factories import assign

pytestmark = pytest.mark.e2e

# 3,000 levels overflowed KaTeX's stack in most runs, not all (the stack's depth varies with the
# browser's state): 20,000 always does, and stays under the 100,000-character step limit
DEEP = "{" * 20_000 + "x" + "}" * 20_000
STEPS = [
    "We start with $x = 1$.",
    f"Then $ {DEEP} = 1 $ follows.",  # prose: auto-render's path
    f"So ${DEEP}$ and nothing else.",
    "Hence $y = 2$.",
    "The answer is $$2$$",
]


def test_a_step_katex_cannot_render_stays_raw_and_the_steps_after_it_render(server, page):
    from playwright.sync_api import expect

    base, sessions = server
    record = {"problem_id": "deep-1", "prompt": "Find y.", "model": "hostile", "derivation": "\n".join(STEPS)}
    with transaction(sessions) as s:
        import_file(s, project_name="deep", filename="deep.jsonl", data=(json.dumps(record) + "\n").encode(),
                    split="newline")
        derivation = s.scalar(select(Derivation).join(Project).where(Project.name == "deep"))
        ann = create_user(s, username="ann", password=PASSWORD, role=Role.annotator)
        assign(s, ann, derivation)
        d_id = derivation.id

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, base, "ann")
    page.goto(f"{base}/derivations/{d_id}")
    htmx_ready(page)
    steps = page.locator("ol.step-list li.step .eq .math")
    expect(steps).to_have_count(5)
    expect(steps.nth(0)).to_have_attribute("data-rendered", "katex-prose")
    for k in (1, 2):  # the hostile steps: raw text, marked, still there to tag
        expect(steps.nth(k)).to_have_attribute("data-rendered", "raw")
        expect(steps.nth(k)).to_have_class(re.compile(r"\bunrendered\b"))
    for k in (3, 4):  # and every step after them rendered
        expect(steps.nth(k)).to_have_attribute("data-rendered", "katex-prose")
        expect(steps.nth(k).locator(".katex")).to_have_count(1)
    assert not any("call stack" in e for e in errors), errors
