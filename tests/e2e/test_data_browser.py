"""Issue 25, done when: a browser filters the project to "SymPy incorrect, humans not", opens a
derivation with the keyboard, comes back to the same filtered page, and re-checks the selection
in bulk (what the server queued is read back from the database)."""

from __future__ import annotations

import csv
import json

from playwright.sync_api import expect
from sqlalchemy import func, select

from app.models import AutoCheck, Derivation, Job
from app.services import annotating
from app.services.auth import create_user
from app.models import Role
from tests.e2e.conftest import PASSWORD, log_in, screenshot
from tests.factories import assign


def test_filter_open_come_back_and_recheck(server, page):
    base, sessions = server
    with sessions() as session, session.begin():
        ann = create_user(session, username="ann", password=PASSWORD, role=Role.annotator)
        ids = session.scalars(select(Derivation.id).order_by(Derivation.id).limit(6)).all()
        for n, d_id in enumerate(ids):  # ann judges six, all correct; SymPy says "incorrect" on two
            assign(session, ann, session.get(Derivation, d_id))
            annotating.submit(session, derivation_id=d_id, user=ann, goal_reached=True, comment="")
            if n in (2, 4):
                session.merge(AutoCheck(derivation_id=d_id, step_index=1, label="incorrect", verdict="yes"))
        flagged = [ids[2], ids[4]]
        project_id = session.get(Derivation, ids[0]).project_id
        before = session.query(Job).filter(Job.kind == "check").count()

    log_in(page, base)
    page.goto(f"{base}/projects/{project_id}")
    page.click("text=Data")
    expect(page.locator("#data-total")).to_have_text("51")
    screenshot(page, "data")
    page.select_option("select[name=sympy_not_humans]", "incorrect")
    expect(page.locator("#data-total")).to_have_text("2")
    page.wait_for_url(lambda u: "sympy_not_humans=incorrect" in u)  # the URL is the view
    filtered = page.url
    assert [int(i) for i in page.locator("#data-table tbody tr").evaluate_all("rs => rs.map(r => r.dataset.id)")] \
        == flagged

    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator("#data-table tr.current")).to_have_attribute("data-id", str(flagged[1]))
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: f"/derivations/{flagged[1]}/review" in u)
    page.click("#back-to-data")
    page.wait_for_url(filtered)
    expect(page.locator("#data-total")).to_have_text("2")
    expect(page.locator("select[name=sympy_not_humans]")).to_have_value("incorrect")
    expect(page.locator("#data-table tr.current")).to_have_attribute("data-id", str(flagged[1]))  # where we were

    page.keyboard.press("x")  # tick the current row, export just it
    with page.expect_download() as download:
        page.click("[data-export-selection]")
    lines = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert {json.loads(x)["id"] for x in lines if json.loads(x)["type"] == "derivation"} == {flagged[1]}
    page.select_option("#export-format", label="step CSV")  # the same tick, as the step CSV's rows
    with page.expect_download() as download:
        page.click("[data-export-selection]")
    assert download.value.suggested_filename.endswith("-selection-steps.csv")
    rows = list(csv.DictReader(open(download.value.path(), encoding="utf-8", newline="")))
    assert rows and {int(r["derivation_id"]) for r in rows} == {flagged[1]}
    page.click("#bulk button:has-text('Put in the sample')")  # the ticked one alone, what the server says
    expect(page.locator("#data .flash.ok")).to_contain_text("1 derivation(s) put in the sample")
    with sessions() as session:
        from app.models import SampleItem
        assert session.scalars(select(SampleItem.derivation_id)).all() == [flagged[1]]
    # the page is the server's answer: nothing ticked, the row opened last still current
    assert not page.locator(f"#data-table tr[data-id='{flagged[1]}'] input[name=ids]").is_checked()
    expect(page.locator("#data-table tr.current")).to_have_attribute("data-id", str(flagged[1]))

    page.click("#bulk button[type=submit]")  # none ticked: every one the filters match
    expect(page.locator("#data .flash.ok")).to_contain_text("Queued SymPy checks of 2 matching derivation(s)")
    with sessions() as session:
        jobs = session.scalars(select(Job).where(Job.kind == "check").order_by(Job.id)).all()
        assert len(jobs) == before + 1 and sorted(jobs[-1].payload["derivation_ids"]) == flagged

    # the problem view from a row: the reference and both models side by side, KaTeX-rendered
    page.click(f"#data-table tr[data-id='{flagged[0]}'] td:nth-child(3) a")
    page.wait_for_url(lambda u: "/problems/" in u)
    expect(page.locator("section#static table.side-by-side")).to_be_visible()
    assert page.locator("section#static .katex").count() > 3
    screenshot(page, "problem")


def test_a_sort_and_hidden_columns_survive_a_filter_change(server, page):
    """The sort (a header link) and the column chooser swap only the table; the filters' next
    change must send them (they were lost before: the form held the values of its first load)."""
    base, sessions = server
    with sessions() as session:
        project_id = session.scalar(select(Derivation.project_id).limit(1))
    log_in(page, base)
    page.goto(f"{base}/projects/{project_id}/data")
    page.click("#data-table thead a:has-text('Steps')")
    page.wait_for_url(lambda u: "sort=steps" in u)
    page.click("details.columns summary")
    page.click("details.columns a:has-text('Model')")
    page.wait_for_url(lambda u: "hide=model" in u)
    expect(page.locator("#data-table thead")).not_to_contain_text("Model")
    page.select_option("select[name=perturbation]", "EE")
    page.wait_for_url(lambda u: "perturbation=EE" in u)
    assert "sort=steps" in page.url and "hide=model" in page.url
    expect(page.locator("#data-table thead")).not_to_contain_text("Model")
    steps = page.locator("#data-table tbody tr td:nth-child(5)").all_inner_texts()  # tick, #, problem, pert., steps
    assert steps == sorted(steps, key=int) and len(steps) > 1


def test_a_reset_asks_first_and_the_page_says_what_the_server_did(server, page):
    base, sessions = server
    with sessions() as session, session.begin():
        ann = create_user(session, username="ann", password=PASSWORD, role=Role.annotator)
        d_id = session.scalar(select(Derivation.id).order_by(Derivation.id).limit(1))
        assign(session, ann, session.get(Derivation, d_id))
        annotating.submit(session, derivation_id=d_id, user=ann, goal_reached=True, comment="")
        project_id = session.get(Derivation, d_id).project_id
    log_in(page, base)
    page.goto(f"{base}/projects/{project_id}/data?state=agreed")
    expect(page.locator("#data-total")).to_have_text("1")
    dialogs = []
    page.once("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))  # cancelled: nothing sent
    page.click("#bulk button:has-text('Reset annotations')")
    assert dialogs and "Reset the annotations" in dialogs[0]
    page.once("dialog", lambda d: d.accept())
    # had the cancelled click been sent, this one would find nothing left to reset
    page.click("#bulk button:has-text('Reset annotations')")
    expect(page.locator("#data .flash.ok")).to_contain_text("Reset 1 derivation(s): 1 annotation(s)")
    with sessions() as session:
        from app.models import Annotation
        assert session.scalar(select(Annotation.id).where(Annotation.derivation_id == d_id)) is None


def test_a_delete_asks_first_and_undo_brings_the_derivations_back(server, page):
    base, sessions = server
    with sessions() as session:
        first = session.scalars(select(Derivation.id).order_by(Derivation.id).limit(2)).all()
        project_id = session.get(Derivation, first[0]).project_id
        total = session.scalar(select(func.count()).select_from(Derivation).where(Derivation.project_id == project_id))
    log_in(page, base)
    page.goto(f"{base}/projects/{project_id}/data")
    expect(page.locator("#data-total")).to_have_text(f"{total:,}")
    for d_id in first:
        page.check(f"input[name=ids][value='{d_id}']")
    page.once("dialog", lambda d: d.accept())
    page.click("#bulk button:has-text('Delete')")
    expect(page.locator("#data .flash.ok")).to_contain_text("Deleted 2 derivation(s)")
    expect(page.locator("#data-total")).to_have_text(f"{total - 2:,}")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Derivation).where(Derivation.id.in_(first))) == 0
    page.click("#undo-delete")
    expect(page.locator("#data .flash.ok")).to_contain_text("Restored 2 derivation(s)")
    expect(page.locator("#data-total")).to_have_text(f"{total:,}")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Derivation).where(Derivation.id.in_(first))) == 2
