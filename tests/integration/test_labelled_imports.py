"""Importing step-by-step datasets that carry labels, and evaluation-harness logs, from tiny
hand-written fixtures in each source's format; their labels arrive as annotations by an
annotator named after the source, and a bad record imports nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.errors import InvalidInput
from app.models import Annotation, Derivation, LLMModel, Step, StepLabel, User
from app.services.file_formats import read_records
from app.services.importing import import_file


def jsonl(*records) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


# ProcessBench (Zheng et al. 2024, HF "Qwen/ProcessBench"): one object per line; `label` is the
# 0-based index of the earliest wrong step, -1 when all steps are right.
PROCESSBENCH = jsonl(
    {"id": "gsm8k-0", "generator": "Qwen2-7B-Instruct", "problem": "Tom has 3 apples and buys 2. How many?",
     "steps": ["Tom has $3$ apples.", "He buys $2$: $3 + 2 = 6$.", "The answer is $6$."],
     "final_answer_correct": False, "label": 1},
    {"id": "gsm8k-1", "generator": "Qwen2-7B-Instruct", "problem": "What is $2 \\cdot 4$?",
     "steps": ["$2 \\cdot 4 = 8$."], "final_answer_correct": True, "label": -1},
)

# PRM800K (Lightman et al. 2023, phase2_train.jsonl): per step, completions rated -1/0/+1 with the
# chosen one's index (null on the last step of a solution that found an error), or a labeler's own
# human_completion; finish_reason "solution" or "found_error".
PRM800K = jsonl(
    {"labeler": "3f8c", "question": {"problem": "Compute $\\sqrt{16}$.", "ground_truth_answer": "4"},
     "label": {"steps": [
         {"completions": [{"text": "We need $\\sqrt{16}$.", "rating": 1, "flagged": False}], "human_completion": None,
          "chosen_completion": 0},
         {"completions": [{"text": "It is $16 / 2 = 8$.", "rating": -1, "flagged": False},
                          {"text": "It is $8$.", "rating": -1, "flagged": False}],
          "human_completion": None, "chosen_completion": None},
     ], "total_time": 1000, "finish_reason": "found_error"}},
    {"labeler": "3f8c", "question": {"problem": "Compute $1 + 1$."},
     "label": {"steps": [
         {"completions": [{"text": "Add: $1 + 1 = 2$.", "rating": 0}], "human_completion": None, "chosen_completion": 0},
         {"completions": [], "human_completion": {"text": "So the answer is $2$."}, "chosen_completion": None},
     ], "finish_reason": "solution"}},
)

# lm-evaluation-harness 0.4 `--log_samples` (samples_<task>_<date>.jsonl): the prompt in
# arguments.gen_args_0.arg_0, the raw generation in resps[0][0], the gold answer in target.
LM_EVAL = jsonl(
    {"doc_id": 0, "doc": {"question": "Tom has 3 apples..."}, "target": "5",
     "arguments": {"gen_args_0": {"arg_0": "Question: Tom has 3 apples and buys 2. How many?\nAnswer:",
                                  "arg_1": {"until": ["Question:"]}}},
     "resps": [["Tom has 3 apples.\nHe buys 2, so 3 + 2 = 5.\n#### 5"]], "filtered_resps": ["5"],
     "exact_match": 1.0},
    {"doc_id": 1, "doc": {}, "target": "8", "arguments": [["Question: 2*4?\nAnswer:", {"until": ["\n\n"]}]],
     "resps": [["2 * 4 = 8.\n#### 8"]], "filtered_resps": ["8"]},
)


def _steps(db) -> list[list[str]]:
    out: dict[int, list[str]] = {}
    for d, latex in db.execute(select(Step.derivation_id, Step.latex).order_by(Step.derivation_id, Step.index)):
        out.setdefault(d, []).append(latex)
    return list(out.values())


def _labels(db, source: str) -> dict[str, dict[int, set[str]]]:
    out: dict[str, dict[int, set[str]]] = {}
    for prompt, index, label in db.execute(
            select(Derivation.raw_text, Step.index, StepLabel.label)
            .join(Annotation, Annotation.derivation_id == Derivation.id)
            .join(User, User.id == Annotation.annotator_id)
            .join(StepLabel, StepLabel.annotation_id == Annotation.id)
            .join(Step, Step.id == StepLabel.step_id).where(User.username == source)):
        out.setdefault(prompt, {}).setdefault(index, set()).add(label)
    return out


def test_processbench_steps_and_first_error_become_an_annotation(db):
    result = import_file(db, project_name="pb", filename="gsm8k.jsonl", data=PROCESSBENCH)
    assert (result.format, result.added) == ("processbench", 2)
    ds = db.scalars(select(Derivation).order_by(Derivation.id)).all()
    assert _steps(db) == [
        ["Tom has $3$ apples.", "He buys $2$: $3 + 2 = 6$.", "The answer is $6$."], ["$2 \\cdot 4 = 8$."]]
    assert {db.get(LLMModel, d.model_id).name for d in ds} == {"Qwen2-7B-Instruct"}
    annotations = db.scalars(select(Annotation).order_by(Annotation.derivation_id)).all()
    assert [(a.status.value, a.goal_reached) for a in annotations] == [("submitted", False), ("submitted", True)]
    assert db.get(User, annotations[0].annotator_id).username == "processbench"
    # a new project made by the import takes ProcessBench's preset: its label is the source's own
    assert list(_labels(db, "processbench").values()) == [{2: {"first_error"}}]  # step 2 (0-based 1)
    again = import_file(db, project_name="pb", filename="gsm8k.jsonl", data=PROCESSBENCH)
    assert again.already_imported and db.query(Annotation).count() == 2


def test_prm800k_ratings_become_labels(db):
    result = import_file(db, project_name="prm", filename="phase2_train.jsonl", data=PRM800K)
    assert (result.format, result.added) == ("prm800k", 2)
    steps = _steps(db)
    # the chosen completion; where none was chosen (an error found), the first one; a human step as written
    assert steps == [["We need $\\sqrt{16}$.", "It is $16 / 2 = 8$."], ["Add: $1 + 1 = 2$.", "So the answer is $2$."]]
    labels = _labels(db, "prm800k")
    # the prm800k preset's labels: -1 negative, 0 neutral; +1 carries none
    assert list(labels.values()) == [{2: {"negative"}}, {1: {"neutral"}}]
    goals = [a.goal_reached for a in db.scalars(select(Annotation).order_by(Annotation.derivation_id))]
    assert goals == [False, True]


def test_lm_eval_samples_with_the_model_named_at_import(db):
    result = import_file(db, project_name="harness", filename="samples_gsm8k_2026-12-01T10-00-00.jsonl",
                         data=LM_EVAL, split="newline", model="meta-llama/Llama-3.1-8B")
    assert (result.format, result.added) == ("lm-eval", 2)
    ds = db.scalars(select(Derivation).order_by(Derivation.id)).all()
    assert _steps(db)[0] == ["Tom has 3 apples.", "He buys 2, so 3 + 2 = 5.", "#### 5"]
    assert {db.get(LLMModel, d.model_id).name for d in ds} == {"meta-llama/Llama-3.1-8B"}
    from app.models import Problem
    problem = db.get(Problem, ds[1].problem_id)
    assert problem.prompt == "Question: 2*4?\nAnswer:" and problem.reference == "8"
    assert db.query(Annotation).count() == 0  # no labels in a harness log


@pytest.mark.parametrize("fmt,data,message", [
    ("processbench", jsonl({"id": "a", "problem": "p", "steps": ["x"], "label": 3}), "line 3: field 'label': must be -1"),
    ("processbench", jsonl({"id": "a", "problem": "p", "steps": "x", "label": 0}), "line 3: field 'steps' must be"),
    ("prm800k", jsonl({"question": {"problem": "p"}, "label": {"steps": [{"completions": [{"text": "x", "rating": 5}]}]}}),
     "line 3: field 'label.steps.0': rating 5"),
    ("prm800k", jsonl({"question": {}, "label": {"steps": []}}), "line 3: field 'question.problem' is missing"),
    ("lm-eval", jsonl({"doc_id": 0, "arguments": {}, "resps": [["x"]]}), "line 3: field 'arguments' holds no prompt"),
])
def test_a_bad_record_names_line_and_field_and_imports_nothing(db, fmt, data, message):
    good = {"processbench": PROCESSBENCH, "prm800k": PRM800K, "lm-eval": LM_EVAL}[fmt]
    with pytest.raises(InvalidInput) as caught:
        import_file(db, project_name="bad", filename="bad.jsonl", data=good + data, fmt=fmt)
    assert any(message in d for d in caught.value.details), caught.value.details
    assert db.query(Derivation).count() == 0 and db.query(User).count() == 0


def test_plain_jsonl_is_still_plain():
    fmt, _ = read_records("runs.jsonl", jsonl({"problem_id": 1, "prompt": "p", "model": "m", "derivation": "a = b"}))
    assert fmt == "jsonl"


def test_a_first_line_nested_too_deep_is_a_clear_refusal_not_a_crash(db):
    # format sniffing read the first line with json.loads: a RecursionError became a 500
    deep = b"[" * 2000 + b"]" * 2000 + b"\n"
    with pytest.raises(InvalidInput) as caught:
        import_file(db, project_name="deep", filename="deep.jsonl", data=deep)
    assert any("line 1" in d for d in caught.value.details), caught.value.details
    assert db.query(Derivation).count() == 0
