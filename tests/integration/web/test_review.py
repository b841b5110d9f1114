"""Adjudication, agreement and history through HTTP: pages and htmx fragments; final
labels count in the breakdown and appear beside every annotator's in the exports."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from app.models import Adjudication, Role
from app.services import annotating
from tests.helpers import htmx, login
from tests.factories import assign, make_derivation, make_project, make_user, steps_of


@pytest.fixture
def disputed(db):
    """Two annotators on one derivation: they disagree on step 2 and on the goal."""
    project = make_project(db, overlap=2)
    d = make_derivation(db, project=project, model="gpt-x")
    calm = make_derivation(db, project=project, model="gpt-x")
    ann, bob = make_user(db, username="ann"), make_user(db, username="bob")
    reviewer = make_user(db, username="rita", role=Role.reviewer)
    s1, s2, _ = steps_of(db, d)
    for user, labels, goal in ((ann, {s1.id: {"redundant"}, s2.id: {"incorrect"}}, True),
                               (bob, {s1.id: {"redundant"}}, False)):
        assign(db, user, d, calm)
        for step_id, ls in labels.items():
            for label in ls:
                annotating.set_step_label(db, derivation_id=d.id, step_id=step_id, label=label, on=True, user=user)
        annotating.submit(db, derivation_id=d.id, user=user, goal_reached=goal, comment=f"{user.username} says")
        annotating.submit(db, derivation_id=calm.id, user=user, goal_reached=True, comment="")
    db.flush()
    return {"project": project, "d": d, "calm": calm, "steps": (s1, s2), "reviewer": reviewer}


def test_disagreements_list_and_side_by_side(client, disputed):
    d, project = disputed["d"], disputed["project"]
    token = login(client, "rita")
    listing = client.get(f"/projects/{project.id}/review")
    assert f'href="/derivations/{d.id}/review"' in listing.text
    assert f'/derivations/{disputed["calm"].id}/review' not in listing.text  # they agreed on that one
    assert "1 to settle, 0 settled" in listing.text
    fragment = client.get(f"/projects/{project.id}/review?perturbation=VR", headers=htmx(token))
    assert fragment.text.lstrip().startswith('<section id="disagreements">') and "No disagreements" in fragment.text
    page = client.get(f"/derivations/{d.id}/review").text
    assert "<th>ann</th><th>bob</th>" in page and "ann says" in page and "model: gpt-x" in page
    s1, s2 = disputed["steps"]
    assert re.search(rf'<tr class="disputed" data-step-id="{s2.id}">', page)
    assert re.search(rf'<tr class="" data-step-id="{s1.id}">', page)


def test_adjudicate_then_breakdown_and_exports_use_the_final_labels(client, db, disputed):
    d, project = disputed["d"], disputed["project"]
    s1, s2 = disputed["steps"]
    token = login(client, "rita")
    # the first decision starts from what both agreed on (step 1: redundant)
    on = client.post(f"/derivations/{d.id}/final/{s2.id}/skipped?on=true", headers=htmx(token))
    assert on.status_code == 200 and "<html" not in on.text and f'id="final-{s2.id}"' in on.text
    assert 'data-label="skipped"' in on.text and 'class="label on" aria-pressed="true" data-label="skipped"' in on.text
    page = client.get(f"/derivations/{d.id}/review").text
    assert re.search(rf'id="final-{s1.id}".*?class="label on" aria-pressed="true" data-label="redundant"', page, re.S)
    settled = client.post(f"/derivations/{d.id}/settle", data={"goal_reached": "no", "comment": "bob is right"},
                          headers=htmx(token))
    assert settled.status_code == 200 and 'id="settled"' in settled.text and "<html" not in settled.text
    adjudication = db.get(Adjudication, d.id)
    assert adjudication.goal_reached is False and adjudication.decided_at is not None

    admin = make_user(db, role=Role.admin, username="boss")
    client.post("/logout", data={"csrf_token": token})
    login(client, admin.username)
    # breakdown: the settled derivation counts once, with the final labels; the calm one twice (no labels)
    page = client.get(f"/projects/{project.id}/breakdown").text
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", re.search(r'<tr data-model="gpt-x">(.*?)</tr>', page, re.S).group(1))
    assert cells[4] == str(3 + 3 * 2)  # judged steps: 3 (final) + 3 steps x 2 annotations
    assert cells[5] == "0" and cells[9] == "1" and cells[11] == "1"  # incorrect 0, redundant 1, skipped 1

    rows = list(csv.DictReader(io.StringIO(client.get(f"/projects/{project.id}/export.csv?level=step").text)))
    mine = [r for r in rows if r["derivation_id"] == str(d.id) and r["step_index"] == "2"]
    assert {r["annotator"]: r["incorrect"] for r in mine} == {"ann": "1", "bob": "0"}  # each annotator's own
    assert {(r["final_incorrect"], r["final_skipped"], r["adjudicated_by"]) for r in mine} == {("0", "1", "rita")}
    calm = [r for r in rows if r["derivation_id"] == str(disputed["calm"].id)]
    # not adjudicated: said in its own column, the final labels whole numbers (0), no reviewer
    assert {(r["adjudicated"], r["final_incorrect"], r["adjudicated_by"]) for r in calm} == {("0", "0", "")}
    assert {r["adjudicated"] for r in mine} == {"1"}
    drows = list(csv.DictReader(io.StringIO(client.get(f"/projects/{project.id}/export.csv?level=derivation").text)))
    final = {r["annotator"]: (r["goal_reached"], r["final_goal_reached"], r["final_redundant"])
             for r in drows if r["derivation_id"] == str(d.id)}
    assert final == {"ann": ("yes", "no", "1"), "bob": ("no", "no", "1")}


def test_history_page_and_export_list_every_change(client, db, disputed):
    d, project = disputed["d"], disputed["project"]
    s1, s2 = disputed["steps"]
    token = login(client, "rita")
    client.post(f"/derivations/{d.id}/final/{s2.id}/incorrect?on=true", headers=htmx(token))
    client.post(f"/derivations/{d.id}/final/{s2.id}/incorrect?on=false", headers=htmx(token))
    page = html.unescape(client.get(f"/derivations/{d.id}/history").text)
    assert page.count("<td>label ") == 3 and "<td>label redundant: off → on</td>" in page
    assert "<td>final label incorrect: off → on</td>" in page and "<td>final label incorrect: on → off</td>" in page
    assert "{'" not in page and "True" not in page  # no Python reprs
    events = list(csv.DictReader(io.StringIO(client.get(f"/projects/{project.id}/export.csv?level=events").text)))
    final = [(e["kind"], e["actor"], e["annotator"], e["step_index"], e["label"], e["old"], e["new"])
             for e in events if e["kind"].startswith("final")]
    assert final == [("final_on", "rita", "", "2", "incorrect", "0", "1"),
                     ("final_off", "rita", "", "2", "incorrect", "1", "0")]
    ann_on = [e for e in events if e["kind"] == "label_on" and e["annotator"] == "ann"]
    assert {(e["step_index"], e["label"], e["old"], e["new"]) for e in ann_on} == {("1", "redundant", "0", "1"),
                                                                                 ("2", "incorrect", "0", "1")}


def test_agreement_page_and_fragment(client, disputed):
    project = disputed["project"]
    token = login(client, "rita")
    page = client.get(f"/projects/{project.id}/agreement").text
    assert 'id="agreement-table"' in page and 'id="kappa-heatmap"' in page and "<html" in page
    assert re.search(r'data-figure="goal reached">.*?<td class="num items">2</td>', page, re.S)
    fragment = client.get(f"/projects/{project.id}/agreement?perturbation=static", headers=htmx(token))
    assert fragment.text.lstrip().startswith('<section id="agreement">')
    assert client.get(f"/projects/{project.id}/agreement?model=abc").status_code == 422


def test_active_time_is_added_to_the_annotators_own_work(client, db):
    project = make_project(db)
    d = make_derivation(db, project=project)
    user = make_user(db)
    token = login(client, user.username)
    assert client.post(f"/derivations/{d.id}/time", data={"seconds": "5"}, headers=htmx(token)).status_code == 404
    assign(db, user, d)
    for seconds in ("15", "12.5"):
        response = client.post(f"/derivations/{d.id}/time", data={"seconds": seconds}, headers=htmx(token))
        assert response.status_code == 204
    assert response.headers["X-Active-Seconds"] == "27.5"
    too_much = client.post(f"/derivations/{d.id}/time", data={"seconds": "500"}, headers=htmx(token))
    assert too_much.status_code == 422 and "0..120" in too_much.text


def test_before_any_decision_the_final_column_shows_what_all_agreed_on(client, disputed):
    d = disputed["d"]
    s1, s2 = disputed["steps"]
    login(client, "rita")
    page = client.get(f"/derivations/{d.id}/review").text
    final_s1 = re.search(rf'<div class="labels final" id="final-{s1.id}">(.*?)</div>', page, re.S).group(1)
    assert 'class="label on" aria-pressed="true" data-label="redundant"' in final_s1  # both gave it
    final_s2 = re.search(rf'<div class="labels final" id="final-{s2.id}">(.*?)</div>', page, re.S).group(1)
    assert "label on" not in final_s2  # only ann gave "incorrect"


def _check_now(db, derivation_id: int) -> None:
    """What a check job does, here and now: SymPy's suggestions and proposals stored."""
    from app.math.sandbox import Sandbox
    from app.repositories import checks as checks_repo
    from app.services import checking

    sandbox = Sandbox(1)
    try:
        for checked in checking.check_items(sandbox, checks_repo.to_check(db, derivation_ids=[derivation_id])):
            checking.save(db, checked)
    finally:
        sandbox.close()


def test_a_reviewer_rechecks_a_derivation_and_sees_the_new_suggestions(client, db):
    """Re-check with SymPy: queued ahead of bulk checks, the status polls, and once the
    worker is done the page reloads (HX-Refresh) with SymPy's column filled in."""
    from app.models import Job, JobState

    project = make_project(db)
    wrong = make_derivation(db, project=project, text=r"f{(x)} = x^{2} and \frac{d}{d x} f{(x)} = 3 x")
    make_user(db, username="rita", role=Role.reviewer)
    db.flush()
    token = login(client, "rita")
    page = client.get(f"/derivations/{wrong.id}/review").text
    assert "Re-check with SymPy" in page and "<th>SymPy</th>" in page and "not checked yet" in page

    queued = client.post(f"/derivations/{wrong.id}/recheck", headers=htmx(token))
    assert queued.status_code == 200 and 'data-state="queued"' in queued.text
    job = db.query(Job).filter(Job.kind == "check").one()
    assert job.payload == {"derivation_ids": [wrong.id]} and job.priority > 0  # ahead of an import's checks
    assert f'hx-get="/derivations/{wrong.id}/recheck/{job.id}"' in queued.text and "every 1s" in queued.text
    still = client.get(f"/derivations/{wrong.id}/recheck/{job.id}", headers=htmx(token))
    assert 'data-state="queued"' in still.text and "HX-Refresh" not in still.headers

    # the worker's part (its queue order is tested in tests/integration/worker): check, store, finish
    _check_now(db, wrong.id)
    job.state = JobState.done
    db.flush()
    done = client.get(f"/derivations/{wrong.id}/recheck/{job.id}", headers=htmx(token))
    assert done.headers.get("HX-Refresh") == "true" and 'data-state="done"' in done.text
    page = client.get(f"/derivations/{wrong.id}/review").text
    assert re.search(r'<span class="suggestion" data-label="incorrect"[^>]*>incorrect\?', page)


def test_a_recheck_is_for_staff_and_for_its_own_derivation(client, db):
    project = make_project(db)
    one, other = make_derivation(db, project=project), make_derivation(db, project=project)
    make_user(db, username="ann")
    make_user(db, username="rita", role=Role.reviewer)
    db.flush()
    token = login(client, "ann")
    assert client.post(f"/derivations/{one.id}/recheck", headers=htmx(token)).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    token = login(client, "rita")
    assert client.post("/derivations/999999/recheck", headers=htmx(token)).status_code == 404
    client.post(f"/derivations/{one.id}/recheck", headers=htmx(token))
    from app.models import Job
    job_id = db.query(Job.id).scalar()
    assert client.get(f"/derivations/{other.id}/recheck/{job_id}", headers=htmx(token)).status_code == 404
    plain = client.post(f"/derivations/{one.id}/recheck", data={"csrf_token": token})  # no JavaScript
    assert plain.status_code == 303 and plain.headers["location"] == f"/derivations/{one.id}/review"


def test_a_reviewer_accepts_sympys_proposal_or_types_the_correction(client, db):
    """The review page shows SymPy's proposed step beside a wrong one; the reviewer accepts
    it, or types their own LaTeX (previewed live in the browser), or clears it."""
    from app.models import StepCorrection
    from app.repositories import checks as checks_repo

    project = make_project(db)
    wrong = make_derivation(db, project=project, text=r"f{(x)} = x^{2} and \frac{d}{d x} f{(x)} = 3 x")
    make_user(db, username="rita", role=Role.reviewer)
    _check_now(db, wrong.id)
    db.flush()
    _, s2 = steps_of(db, wrong)[:2]
    token = login(client, "rita")
    page = client.get(f"/derivations/{wrong.id}/review").text
    assert f'id="correction-{s2.id}"' in page and "SymPy proposes" in page and "Accept SymPy's" in page
    proposal = checks_repo.proposals_for(db, wrong.id)[2]  # the model's step with the slip undone
    assert not proposal.from_reference and proposal.latex == r"\frac{d}{d x} f{(x)} = 2 x"

    url = f"/derivations/{wrong.id}/steps/{s2.id}/correction"
    accepted = client.post(url, data={"accept": "true", "latex": ""}, headers=htmx(token))
    assert accepted.status_code == 200 and accepted.text.lstrip().startswith(f'<div class="correction" id="correction-{s2.id}">')
    assert "(SymPy's, accepted)" in accepted.text
    row = db.query(StepCorrection).one()
    assert (row.latex, row.from_proposal, row.step_id) == (proposal.latex, True, s2.id)

    typed = client.post(url, data={"latex": r" \frac{d}{d x} f{(x)} = 2 x "}, headers=htmx(token))
    assert typed.status_code == 200 and 'data-preview="preview-' in typed.text
    db.expire_all()
    row = db.query(StepCorrection).one()  # one per step and reviewer: replaced, not added
    assert (row.latex, row.from_proposal) == (r"\frac{d}{d x} f{(x)} = 2 x", False)

    cleared = client.post(url, data={"latex": ""}, headers=htmx(token))
    assert cleared.status_code == 200 and db.query(StepCorrection).count() == 0


def test_a_correction_is_refused_with_a_reason(client, db):
    from app.models import StepCorrection

    project = make_project(db)
    d, other = make_derivation(db, project=project), make_derivation(db, project=project)
    make_user(db, username="rita", role=Role.reviewer)
    db.flush()
    token = login(client, "rita")
    s1 = steps_of(db, d)[0]
    none = client.post(f"/derivations/{d.id}/steps/{s1.id}/correction", data={"accept": "true"}, headers=htmx(token))
    assert none.status_code == 422 and "SymPy has no proposal for step 1" in none.text
    elsewhere = client.post(f"/derivations/{other.id}/steps/{s1.id}/correction", data={"latex": "x = 1"},
                            headers=htmx(token))
    assert elsewhere.status_code == 404
    huge = client.post(f"/derivations/{d.id}/steps/{s1.id}/correction", data={"latex": "x" * 10_001},
                       headers=htmx(token))
    assert huge.status_code == 422 and "at most 10,000" in huge.text
    assert db.query(StepCorrection).count() == 0
