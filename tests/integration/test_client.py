"""The write API through the Python client (derivlab.client) against a live server: create a
project, push derivations (twice: nothing added; with bad records: 207 or all or nothing),
push an external judge's predictions (shown on the annotate page with its name), read the
annotations incrementally with `since`."""

from __future__ import annotations

import re
import threading
import time

import pytest
import uvicorn
from sqlalchemy import func, select

from app.config import Settings
from app.db import make_engine, make_sessionmaker, transaction
from app.models import Derivation, Prediction, Role
from app.services import annotating, tokens
from app.services.auth import create_user
from derivlab.client import Client, DerivationLabError
from tests.helpers import PASSWORD, free_port, login
from tests.factories import assign, steps_of


@pytest.fixture
def live(fresh_database_url, tmp_path):
    from app.main import create_app

    engine = make_engine(fresh_database_url)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        boss = create_user(session, username="boss", password=PASSWORD, role=Role.admin)
        create_user(session, username="ann", password=PASSWORD, role=Role.annotator)
        _, secret = tokens.create(session, user=boss, name="script")
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path, secret_key="t", _env_file=None)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, sessions), host="127.0.0.1", port=free_port(),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):  # bounded wait for start-up
        if server.started:
            break
        time.sleep(0.05)
    base = f"http://127.0.0.1:{server.config.port}"
    with Client(base, secret) as client:
        yield client, sessions, base
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


RECORDS = [
    {"problem_id": "q1", "prompt": "Given f{(x)} = x^{2}, then obtain \\frac{d}{d x} f{(x)} = 2 x", "model": "llama",
     "derivation": "f{(x)} = x^{2} and \\frac{d}{d x} f{(x)} = 3 x"},
    {"problem_id": "q2", "prompt": "What is 2 + 2?", "model": "llama", "steps": ["$2 + 2 = 4$", "So $4$."]},
]


def test_push_twice_then_read_back(live):
    lab, sessions, _ = live
    project = lab.create_project("api-study", preset="prm800k")
    assert project["labels"] == ["negative", "neutral"]
    with pytest.raises(DerivationLabError) as taken:
        lab.create_project("api-study")
    assert taken.value.status == 409 and "exists already" in taken.value.message
    first = lab.push_derivations(project["id"], RECORDS)
    assert (first["received"], first["added"], first["existing"], first["rejected"]) == (2, 2, 0, [])
    again = lab.push_derivations(project["id"], RECORDS)
    assert (again["added"], again["existing"]) == (0, 2)
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Derivation)) == 2
    pushed = lab.derivations(project["id"])
    assert [len(d["steps"]) for d in pushed] == [2, 2] and pushed[1]["steps"][0]["latex"] == "$2 + 2 = 4$"


def test_bad_records_get_207_or_nothing_at_all(live):
    lab, sessions, _ = live
    pid = lab.create_project("mixed")["id"]
    bad = [RECORDS[0], {"problem_id": "q3", "prompt": "p"}, {"prompt": "no id", "model": "m", "derivation": "a = b"}]
    with pytest.raises(DerivationLabError) as refused:
        lab.push_derivations(pid, bad, all_or_nothing=True)
    assert refused.value.status == 422 and "nothing was written" in refused.value.message
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Derivation)) == 0
    partial = lab.push_derivations(pid, bad)
    assert partial["added"] == 1 and [r["index"] for r in partial["rejected"]] == [1, 2]
    assert any("field 'model' is missing" in e for e in partial["rejected"][0]["errors"])


def test_predictions_show_beside_sympys_and_annotations_come_incrementally(live):
    lab, sessions, base = live
    pid = lab.create_project("judged")["id"]
    lab.push_derivations(pid, RECORDS)
    d1, d2 = [d["id"] for d in lab.derivations(pid)]
    stored = lab.push_predictions(pid, "gpt-4o-judge", [
        {"derivation_id": d1, "step_index": 2, "label": "incorrect", "verdict": "yes", "score": 0.93, "reason": "3x"},
        {"derivation_id": d1, "step_index": 1, "label": "incorrect", "verdict": "no"}])
    assert stored == {"source": "gpt-4o-judge", "stored": 2}
    with pytest.raises(DerivationLabError) as elsewhere:
        lab.push_predictions(pid, "gpt-4o-judge", [{"derivation_id": 999999, "step_index": 1, "label": "x",
                                                    "verdict": "yes"}])
    assert elsewhere.value.status == 422 and "not in project" in elsewhere.value.message

    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Prediction)) == 2
        from app.models import User
        ann = session.scalar(select(User).where(User.username == "ann"))
        assign(session, ann, session.get(Derivation, d1), session.get(Derivation, d2))
        annotating.submit(session, derivation_id=d1, user=ann, goal_reached=False, comment="first")
    import httpx
    with httpx.Client(base_url=base) as browser:
        login(browser, "ann")
        page = browser.get(f"/derivations/{d1}").text
    assert 'data-source="gpt-4o-judge" data-label="incorrect"' in page and "0.93" in page

    with httpx.Client(base_url=base) as browser:  # the dashboard scores the source against the humans
        login(browser, "boss")
        board = browser.get(f"/projects/{pid}/dashboards").text
    row = re.search(r'<tr data-source="gpt-4o-judge" data-label="incorrect">(.*?)</tr>', board, re.S).group(1)
    # ann marked nothing: the judge's "yes" on step 2 is a false positive, its "no" on step 1 a true negative
    assert re.findall(r'<td class="num">(\d+)</td>', row)[:5] == ["0", "1", "0", "1", "0"]

    first = lab.annotations(pid)
    assert [a["comment"] for a in first] == ["first"]
    assert lab.annotations(pid, since=first[-1]["submitted_at"]) == []
    with transaction(sessions) as session:
        ann = session.scalar(select(User).where(User.username == "ann"))
        annotating.submit(session, derivation_id=d2, user=ann, goal_reached=True, comment="second")
    assert [a["comment"] for a in lab.annotations(pid, since=first[-1]["submitted_at"])] == ["second"]
    assert lab.stats(pid)["models"][0]["model"] == "llama"
    rewards = lab.training(pid, "step-rewards").decode().splitlines()
    assert len(rewards) == 2  # both judged by their one annotator
    with pytest.raises(DerivationLabError) as bad:
        lab.training(pid, "rewards")
    assert bad.value.status == 422


def test_the_client_reads_every_page_and_manages_projects(live):
    """Lists come back whole however small the pages (the client follows the Link header's
    next); rename, archive and delete (with the name to confirm) through the client."""
    lab, sessions, base = live
    pid = lab.create_project("paged")["id"]
    records = [{"problem_id": f"p{n}", "prompt": f"Given a = {n}, then obtain {n} = a", "model": "m",
                "derivation": f"{n} = a"} for n in range(7)]
    lab.push_derivations(pid, records)
    lab.create_project("second")
    small = Client(base, lab._http.headers["Authorization"].split()[1], page_size=2)
    try:
        listed = small.derivations(pid)
        assert len(listed) == 7 and len({d["id"] for d in listed}) == 7
        assert [d["problem_key"] for d in listed] == [f"p{n}" for n in range(7)]
        assert [p["name"] for p in small.projects()] == ["paged", "second"]
        # the data page's filters through the client: text in a step, sorted, every page followed
        assert [d["problem_key"] for d in small.derivations(pid, q="= a", sort="problem", dir="desc")] == \
            [f"p{n}" for n in reversed(range(7))]
        assert [d["problem_key"] for d in small.derivations(pid, q="3 = a")] == ["p3"]
        with pytest.raises(DerivationLabError) as bad:
            small.derivations(pid, state="finished")
        assert bad.value.status == 422 and bad.value.message.startswith("state: use one of")
    finally:
        small.close()
    renamed = lab.update_project(pid, name="paged study", archived=True)
    assert (renamed["name"], renamed["archived"], renamed["derivations"]) == ("paged study", True, 7)
    assert [p["name"] for p in lab.projects(archived=False)] == ["second"]
    with pytest.raises(DerivationLabError) as refused:
        lab.delete_project(pid, confirm="paged")
    assert refused.value.status == 422 and lab.project(pid)["derivations"] == 7
    lab.delete_project(pid, confirm="paged study")
    with pytest.raises(DerivationLabError) as gone:
        lab.project(pid)
    assert gone.value.status == 404
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(Derivation)) == 0


def test_the_data_pages_filters_through_the_client(live):
    """Each filter of `lab.derivations` against what the test itself did to each derivation."""
    from app.models import AutoCheck, User

    lab, sessions, base = live
    pid = lab.create_project("filtered")["id"]
    lab.push_derivations(pid, [{"problem_id": f"p{n}", "prompt": f"Given a = {n}, then obtain {n} = a",
                                "model": "m1" if n < 3 else "m2", "derivation": f"a = {n} and {n} = a"}
                               for n in range(6)])
    ids = {d["problem_key"]: d["id"] for d in lab.derivations(pid)}
    with transaction(sessions) as session:
        ann = session.scalar(select(User).where(User.username == "ann"))
        for key in ("p1", "p4"):  # submitted; ann marks step 1 of p1 incorrect
            assign(session, ann, session.get(Derivation, ids[key]))
        step = steps_of(session, session.get(Derivation, ids["p1"]))[0]
        annotating.set_step_label(session, derivation_id=ids["p1"], step_id=step.id, label="incorrect", on=True,
                                  user=ann)
        for key in ("p1", "p4"):
            annotating.submit(session, derivation_id=ids[key], user=ann, goal_reached=True, comment="")
        for key in ("p1", "p2", "p4"):  # SymPy: step 1 incorrect
            session.add(AutoCheck(derivation_id=ids[key], step_index=1, label="incorrect", verdict="yes"))
    lab.push_predictions(pid, "judge", [{"derivation_id": ids["p5"], "step_index": 2, "label": "incorrect",
                                         "verdict": "yes"}])
    expected = {
        (("model", "m2"),): {"p3", "p4", "p5"},
        (("state", "agreed"),): {"p1", "p4"},
        (("state", "unannotated"),): {"p0", "p2", "p3", "p5"},
        (("annotator", "ann"),): {"p1", "p4"},
        (("human", "incorrect"),): {"p1"},
        (("sympy", "incorrect"),): {"p1", "p2", "p4"},
        # against the humans' judgement: p2, which nobody judged, is not among them
        (("sympy_not_humans", "incorrect"),): {"p4"},
        (("humans_not_sympy", "incorrect"),): set(),
        (("source", "judge"),): {"p5"},
        (("model", "m1"), ("sympy", "incorrect")): {"p1", "p2"},
        (("model", "m2"), ("sympy", "incorrect")): {"p4"},
        (("model", "m2"), ("state", "unannotated")): {"p3", "p5"},
    }
    for filters, keys in expected.items():
        assert {d["problem_key"] for d in lab.derivations(pid, **dict(filters))} == keys, filters
