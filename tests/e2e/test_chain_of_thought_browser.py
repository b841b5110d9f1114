"""Chain-of-thought steps (GSM8K/MATH style: prose with inline LaTeX, one step per line)
imported with the newline split rule and annotated in a real Chromium: the prose stays text,
the math in it is rendered by KaTeX, and hostile text in the prose stays inert."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.db import transaction
from app.models import Derivation, Project, Role
from app.services.auth import create_user
from app.services.importing import import_file
from tests.e2e.conftest import PASSWORD, htmx_ready, log_in
from tests.factories import assign

pytestmark = pytest.mark.e2e

RUN = "window.__pwned=1"
STEPS = [
    "Tom starts with $3$ apples.",
    r"He buys $2$ more, so he has \(3 + 2 = 5\) apples.",
    f"Beware <img src=x onerror=\"{RUN}\"> of $\\href{{javascript:{RUN}}}{{x}}$ tricks.",
    "The answer is $$5$$",
]


def test_prose_and_math_render_and_stay_inert(server, page):
    from playwright.sync_api import expect

    base, sessions = server
    record = {"problem_id": "gsm-1", "prompt": "Tom has 3 apples and buys 2 more. How many does he have?",
              "model": "llama-cot", "derivation": "\n".join(STEPS)}
    with transaction(sessions) as s:
        import_file(s, project_name="cot", filename="cot.jsonl", data=(json.dumps(record) + "\n").encode(),
                    split="newline")
        derivation = s.scalar(select(Derivation).join(Project).where(Project.name == "cot"))
        ann = create_user(s, username="ann", password=PASSWORD, role=Role.annotator)
        assign(s, ann, derivation)
        d_id = derivation.id

    log_in(page, base, "ann")
    page.goto(f"{base}/derivations/{d_id}")
    htmx_ready(page)
    steps = page.locator("ol.step-list li.step .eq .math")
    expect(steps).to_have_count(4)
    first = steps.nth(0)
    expect(first).to_have_attribute("data-rendered", "katex-prose")
    expect(first).to_contain_text("Tom starts with")
    expect(first.locator(".katex")).to_have_count(1)  # the $3$
    second = steps.nth(1)
    expect(second.locator(".katex")).to_have_count(2)  # $2$ and \(3 + 2 = 5\)
    expect(second).to_contain_text("apples.")
    hostile = steps.nth(2)
    expect(hostile).to_contain_text("<img src=x")  # shown as text
    expect(hostile.locator("img")).to_have_count(0)
    expect(hostile.locator("a")).to_have_count(0)  # \href is not trusted
    expect(steps.nth(3).locator(".katex-display")).to_have_count(1)
    assert page.evaluate("window.__pwned") is None
