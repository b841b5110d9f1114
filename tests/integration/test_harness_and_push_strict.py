"""Real lm-evaluation-harness runs (../shared/data/formats/lm-eval: one task, 0-shot and 1-shot)
import as two prompts, named after the model their results file names, with what the harness
said about each sample kept; and a push through the API is as strict as a file import."""

from __future__ import annotations

import json
import math

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from app.errors import InvalidInput
from app.models import Derivation, LLMModel, Prediction, Problem, Project
from app.schemas.api import DerivationsIn, PredictionsIn
from app.services import pushing
from app.services.importing import import_file
from tests.helpers import SHARED_DATA

HARNESS = SHARED_DATA / "formats" / "lm-eval"


def _run(folder: str) -> tuple:
    samples = next((HARNESS / folder).glob("samples_*.jsonl"))
    results = next((HARNESS / folder).glob("results_*.json"))
    return samples, results


@pytest.mark.skipif(not HARNESS.exists(), reason="../shared/data/formats is not beside the project")
def test_two_few_shot_settings_of_one_task_are_two_prompts_named_by_the_results_file(db):
    added = []
    for folder in ("zero-shot", "one-shot"):
        samples, results = _run(folder)
        result = import_file(db, project_name="harness", filename=samples.name, data=samples.read_bytes(),
                             split="newline", results=(results.name, results.read_bytes()))
        added.append((result.added, result.problems_added))
    assert added == [(10, 10), (10, 10)]  # the 1-shot run's problems are new: its prompts differ
    pid = db.scalar(select(Project.id).where(Project.name == "harness"))
    prompts = db.scalars(select(Problem.prompt).where(Problem.project_id == pid)).all()
    one_shot = [json.loads(line) for line in _run("one-shot")[0].read_text().splitlines()]
    assert {r["arguments"]["gen_args_0"]["arg_0"] for r in one_shot} <= set(prompts)
    assert set(db.scalars(select(LLMModel.name).join(Derivation, Derivation.model_id == LLMModel.id))) == \
        {"models/tiny-gpt2"}
    kept = db.scalars(select(Derivation.source_record).where(Derivation.project_id == pid)).all()
    shots = sorted(r["num_fewshot"] for r in kept)
    assert shots == [0] * 10 + [1] * 10 and {r["task"] for r in kept} == {"gsm_local"}
    sample = next(r for r in kept if r["num_fewshot"] == 1 and r["doc_id"] == one_shot[0]["doc_id"])
    assert sample["doc"] == one_shot[0]["doc"] and sample["target"] == one_shot[0]["target"]
    assert sample["filtered_resps"] == one_shot[0]["filtered_resps"]
    assert sample["metrics"] == {"exact_match": one_shot[0]["exact_match"]}
    assert sample["generation"] == one_shot[0]["arguments"]["gen_args_0"]["arg_1"]


def _push(db, pid, records, all_or_nothing=False):
    return pushing.push_derivations(db, project_id=pid, body=DerivationsIn(derivations=records,
                                                                           all_or_nothing=all_or_nothing))


def test_a_push_refuses_a_problem_given_two_prompts_or_a_new_prompt_for_a_stored_one(db):
    project = pushing.create_project(db, name="pushed")
    one = {"problem_id": "q1", "prompt": "What is 2 + 2?", "model": "m", "derivation": "4"}
    result = _push(db, project.id, [one, {**one, "prompt": "What is 3 + 3?", "derivation": "6"}])
    assert result.added == 0 and [r.index for r in result.rejected] == [0, 1]
    assert "different prompts in this push" in result.rejected[1].errors[0]
    assert _push(db, project.id, [one]).added == 1
    later = _push(db, project.id, [{**one, "prompt": "What is 5 + 5?", "derivation": "10"}])
    assert later.added == 0 and "in the project with another prompt" in later.rejected[0].errors[0]
    with pytest.raises(InvalidInput):
        _push(db, project.id, [{**one, "prompt": "What is 5 + 5?", "derivation": "10"}], all_or_nothing=True)
    # a file says the same thing the same way
    line = json.dumps({**one, "prompt": "What is 7 + 7?", "derivation": "14"}) + "\n"
    with pytest.raises(InvalidInput, match="another prompt"):
        import_file(db, project_name="pushed", filename="more.jsonl", data=line.encode())
    assert db.scalar(select(Problem.prompt).where(Problem.key == "q1")) == "What is 2 + 2?"


def test_predictions_are_checked_against_the_project(db):
    project = pushing.create_project(db, name="judged")
    _push(db, project.id, [{"problem_id": "q1", "prompt": "p", "model": "m", "steps": ["a = b", "b = c"]}])
    d = db.scalar(select(Derivation.id).where(Derivation.project_id == project.id))

    def push(**item):
        body = PredictionsIn(source="judge", predictions=[{"derivation_id": d, "step_index": 1, "label": "incorrect",
                                                            "verdict": "yes", **item}])
        return pushing.push_predictions(db, project_id=project.id, body=body)

    for bad, message in [({"label": "wrongish"}, "label 'wrongish' is not one of the project's"),
                         ({"step_index": 3}, "the derivation has 2 steps"),
                         ({"step_index": 0}, "step 0 is the derivation")]:
        with pytest.raises(InvalidInput) as caught:
            push(**bad)
        assert any(message in line for line in caught.value.details), caught.value.details
    for score in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValidationError):
            push(score=score)
    assert db.query(Prediction).count() == 0
    assert push(score=0.25) == 1 and push(step_index=0, label="goal_reached") == 1
