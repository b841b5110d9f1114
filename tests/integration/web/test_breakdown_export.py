"""The per-model breakdown and the CSV exports, on the three sample files,
checked against numbers computed here independently of the app's SQL."""

import csv
import io
import re
from collections import Counter

import pytest
from sqlalchemy import select

from app.models import Derivation, LLMModel, Problem, Role, Step
from app.services import annotating
from app.services.importing import import_file
from tests.helpers import PAPER_FILES, login
from tests.factories import assign, make_user, score_all

LABELS = ["incorrect", "irrelevant", "redundant", "skipped"]


def pattern(derivation_id: int, index: int) -> set[str]:
    """A fixed, uneven labelling to annotate with."""
    out = set()
    if (derivation_id + index) % 3 == 0:
        out.add("incorrect")
    if (derivation_id * index) % 7 == 1:
        out.add("redundant")
    if index == 2 and derivation_id % 2:
        out.add("skipped")
    return out


@pytest.fixture
def annotated(db):
    """Sample files imported; two annotators submit every third derivation (one also leaves one unsubmitted)."""
    for path in PAPER_FILES.values():
        import_file(db, project_name="paper", filename=path.name, data=path.read_bytes())
    score_all(db)
    admin = make_user(db, role=Role.admin, username="boss")
    ann = make_user(db, username="ann")
    bob = make_user(db, username="bob")
    rows = db.execute(
        select(Derivation.id, LLMModel.name, Problem.perturbation, Problem.key, Derivation.project_id)
        .join(LLMModel).join(Problem, Problem.id == Derivation.problem_id).order_by(Derivation.id)
    ).all()
    steps = {d: db.execute(select(Step.id, Step.index, Step.latex).where(Step.derivation_id == d)
                           .order_by(Step.index)).all() for d, *_ in rows}
    done = []  # (annotator, derivation_id)
    for n, (d, model, perturbation, key, project_id) in enumerate(rows):
        annotators = [ann] if n % 3 == 0 else ([ann, bob] if n % 3 == 1 else [])
        for user in annotators:
            assign(db, user, db.get(Derivation, d))
            for step_id, index, _ in steps[d]:
                for label in pattern(d + user.id, index):
                    annotating.set_step_label(db, derivation_id=d, step_id=step_id, label=label, on=True, user=user)
            annotating.submit(db, derivation_id=d, user=user, goal_reached=bool(d % 2), comment=f"c{d}")
            done.append((user.username, d))
    # unsubmitted work is not counted anywhere
    last = rows[-1][0]
    assign(db, bob, db.get(Derivation, last))
    annotating.set_step_label(db, derivation_id=last, step_id=steps[last][0][0], label="incorrect", on=True, user=bob)
    db.flush()
    return {"rows": rows, "steps": steps, "done": done, "users": {"ann": ann, "bob": bob}, "admin": admin,
            "project_id": rows[0][4]}


def expected_breakdown(data, perturbation=None):
    users = {u.username: u for u in data["users"].values()}
    out = {}
    for d, model, pert, _, _ in data["rows"]:
        if perturbation and pert.value != perturbation:
            continue
        row = out.setdefault(model, {"derivations": 0, "annotated": set(), "steps": 0, "judged": 0, **{l: 0 for l in LABELS}})
        row["derivations"] += 1
        row["steps"] += len(data["steps"][d])
        for username, done_d in data["done"]:
            if done_d != d:
                continue
            row["annotated"].add(d)
            row["judged"] += len(data["steps"][d])
            for _, index, _ in data["steps"][d]:
                for label in pattern(d + users[username].id, index):
                    row[label] += 1
    return out


def table_rows(page: str) -> dict[str, list[str]]:
    rows = {}
    for tr in re.findall(r'<tr data-model="([^"]+)">(.*?)</tr>', page, re.S):
        rows[tr[0]] = re.findall(r"<td[^>]*>([^<]*)</td>", tr[1])
    return rows


@pytest.mark.parametrize("perturbation", [None, "static", "SR"])
def test_breakdown_page_matches_independent_counts(client, annotated, perturbation):
    login(client, "boss")
    query = f"?perturbation={perturbation}" if perturbation else ""
    page = client.get(f"/projects/{annotated['project_id']}/breakdown{query}").text
    got = table_rows(page)
    want = expected_breakdown(annotated, perturbation)
    assert set(got) == set(want) == {"gpt-4", "gpt-3.5-turbo", "flan-t5-large"}
    for model, w in want.items():
        cells = got[model]
        assert cells[1:5] == [str(w["derivations"]), str(len(w["annotated"])), str(w["steps"]), str(w["judged"])]
        for i, label in enumerate(LABELS):
            count, rate = cells[5 + 2 * i], cells[6 + 2 * i]
            assert int(count) == w[label], (model, label)
            assert rate == f"{100 * w[label] / w['judged']:.1f}%"
    assert 'id="breakdown-chart"' in page


def test_breakdown_fragment_for_htmx(client, annotated):
    login(client, "boss")
    url = f"/projects/{annotated['project_id']}/breakdown?perturbation=VR"
    fragment = client.get(url, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section id="breakdown">') and "<html" not in fragment.text
    assert "HX-Request" in fragment.headers["Vary"]
    # a history restore gets the whole page
    restore = client.get(url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text
    bad = client.get(f"/projects/{annotated['project_id']}/breakdown?perturbation=XX")
    assert bad.status_code == 422 and "perturbation" in bad.text


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_step_export_one_row_per_step_per_annotator(client, annotated):
    login(client, "boss")
    response = client.get(f"/projects/{annotated['project_id']}/export.csv?level=step")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = read_csv(response.text)
    assert response.headers["content-disposition"].endswith("-steps.csv")
    assert list(rows[0]) == ["project", "problem", "perturbation", "model", "derivation_id", "step_index", "latex",
                             "annotated", *LABELS, "annotator", "submitted_at", *(f"sympy_{l}" for l in LABELS),
                             "adjudicated", *(f"final_{l}" for l in LABELS), "adjudicated_by"]
    users = annotated["users"]
    done = Counter(d for _, d in annotated["done"])
    total_steps = sum(len(s) for s in annotated["steps"].values())
    expected_rows = sum(len(s) * max(1, done[d]) for d, s in annotated["steps"].items())
    assert len(rows) == expected_rows and total_steps < expected_rows
    latex = {(d, i): tex for d, s in annotated["steps"].items() for _, i, tex in s}
    for row in rows:
        d, i = int(row["derivation_id"]), int(row["step_index"])
        assert row["latex"] == latex[(d, i)]  # exactly the stored LaTeX, leading spaces and minus signs too
        if row["annotator"]:
            labels = pattern(d + users[row["annotator"]].id, i)
            assert row["annotated"] == "1"
            assert [row[l] for l in LABELS] == [str(int(l in labels)) for l in LABELS]
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", row["submitted_at"])
        else:  # not annotated yet: said in its own column, the labels stay whole numbers
            assert done[d] == 0 and row["annotated"] == "0" and [row[l] for l in LABELS] == ["0", "0", "0", "0"]


def test_derivation_export(client, annotated):
    login(client, "boss")
    rows = read_csv(client.get(f"/projects/{annotated['project_id']}/export.csv?level=derivation").text)
    users = annotated["users"]
    assert len(rows) == len(annotated["done"]) + sum(
        1 for d, *_ in annotated["rows"] if d not in {x for _, x in annotated["done"]}
    )
    for row in rows:
        d = int(row["derivation_id"])
        assert int(row["steps"]) == len(annotated["steps"][d])
        if row["annotator"]:
            expected = Counter(l for _, i, _ in annotated["steps"][d] for l in pattern(d + users[row["annotator"]].id, i))
            assert {l: int(row[l]) for l in LABELS} == {l: expected.get(l, 0) for l in LABELS}
            assert row["goal_reached"] == ("yes" if d % 2 else "no") and row["comment"] == f"c{d}"
        else:
            assert row["goal_reached"] == "" and row["annotated"] == "0" and row["incorrect"] == "0"


def test_export_rejects_unknown_level(client, annotated):
    login(client, "boss")
    response = client.get(f"/projects/{annotated['project_id']}/export.csv?level=word")
    assert response.status_code == 422 and "level" in response.text


def test_derivation_export_carries_the_text_metrics(client, annotated, db):
    import json as _json

    login(client, "boss")
    rows = read_csv(client.get(f"/projects/{annotated['project_id']}/export.csv?level=derivation").text)
    assert list(rows[0])[-15:-7] == ["rouge2", "bleu", "gleu", "sym_recall", "sym_precision", "sym_goal",
                                     "sympy_goal_reached", "sympy_goal_stated"]
    records = _json.loads(PAPER_FILES["gpt-4"].read_text())
    first = records[0]
    row = next(r for r in rows if r["model"] == "gpt-4" and r["perturbation"] == "static"
               and r["problem"] == annotated["rows"][0][3])
    assert float(row["rouge2"]) == pytest.approx(first["static_rouge"], abs=1e-9)
    assert float(row["bleu"]) == pytest.approx(first["static_bleu"], abs=1e-9)
    assert float(row["gleu"]) == pytest.approx(first["static_gleu"], abs=1e-9)


FORMULAS = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1"]


def _formula_project(db):
    import json

    lines = [json.dumps({"problem_id": f"p{n}", "prompt": "Given a = b, then obtain b = a", "model": formula,
                         "derivation": f"{formula} and b = a"}) for n, formula in enumerate(FORMULAS)]
    import_file(db, project_name="formulas", filename="f.jsonl", data="\n".join(lines).encode())
    evil = make_user(db, username="@evil", role=Role.admin)
    derivation = db.scalar(select(Derivation).order_by(Derivation.id))
    assign(db, evil, derivation)
    step = db.scalar(select(Step).where(Step.derivation_id == derivation.id).order_by(Step.index))
    annotating.set_step_label(db, derivation_id=derivation.id, step_id=step.id, label="incorrect", on=True, user=evil)
    annotating.submit(db, derivation_id=derivation.id, user=evil, goal_reached=True, comment="=cmd|' /C calc'!A0")
    return derivation.project_id


def test_csv_exports_are_lossless_by_default(client, db):
    """Exports are data: a step or model name starting with - or = comes out as it went in."""
    project_id = _formula_project(db)
    login(client, "@evil")
    seen = set()
    for level in ("step", "derivation", "events"):
        response = client.get(f"/projects/{project_id}/export.csv?level={level}")
        assert response.headers["content-disposition"].endswith(
            {"step": "-steps.csv", "derivation": "-derivations.csv", "events": "-events.csv"}[level])
        for row in csv.reader(io.StringIO(response.text, newline="")):
            seen.update(row)
    assert {f.strip() for f in FORMULAS[:4]} <= seen and "@evil" in seen and "=cmd|' /C calc'!A0" in seen
    assert not any(cell.startswith("'") for cell in seen)


def test_spreadsheet_safe_csv_exports_neutralise_formulas_and_jsonl_keeps_the_text(client, db):
    """Opt-in (`spreadsheet_safe=1`): model names, LaTeX, comments and usernames that a
    spreadsheet would run as formulas get a leading ' in every CSV; the JSONL keeps them exactly."""
    import json

    project_id = _formula_project(db)
    login(client, "@evil")
    seen = set()
    for level in ("step", "derivation", "events"):
        text = client.get(f"/projects/{project_id}/export.csv?level={level}&spreadsheet_safe=1").text
        for row in csv.reader(io.StringIO(text, newline="")):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (level, cell)
                seen.add(cell)
    assert {"'" + f for f in FORMULAS} <= seen  # the model names, kept apart from the formula
    assert "'@evil" in seen and "'=cmd|' /C calc'!A0" in seen
    raw = client.get(f"/projects/{project_id}/export.jsonl").text
    records = [json.loads(line) for line in raw.splitlines()]
    models = {r["model"] for r in records if r["type"] == "derivation"}
    assert set(FORMULAS[:4]) <= models  # (import strips the model name's surrounding whitespace)
    assert any(r.get("comment") == "=cmd|' /C calc'!A0" for r in records if r["type"] == "annotation")


def test_pandas_reads_back_every_step_exactly_and_whole_number_labels(client, db):
    """The analyst's check: read the step CSV with pandas, compare with what was imported."""
    import pandas as pd

    for key in ("gpt-4", "flan-t5-large"):
        import_file(db, project_name="roundtrip", filename=PAPER_FILES[key].name, data=PAPER_FILES[key].read_bytes())
    make_user(db, username="boss", role=Role.admin)
    login(client, "boss")
    project_id = db.scalar(select(Derivation.project_id).order_by(Derivation.id.desc()))
    text = client.get(f"/projects/{project_id}/export.csv?level=step").text
    frame = pd.read_csv(io.StringIO(text), keep_default_na=False, dtype={"latex": str})
    stored = {(d, i): tex for d, i, tex in db.execute(
        select(Step.derivation_id, Step.index, Step.latex).join(Derivation, Derivation.id == Step.derivation_id)
        .where(Derivation.project_id == project_id)).all()}
    exported = {(int(d), int(i)): tex for d, i, tex in frame[["derivation_id", "step_index", "latex"]].itertuples(
        index=False)}
    assert exported == stored
    assert sum(tex.startswith("-") for tex in stored.values()) > 0  # the case that used to get a '
    plain = pd.read_csv(io.StringIO(text))  # and with pandas' defaults, labels are whole numbers
    assert all(str(plain[label].dtype) == "int64" for label in LABELS + ["annotated", "adjudicated"])


ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def test_one_timestamp_format_in_every_export(client, annotated):
    import json

    login(client, "boss")
    pid = annotated["project_id"]
    stamps = [r["submitted_at"] for level in ("step", "derivation")
              for r in read_csv(client.get(f"/projects/{pid}/export.csv?level={level}").text) if r["submitted_at"]]
    stamps += [r["at"] for r in read_csv(client.get(f"/projects/{pid}/export.csv?level=events").text)]
    for line in client.get(f"/projects/{pid}/export.jsonl").text.splitlines():
        record = json.loads(line)
        stamps += [record[k] for k in ("submitted_at", "decided_at", "at") if record.get(k)]
    assert len(stamps) > 50 and all(ISO_UTC.fullmatch(s) for s in stamps), [s for s in stamps
                                                                              if not ISO_UTC.fullmatch(s)][:3]
