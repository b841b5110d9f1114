"""The admin's upload page: counts when done, a clear error and nothing written when not."""

import html

from sqlalchemy import func, select

from app.models import Derivation, Role
from tests.helpers import PAPER_FILES, htmx, login
from tests.factories import make_user


def upload(client, token, name, data, project="uploaded"):
    return client.post("/import", data={"project": project}, files={"file": (name, data, "application/octet-stream")},
                       headers=htmx(token))


def test_upload_shows_counts_and_second_upload_adds_nothing(client, db):
    make_user(db, role=Role.admin, username="boss")
    token = login(client, "boss")
    page = client.get("/import")
    assert page.status_code == 200 and 'type="file"' in page.text
    data = PAPER_FILES["flan-t5-large"].read_bytes()
    first = upload(client, token, "flan.json", data)
    assert first.status_code == 200 and "<html" not in first.text
    assert "Imported <b>50</b> new derivation(s)" in first.text
    again = upload(client, token, "flan.json", data)
    assert "already imported" in again.text
    assert db.scalar(select(func.count()).select_from(Derivation)) == 50


def test_bad_upload_names_the_line_and_writes_nothing(client, db):
    make_user(db, role=Role.admin, username="boss")
    token = login(client, "boss")
    data = b'{"problem_id": 1, "prompt": "Given a, then obtain b", "model": "m", "derivation": "a"}\n{"problem_id": 2, "prompt": "x"}\n'
    response = upload(client, token, "runs.jsonl", data)
    assert response.status_code == 422 and response.headers["HX-Retarget"] == "#flash"
    text = html.unescape(response.text)
    assert "line 2: field 'model' is missing" in text and "nothing was imported" in text
    assert db.scalar(select(func.count()).select_from(Derivation)) == 0


def test_upload_needs_a_project_name(client, db):
    make_user(db, role=Role.admin, username="boss")
    token = login(client, "boss")
    response = upload(client, token, "x.jsonl", b"{}", project="  ")
    assert response.status_code == 422 and "project" in response.text


def test_a_file_over_the_limit_is_refused_unread(client, db):
    """100 MB against the 50 MB default: 413, a message naming the limit, nothing written
    (and no more than the limit is read into memory)."""
    make_user(db, role=Role.admin, username="boss")
    token = login(client, "boss")
    line = b'{"problem_id": "p", "prompt": "Given a, then obtain b", "model": "m", "derivation": "a"}\n'
    data = line * (100 * 2**20 // len(line) + 1)
    response = upload(client, token, "big.jsonl", data)
    assert response.status_code == 413
    text = html.unescape(response.text)
    assert "larger than 50 MB" in text and "IMPORT_MAX_MB" in text and "nothing was imported" in text
    assert db.scalar(select(func.count()).select_from(Derivation)) == 0


def test_the_project_page_shows_preannotation_progress_until_done(client, db):
    from app.models import Project
    from app.repositories import checks as checks_repo
    from tests.factories import score_all

    make_user(db, role=Role.admin, username="boss")
    token = login(client, "boss")
    upload(client, token, "gpt4.json", PAPER_FILES["gpt-4"].read_bytes())
    project_id = db.scalar(select(Project.id).where(Project.name == "uploaded"))
    page = client.get(f"/projects/{project_id}")
    assert "<html" in page.text and "SymPy suggestions: <b>0</b> of 50" in page.text
    assert "waiting for a worker" in page.text and "Text metrics (ROUGE-2, BLEU, GLEU): <b>0</b> of 50" in page.text
    # what the workers do: suggestions for 20 derivations, the metrics of all
    ids = db.scalars(select(Derivation.id).order_by(Derivation.id)).all()
    for d in ids[:20]:
        checks_repo.save(db, d, [{"step_index": 0, "label": "goal_reached", "verdict": "yes", "reason": "r"}], {})
    score_all(db)
    db.flush()
    fragment = client.get(f"/projects/{project_id}/preannotation", headers=htmx(token))
    assert "<html" not in fragment.text and 'hx-trigger="every 3s"' in fragment.text
    assert "<b>20</b> of 50" in fragment.text and "20 in the last minute, about 2 minute(s) left" in fragment.text
    for d in ids[20:]:
        checks_repo.save(db, d, [{"step_index": 0, "label": "goal_reached", "verdict": "no", "reason": "r"}], {})
    db.flush()
    done = client.get(f"/projects/{project_id}/preannotation", headers=htmx(token))
    assert "<b>50</b> of 50" in done.text and "· done" in done.text and "hx-trigger" not in done.text
    assert "Text metrics (ROUGE-2, BLEU, GLEU): <b>50</b> of 50" in done.text


def test_chain_of_thought_split_by_lines_and_a_steps_list(client, db):
    """GSM8K/MATH-style outputs: prose with inline LaTeX, one step per line (the import page's
    split rule), and a record that gives its steps as a JSON list."""
    import json

    from app.models import Step

    make_user(db, role=Role.admin, username="boss")
    token = login(client, "boss")
    assert '<select name="split">' in client.get("/import").text
    lines = [
        {"problem_id": "gsm-1", "prompt": "Tom has 3 apples and buys 2 more. How many?", "model": "llama",
         "derivation": "Tom starts with $3$ apples.\nHe buys $2$ more: $3 + 2 = 5$.\nThe answer is $5$."},
        {"problem_id": "gsm-2", "prompt": "What is $2^3$?", "model": "llama",
         "steps": ["$2^3 = 2 \\cdot 2 \\cdot 2$", "$= 8$"]},
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    done = client.post("/import", data={"project": "cot", "split": "newline"},
                       files={"file": ("cot.jsonl", data, "application/octet-stream")}, headers=htmx(token))
    assert done.status_code == 200 and "Imported <b>2</b> new derivation(s)" in done.text
    steps = {d: [s.latex for s in db.scalars(select(Step).where(Step.derivation_id == d).order_by(Step.index))]
             for d in db.scalars(select(Derivation.id).order_by(Derivation.id))}
    assert list(steps.values()) == [
        ["Tom starts with $3$ apples.", "He buys $2$ more: $3 + 2 = 5$.", "The answer is $5$."],
        ["$2^3 = 2 \\cdot 2 \\cdot 2$", "$= 8$"],
    ]
    again = client.post("/import", data={"project": "cot", "split": "newline"},
                        files={"file": ("cot.jsonl", data, "application/octet-stream")}, headers=htmx(token))
    assert "already imported" in again.text
    bad = client.post("/import", data={"project": "cot", "split": "sentences"},
                      files={"file": ("cot.jsonl", data, "application/octet-stream")}, headers=htmx(token))
    assert bad.status_code == 422 and "step split 'sentences'" in html.unescape(bad.text)
    assert db.scalar(select(func.count()).select_from(Derivation)) == 2


def test_lm_eval_samples_upload_with_their_results_file(client, db):
    from app.models import LLMModel
    from tests.helpers import SHARED_DATA

    folder = SHARED_DATA / "formats" / "lm-eval" / "one-shot"
    if not folder.exists():
        import pytest
        pytest.skip("../shared/data/formats is not beside the project")
    samples, results = next(folder.glob("samples_*.jsonl")), next(folder.glob("results_*.json"))
    make_user(db, role=Role.admin, username="boss")
    token = login(client, "boss")
    done = client.post("/import", data={"project": "harness", "split": "newline"}, headers=htmx(token), files={
        "file": (samples.name, samples.read_bytes(), "application/octet-stream"),
        "results": (results.name, results.read_bytes(), "application/json")})
    assert done.status_code == 200 and "Imported <b>10</b> new derivation(s)" in done.text
    assert db.scalars(select(LLMModel.name).join(Derivation, Derivation.model_id == LLMModel.id)).all() == \
        ["models/tiny-gpt2"] * 10
    bad = client.post("/import", data={"project": "harness"}, headers=htmx(token), files={
        "file": (samples.name, samples.read_bytes(), "application/octet-stream"),
        "results": ("results.json", b"{not json", "application/json")})
    assert bad.status_code == 422 and "not a JSON results file of lm-evaluation-harness" in html.unescape(bad.text)
