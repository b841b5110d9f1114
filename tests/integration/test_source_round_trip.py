"""Real ProcessBench and PRM800K records (../shared/data/formats) imported into a default project
and into each preset's project, then exported: every label and every step's text comes back as
the source wrote it. A step the source left unlabelled comes back null, never +1; a label the
project lacks is refused by name and nothing is written."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.errors import InvalidInput
from app.models import Derivation, Project
from app.services import exporting, pushing, training
from app.services.importing import import_file
from tests.helpers import SHARED_DATA

FORMATS = SHARED_DATA / "formats"
PB_FILE, PRM_FILE = FORMATS / "processbench_sample.jsonl", FORMATS / "prm800k_sample.jsonl"
pytestmark = pytest.mark.skipif(not PB_FILE.exists(), reason="../shared/data/formats is not beside the project")


def _records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def processbench_expected() -> list[tuple[list[str], list[int | None]]]:
    """(steps, ratings) as ProcessBench means them: +1 before the first error, -1 on it, unknown after."""
    out = []
    for r in _records(PB_FILE):
        k = r["label"]
        ratings = [1] * len(r["steps"]) if k < 0 else [1] * k + [-1] + [None] * (len(r["steps"]) - k - 1)
        out.append((r["steps"], ratings))
    return out


def prm800k_expected() -> list[tuple[list[str], list[int | None]]]:
    """(steps, ratings) read straight off the file: the chosen completion (the first where none
    was chosen), or the labeler's own step, whose rating the source leaves empty."""
    out = []
    for r in _records(PRM_FILE):
        steps, ratings = [], []
        for step in r["label"]["steps"]:
            if step.get("human_completion"):
                steps.append(step["human_completion"]["text"])
                ratings.append(step["human_completion"].get("rating"))
            else:
                chosen = step["chosen_completion"] if isinstance(step["chosen_completion"], int) else 0
                steps.append(step["completions"][chosen]["text"])
                ratings.append(step["completions"][chosen]["rating"])
        out.append((steps, ratings))
    return out


def _exported(db, project_name: str) -> list[tuple[list[str], list[int | None]]]:
    pid = db.scalar(select(Project.id).where(Project.name == project_name))
    records = training.build(db, project_id=pid, kind="step-rewards").records
    assert len(records) == db.query(Derivation).filter(Derivation.project_id == pid).count()  # all judged
    return [(r["steps"], r["ratings"]) for r in records]


def _from_jsonl(db, sessions, pid) -> list[tuple[list[str], list[int | None]]]:
    """(steps, ratings) rebuilt from the JSONL export alone, with the project's label ratings."""
    from app.services import taxonomy

    db.flush()
    ratings = taxonomy.ratings(db.get(Project, pid))
    lines = [json.loads(line) for line in exporting.stream_jsonl(
        sessions, filters=type("F", (), {"project_id": pid, "model_id": None, "perturbation": None})())]
    annotations = {r["derivation_id"]: r for r in lines if r["type"] == "annotation"}
    out = []
    for d in (r for r in lines if r["type"] == "derivation"):
        a = annotations[d["id"]]
        labels: dict[int, list[str]] = {}
        for item in a["submitted_labels"]:
            labels.setdefault(item["step_id"], []).append(item["label"])
        out.append(([s["latex"] for s in d["steps"]],
                    [None if s["id"] in a["unlabelled_step_ids"]
                     else min((ratings[x] for x in labels.get(s["id"], [])), default=1) for s in d["steps"]]))
    return out


CASES = [  # (file, expected, preset of the project made beforehand or None for none made, label mapping)
    (PB_FILE, processbench_expected, "paper", None),  # the default labels: first_error -> incorrect (-1)
    (PB_FILE, processbench_expected, "processbench", None),
    (PB_FILE, processbench_expected, None, None),  # a new project takes the source's preset
    (PB_FILE, processbench_expected, "prm800k", None),  # its one -1 label: negative
    (PB_FILE, processbench_expected, "lemma", {"first_error": "logic"}),  # six -1 labels: say which
    (PRM_FILE, prm800k_expected, "paper", {"neutral": "irrelevant"}),  # the paper's labels have no neutral 0
    (PRM_FILE, prm800k_expected, "prm800k", None),
    (PRM_FILE, prm800k_expected, None, None),
    (PRM_FILE, prm800k_expected, "processbench", {"neutral": "neutral0"}),  # with a 0 label added first
    (PRM_FILE, prm800k_expected, "lemma", {"negative": "calculation", "neutral": "neutral0"}),
]


@pytest.mark.parametrize("path,expected,preset,label_map", CASES,
                         ids=[f"{c[0].stem}-{c[2] or 'new'}" for c in CASES])
def test_labels_and_text_come_back_as_the_source_wrote_them(db, sessions, path, expected, preset, label_map):
    if preset:
        project = pushing.create_project(db, name="round trip", preset=None if preset == "paper" else preset)
        if label_map and "neutral0" in label_map.values():  # the preset has no label rated 0: add one
            from app.services import taxonomy
            taxonomy.update(db, project_id=project.id, rows=[*taxonomy.items(project), {
                "key": "neutral0", "name": "Neutral", "help": "", "rating": 0}])
    result = import_file(db, project_name="round trip", filename=path.name, data=path.read_bytes(),
                         label_map=label_map)
    want = expected()
    assert result.added == len(want)
    got = _exported(db, "round trip")
    assert [steps for steps, _ in got] == [steps for steps, _ in want]  # text as written, step by step
    mismatched = [(n, g, w) for n, ((_, g), (_, w)) in enumerate(zip(got, want)) if g != w]
    assert not mismatched, mismatched[:3]
    pid = db.scalar(select(Project.id).where(Project.name == "round trip"))
    assert _from_jsonl(db, sessions, pid) == want  # the JSONL of everything says the same
    for row, (steps, ratings) in zip(training.build(db, project_id=pid, kind="stepwise").records, want):
        end = next((i for i, r in enumerate(ratings) if r is None or r == -1), len(ratings))
        end = end + 1 if end < len(ratings) and ratings[end] == -1 else end
        assert row["completions"] == steps[:end] and row["labels"] == [r >= 0 for r in ratings[:end]]
    if path == PB_FILE:
        pb = _records(PB_FILE)
        first = [r["first_error"] for r in training.build(
            db, project_id=db.scalar(select(Project.id).where(Project.name == "round trip")),
            kind="step-rewards").records]
        assert first == [r["label"] for r in pb]


def test_the_stepwise_export_stops_where_the_source_stops_judging(db):
    import_file(db, project_name="pb", filename=PB_FILE.name, data=PB_FILE.read_bytes())
    pid = db.scalar(select(Project.id).where(Project.name == "pb"))
    rows = training.build(db, project_id=pid, kind="stepwise").records
    for row, source in zip(rows, _records(PB_FILE)):
        k = source["label"]
        assert row["prompt"] == source["problem"]
        if k < 0:
            assert row["completions"] == source["steps"] and all(row["labels"])
        else:  # up to and including the first wrong step; nothing after it is guessed
            assert row["completions"] == source["steps"][:k + 1]
            assert row["labels"] == [True] * k + [False]


def test_unlabelled_steps_are_empty_in_the_step_csv_and_listed_in_the_jsonl(db, sessions):
    import_file(db, project_name="pb", filename=PB_FILE.name, data=PB_FILE.read_bytes())
    db.flush()
    pid = db.scalar(select(Project.id).where(Project.name == "pb"))
    project = db.get(Project, pid)
    csv_text = "".join(exporting.stream_csv(sessions, project_id=pid, labels=project.label_keys, level="step"))
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    gsm0 = [r for r in rows if r["derivation_id"] == str(min(int(r["derivation_id"]) for r in rows))]
    label = _records(PB_FILE)[0]["label"]
    assert [r["first_error"] for r in gsm0] == ["0"] * label + ["1"] + [""] * (len(gsm0) - label - 1)
    lines = [json.loads(line) for line in exporting.stream_jsonl(
        sessions, filters=type("F", (), {"project_id": pid, "model_id": None, "perturbation": None})())]
    annotation = next(r for r in lines if r["type"] == "annotation")
    assert len(annotation["unlabelled_step_ids"]) == len(gsm0) - label - 1


def test_a_label_the_project_lacks_is_refused_by_name_and_nothing_is_written(db):
    pushing.create_project(db, name="paper labels")
    with pytest.raises(InvalidInput) as caught:
        import_file(db, project_name="paper labels", filename=PRM_FILE.name, data=PRM_FILE.read_bytes())
    message = " ".join(caught.value.details)
    assert "'neutral'" in message and "irrelevant, redundant, skipped" in message and "neutral=" in message
    assert db.query(Derivation).count() == 0
    pushing.create_project(db, name="first errors only", preset="processbench")  # no label rated 0
    with pytest.raises(InvalidInput) as caught:
        import_file(db, project_name="first errors only", filename=PRM_FILE.name, data=PRM_FILE.read_bytes())
    assert any("'neutral'" in d and "nor any label rated +0" in d for d in caught.value.details)
    pushing.create_project(db, name="lemma labels", preset="lemma")  # six labels rated -1: which one?
    with pytest.raises(InvalidInput, match="do not fit"):
        import_file(db, project_name="lemma labels", filename=PB_FILE.name, data=PB_FILE.read_bytes())
    with pytest.raises(InvalidInput) as caught:
        import_file(db, project_name="lemma labels", filename=PB_FILE.name, data=PB_FILE.read_bytes(),
                    label_map={"first_error": "nonsense"})
    assert any("no label 'nonsense'" in d for d in caught.value.details)
    result = import_file(db, project_name="lemma labels", filename=PB_FILE.name, data=PB_FILE.read_bytes(),
                         label_map={"first_error": "logic"})
    assert result.added == 100
