"""SymPy's "incorrect" comes with its evidence on the annotate page, in a real headless
Chromium: the point where the sides differ and both sides' values there, beside the suggestion."""

from __future__ import annotations

import re

import pytest

from app.db import transaction
from app.math.sandbox import Sandbox
from app.repositories import checks as checks_repo
from app.services import checking
from tests.e2e.conftest import htmx_ready, log_in
from tests.factories import make_derivation

pytestmark = pytest.mark.e2e


def test_an_incorrect_suggestion_shows_where_the_sides_differ(server, page):
    from playwright.sync_api import expect
    from sqlalchemy import select

    from app.models import Project

    base, sessions = server
    with transaction(sessions) as session:
        project = session.scalar(select(Project).where(Project.name == "e2e"))
        d = make_derivation(session, project=project, text=r"f{(x)} = x^{2} and \frac{d}{d x} f{(x)} = 3 x").id
        sandbox = Sandbox(1)
        try:
            for checked in checking.check_items(sandbox, checks_repo.to_check(session, derivation_ids=[d])):
                checks_repo.save(session, checked.derivation_id, checked.rows, checked.parse, checked.proposals)
        finally:
            sandbox.close()
    log_in(page, base)
    page.goto(f"{base}/derivations/{d}")
    htmx_ready(page)
    suggestion = page.locator(".step:nth-child(2) .suggestion[data-label='incorrect']")
    expect(suggestion).to_be_visible()
    text = suggestion.inner_text()
    # x = 1.513 (the first random point): d/dx x^2 = 2x is 3.027 there, the step's 3x is 4.54
    assert re.search(r"at x = 1\.513, the left side is 3\.027, the right side 4\.54", text), text
    assert "left − right = -x" in text
    expect(page.locator(".step:nth-child(1) .suggestion[data-label='incorrect']")).to_have_count(0)
