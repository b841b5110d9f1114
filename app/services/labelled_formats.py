"""Readers for step-by-step datasets that carry labels or come from evaluation harnesses:

- ProcessBench (Zheng et al. 2024): one JSON object per line, `{"id", "generator", "problem",
  "steps": [...], "final_answer_correct", "label"}`, label = 0-based index of the first wrong
  step, -1 when every step is right;
- PRM800K (Lightman et al. 2023, phase 1/2 JSONL): `{"labeler", "question": {"problem", ...},
  "label": {"steps": [{"completions": [{"text", "rating"}], "human_completion",
  "chosen_completion"}], "finish_reason"}}`, a rating -1/0/+1 per step;
- lm-evaluation-harness `--log_samples` files (`samples_<task>_<date>.jsonl`): `{"doc_id",
  "doc", "arguments", "resps", "filtered_resps", ...}`, one model output per sample.

The readers name each label in the source's own words (SOURCE_LABELS: ProcessBench's
`first_error`, PRM800K's `negative` -1 and `neutral` 0) and list the steps the source left
unlabelled (ProcessBench's steps after the first error, PRM800K's unrated steps); the import
maps those names onto the project's labels (app.services.source_labels). They arrive as a
submitted annotation by an annotator named after the source ("processbench", "prm800k").
Same rules as every reader: all or nothing, errors name line and field.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from app.errors import InvalidInput
from app.schemas.importing import DerivationIn
from app.services import import_formats as base
from app.services import json_records

PROCESSBENCH, PRM800K, LM_EVAL = "processbench", "prm800k", "lm-eval"

# A source's labels, in its own words: rating, and what it means there.
SOURCE_LABELS: dict[str, tuple[int, str]] = {
    "first_error": (-1, "ProcessBench's first wrong step"),
    "negative": (-1, "PRM800K's rating -1"),
    "neutral": (0, "PRM800K's rating 0 (reasonable, but no progress)"),
}


def _lines(filename: str, data: bytes, convert: Callable[[str, dict], dict]) -> list[DerivationIn]:
    return base.read_json_lines(filename, data, convert, expected="a JSON object")


class _Bad(ValueError):
    """A record that does not fit the source's format (its message names the field)."""


def _text(raw: dict, key: str, where: str = "") -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _Bad(f"field '{where}{key}' is missing or not text")
    return value


def _key(prefix: str, text: str) -> str:
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _processbench(where: str, raw: dict) -> dict:
    problem = _text(raw, "problem")
    steps = raw.get("steps")
    if not isinstance(steps, list) or not steps:
        raise _Bad("field 'steps' must be a non-empty list of the steps")
    label = raw.get("label")
    if isinstance(label, bool) or not isinstance(label, int) or not -1 <= label < len(steps):
        raise _Bad(f"field 'label': must be -1 (no wrong step) or the index of the first wrong step, "
                   f"0..{len(steps) - 1}")
    goal = raw.get("final_answer_correct")
    return {"problem_id": raw.get("id", _key("pb", problem)), "prompt": problem,
            "model": raw.get("generator") or PROCESSBENCH, "steps": steps, "labeler": PROCESSBENCH,
            "labels": {label + 1: ["first_error"]} if label >= 0 else {},
            # ProcessBench judges only up to the first wrong step: the rest were never labelled
            "unlabelled": list(range(label + 2, len(steps) + 1)) if label >= 0 else [],
            "goal_reached": goal if isinstance(goal, bool) else None}


def _prm800k(where: str, raw: dict) -> dict:
    question = raw.get("question")
    if not isinstance(question, dict):
        raise _Bad("field 'question' must be an object with 'problem'")
    problem = _text(question, "problem", "question.")
    label = raw.get("label")
    if not isinstance(label, dict) or not isinstance(label.get("steps"), list) or not label["steps"]:
        raise _Bad("field 'label.steps' must be a non-empty list")
    steps, labels, unlabelled = [], {}, []
    for i, step in enumerate(label["steps"], start=1):
        field = f"label.steps.{i - 1}"
        if not isinstance(step, dict):
            raise _Bad(f"field '{field}' must be an object")
        human, chosen, completions = step.get("human_completion"), step.get("chosen_completion"), step.get("completions")
        if isinstance(human, dict) and isinstance(human.get("text"), str):
            # a labeler's own step: the source gives it no rating (not +1: nobody rated it)
            text, rating = human["text"], human.get("rating")
        elif isinstance(completions, list) and completions:
            pick = chosen if isinstance(chosen, int) and 0 <= chosen < len(completions) else 0
            completion = completions[pick]
            if not isinstance(completion, dict) or not isinstance(completion.get("text"), str):
                raise _Bad(f"field '{field}.completions.{pick}.text' is missing or not text")
            text, rating = completion["text"], completion.get("rating")
        else:
            raise _Bad(f"field '{field}': no completion and no human_completion")
        if isinstance(rating, bool) or rating not in (-1, 0, 1, None):
            raise _Bad(f"field '{field}': rating {rating!r} is not -1, 0 or 1")
        steps.append(text)
        if rating == -1:
            labels[i] = ["negative"]
        elif rating == 0:
            labels[i] = ["neutral"]
        elif rating is None:
            unlabelled.append(i)
    finish = label.get("finish_reason")
    return {"problem_id": _key("prm", problem), "prompt": problem, "model": raw.get("model") or PRM800K,
            "steps": steps, "labeler": PRM800K, "labels": labels, "unlabelled": unlabelled,
            "goal_reached": True if finish == "solution" else False if finish == "found_error" else None}


def _lm_eval_prompt(arguments: Any) -> str | None:
    # 0.4.x writes {"gen_args_0": {"arg_0": prompt, "arg_1": {...}}}; older versions [[prompt, {...}]]
    if isinstance(arguments, dict):
        first = arguments.get("gen_args_0")
        if isinstance(first, dict) and isinstance(first.get("arg_0"), str):
            return first["arg_0"]
    if isinstance(arguments, list) and arguments and isinstance(arguments[0], list) and arguments[0] \
            and isinstance(arguments[0][0], str):
        return arguments[0][0]
    return None


def _harness_task(filename: str) -> str | None:
    """The task of a `samples_<task>_<date>.jsonl` file (0.4.x names them so)."""
    match = re.search(r"samples_(.+?)_\d{4}-\d{2}-\d{2}T[\d\-.:]+\.jsonl$", filename.rsplit("/", 1)[-1])
    return match.group(1) if match else None


def lm_eval_results(filename: str, data: bytes) -> dict:
    """What a run's `results_<date>.json` says about it: the model, each task's few-shot count
    and generation settings, the harness version."""
    try:
        raw = json_records.loads(data.decode("utf-8"), data)  # counted first: bounded memory
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidInput(f"{filename}: not a JSON results file of lm-evaluation-harness ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("configs"), dict):
        raise InvalidInput(f"{filename}: no 'configs' object: not a results_*.json of lm-evaluation-harness")
    config = raw.get("config") if isinstance(raw.get("config"), dict) else {}
    args = config.get("model_args")
    model = raw.get("model_name") or (args.get("pretrained") if isinstance(args, dict) else None)
    return {"model": model if isinstance(model, str) and model.strip() else None,
            "model_args": args, "lm_eval_version": raw.get("lm_eval_version"),
            "tasks": {name: {"num_fewshot": c.get("num_fewshot"), "generation_kwargs": c.get("generation_kwargs")}
                      for name, c in raw["configs"].items() if isinstance(c, dict)}}


def lm_eval_reader(model: str | None, results: dict | None = None) -> Callable[[str, bytes], list[DerivationIn]]:
    """A problem is the task, the document and the exact prompt (few-shot examples included):
    two runs of one task with other few-shot settings are two prompts, not one."""
    results = results or {}

    def read(filename: str, data: bytes) -> list[DerivationIn]:
        tasks = results.get("tasks") or {}
        task = _harness_task(filename) or (next(iter(tasks)) if len(tasks) == 1 else None) or "lm-eval"
        run = {"task": task, **(tasks.get(task) or {}), "model_args": results.get("model_args"),
               "lm_eval_version": results.get("lm_eval_version")}

        def convert(where: str, raw: dict) -> dict:
            prompt = _lm_eval_prompt(raw.get("arguments"))
            if prompt is None:
                raise _Bad("field 'arguments' holds no prompt (expected gen_args_0.arg_0, or [[prompt, ...]])")
            resps = raw.get("resps")
            if not (isinstance(resps, list) and resps and isinstance(resps[0], list) and resps[0]
                    and isinstance(resps[0][0], str)):
                raise _Bad("field 'resps' holds no model output (expected [[text]])")
            doc_id = raw.get("doc_id")
            if isinstance(doc_id, bool) or not isinstance(doc_id, (int, str)):
                raise _Bad("field 'doc_id' is missing")
            target = raw.get("target")
            names = raw.get("metrics") if isinstance(raw.get("metrics"), list) else []
            first = raw.get("arguments", {}).get("gen_args_0") if isinstance(raw.get("arguments"), dict) else None
            record = {**run, "doc_id": doc_id, "doc": raw.get("doc"), "target": target,
                      "filtered_resps": raw.get("filtered_resps"), "filter": raw.get("filter"),
                      "metrics": {name: raw[name] for name in names if name in raw},
                      "generation": first.get("arg_1") if isinstance(first, dict) else None,
                      "doc_hash": raw.get("doc_hash"), "prompt_hash": raw.get("prompt_hash")}
            return {"problem_id": f"{task}/{doc_id}/{hashlib.sha256(prompt.encode()).hexdigest()[:12]}",
                    "prompt": prompt, "model": model or results.get("model") or LM_EVAL,
                    "derivation": resps[0][0],
                    "reference": target if isinstance(target, str) and target.strip() else None,
                    "source_record": record}

        return _lines(filename, data, convert)

    return read


def read_processbench(filename: str, data: bytes) -> list[DerivationIn]:
    return _lines(filename, data, _processbench)


def read_prm800k(filename: str, data: bytes) -> list[DerivationIn]:
    return _lines(filename, data, _prm800k)


def sniff(filename: str, data: bytes) -> str | None:
    """The format of a JSON-lines file told by its first record's fields (None: plain JSONL)."""
    if re.search(r"(^|/)samples_[^/]*\.jsonl$", filename):
        return LM_EVAL
    first = next((line for line in data[:200_000].splitlines() if line.strip()), b"")
    try:
        raw = json.loads(first)
    except (ValueError, RecursionError):  # not JSON, or nested too deep: the JSONL reader says where
        return None
    if not isinstance(raw, dict):
        return None
    if {"problem", "steps", "label"} <= raw.keys():
        return PROCESSBENCH
    if {"question", "label"} <= raw.keys() and isinstance(raw["label"], dict):
        return PRM800K
    if {"doc_id", "resps"} <= raw.keys():
        return LM_EVAL
    return None
