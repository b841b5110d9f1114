"""Issue 25: the data page and the API's derivation list — each filter and the bulk re-check
against numbers counted here from the fixture, independently of the queries under test."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from app.models import AutoCheck, Derivation, Job, LLMModel, Problem, Role
from app.services import annotating, tokens
from app.services.importing import import_file
from tests.helpers import PAPER_FILES, derivation_in, htmx, login
from tests.factories import assign, make_user, score_all, steps_of


@pytest.fixture
def world(db):
    for key in ("gpt-4", "flan-t5-large"):
        path = PAPER_FILES[key]
        import_file(db, project_name="paper", filename=path.name, data=path.read_bytes())
    score_all(db)  # ROUGE-2, BLEU, GLEU, as the metrics worker computes them
    make_user(db, role=Role.admin, username="boss")
    ann = make_user(db, username="ann")
    gpt4 = db.scalar(select(LLMModel.id).where(LLMModel.name == "gpt-4"))
    first = db.scalars(select(Derivation).where(Derivation.model_id == gpt4).order_by(Derivation.id)).all()[:20]
    for n, d in enumerate(first):
        assign(db, ann, d)
        if n % 2:  # ann: "incorrect" on step 1 of every other one
            annotating.set_step_label(db, derivation_id=d.id, step_id=steps_of(db, d)[0].id, label="incorrect",
                                      on=True, user=ann)
        annotating.submit(db, derivation_id=d.id, user=ann, goal_reached=True, comment="")
        # SymPy: "incorrect" on step 1 of every third, "no" on the others
        db.add(AutoCheck(derivation_id=d.id, step_index=1, label="incorrect", verdict="yes" if n % 3 == 0 else "no"))
    db.flush()
    project_id = first[0].project_id
    return {"project_id": project_id, "first": [d.id for d in first], "ann": ann}


def _ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-id="(\d+)"', page)]


def _total(page: str) -> int:
    return int(re.search(r'<b id="data-total">([\d,]+)</b>', page).group(1).replace(",", ""))


def test_each_filter_against_counts_made_here(client, db, world):
    pid, first = world["project_id"], world["first"]
    login(client, "boss")
    url = f"/projects/{pid}/data"
    page = client.get(url)
    assert page.status_code == 200 and "<html" in page.text
    assert _total(page.text) == 100 and len(_ids(page.text)) == 50  # 50 a page
    odd = {first[n] for n in range(20) if n % 2}
    third = {first[n] for n in range(20) if n % 3 == 0}
    expected = {
        "model=gpt-4": 50, "perturbation=EE": 20, "model=gpt-4&perturbation=EE": 10,
        "state=agreed": 20, "state=unannotated": 80, "annotator=ann": 20,
        "human=incorrect": len(odd), "sympy=incorrect": len(third),
        "sympy_not_humans=incorrect": len(third - odd), "humans_not_sympy=incorrect": len(odd - third),
    }
    for query, count in expected.items():
        got = client.get(f"{url}?{query}&per_page=100", headers={"HX-Request": "true"}).text
        assert "<html" not in got and _total(got) == count == len(_ids(got)), (query, _total(got), count)
    sympy_only = _ids(client.get(f"{url}?sympy_not_humans=incorrect").text)
    assert set(sympy_only) == third - odd

    # text search: counted from the steps and prompts here
    derivations = db.scalars(select(Derivation).where(Derivation.project_id == pid)).all()
    needle = r"\frac{d}{d"
    matching = {d.id for d in derivations if any(needle in s.latex for s in steps_of(db, d))
                or needle in db.get(Problem, d.problem_id).prompt}
    assert 0 < len(matching) < 100
    found = client.get(f"{url}?q={needle}&per_page=200").text
    assert set(_ids(found)) == matching

    # sorted by ROUGE-2, highest first: as the metrics say (ties: newest id first, the sort's direction)
    rouge = sorted(((d.metrics.get("rouge2"), d.id) for d in derivations if d.metrics.get("rouge2") is not None),
                   key=lambda x: (-x[0], -x[1]))
    top = _ids(client.get(f"{url}?sort=rouge2&dir=desc").text)[:5]
    assert top == [i for _, i in rouge[:5]]
    low = client.get(f"{url}?rouge2_max={rouge[-1][0]}&per_page=200").text
    assert rouge[-1][1] in _ids(low) and all(db.get(Derivation, i).metrics["rouge2"] <= rouge[-1][0]
                                              for i in _ids(low))

    # facets: each choice's count with the other filters applied
    ee = client.get(f"{url}?perturbation=EE").text
    assert re.search(r'<option value="gpt-4"[^>]*>gpt-4 \(10\)</option>', ee)
    assert re.search(r'<option value="VR"[^>]*>VR \(20\)</option>', ee)

    bad = client.get(f"{url}?state=nope", headers={"Accept": "text/html"})
    assert bad.status_code == 422 and "state: use one of" in bad.text
    assert client.get(f"{url}?human=wrongness").status_code == 422


def test_the_pushed_source_and_sympys_unknown_filters_against_counts_made_here(client, db, world):
    from app.models import Prediction

    pid, first = world["project_id"], world["first"]
    said = {0: "incorrect", 4: "incorrect", 8: "incorrect", 12: "skipped"}  # the judge said "yes" to these
    for n, label in said.items():
        db.add(Prediction(source="judge", derivation_id=first[n], step_index=1, label=label, verdict="yes"))
    db.add(Prediction(source="judge", derivation_id=first[16], step_index=1, label="incorrect", verdict="no"))
    db.add(Prediction(source="prm", derivation_id=first[5], step_index=2, label="incorrect", verdict="yes"))
    for n in (1, 2):  # SymPy could not tell on step 2 of these
        db.add(AutoCheck(derivation_id=first[n], step_index=2, label="incorrect", verdict="unknown"))
    db.flush()
    login(client, "boss")
    expected = {
        "source=judge": {first[n] for n in said},
        "source=judge&source_label=incorrect": {first[n] for n, label in said.items() if label == "incorrect"},
        "source=prm": {first[5]},
        "sympy=unknown": {first[1], first[2]},
        "sympy=unknown&human=incorrect": {first[1]},  # ann marked every other one
    }
    for query, ids in expected.items():
        got = client.get(f"/projects/{pid}/data?{query}&per_page=100", headers={"HX-Request": "true"}).text
        assert set(_ids(got)) == ids and _total(got) == len(ids), query


def test_bulk_recheck_of_the_ticked_or_of_everything_matching(client, db, world):
    pid, first = world["project_id"], world["first"]
    token = login(client, "boss")
    url = f"/projects/{pid}/data/recheck"

    def queued() -> Counter:  # how many check jobs name each derivation (the import queued one each)
        db.expire_all()
        return Counter(i for job in db.scalars(select(Job).where(Job.kind == "check")) for i in job.payload["derivation_ids"])

    before = queued()
    ticked = client.post(url, data={"ids": [first[1], first[2]], "csrf_token": token}, headers=htmx(token))
    assert ticked.status_code == 200 and "Queued SymPy checks of 2 ticked derivation(s)" in ticked.text
    assert set((queued() - before).elements()) == {first[1], first[2]}
    before = queued()
    everything = client.post(url, data={"sympy_not_humans": "incorrect", "csrf_token": token}, headers=htmx(token))
    expected = {first[n] for n in range(20) if n % 3 == 0 and n % 2 == 0}
    assert f"Queued SymPy checks of {len(expected)} matching" in everything.text
    assert set((queued() - before).elements()) == expected
    assert client.post(url, data={"state": "bogus", "csrf_token": token}, headers=htmx(token)).status_code == 422


def test_the_selection_goes_in_and_out_of_the_sample(client, db, world):
    from app.models import SampleItem

    pid, first = world["project_id"], world["first"]
    token = login(client, "boss")

    def sampled() -> set[int]:
        db.expire_all()
        return set(db.scalars(select(SampleItem.derivation_id).where(SampleItem.project_id == pid)))

    added = client.post(f"/projects/{pid}/data/sample/add", data={"human": "incorrect", "csrf_token": token},
                        headers=htmx(token))
    odd = {first[n] for n in range(20) if n % 2}
    assert f"{len(odd)} derivation(s) put in the sample" in added.text and sampled() == odd
    assert _total(client.get(f"/projects/{pid}/data?sample=in").text) == len(odd)
    assert _total(client.get(f"/projects/{pid}/data?sample=out").text) == 100 - len(odd)
    removed = client.post(f"/projects/{pid}/data/sample/remove", data={"ids": [first[1]], "csrf_token": token},
                          headers=htmx(token))
    assert "1 derivation(s) taken out of the sample" in removed.text and sampled() == odd - {first[1]}
    assert client.post(f"/projects/{pid}/data/sample/shuffle", data={"csrf_token": token},
                       headers=htmx(token)).status_code == 422


def test_the_selection_is_assigned_first_in_an_annotators_queue(client, db, world):
    from app.models import Annotation

    pid, first = world["project_id"], world["first"]
    bob = make_user(db, username="bob")
    db.flush()
    token = login(client, "boss")
    url = f"/projects/{pid}/data/assign"
    flan = client.post(url, data={"model": "flan-t5-large", "perturbation": "AG", "assignee": "bob",
                                  "csrf_token": token}, headers=htmx(token))
    assert "10 derivation(s) assigned to bob" in flan.text
    db.expire_all()
    mine = db.scalars(select(Annotation.derivation_id).where(Annotation.annotator_id == bob.id)
                      .order_by(Annotation.id)).all()
    expected = db.scalars(select(Derivation.id).join(Problem).join(LLMModel)
                          .where(LLMModel.name == "flan-t5-large", Problem.perturbation == "AG")).all()
    assert sorted(mine) == sorted(expected)
    again = client.post(url, data={"ids": [first[0], mine[0]], "assignee": "bob", "csrf_token": token},
                        headers=htmx(token))
    assert "1 derivation(s) assigned to bob" in again.text and "(1 they had already)" in again.text
    client.post("/logout", data={"csrf_token": token})
    bob_token = login(client, "bob")
    served = client.post(f"/projects/{pid}/next", headers=htmx(bob_token))
    assert derivation_in(served.headers["HX-Redirect"]) in expected  # the assigned come first
    client.post("/logout", data={"csrf_token": bob_token})
    token = login(client, "boss")
    nobody = client.post(url, data={"assignee": "nobody", "csrf_token": token}, headers=htmx(token))
    assert nobody.status_code == 422 and "no active user &#39;nobody&#39;" in nobody.text


def test_the_selection_exports_as_jsonl(client, db, world):
    import json

    pid, first = world["project_id"], world["first"]
    login(client, "boss")
    url = f"/projects/{pid}/data/export.jsonl"
    matching = client.get(url, params={"sympy_not_humans": "incorrect"})
    assert matching.status_code == 200 and "-selection.jsonl" in matching.headers["content-disposition"]
    records = [json.loads(line) for line in matching.text.splitlines()]
    expected = {first[n] for n in range(20) if n % 3 == 0 and n % 2 == 0}
    assert {r["id"] for r in records if r["type"] == "derivation"} == expected
    assert {r["derivation_id"] for r in records if r["type"] == "annotation"} == expected
    problems = {r["id"] for r in records if r["type"] == "problem"}
    assert problems == {db.get(Derivation, i).problem_id for i in expected}
    ticked = client.get(url, params={"ids": [first[0], first[1]]}).text
    assert {json.loads(x)["id"] for x in ticked.splitlines() if '"type": "derivation"' in x} == {first[0], first[1]}


def test_the_selection_exports_as_the_projects_csvs_and_training_data(client, db, world):
    """Each of the selection's files holds the whole project's export's rows of the selection's
    derivations, unchanged (the selection counted here from the fixture)."""
    import csv
    import io
    import json

    pid, first = world["project_id"], world["first"]
    login(client, "boss")
    chosen = {first[n] for n in range(20) if n % 3 == 0 and n % 2 == 0}  # SymPy incorrect, humans not
    view = {"sympy_not_humans": "incorrect"}
    for level in ("step", "derivation"):
        whole = list(csv.reader(io.StringIO(client.get(f"/projects/{pid}/export.csv", params={"level": level}).text)))
        got = client.get(f"/projects/{pid}/data/export/{level}.csv", params=view)
        assert got.status_code == 200 and f"paper-selection-{level}s.csv" in got.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(got.text)))
        column = whole[0].index("derivation_id")
        assert rows[0] == whole[0]
        assert rows[1:] == [r for r in whole[1:] if int(r[column]) in chosen]
        assert {int(r[column]) for r in rows[1:]} == chosen
        ticked = list(csv.reader(io.StringIO(client.get(f"/projects/{pid}/data/export/{level}.csv",
                                                        params={"ids": [first[0], first[1]]}).text)))
        assert {int(r[column]) for r in ticked[1:]} == {first[0], first[1]}

    whole = [json.loads(x) for x in client.get(f"/projects/{pid}/training/step-rewards.jsonl").text.splitlines()]
    got = client.get(f"/projects/{pid}/data/training/step-rewards.jsonl", params=view)
    assert got.status_code == 200 and "paper-selection-step-rewards.jsonl" in got.headers["content-disposition"]
    records = [json.loads(x) for x in got.text.splitlines()]
    assert records == [r for r in whole if r["derivation_id"] in chosen] and len(records) == len(chosen)
    parquet = client.get(f"/projects/{pid}/data/training/stepwise.parquet", params=view)
    assert parquet.status_code == 200 and parquet.headers["X-Records"] == str(len(chosen))
    card = client.get(f"/projects/{pid}/data/training/README.md", params={**view, "kind": "step-rewards"}).text
    assert f"'derivations chosen on the data page': {len(chosen)}" in card

    unjudged = db.scalar(select(Derivation.id).where(Derivation.project_id == pid, Derivation.id.not_in(first)))
    nothing = client.get(f"/projects/{pid}/data/training/step-rewards.jsonl", params={"ids": [unjudged]})
    assert nothing.status_code == 404 and "0 records" in nothing.text
    bad = client.get(f"/projects/{pid}/data/export/events.csv", headers={"Accept": "text/html"})
    assert bad.status_code == 422 and "step.csv or derivation.csv" in bad.text


def test_the_api_filters_as_the_page_does(client, db, world):
    pid, first = world["project_id"], world["first"]
    from app.models import User

    _, secret = tokens.create(db, user=db.scalar(select(User).where(User.username == "boss")), name="t")
    h = {"Authorization": f"Bearer {secret}"}
    got = client.get(f"/api/v1/projects/{pid}/derivations?sympy_not_humans=incorrect&limit=2", headers=h)
    expected = sorted(first[n] for n in range(20) if n % 3 == 0 and n % 2 == 0)
    assert got.headers["X-Total-Count"] == str(len(expected))
    assert [d["id"] for d in got.json()] == expected[:2] and got.json()[0]["steps"][0]["checks"] == {"incorrect": "yes"}
    assert client.get(f"/api/v1/projects/{pid}/derivations?state=agreed", headers=h).headers["X-Total-Count"] == "20"
    bad = client.get(f"/api/v1/projects/{pid}/derivations?sort=colour", headers=h)
    assert bad.status_code == 422 and bad.json()["error"].startswith("sort: use one of")


def test_agreement_states_as_the_disagreements_list_reads_them(client, db):
    """Overlap 2: one derivation nobody annotated, one with a single annotation, two where the
    annotators agree or differ (on a label, then on the goal alone), one a reviewer settled."""
    from app.services import adjudication
    from tests.factories import make_derivation, make_project

    project = make_project(db, overlap=2)
    ds = [make_derivation(db, project=project, model="m") for _ in range(6)]
    a, b = make_user(db, username="a"), make_user(db, username="b")
    boss = make_user(db, role=Role.admin, username="boss")

    def judge(user, d, *, label=None, goal=True):
        assign(db, user, d)
        if label:
            annotating.set_step_label(db, derivation_id=d.id, step_id=steps_of(db, d)[0].id, label=label, on=True,
                                      user=user)
        annotating.submit(db, derivation_id=d.id, user=user, goal_reached=goal, comment="")

    judge(a, ds[1])  # in progress: 1 of 2
    judge(a, ds[2], label="incorrect"), judge(b, ds[2], label="incorrect")  # agreed
    judge(a, ds[3], label="incorrect"), judge(b, ds[3])  # disputed on a step
    judge(a, ds[4]), judge(b, ds[4], goal=False)  # disputed on the goal alone
    judge(a, ds[5], label="skipped"), judge(b, ds[5])
    adjudication.settle(db, derivation_id=ds[5].id, reviewer=boss, goal_reached=True, comment="")
    db.flush()
    login(client, "boss")
    expected = {"unannotated": [ds[0]], "in progress": [ds[1]], "agreed": [ds[2]], "disputed": [ds[3], ds[4]],
                "settled": [ds[5]]}
    for state, members in expected.items():
        page = client.get(f"/projects/{project.id}/data", params={"state": state}).text
        assert _ids(page) == [d.id for d in members], state
    listing = client.get(f"/projects/{project.id}/review").text  # the Disagreements list: the same two, and the settled
    assert all(f"/derivations/{d.id}/review" in listing for d in (ds[3], ds[4], ds[5]))


def test_the_problem_view_puts_each_models_steps_beside_the_reference(client, db, world):
    """Issue 25, item 3: a problem's five variants, the reference and both models' derivations in
    columns; a model step that is the reference's equation (whitespace aside) sits on its row."""
    pid = world["project_id"]
    d = db.get(Derivation, world["first"][0])
    problem = db.get(Problem, d.problem_id)
    login(client, "boss")
    page = client.get(f"/projects/{pid}/problems/{problem.key}")
    assert page.status_code == 200
    sections = re.findall(r'<section class="card problem-variant" id="(\w+)"', page.text)
    assert sections == ["static", "VR", "EE", "AG", "SR"]
    static = page.text.split('id="static"')[1].split("</section>")[0]
    assert static.count("<th><a href=\"/derivations/") == 2  # gpt-4 and flan-t5-large
    reference = problem.reference.split(" and ")
    steps = [s.latex for s in steps_of(db, d)]
    same = [s for s in steps if re.sub(r"\s+", "", s) in {re.sub(r"\s+", "", r) for r in reference}]
    # every reference step once, and each of gpt-4's steps that repeats one is marked as the same equation
    assert all(static.count(f'data-raw="{r}"') >= 1 for r in reference if '"' not in r and "&" not in r)
    assert static.count('class="same"') >= len(same)
    assert client.get(f"/projects/{pid}/problems/no-such-key").status_code == 404
    from app.services.problem_view import align
    assert align(["a = b", "b = c", "c = d"], [["a = b", "x = y", "c = d"], ["a=b", "b = c"]]) == [
        (0, [0, 0]), (None, [1, None]), (1, [None, 1]), (2, [2, None])]  # x = y on a row of its own


def _headers(page: str) -> list[str]:
    head = re.search(r'<table class="grid data-table" id="data-table">.*?</thead>', page, re.S).group(0)
    return [re.sub(r"<[^>]+>", "", th).strip() for th in re.findall(r"<th[^>]*>.*?</th>", head, re.S)]


def test_columns_are_hidden_and_shown_again_and_the_url_keeps_them(client, db, world):
    pid = world["project_id"]
    login(client, "boss")
    url = f"/projects/{pid}/data"
    full = _headers(client.get(url).text)
    assert {"Model", "Pert.", "bleu", "Agreement"} <= set(full)

    page = client.get(url + "?hide=model,bleu&sort=rouge2&dir=desc")
    shown = _headers(page.text)
    assert "Model" not in shown and "bleu" not in shown and len(shown) == len(full) - 2
    # every row has as many cells as the header: no column half hidden
    first_row = re.search(r'<tr data-id="\d+">(.*?)</tr>', page.text, re.S).group(1)
    assert len(re.findall(r"<td", first_row)) == len(shown)
    # the filters' form sends the hidden columns and the sort with its next change
    assert re.search(r'name="hide" value="model,bleu" form="data-filters"', page.text)
    assert re.search(r'name="sort" value="rouge2" form="data-filters"', page.text)
    # the toggle for Model shows it again, keeping bleu hidden and the sort
    toggle = re.search(r'href="([^"]+)"[^>]*class="column-toggle off"[^>]*>☐ Model', page.text).group(1)
    again = client.get(toggle.replace("&amp;", "&"), headers=htmx("t"))
    assert again.status_code == 200 and "<html" not in again.text  # the fragment
    assert "Model" in _headers(again.text) and "bleu" not in _headers(again.text)
    pushed = urlsplit(again.headers["HX-Push-Url"])
    assert pushed.path == url and parse_qs(pushed.query) == {"hide": ["bleu"], "sort": ["rouge2"], "dir": ["desc"]}


def test_an_unknown_column_is_refused_by_name(client, db, world):
    login(client, "boss")
    page = client.get(f"/projects/{world['project_id']}/data?hide=model,colour")
    assert page.status_code == 422 and "hide: no column &#39;colour&#39;" in page.text


def test_a_reset_removes_the_selections_annotations_and_keeps_them_in_the_history(client, db, world):
    from app.models import Adjudication, Annotation, AnnotationEvent, FinalLabel

    pid, first = world["project_id"], world["first"]
    # a settlement on first[1] (ann marked step 1 incorrect there), kept as "incorrect"
    step1 = steps_of(db, db.get(Derivation, first[1]))[0]
    db.add(Adjudication(derivation_id=first[1], goal_reached=True, comment="agreed"))
    db.flush()
    db.add(FinalLabel(derivation_id=first[1], step_id=step1.id, label="incorrect"))
    db.flush()
    token = login(client, "boss")
    url = f"/projects/{pid}/data/reset"

    def annotated() -> set[int]:
        db.expire_all()
        return set(db.scalars(select(Annotation.derivation_id).where(Annotation.derivation_id.in_(first))))

    events_before = db.scalar(select(func.count()).select_from(AnnotationEvent).where(AnnotationEvent.derivation_id == first[1]))
    assert events_before > 0 and annotated() == set(first)
    # not confirmed: refused, nothing changed
    refused = client.post(url, data={"ids": [first[1]], "csrf_token": token}, headers=htmx(token))
    assert refused.status_code == 422 and "confirm" in refused.text and annotated() == set(first)

    done = client.post(url, data={"ids": [first[1], first[2]], "confirm": "reset", "csrf_token": token},
                       headers=htmx(token))
    assert done.status_code == 200
    assert "Reset 2 derivation(s): 2 annotation(s) and 1 settlement(s) removed" in done.text
    assert annotated() == set(first) - {first[1], first[2]}
    assert db.get(Adjudication, first[1]) is None
    # the history keeps every earlier event and says what the reset removed
    events = db.scalars(select(AnnotationEvent).where(AnnotationEvent.derivation_id == first[1])
                        .order_by(AnnotationEvent.id)).all()
    assert len(events) == events_before + 2
    kept = {e.kind: e.detail for e in events[-2:]}
    assert kept["annotation reset"]["annotator"] == "ann" and kept["annotation reset"]["status"] == "submitted"
    assert kept["annotation reset"]["labels"] == [{"step": 1, "label": "incorrect"}]
    assert kept["settlement reset"]["labels"] == [{"step": 1, "label": "incorrect"}]
    history = client.get(f"/derivations/{first[1]}/history").text
    assert "ann&#39;s annotation reset (it had: step 1 incorrect" in history
    # the data page counts them as unannotated again, and the queue serves them again
    assert _total(client.get(f"/projects/{pid}/data?state=unannotated&model=gpt-4").text) == 50 - 18
    client.post("/logout", data={"csrf_token": token})
    ann_token = login(client, "ann")
    served = client.post(f"/projects/{pid}/next", headers=htmx(ann_token))
    assert derivation_in(served.headers["HX-Redirect"]) not in set(first) - {first[1], first[2]}


def _rows_of(db, ids: list[int]) -> set[str]:
    """Every row of every table that refers to these derivations or their annotations, steps or
    settlements, found from the catalog (not from the list the trash keeps), as JSON text."""
    from sqlalchemy import text

    found = {"SELECT to_jsonb(t)::text FROM derivations t WHERE id = ANY(:ids)"}
    columns = db.execute(text("SELECT table_name, column_name FROM information_schema.columns "
                              "WHERE table_schema = 'public' AND column_name IN ('derivation_id', 'annotation_id', 'step_id') "
                              "AND table_name NOT LIKE 'rollup%' AND table_name NOT LIKE 'trash%'")).all()
    for table, column in columns:
        inner = {"derivation_id": "SELECT unnest(CAST(:ids AS int[]))",
                 "annotation_id": "SELECT id FROM annotations WHERE derivation_id = ANY(:ids)",
                 "step_id": "SELECT id FROM steps WHERE derivation_id = ANY(:ids)"}[column]
        found.add(f"SELECT to_jsonb(t)::text FROM {table} t WHERE {column} IN ({inner})")
    db.expire_all()
    return {row for query in found for row in db.scalars(text(query), {"ids": ids})}


def test_a_delete_goes_to_the_trash_and_undo_puts_every_row_back(client, db, world):
    from app.models import Adjudication, FinalLabel, Prediction, SampleItem, StepNote, Annotation

    pid, first = world["project_id"], world["first"]
    chosen = [first[1], first[2], first[3]]
    step1 = steps_of(db, db.get(Derivation, first[1]))[0]
    db.add(Adjudication(derivation_id=first[1], goal_reached=True, comment="agreed"))
    db.flush()
    db.add(FinalLabel(derivation_id=first[1], step_id=step1.id, label="incorrect"))
    db.add(Prediction(source="judge", derivation_id=first[2], step_index=1, label="incorrect", verdict="yes"))
    db.add(SampleItem(project_id=pid, derivation_id=first[3]))
    note_on = db.scalar(select(Annotation.id).where(Annotation.derivation_id == first[3]))
    db.add(StepNote(annotation_id=note_on, step_id=steps_of(db, db.get(Derivation, first[3]))[0].id, note="check"))
    db.flush()
    before = _rows_of(db, chosen)
    assert len(before) > 30  # derivations, steps, annotations, labels, events, checks, the extras above
    token = login(client, "boss")
    total = _total(client.get(f"/projects/{pid}/data").text)
    agreed = _total(client.get(f"/projects/{pid}/data?state=agreed").text)
    url = f"/projects/{pid}/data/delete"

    refused = client.post(url, data={"ids": chosen, "csrf_token": token}, headers=htmx(token))
    assert refused.status_code == 422 and "confirm" in refused.text and _rows_of(db, chosen) == before

    done = client.post(url, data={"ids": chosen, "confirm": "delete", "csrf_token": token}, headers=htmx(token))
    assert done.status_code == 200, done.text
    assert "Deleted 3 derivation(s): in the trash for 30 days" in done.text and 'id="undo-delete"' in done.text
    assert _rows_of(db, chosen) == set()  # gone from every table: no page, export or count can see them
    assert db.scalar(select(func.count()).select_from(Derivation).where(Derivation.project_id == pid)) == total - 3
    assert _total(done.text) == total - 3
    assert _total(client.get(f"/projects/{pid}/data?state=agreed").text) == agreed - 3  # the rollups followed
    assert client.get(f"/derivations/{first[1]}/review").status_code == 404
    listed = client.get(f"/projects/{pid}/data").text
    assert 'id="trash"' in listed and f"#{min(chosen)}" in listed

    entry = re.search(r'/data/trash/(\d+)/restore', done.text).group(1)
    restored = client.post(f"/projects/{pid}/data/trash/{entry}/restore", data={"csrf_token": token},
                           headers=htmx(token))
    assert restored.status_code == 200, restored.text
    assert "Restored 3 derivation(s) and 3 annotation(s)" in restored.text
    assert _rows_of(db, chosen) == before  # every row, with its ids and values
    assert _total(restored.text) == total
    assert _total(client.get(f"/projects/{pid}/data?state=agreed").text) == agreed
    assert client.get(f"/derivations/{first[1]}/review").status_code == 200
    again = client.post(f"/projects/{pid}/data/trash/{entry}/restore", data={"csrf_token": token}, headers=htmx(token))
    assert again.status_code == 404 and "restored already" in again.text


def test_the_trash_keeps_every_table_that_hangs_off_a_derivation(db):
    """What the foreign keys cascade from derivations (walked in the catalog) is what the trash
    keeps, parents listed before the tables that refer to them."""
    from sqlalchemy import text
    from app.repositories.trash import TABLES

    edges = db.execute(text("SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
                            "WHERE contype = 'f' AND confdeltype = 'c'")).all()
    reached, frontier = {"derivations"}, ["derivations"]
    while frontier:
        parent = frontier.pop()
        for child, referred in edges:
            if referred == parent and child not in reached:
                reached.add(child)
                frontier.append(child)
    kept = [t for t, _ in TABLES]
    assert set(kept) == reached
    order = {t: i for i, t in enumerate(kept)}
    for child, referred in edges:
        if child in order and referred in order and child != referred:
            assert order[referred] < order[child], f"{referred} must be restored before {child}"


def test_a_restore_that_cannot_be_done_says_why_and_changes_nothing(client, db, world):
    from app.models import Trash

    pid, first = world["project_id"], world["first"]
    token = login(client, "boss")
    # a model of its own for one derivation: once it is in the trash, the model can be deleted
    loner = LLMModel(name="loner")
    db.add(loner)
    db.flush()
    db.get(Derivation, first[4]).model_id = loner.id
    db.flush()
    client.post(f"/projects/{pid}/data/delete", data={"ids": [first[4]], "confirm": "delete", "csrf_token": token},
                headers=htmx(token))
    db.delete(loner)
    db.flush()
    entry = db.scalar(select(Trash.id).where(Trash.project_id == pid))
    answer = client.post(f"/projects/{pid}/data/trash/{entry}/restore", data={"csrf_token": token}, headers=htmx(token))
    assert answer.status_code == 422 and "refer to is gone" in answer.text and "model_id" in answer.text
    db.expire_all()
    assert db.get(Derivation, first[4]) is None and db.get(Trash, entry) is not None  # still in the trash


def test_deletions_older_than_the_kept_days_are_not_offered_and_go_at_the_next_delete(client, db, world):
    from datetime import timedelta

    from app.models import Trash

    pid, first = world["project_id"], world["first"]
    token = login(client, "boss")
    client.post(f"/projects/{pid}/data/delete", data={"ids": [first[5]], "confirm": "delete", "csrf_token": token},
                headers=htmx(token))
    old = db.scalar(select(Trash).where(Trash.project_id == pid))
    old.deleted_at = old.deleted_at - timedelta(days=31)
    db.flush()
    old_id = old.id
    assert 'id="trash"' not in client.get(f"/projects/{pid}/data").text
    refused = client.post(f"/projects/{pid}/data/trash/{old_id}/restore", data={"csrf_token": token}, headers=htmx(token))
    assert refused.status_code == 404
    client.post(f"/projects/{pid}/data/delete", data={"ids": [first[6]], "confirm": "delete", "csrf_token": token},
                headers=htmx(token))
    db.expire_all()
    assert db.scalars(select(Trash.derivations).where(Trash.project_id == pid)).all() == [1]  # only the new one
    assert db.get(Trash, old_id) is None


def test_annotators_and_reviewers_cannot_delete(client, db, world):
    pid, first = world["project_id"], world["first"]
    make_user(db, role=Role.reviewer, username="rev")
    token = login(client, "rev")
    answer = client.post(f"/projects/{pid}/data/delete", data={"ids": [first[0]], "confirm": "delete",
                                                                "csrf_token": token}, headers=htmx(token))
    assert answer.status_code == 403 and db.get(Derivation, first[0]) is not None


def _as_the_model_says(db, derivation_id: int) -> dict:
    """A derivation in the API's documented shape, built here from the ORM rows."""
    from app.schemas.api import DerivationOut, StepOut

    d = db.get(Derivation, derivation_id)
    problem = db.get(Problem, d.problem_id)
    checks: dict[int, dict[str, str]] = {}
    for c in db.scalars(select(AutoCheck).where(AutoCheck.derivation_id == d.id)):
        checks.setdefault(c.step_index, {})[c.label] = c.verdict
    steps = [StepOut(index=s.index, latex=s.latex, parse_status=s.parse_status.value, checks=checks.get(s.index, {}))
             for s in steps_of(db, d)]
    return DerivationOut(id=d.id, problem_id=d.problem_id, problem_key=problem.key,
                         perturbation=problem.perturbation.value, model=db.get(LLMModel, d.model_id).name,
                         source=d.source, raw_text=d.raw_text, metrics=d.metrics, steps=steps).model_dump(mode="json")


def test_the_apis_derivation_list_is_the_documented_shape(client, db, world):
    """The list (and one derivation) is built as JSON by PostgreSQL: it must be what the
    response model describes, value for value against the ORM's rows, keys in the model's
    order, in the order asked."""
    from app.models import User
    from app.schemas.api import DerivationOut

    pid = world["project_id"]
    _, secret = tokens.create(db, user=db.scalar(select(User).where(User.username == "boss")), name="t")
    h = {"Authorization": f"Bearer {secret}"}
    for query in ("limit=7&offset=3", "model=gpt-4&limit=5", "sort=rouge2&dir=desc&limit=6"):
        got = client.get(f"/api/v1/projects/{pid}/derivations?{query}", headers=h)
        assert got.status_code == 200 and got.headers["content-type"] == "application/json"
        ids = [d["id"] for d in got.json()]
        assert len(ids) > 0 and got.json() == [_as_the_model_says(db, i) for i in ids]
        assert [list(d) for d in got.json()] == [list(DerivationOut.model_fields)] * len(ids)
    checked = world["first"][0]  # SymPy said "incorrect" of its step 1 (the fixture)
    one = client.get(f"/api/v1/derivations/{checked}", headers=h)
    assert one.status_code == 200 and one.json() == _as_the_model_says(db, checked)
    assert one.json()["steps"][0]["checks"] == {"incorrect": "yes"}
    assert client.get("/api/v1/derivations/999999999", headers=h).status_code == 404
    ordered = client.get(f"/api/v1/projects/{pid}/derivations?sort=rouge2&dir=desc&limit=50", headers=h).json()
    scores = [d["metrics"].get("rouge2") for d in ordered if d["metrics"].get("rouge2") is not None]
    assert scores == sorted(scores, reverse=True) and len(scores) > 10
    assert client.get(f"/api/v1/projects/{pid}/derivations?q=no-step-says-this", headers=h).json() == []
