"""The dashboards in a real headless Chromium: charts drawn, filters swap the boards,
a chart downloads as PNG and a table as CSV."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from app.db import transaction
from app.models import Project, Step, User
from app.services import annotating
from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.e2e


def test_dashboards_draw_filter_and_download(server, page):
    from playwright.sync_api import expect

    base, sessions = server
    with transaction(sessions) as session:
        project = session.scalar(select(Project).where(Project.name == "e2e"))
        alice = session.scalar(select(User).where(User.username == "alice"))
        for n in range(12):  # with some labels, so the charts have bars
            d = annotating.next_derivation(session, project_id=project.id, user=alice)
            steps = session.scalars(select(Step.id).where(Step.derivation_id == d).order_by(Step.index)).all()
            for k, step in enumerate(steps):
                label = ("incorrect", "irrelevant", "redundant", "skipped")[(n + k) % 4]
                if (n * 3 + k) % 4 == 0:
                    annotating.set_step_label(session, derivation_id=d, step_id=step, label=label, on=True, user=alice)
            annotating.submit(session, derivation_id=d, user=alice, goal_reached=n % 3 != 0, comment="")
        project_id = project.id

    log_in(page, base)
    page.goto(f"{base}/projects/{project_id}/dashboards")
    expect(page.locator("#table-errors tbody tr")).to_have_count(2)  # the two models of the e2e project
    # Chart.js drew the bars: the canvas has a chart instance and pixels
    assert page.evaluate("() => !!Chart.getChart(document.getElementById('chart-errors'))")
    assert page.evaluate("() => document.getElementById('chart-effects').width > 300")
    page.wait_for_timeout(600)  # Chart.js animates the bars in
    # the y-axis says its unit, and the bars are in that unit: % of judged steps, as the table's rates x 100
    axis = page.evaluate("() => Chart.getChart(document.getElementById('chart-errors')).options.scales.y.title.text")
    assert axis.startswith("% of judged steps")
    bars = page.evaluate("() => Chart.getChart(document.getElementById('chart-errors')).data.datasets[0].data")
    rates = page.eval_on_selector_all("#table-errors tbody tr td[data-rate='incorrect']", "cs => cs.map(c => c.dataset.v)")
    assert [round(b, 1) for b in bars] == [round(100 * float(r or 0), 1) for r in rates]
    screenshot(page, "dashboards")

    with page.expect_download() as png:
        page.click("[data-png='chart-errors']")
    picture = open(png.value.path(), "rb").read()
    assert picture[:8] == b"\x89PNG\r\n\x1a\n"
    # the PNG is the chart framed by its title, the project and the filters (issue 24, item 3)
    canvas = page.evaluate("() => [document.getElementById('chart-errors').width, "
                           "document.getElementById('chart-errors').height]")
    width, height = int.from_bytes(picture[16:20], "big"), int.from_bytes(picture[20:24], "big")
    assert width > canvas[0] and height > canvas[1] + 60, (width, height, canvas)
    caption = page.get_attribute("[data-png='chart-errors']", "title")
    assert caption.startswith("1 · Errors per model") and "Perturbation: all" in caption and "e2e" in caption
    with page.expect_download() as table:
        page.click("[data-csv='table-progress']")
    rows = list(csv.reader(io.StringIO(open(table.value.path(), encoding="utf-8").read())))
    assert rows[0] == ["Model", "Annotated", "Total", "Share"] and len(rows) == 3

    page.select_option("select[name=perturbation]", "static")
    expect(page).to_have_url(f"{base}/projects/{project_id}/dashboards?model=&perturbation=static&annotator=&since=&until=")
    expect(page.locator("#table-progress tbody tr[data-model='gpt-4'] td").nth(2)).to_have_text("10")
    assert page.evaluate("() => !!Chart.getChart(document.getElementById('chart-errors'))")

    # the errors table's CSV is numbers: each rate and its interval's ends in columns of their own
    page.select_option("select[name=perturbation]", "")
    expect(page).to_have_url(f"{base}/projects/{project_id}/dashboards?model=&perturbation=&annotator=&since=&until=")
    expect(page.locator("#table-errors tbody tr")).to_have_count(2)
    with page.expect_download() as errors_csv:
        page.click("[data-csv='table-errors']")
    rows = list(csv.reader(io.StringIO(open(errors_csv.value.path(), encoding="utf-8").read())))
    header = rows[0]
    goal = header.index("Goal reached")
    assert header[goal + 1: goal + 3] == ["Goal reached low", "Goal reached high"]
    judged = [row for row in rows[1:] if row[goal]]  # a model nobody has judged has empty cells
    assert judged
    for row in judged:
        value, low, high = (float(v) for v in row[goal: goal + 3])
        assert 0 <= low <= value <= high <= 1
    # static comes first among each model's perturbations
    order = ["static", "VR", "EE", "AG", "SR"]
    cells = [c.split("|") for c in page.eval_on_selector_all("#table-effects tbody tr", "rs => rs.map(r => r.dataset.cell)")]
    for model in {m for m, _ in cells}:
        seen = [order.index(p) for m, p in cells if m == model]
        assert seen == sorted(seen) and seen[0] == 0, (model, seen)
    # wide tables stay inside their cards (they scroll), no column cut off by the card's edge
    assert page.evaluate("""() => [...document.querySelectorAll('.card table.grid')].every(t => {
        const card = t.closest('.card').getBoundingClientRect(), box = t.getBoundingClientRect();
        return box.right <= card.right + 1; })""")
    # a filter that matches nothing: the charts say so
    page.goto(f"{base}/projects/{project_id}/dashboards?annotator=&since=2099-01-01")
    for chart in ("chart-errors", "chart-metrics", "chart-checker", "chart-throughput"):
        expect(page.locator(f"#{chart}")).to_have_attribute("data-empty", "true")
