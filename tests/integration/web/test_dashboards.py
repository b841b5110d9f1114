"""The dashboards on the three sample files, annotated here by two annotators (one
derivation settled by a reviewer, SymPy verdicts set by hand), against numbers
computed in this file from the same raw choices, not from the app's SQL."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

import pytest
from scipy.stats import spearmanr
from sqlalchemy import select

from app.models import AutoCheck, Derivation, LLMModel, Problem, Role, Step, User
from app.repositories.dashboards import Filters
from app.services import adjudication, annotating, dashboards
from app.services.importing import import_file
from tests.helpers import PAPER_FILES, htmx, login
from tests.factories import assign, make_user, score_all

LABELS = ["incorrect", "irrelevant", "redundant", "skipped"]
Z = 1.959963984540054


def wilson(k, n):
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return centre - half, centre + half


def choice(d, i, who):
    """A fixed, uneven labelling: annotator `who` (0, 1) on step i of derivation d."""
    out = set()
    if (d + i + who) % 4 == 0:
        out.add("incorrect")
    if (d * (i + 1) + who) % 9 == 2:
        out.add("redundant")
    if i == 2 and (d + who) % 3 == 0:
        out.add("skipped")
    return out


@pytest.fixture
def world(db):
    for path in PAPER_FILES.values():
        import_file(db, project_name="paper", filename=path.name, data=path.read_bytes())
    score_all(db)
    ann, bob = make_user(db, username="ann"), make_user(db, username="bob")
    rita = make_user(db, username="rita", role=Role.reviewer)
    make_user(db, username="boss", role=Role.admin)
    rows = db.execute(select(Derivation.id, LLMModel.name, Problem.perturbation, Derivation.metrics,
                             Derivation.project_id).join(LLMModel).join(Problem, Problem.id == Derivation.problem_id)
                      .order_by(Derivation.id)).all()
    steps = {d: db.execute(select(Step.id, Step.index).where(Step.derivation_id == d).order_by(Step.index)).all()
             for d, *_ in rows}
    judged = {}  # derivation -> list of (who, {step_index: labels}, goal)
    for n, (d, *_rest) in enumerate(rows):
        who_list = [0] if n % 3 == 0 else ([0, 1] if n % 3 == 1 else [])
        for who in who_list:
            user = (ann, bob)[who]
            assign(db, user, db.get(Derivation, d))
            given = {}
            for step_id, index in steps[d]:
                given[index] = choice(d, index, who)
                for label in given[index]:
                    annotating.set_step_label(db, derivation_id=d, step_id=step_id, label=label, on=True, user=user)
            goal = (d + who) % 2 == 0
            annotating.submit(db, derivation_id=d, user=user, goal_reached=goal, comment="")
            judged.setdefault(d, []).append((who, given, goal))
    # the first doubly-annotated derivation is settled: final = ann's labels plus "irrelevant" on step 1
    settled = next(d for d, js in judged.items() if len(js) == 2)
    first_step = steps[settled][0][0]
    adjudication.set_final_label(db, derivation_id=settled, step_id=first_step, label="irrelevant", on=True, reviewer=rita)
    final = {index: set(judged[settled][0][1][index]) & set(judged[settled][1][1][index]) for _, index in steps[settled]}
    final[1].add("irrelevant")
    adjudication.settle(db, derivation_id=settled, reviewer=rita, goal_reached=True, comment="")
    judged[settled] = [("final", final, True)]
    # SymPy verdicts by hand: "incorrect" yes on odd step indexes, no on even; goal yes when d % 3
    checks = {}
    for d, *_ in rows:
        for _, index in steps[d]:
            verdict = "yes" if index % 2 else "no"
            db.add(AutoCheck(derivation_id=d, step_index=index, label="incorrect", verdict=verdict, reason=""))
            checks[(d, index, "incorrect")] = verdict
        goal_verdict = "yes" if d % 3 else "no"
        db.add(AutoCheck(derivation_id=d, step_index=0, label="goal_reached", verdict=goal_verdict, reason=""))
        checks[(d, 0, "goal_reached")] = goal_verdict
    db.flush()
    return {"rows": rows, "steps": steps, "judged": judged, "checks": checks, "project_id": rows[0][4],
            "settled": settled}


def expected_groups(world, perturbation=None):
    out = {}
    for d, model, pert, metrics, _ in world["rows"]:
        if perturbation and pert.value != perturbation:
            continue
        g = out.setdefault(model, {"derivations": 0, "steps": 0, "annotated": 0, "judgements": 0, "judged_steps": 0,
                                   "goal_yes": 0, "goal_judged": 0, "label_steps": Counter(), "label_any": Counter(),
                                   "rouge2": []})
        g["derivations"] += 1
        g["steps"] += len(world["steps"][d])
        g["rouge2"].append(metrics["rouge2"])
        js = world["judged"].get(d, [])
        g["annotated"] += bool(js)
        for _, given, goal in js:
            g["judgements"] += 1
            g["judged_steps"] += len(world["steps"][d])
            g["goal_yes"] += goal
            g["goal_judged"] += 1
            for label in LABELS:
                hits = sum(label in ls for ls in given.values())
                g["label_steps"][label] += hits
                g["label_any"][label] += hits > 0
    return out


def test_errors_per_model_with_intervals(db, world):
    board = dashboards.compute(db, Filters(world["project_id"]))
    want = expected_groups(world)
    got = {g.model: g for g in board.models}
    assert set(got) == set(want) == {"gpt-4", "gpt-3.5-turbo", "flan-t5-large"}
    for model, w in want.items():
        g = got[model]
        assert (g.derivations, g.steps, g.annotated, g.judgements, g.judged_steps) == (
            w["derivations"], w["steps"], w["annotated"], w["judgements"], w["judged_steps"])
        for label in LABELS:
            r = g.step_rate(label)
            assert (r.k, r.n) == (w["label_steps"][label], w["judged_steps"])
            if r.k:
                assert (r.low, r.high) == pytest.approx(wilson(r.k, r.n))
            assert g.any_rate(label).k == w["label_any"][label]
        assert (g.goal.k, g.goal.n) == (w["goal_yes"], w["goal_judged"])
        assert (g.goal.low, g.goal.high) == pytest.approx(wilson(w["goal_yes"], w["goal_judged"]))
        assert g.metric("rouge2") == pytest.approx(sum(w["rouge2"]) / len(w["rouge2"]))


def test_perturbation_effects_are_differences_from_static(db, world):
    board = dashboards.compute(db, Filters(world["project_id"]))
    static = expected_groups(world, "static")
    for pert in ("VR", "EE", "AG", "SR"):
        here = expected_groups(world, pert)
        for model in here:
            for label in LABELS:
                want = here[model]["label_steps"][label] / here[model]["judged_steps"] - \
                    static[model]["label_steps"][label] / static[model]["judged_steps"]
                assert board.delta(model, pert, label) == pytest.approx(want)
            want_rouge = sum(here[model]["rouge2"]) / len(here[model]["rouge2"]) - \
                sum(static[model]["rouge2"]) / len(static[model]["rouge2"])
            assert board.delta(model, pert, "rouge2") == pytest.approx(want_rouge)


def test_metrics_against_human_errors_spearman(db, world):
    board = dashboards.compute(db, Filters(world["project_id"]))
    per_model = defaultdict(lambda: ([], [], []))
    for d, model, _, metrics, _ in world["rows"]:
        js = world["judged"].get(d)
        if not js:
            continue
        errors = sum(len(ls) for _, given, _ in js for ls in given.values()) / len(js)
        per_model[model][0].append(metrics["rouge2"])
        per_model[model][1].append(metrics["bleu"])
        per_model[model][2].append(errors)
    got = {r["model"]: r for r in board.spearman}
    for model, (rouge, bleu, errors) in per_model.items():
        assert got[model]["derivations"] == len(errors)
        assert got[model]["rouge2"] == pytest.approx(spearmanr(rouge, errors).statistic)
        assert got[model]["bleu"] == pytest.approx(spearmanr(bleu, errors).statistic)
    assert len(board.points) == sum(len(v[2]) for v in per_model.values())


def test_checker_precision_and_recall_against_the_majority(db, world):
    board = dashboards.compute(db, Filters(world["project_id"]))
    counts = {"incorrect": Counter(), "goal_reached": Counter()}
    for d, js in world["judged"].items():
        for _, index in world["steps"][d]:
            human = sum("incorrect" in given[index] for _, given, _ in js) * 2 >= len(js)
            counts["incorrect"][(world["checks"][(d, index, "incorrect")], human)] += 1
        human_goal = sum(goal for _, _, goal in js) * 2 >= len(js)
        counts["goal_reached"][(world["checks"][(d, 0, "goal_reached")], human_goal)] += 1
    got = {r["label"]: r for r in board.checker}
    for label, c in counts.items():
        tp, fp, fn = c[("yes", True)], c[("yes", False)], c[("no", True)]
        assert (got[label]["tp"], got[label]["fp"], got[label]["fn"], got[label]["tn"]) == (tp, fp, fn, c[("no", False)])
        assert got[label]["precision"].value == pytest.approx(tp / (tp + fp))
        assert got[label]["recall"].value == pytest.approx(tp / (tp + fn))
    assert board.examples and all(e["kind"] in ("SymPy yes, humans no", "SymPy no, humans yes") for e in board.examples)


def test_progress_and_filters(db, world):
    f = Filters(world["project_id"])
    board = dashboards.compute(db, f)
    want = expected_groups(world)
    assert {r["model"]: (r["annotated"], r["derivations"]) for r in board.progress_models} == {
        m: (w["annotated"], w["derivations"]) for m, w in want.items()}
    submitted = Counter(who for js in world["judged"].values() for who, _, _ in js if who != "final")
    # each annotator's work counts, their annotation of the settled derivation too (the settlement
    # replaces their labels in the statistics, not their work)
    assert {r["annotator"]: r["submitted"] for r in board.progress_annotators} == {"ann": submitted[0] + 1,
                                                                                   "bob": submitted[1] + 1}
    assert sum(r["judgements"] for r in board.throughput) == sum(len(js) for js in world["judged"].values())
    # one annotator's view: their own annotations, the settlement ignored
    ann_id = db.scalar(select(User.id).where(User.username == "ann"))
    only_ann = dashboards.compute(db, Filters(world["project_id"], annotator_id=ann_id))
    assert sum(g.judgements for g in only_ann.models) == submitted[0] + 1  # + ann's annotation of the settled one
    # the static subset
    static = dashboards.compute(db, Filters(world["project_id"], perturbation="static"))
    assert sum(g.derivations for g in static.models) == 30


def test_dashboards_page_and_fragment(client, world):
    token = login(client, "boss")
    page = client.get(f"/projects/{world['project_id']}/dashboards")
    assert page.status_code == 200 and "<html" in page.text
    for section in ("errors", "effects", "metrics", "checker", "progress"):
        assert f'<section class="card" id="{section}">' in page.text
    want = expected_groups(world)["gpt-4"]
    row = re.search(r'<tr data-model="gpt-4">(.*?)</tr>', page.text, re.S).group(1)
    value, shown = re.search(r'data-rate="incorrect" data-v="([^"]*)"[^>]*>([^<]*)<', row).groups()
    rate = want['label_steps']['incorrect'] / want['judged_steps']
    assert shown.strip() == f"{100 * rate:.1f}%" and float(value) == pytest.approx(rate)  # shown, and for the CSV
    fragment = client.get(f"/projects/{world['project_id']}/dashboards?perturbation=SR", headers=htmx(token))
    assert fragment.text.lstrip().startswith('<div id="boards">') and "<html" not in fragment.text
    bad = client.get(f"/projects/{world['project_id']}/dashboards?since=yesterday&model=x")
    assert bad.status_code == 422 and "since &#39;yesterday&#39;" in bad.text and "model &#39;x&#39;" in bad.text
