"""Gold items: mutants of the project's own references with known errors, served through
Next like any item (first to newcomers, with feedback; then at the project's rate), kept out
of every report of the project, and scored per annotator on the agreement page."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from app.errors import InvalidInput
from app.models import Derivation, Project, Role, Step
from app.services import annotating, gold, taxonomy
from app.services.importing import import_file
from tests.helpers import PAPER_FILES, derivation_in, htmx, login, ref
from tests.factories import make_user


@pytest.fixture
def project(db):
    path = PAPER_FILES["gpt-4"]
    import_file(db, project_name="study", filename=path.name, data=path.read_bytes())
    p = db.scalar(select(Project).where(Project.name == "study"))
    added = gold.make(db, project_id=p.id, count=12, seed=1)
    assert added == 12
    return p


def _is_gold(db, derivation_id: int) -> bool:
    return db.get(Derivation, derivation_id).gold_truth is not None


def test_gold_items_stay_out_of_the_projects_reports(client, db, project):
    companion = db.scalar(select(Project).where(Project.gold_of == project.id))
    truths = [d.gold_truth for d in db.scalars(select(Derivation).where(Derivation.project_id == companion.id))]
    assert len(truths) == 12 and {t["kind"] for t in truths} >= {"incorrect", "skipped", "none"}
    make_user(db, username="boss", role=Role.admin)
    login(client, "boss")
    home = client.get("/").text
    assert "gold items of project" not in home
    rows = list(csv.DictReader(io.StringIO(client.get(f"/projects/{project.id}/export.csv?level=derivation").text)))
    assert len({r["derivation_id"] for r in rows}) == 50  # the project's own, no gold
    assert "<b id=\"gold-count\">12</b>" in client.get(f"/projects/{project.id}/settings").text


def test_a_newcomer_gets_gold_first_with_feedback_then_the_projects_items(client, db, project):
    gold.set_rates(db, project_id=project.id, rate=0, onboarding=2)
    make_user(db, username="ann")
    token = login(client, "ann")
    served = []
    for n in range(3):
        moved = client.post(f"/projects/{project.id}/next", headers=htmx(token))
        derivation_id = derivation_in(moved.headers["HX-Redirect"])
        served.append(derivation_id)
        page = client.get(f"/derivations/{derivation_id}").text
        assert "study" in page and "gold" not in page.lower()  # nothing tells a gold item apart
        if n == 0:  # label the first one's known errors exactly
            truth = db.get(Derivation, derivation_id).gold_truth["labels"]
            steps = {s.index: s.id for s in db.scalars(select(Step).where(Step.derivation_id == derivation_id))}
            for index, labels in truth.items():
                for label in labels:
                    client.post(f"/derivations/{derivation_id}/steps/{steps[int(index)]}/labels/{label}?on=true",
                                headers=htmx(token))
        done = client.post(f"/derivations/{derivation_id}/submit", data={"goal_reached": ""}, headers=htmx(token))
        if n < 2:
            assert done.headers["HX-Redirect"] == f"/derivations/{ref(derivation_id)}/feedback"
            feedback = client.get(f"/derivations/{derivation_id}/feedback").text
            assert "The answer" in feedback and 'id="feedback"' in feedback
            if n == 0:
                assert 'class="wrong"' not in feedback  # every step right
        else:
            assert "feedback" not in done.headers["HX-Redirect"]
    assert [_is_gold(db, d) for d in served] == [True, True, False]
    plain = client.get(f"/derivations/{served[2]}/feedback")  # not a practice item: nothing to show
    assert plain.status_code == 200 and 'id="no-feedback"' in plain.text and "The answer" not in plain.text

    accuracy = gold.accuracy(db, project_id=project.id)
    incorrect = next(r for r in accuracy if r["annotator"] == "ann" and r["label"] == "incorrect")
    assert incorrect["items"] == 2 and incorrect["steps"] == sum(
        db.scalar(select(func.count()).select_from(Step).where(Step.derivation_id == d)) for d in served[:2])
    make_user(db, username="rita", role=Role.reviewer)
    login(client, "rita")
    page = client.get(f"/projects/{project.id}/agreement").text
    assert 'id="gold-table"' in page and 'data-annotator="ann" data-label="incorrect"' in page


def test_after_onboarding_gold_keeps_the_projects_rate(db, project):
    gold.set_rates(db, project_id=project.id, rate=25, onboarding=0)
    bob = make_user(db, username="bob")
    kinds = []
    for _ in range(12):
        d = annotating.next_derivation(db, project_id=project.id, user=bob)
        annotating.submit(db, derivation_id=d, user=bob, goal_reached=None, comment="")
        kinds.append(_is_gold(db, d))
    assert sum(kinds) == 3  # a quarter of twelve
    assert annotating.queue_state(db, project_id=project.id, user=bob).done == 9  # the project's own count


def test_gold_items_follow_the_projects_labels(db, project):
    rows = [dict(i, retired=False) for i in taxonomy.items(project)] + [
        {"key": "sign_slip", "name": "Sign slip", "help": "", "rating": -1, "retired": False}]
    taxonomy.update(db, project_id=project.id, rows=rows)
    companion = db.scalar(select(Project).where(Project.gold_of == project.id))
    db.refresh(companion)
    assert companion.label_keys == ["incorrect", "irrelevant", "redundant", "skipped", "sign_slip"]


def test_gold_rules(db, project):
    with pytest.raises(InvalidInput, match="gold rate: 0..50"):
        gold.set_rates(db, project_id=project.id, rate=80, onboarding=0)
    taxonomy.apply_preset(db, project_id=project.id, preset="processbench")
    with pytest.raises(InvalidInput, match="gold items need the paper's labels"):
        gold.make(db, project_id=project.id, count=5)


def test_the_companion_project_cannot_be_asked_for_directly(db, project):
    from app.errors import NotFound

    companion = db.scalar(select(Project).where(Project.gold_of == project.id))
    with pytest.raises(NotFound):
        annotating.next_derivation(db, project_id=companion.id, user=make_user(db, username="curious"))


def test_the_gold_export_holds_the_answers_and_nothing_else_does(client, db, project):
    import json

    gold.set_rates(db, project_id=project.id, rate=0, onboarding=1)
    ann = make_user(db, username="ann")
    d = annotating.next_derivation(db, project_id=project.id, user=ann)
    annotating.submit(db, derivation_id=d, user=ann, goal_reached=None, comment="")
    make_user(db, username="rita", role=Role.reviewer)
    login(client, "rita")
    lines = client.get(f"/projects/{project.id}/gold.jsonl").text.splitlines()
    [row] = [json.loads(line) for line in lines]
    truth = db.get(Derivation, d).gold_truth
    assert (row["annotator"], row["derivation_id"], row["kind"]) == ("ann", d, truth["kind"])
    assert [s["answer"] for s in row["steps"]] == [sorted(truth["labels"].get(str(i), []))
                                                   for i in range(1, len(row["steps"]) + 1)]
    assert all(s["given"] == [] for s in row["steps"])  # ann marked nothing
    assert row["steps_right"] == sum(s["answer"] == [] for s in row["steps"])
    everything = client.get(f"/projects/{project.id}/export.jsonl").text
    own = db.scalar(select(Derivation.id).where(Derivation.project_id == project.id))
    assert f'"id": {own},' in everything  # the pattern finds the project's own derivations...
    assert f'"id": {d},' not in everything and f'"derivation_id": {d},' not in everything  # ...and no gold one


def test_gold_items_spread_across_problems_and_kinds_and_are_never_served_two_of_one_problem_in_a_row(db):
    """Issue 24, item 6: "Make 20, seed 5" gave 20 mutants of one problem (its static, VR, EE and AG
    twins, 5 each), and onboarding served them back to back."""
    from app.models import Annotation, AnnotationStatus, Problem
    from app.repositories import gold as gold_repo

    path = PAPER_FILES["gpt-4"]
    import_file(db, project_name="spread", filename=path.name, data=path.read_bytes())
    p = db.scalar(select(Project).where(Project.name == "spread"))
    assert gold.make(db, project_id=p.id, count=20, seed=5) == 20
    companion = gold_repo.companion(db, p.id)

    def family(derivation: Derivation) -> int:  # a problem and its perturbed twins are one family
        twin = db.get(Problem, derivation.problem_id)
        original = db.scalar(select(Problem).where(Problem.project_id == p.id, Problem.key == twin.key))
        return original.parent_id or original.id

    ann = make_user(db, username="ann")
    served = []
    for _ in range(20):  # in the order Next serves them
        d = gold_repo.next_item(db, companion.id, ann.id)
        served.append(db.get(Derivation, d))
        db.add(Annotation(derivation_id=d, annotator_id=ann.id, status=AnnotationStatus.submitted))
        db.flush()
    families = [family(d) for d in served]
    assert len(set(families)) >= 4, families
    assert all(a != b for a, b in zip(families, families[1:])), families  # never two of one in a row
    kinds = [d.gold_truth["kind"] for d in served]
    assert len(set(kinds)) >= 4 and max(kinds.count(k) for k in set(kinds)) <= 6, kinds


def test_the_gold_companion_project_does_not_exist_for_annotators(client, db, project):
    """Issue 24, item 5: GET /projects/<companion id> answered 200 to any annotator, titled "… (gold
    items of project 1)", its "Your work" listing exactly the gold items served."""
    companion = db.scalar(select(Project).where(Project.gold_of == project.id))
    gold.set_rates(db, project_id=project.id, rate=0, onboarding=1)
    make_user(db, username="ann")
    token = login(client, "ann")
    served = derivation_in(client.post(f"/projects/{project.id}/next", headers=htmx(token)).headers["HX-Redirect"])
    assert _is_gold(db, served)
    hidden, missing = client.get(f"/projects/{companion.id}"), client.get("/projects/987654")
    assert hidden.status_code == missing.status_code == 404
    assert "gold" not in hidden.text.lower() and f"project {companion.id} does not exist" in hidden.text
    assert client.post(f"/projects/{companion.id}/next", headers=htmx(token)).status_code == 404
    # Next from a gold item goes on in the project it calibrates, not in the companion
    moved = client.post(f"/derivations/{served}/skip", headers=htmx(token))
    assert moved.status_code == 204 and moved.headers["HX-Redirect"].startswith("/derivations/")
    assert not _is_gold(db, derivation_in(moved.headers["HX-Redirect"]))  # onboarding was one item
    make_user(db, username="rita", role=Role.reviewer)
    login(client, "rita")
    assert client.get(f"/projects/{companion.id}").status_code == 200  # reviewers and admins may look


def test_gold_items_are_written_the_way_the_projects_model_writes(db):
    """Issue 24, item 5: gold steps were the reference word for word but for the mutation (the
    `r` key showed it). Now a model's derivation judged correct is the base where there is one,
    its kept steps as the model wrote them; elsewhere the reference in the model's spacing."""
    from app.math.mutants import gold_from_reference
    from tests.factories import assign, steps_of

    path = PAPER_FILES["flan-t5-large"]
    import_file(db, project_name="t5 study", filename=path.name, data=path.read_bytes())
    p = db.scalar(select(Project).where(Project.name == "t5 study"))
    ann = make_user(db, username="judge")
    base = next(d for d in db.scalars(select(Derivation).where(Derivation.project_id == p.id).order_by(Derivation.id))
                if gold_from_reference([s.latex for s in steps_of(db, d)], 0))  # one whose steps can be mutated
    assign(db, ann, base)
    annotating.submit(db, derivation_id=base.id, user=ann, goal_reached=True, comment="")  # judged correct (k = 1)
    db.flush()
    assert gold.make(db, project_id=p.id, count=60, seed=3) > 0
    companion = db.scalar(select(Project).where(Project.gold_of == p.id))
    items = db.scalars(select(Derivation).where(Derivation.project_id == companion.id)).all()
    from app.models import Problem

    written = {s.latex for s in steps_of(db, base)}
    problem_of = {d.id: db.get(Problem, d.problem_id) for d in [*items, base]}
    same = (problem_of[base.id].key, problem_of[base.id].perturbation)
    from_base = [d for d in items if (problem_of[d.id].key, problem_of[d.id].perturbation) == same]
    assert from_base and all(d.gold_truth["kind"] != "none" for d in from_base)  # never a copy of the real one
    for d in from_base:
        kept = [s.latex for s in steps_of(db, d) if s.latex in written]
        assert len(kept) >= len(steps_of(db, d)) - 2, [s.latex for s in steps_of(db, d)]
    others = [d for d in items if d not in from_base]
    assert others
    for d in others:  # the reference written as FLAN-T5 writes: `\ frac { d }`, never the printer's `\frac{d}`
        latex = [s.latex for s in steps_of(db, d)]
        assert not any(re.search(r"\S\{|\{\S", s) for s in latex), latex  # every brace spaced apart
        assert latex != problem_of[d.id].reference.split(" and ")


def test_an_annotators_pages_carry_no_row_ids(client, db, project):
    """Issue 24, item 5: gold items' ids came in one block above the project's (`#1501`… in a
    project of 1,500), shown in the address, the title, the step ids and "Your work". An
    annotator's pages now carry enciphered references; a gold item's and a real item's look alike."""
    from app.web.refs import Refs

    gold.set_rates(db, project_id=project.id, rate=0, onboarding=2)
    make_user(db, username="ann")
    token = login(client, "ann")
    seen = []
    for _ in range(3):  # two gold items (onboarding), then one of the project's
        moved = client.post(f"/projects/{project.id}/next", headers=htmx(token)).headers["HX-Redirect"]
        derivation_id = derivation_in(moved)
        seen.append((derivation_id, moved))
        page = client.get(moved).text
        assert re.fullmatch(r"/derivations/1\d{9}", moved)  # a reference, not the row id
        shown = set(re.findall(r'/derivations/(\d+)', page)) | set(re.findall(r'data-step-id="(\d+)"', page))
        steps = {s.id for s in db.scalars(select(Step).where(Step.derivation_id == derivation_id))}
        assert shown and all(len(x) == 10 for x in shown)  # references only: no row id of the item or its steps
        assert {Refs("test-secret").decode(x) for x in re.findall(r'data-step-id="(\d+)"', page)} == steps
        client.post(f"/derivations/{derivation_id}/submit", data={}, headers=htmx(token))
    assert [_is_gold(db, d) for d, _ in seen] == [True, True, False]
    work = client.get(f"/projects/{project.id}").text  # "Your work": the project's item, by reference
    assert seen[2][1] in work and not re.search(r'href="/derivations/\d{1,9}"', work)
    # a block of ids is no block of references: their order is shuffled and they spread wide
    refs = Refs("test-secret")
    ids = list(range(1501, 1521))
    assert sorted(ids, key=refs.encode) != ids and max(map(int, map(refs.encode, ids))) - min(
        map(int, map(refs.encode, ids))) > 10**8
    assert all(refs.decode(refs.encode(n)) == n for n in range(1, 2000))
