"""Training exports: the labels as training signal, in the shapes trainers read.

- step rewards (PRM800K style): per derivation, each step's rating (the project's labels
  say theirs: the paper's incorrect -1, irrelevant/redundant/skipped 0; overridable per
  export; +1 for a step with no label) and the
  first error's index (ProcessBench style: 0-based, -1 when there is none);
- preference pairs: per problem, chosen = a derivation judged correct (no error, goal
  reached) or else the reference, rejected = one with an error; and step-level pairs
  (the settled correction against the model's wrong step, after the same prefix);
- corrections (LEMMA style): the model's steps up to and including the first wrong one,
  its error labels, and the corrected continuation (the settled correction, then the
  reference's remaining steps).

Only judged derivations count: a settled adjudication's final labels, or (unless
final_only) the labels every submitted annotator gave when they all agree on every step
and on the goal; disagreements wait until a reviewer settles them.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.math.latex import split_steps
from app.models import Perturbation
from app.repositories import training as training_repo
from app.services import agreement, taxonomy
from app.services.projects import get_project

KINDS = ("step-rewards", "preference-pairs", "corrections")
FORMATS = ("jsonl", "parquet")
CORRECT = 1


@dataclass
class Judged:
    id: int
    problem_id: int
    problem_key: str
    perturbation: str
    prompt: str
    reference: list[str] | None
    model: str
    steps: list[tuple[int, int, str]]  # (step id, index, LaTeX)
    labels: dict[int, set[str]]  # step id -> labels
    goal_reached: bool | None
    judged_by: str  # "final" (a settled adjudication) | "agreed" (every annotator gave the same)
    annotators: list[str] = field(default_factory=list)


def parse_ratings(text: str | None) -> dict[str, int]:
    """`incorrect=-1,skipped=0,...`: ratings over the project's (its labels' settings); -1, 0 or 1."""
    ratings: dict[str, int] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        label, sep, value = part.partition("=")
        if not sep or value.strip() not in ("-1", "0", "1"):
            raise InvalidInput(f"rating '{part.strip()}': write label=-1, label=0 or label=1")
        ratings[label.strip()] = int(value)
    return ratings


def judged(session: Session, *, project_id: int, model: str | None = None, perturbation: str | None = None,
           final_only: bool = False) -> list[Judged]:
    if perturbation is not None and perturbation not in {p.value for p in Perturbation}:
        raise InvalidInput(f"perturbation '{perturbation}': use one of {', '.join(p.value for p in Perturbation)}")
    get_project(session, project_id)  # 404 for an unknown project
    params = {"project_id": project_id, "model": model, "perturbation": perturbation}
    steps = training_repo.steps(session, params)
    final = training_repo.final_labels(session, params)
    submitted = training_repo.submitted(session, params)
    out = []
    for row in training_repo.derivations(session, params):
        d_id = row["id"]
        base = dict(id=d_id, problem_id=row["problem_id"], problem_key=row["problem_key"],
                    perturbation=row["perturbation"], prompt=row["prompt"],
                    reference=split_steps(row["reference"]) if row["reference"] else None, model=row["model"],
                    steps=steps.get(d_id, []))
        sides = submitted.get(d_id, [])
        names = [name for name, _, _ in sides]
        if row["settled"]:
            out.append(Judged(**base, labels=dict(final.get(d_id, {})), goal_reached=row["final_goal"],
                              judged_by="final", annotators=names))
        elif sides and not final_only:
            per_step = {sid: {frozenset(labels.get(sid, set())) for _, _, labels in sides} for sid, _, _ in base["steps"]}
            goals = {goal for _, goal, _ in sides}
            if all(len(v) == 1 for v in per_step.values()) and len(goals) == 1:
                out.append(Judged(**base, labels={sid: set(next(iter(v))) for sid, v in per_step.items()},
                                  goal_reached=goals.pop(), judged_by="agreed", annotators=names))
    return out


def _ratings(d: Judged, ratings: dict[str, int]) -> list[int]:
    return [min((ratings.get(label, 0) for label in d.labels.get(sid, ())), default=CORRECT)
            for sid, _, _ in d.steps]


def _first_error(values: list[int]) -> int:
    return next((i for i, v in enumerate(values) if v == -1), -1)


def step_rewards(items: list[Judged], ratings: dict[str, int]) -> Iterator[dict]:
    for d in items:
        values = _ratings(d, ratings)
        yield {"derivation_id": d.id, "problem_id": d.problem_key, "perturbation": d.perturbation, "model": d.model,
               "prompt": d.prompt, "steps": [latex for _, _, latex in d.steps],
               "labels": [sorted(d.labels.get(sid, ())) for sid, _, _ in d.steps], "ratings": values,
               "first_error": _first_error(values), "goal_reached": d.goal_reached, "judged_by": d.judged_by}


def preference_pairs(items: list[Judged], ratings: dict[str, int], corrections: dict[int, tuple[str, bool]]) -> Iterator[dict]:
    by_problem: dict[int, list[Judged]] = defaultdict(list)
    for d in items:
        by_problem[d.problem_id].append(d)
    for group in by_problem.values():
        scored = [(d, _ratings(d, ratings)) for d in group]
        good = [d for d, values in scored if -1 not in values and d.goal_reached is True]
        for d, values in scored:
            first = _first_error(values)
            if first < 0:
                continue
            steps = [latex for _, _, latex in d.steps]
            common = {"problem_id": d.problem_key, "perturbation": d.perturbation, "prompt": d.prompt,
                      "rejected_model": d.model, "rejected_derivation_id": d.id}
            chosen = good[0] if good else None
            if chosen is not None or d.reference:
                yield {**common, "level": "derivation", "prefix": [],
                       "chosen": " and ".join(latex for _, _, latex in chosen.steps) if chosen else " and ".join(d.reference),
                       "chosen_from": f"model {chosen.model}" if chosen else "reference",
                       "rejected": " and ".join(steps)}
            fix = corrections.get(d.steps[first][0])
            if fix is not None:
                yield {**common, "level": "step", "prefix": steps[:first], "chosen": fix[0],
                       "chosen_from": "SymPy's proposal, accepted" if fix[1] else "reviewer",
                       "rejected": steps[first]}


def correction_records(items: list[Judged], ratings: dict[str, int],
                       corrections: dict[int, tuple[str, bool]]) -> Iterator[dict]:
    for d in items:
        values = _ratings(d, ratings)
        first = _first_error(values)
        if first < 0:
            continue
        step_id, index, _ = d.steps[first]
        fix = corrections.get(step_id)
        if fix is None:
            continue  # nobody settled the correct step yet
        steps = [latex for _, _, latex in d.steps]
        rest = d.reference[index:] if d.reference else []
        yield {"derivation_id": d.id, "problem_id": d.problem_key, "perturbation": d.perturbation, "model": d.model,
               "prompt": d.prompt, "steps_to_error": steps[:first + 1], "error_step": index,
               "error_labels": sorted(d.labels.get(step_id, ())), "correction": fix[0],
               "correction_from": "SymPy's proposal, accepted" if fix[1] else "reviewer",
               "continuation": [fix[0], *rest]}


def _schema(kind: str):
    import pyarrow as pa

    text, texts = pa.string(), pa.list_(pa.string())
    if kind == "step-rewards":
        return pa.schema([("derivation_id", pa.int64()), ("problem_id", text), ("perturbation", text), ("model", text),
                          ("prompt", text), ("steps", texts), ("labels", pa.list_(texts)),
                          ("ratings", pa.list_(pa.int8())), ("first_error", pa.int32()), ("goal_reached", pa.bool_()),
                          ("judged_by", text)])
    if kind == "preference-pairs":
        return pa.schema([("problem_id", text), ("perturbation", text), ("prompt", text), ("rejected_model", text),
                          ("rejected_derivation_id", pa.int64()), ("level", text), ("prefix", texts),
                          ("chosen", text), ("chosen_from", text), ("rejected", text)])
    return pa.schema([("derivation_id", pa.int64()), ("problem_id", text), ("perturbation", text), ("model", text),
                      ("prompt", text), ("steps_to_error", texts), ("error_step", pa.int32()),
                      ("error_labels", texts), ("correction", text), ("correction_from", text),
                      ("continuation", texts)])


@dataclass
class TrainingExport:
    kind: str
    records: list[dict]
    card: str

    def jsonl(self) -> Iterator[bytes]:
        for record in self.records:
            yield (json.dumps(record, ensure_ascii=False) + "\n").encode()

    def parquet(self) -> bytes:
        import pyarrow as pa
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(self.records, schema=_schema(self.kind)), buffer)
        return buffer.getvalue()


def build(session: Session, *, project_id: int, kind: str, model: str | None = None, perturbation: str | None = None,
          final_only: bool = False, ratings: dict[str, int] | None = None) -> TrainingExport:
    if kind not in KINDS:
        raise InvalidInput(f"training export '{kind}': use one of {', '.join(KINDS)}")
    ratings = {**taxonomy.ratings(get_project(session, project_id)), **(ratings or {})}
    items = judged(session, project_id=project_id, model=model, perturbation=perturbation, final_only=final_only)
    params = {"project_id": project_id, "model": model, "perturbation": perturbation}
    fixes = training_repo.corrections(session, params) if kind != "step-rewards" else {}
    if kind == "step-rewards":
        records = list(step_rewards(items, ratings))
    elif kind == "preference-pairs":
        records = list(preference_pairs(items, ratings, fixes))
    else:
        records = list(correction_records(items, ratings, fixes))
    card = dataset_card(session, project_id=project_id, kind=kind, records=records, items=items, ratings=ratings,
                        filters={"model": model, "perturbation": perturbation, "final_only": final_only})
    return TrainingExport(kind, records, card)


def _counts(values: Iterable[str]) -> str:
    tally: dict[str, int] = defaultdict(int)
    for v in values:
        tally[v] += 1
    return ", ".join(f"{k} {n:,}" for k, n in sorted(tally.items())) or "none"


def dataset_card(session: Session, *, project_id: int, kind: str, records: list[dict], items: list[Judged],
                 ratings: dict[str, int], filters: dict) -> str:
    """A short README for the export: what it holds, how it was labelled, where it came from."""
    project = get_project(session, project_id)
    report = agreement.compute(session, project_id=project_id)
    alphas = ", ".join(f"{f.name} {f.alpha:.3f}" for f in report.figures if f.alpha is not None) or "not enough overlap"
    annotators = sorted({name for d in items for name in d.annotators})
    chosen = {k: v for k, v in filters.items() if v}
    lines = [
        f"# {project.name}: {kind}", "",
        f"Exported by Derivation Lab from project \"{project.name}\"" + (f", filtered by {chosen}" if chosen else "") + ".",
        "", "## Contents", "",
        f"- records: {len(records):,}",
        f"- judged derivations it was made from: {len(items):,} ({_counts(d.judged_by for d in items)}; "
        "final = a reviewer's settled labels, agreed = every annotator gave the same labels and goal)",
        f"- models: {_counts(d.model for d in items)}",
        f"- perturbations: {_counts(d.perturbation for d in items)}",
    ]
    if kind == "preference-pairs":
        lines.append(f"- levels: {_counts(r['level'] for r in records)}")
    lines += [
        "", "## Labels", "",
        "Step ratings: " + ", ".join(f"{label} {value:+d}" for label, value in sorted(ratings.items()))
        + f"; a step with no error label +{CORRECT}; a step with several labels takes the lowest.",
        "`first_error` is 0-based (ProcessBench); -1 when no step is rated -1. `error_step` is 1-based.",
        "", "## Provenance", "",
        f"- annotators: {', '.join(annotators) or 'none'}",
        f"- inter-annotator agreement (Krippendorff's alpha, whole project): {alphas}",
        "- corrections: a reviewer's settled correct step (SymPy's proposal accepted, or typed); "
        "continuations follow with the reference's remaining steps",
        "", "## Loading", "",
        "```python",
        "from datasets import load_dataset",
        f'ds = load_dataset("json", data_files="{kind}.jsonl")  # or ("parquet", data_files="{kind}.parquet")',
        "```", "",
    ]
    return "\n".join(lines)
