"""Training exports: the labels as training signal, in the shapes trainers read.

- step rewards (PRM800K style): per derivation, each step's rating (the project's labels
  say theirs: the paper's incorrect -1, irrelevant/redundant/skipped 0; overridable per
  export; +1 for a step with no label; null where the source left the step unlabelled) and
  the first error's index (ProcessBench style: 0-based, -1 when there is none);
- stepwise (TRL's stepwise supervision): prompt, the completions up to the first error (or
  before the first unlabelled step), labels as booleans;
- preference pairs (TRL's prompt/chosen/rejected, texts as written): per problem, chosen =
  a derivation judged correct (no error, goal reached) or else the reference, rejected =
  one with an error; and step-level pairs
  (the settled correction against the model's wrong step, after the same prefix);
- corrections (LEMMA style): the model's steps up to and including the first wrong one,
  its error labels, and the corrected continuation (the settled correction, then the
  reference's remaining steps).

Only judged derivations count: a settled adjudication's final labels, or (unless
final_only) the labels all of the project's k annotators submitted when they agree on every
step and on the goal, each annotation as last submitted; disagreements wait until a reviewer
settles them.
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

KINDS = ("step-rewards", "stepwise", "preference-pairs", "corrections")
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
    raw_text: str  # the derivation as the model wrote it (steps re-joined would alter it)
    reference_text: str | None
    judged_by: str  # "final" (a settled adjudication) | "agreed" (every annotator gave the same)
    annotators: list[str] = field(default_factory=list)
    unlabelled: set[int] = field(default_factory=set)  # step ids the source left unlabelled: no rating


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
           final_only: bool = False, ids: list[int] | None = None) -> list[Judged]:
    """The derivations in scope (`ids`: of these alone, a selection on the data page) that
    carry a human judgement: settled, or every one of the project's annotators agreeing."""
    if perturbation is not None and perturbation not in {p.value for p in Perturbation}:
        raise InvalidInput(f"perturbation '{perturbation}': use one of {', '.join(p.value for p in Perturbation)}")
    get_project(session, project_id)  # 404 for an unknown project
    params = {"project_id": project_id, "model": model, "perturbation": perturbation, "ids": ids}
    steps = training_repo.steps(session, params)
    final = training_repo.final_labels(session, params)
    submitted = training_repo.submitted(session, params)
    out = []
    for row in training_repo.derivations(session, params):
        d_id = row["id"]
        base = dict(id=d_id, problem_id=row["problem_id"], problem_key=row["problem_key"],
                    perturbation=row["perturbation"], prompt=row["prompt"],
                    reference=split_steps(row["reference"]) if row["reference"] else None, model=row["model"],
                    steps=steps.get(d_id, []), raw_text=row["raw_text"], reference_text=row["reference"])
        sides = submitted.get(d_id, [])
        names = [name for name, _, _, _ in sides]
        if row["settled"]:
            out.append(Judged(**base, labels=dict(final.get(d_id, {})), goal_reached=row["final_goal"],
                              judged_by="final", annotators=names))
        elif len(sides) >= row["overlap"] and not final_only:  # all k annotators of the project submitted
            # a step someone left unlabelled (None) agrees only with others who left it so
            per_step = {sid: {None if sid in unlabelled else frozenset(labels.get(sid, set()))
                              for _, _, labels, unlabelled in sides} for sid, _, _ in base["steps"]}
            goals = {goal for _, goal, _, _ in sides}
            if all(len(v) == 1 for v in per_step.values()) and len(goals) == 1:
                agreed = {sid: next(iter(v)) for sid, v in per_step.items()}
                out.append(Judged(**base, labels={sid: set(v) for sid, v in agreed.items() if v is not None},
                                  goal_reached=goals.pop(), judged_by="agreed", annotators=names,
                                  unlabelled={sid for sid, v in agreed.items() if v is None}))
    return out


def _ratings(d: Judged, ratings: dict[str, int]) -> list[int | None]:
    """Each step's rating: its labels' lowest, +1 with no label, None where the source gave none."""
    return [None if sid in d.unlabelled
            else min((ratings.get(label, 0) for label in d.labels.get(sid, ())), default=CORRECT)
            for sid, _, _ in d.steps]


def _first_error(values: list[int | None]) -> int:
    return next((i for i, v in enumerate(values) if v == -1), -1)


def _fully_right(values: list[int | None]) -> bool:
    return all(v is not None and v >= 0 for v in values)


def step_rewards(items: list[Judged], ratings: dict[str, int]) -> Iterator[dict]:
    for d in items:
        values = _ratings(d, ratings)
        yield {"derivation_id": d.id, "problem_id": d.problem_key, "perturbation": d.perturbation, "model": d.model,
               "prompt": d.prompt, "steps": [latex for _, _, latex in d.steps],
               "labels": [None if sid in d.unlabelled else sorted(d.labels.get(sid, ())) for sid, _, _ in d.steps],
               "ratings": values, "first_error": _first_error(values), "goal_reached": d.goal_reached,
               "judged_by": d.judged_by}


def stepwise(items: list[Judged], ratings: dict[str, int]) -> Iterator[dict]:
    """TRL's stepwise-supervision format: `labels[i]` is True for a step that is not wrong
    (rating 0 or +1). The completions stop at the first wrong step, and before a step the
    source left unlabelled: TRL's labels cannot say "unknown", and a guess would be a label."""
    for d in items:
        values = _ratings(d, ratings)
        steps = [latex for _, _, latex in d.steps]
        end = next((i for i, v in enumerate(values) if v is None), len(values))
        first = _first_error(values)
        if 0 <= first < end:
            end = first + 1
        if end == 0:
            continue  # not one step with a label
        yield {"prompt": d.prompt, "completions": steps[:end], "labels": [v >= 0 for v in values[:end]],
               "derivation_id": d.id, "problem_id": d.problem_key, "model": d.model, "perturbation": d.perturbation}


def preference_pairs(items: list[Judged], ratings: dict[str, int], corrections: dict[int, tuple[str, bool]]) -> Iterator[dict]:
    by_problem: dict[int, list[Judged]] = defaultdict(list)
    for d in items:
        by_problem[d.problem_id].append(d)
    for group in by_problem.values():
        scored = [(d, _ratings(d, ratings)) for d in group]
        good = [d for d, values in scored if _fully_right(values) and d.goal_reached is True]
        for d, values in scored:
            first = _first_error(values)
            if first < 0:
                continue
            steps = [latex for _, _, latex in d.steps]
            common = {"problem_id": d.problem_key, "perturbation": d.perturbation, "prompt": d.prompt,
                      "rejected_model": d.model, "rejected_derivation_id": d.id}
            chosen = good[0] if good else None
            if chosen is not None or d.reference_text:
                # the texts as written (steps re-joined with another separator would alter them)
                yield {**common, "level": "derivation", "prefix": [],
                       "chosen": chosen.raw_text if chosen else d.reference_text,
                       "chosen_from": f"model {chosen.model}" if chosen else "reference",
                       "rejected": d.raw_text}
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


# One typed schema per kind, shared by the Parquet files and the dataset card's `features`
# (which `load_dataset(<folder>, <kind>)` applies to the JSONL too): a field is (name, type);
# a type is a dtype name or a one-element list for a list of that type. Integers are int64,
# what JSON readers infer, so JSONL and Parquet load the same.
FIELDS: dict[str, list[tuple[str, object]]] = {
    "step-rewards": [("derivation_id", "int64"), ("problem_id", "string"), ("perturbation", "string"),
                     ("model", "string"), ("prompt", "string"), ("steps", ["string"]), ("labels", [["string"]]),
                     ("ratings", ["int64"]), ("first_error", "int64"), ("goal_reached", "bool"),
                     ("judged_by", "string")],
    "stepwise": [("prompt", "string"), ("completions", ["string"]), ("labels", ["bool"]),
                 ("derivation_id", "int64"), ("problem_id", "string"), ("model", "string"),
                 ("perturbation", "string")],
    "preference-pairs": [("problem_id", "string"), ("perturbation", "string"), ("prompt", "string"),
                         ("rejected_model", "string"), ("rejected_derivation_id", "int64"), ("level", "string"),
                         ("prefix", ["string"]), ("chosen", "string"), ("chosen_from", "string"),
                         ("rejected", "string")],
    "corrections": [("derivation_id", "int64"), ("problem_id", "string"), ("perturbation", "string"),
                    ("model", "string"), ("prompt", "string"), ("steps_to_error", ["string"]),
                    ("error_step", "int64"), ("error_labels", ["string"]), ("correction", "string"),
                    ("correction_from", "string"), ("continuation", ["string"])],
}


def _arrow_type(kind: object):
    import pyarrow as pa

    if isinstance(kind, list):
        return pa.list_(_arrow_type(kind[0]))
    return {"int64": pa.int64(), "string": pa.string(), "bool": pa.bool_()}[kind]


def _schema(kind: str):
    import pyarrow as pa

    return pa.schema([(name, _arrow_type(t)) for name, t in FIELDS[kind]])


def _yaml_feature(kind: object, indent: str) -> list[str]:
    if isinstance(kind, list):
        inner = kind[0]
        if isinstance(inner, list):
            return [f"{indent}list:", *_yaml_feature(inner, indent + "  ")]
        return [f"{indent}list: {inner}"]
    return [f"{indent}dtype: {kind}"]


def card_metadata(kinds: list[str], fmt: str) -> str:
    """The card's YAML block: one config per kind (its file) with its features."""
    lines = ["---", "configs:"]
    for n, kind in enumerate(kinds):
        lines += [f"- config_name: {kind}", f"  data_files: {kind}.{fmt}"]
        if n == 0:
            lines.append("  default: true")  # load_dataset(<folder>) with no name loads this one
    lines.append("dataset_info:")
    for kind in kinds:
        lines += [f"- config_name: {kind}", "  features:"]
        for name, t in FIELDS[kind]:
            lines += [f"  - name: {name}", *_yaml_feature(t, "    ")]
    return "\n".join([*lines, "---", ""])


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
          final_only: bool = False, ratings: dict[str, int] | None = None,
          ids: list[int] | None = None) -> TrainingExport:
    if kind not in KINDS:
        raise InvalidInput(f"training export '{kind}': use one of {', '.join(KINDS)}")
    ratings = {**taxonomy.ratings(get_project(session, project_id)), **(ratings or {})}
    items = judged(session, project_id=project_id, model=model, perturbation=perturbation, final_only=final_only,
                   ids=ids)
    params = {"project_id": project_id, "model": model, "perturbation": perturbation, "ids": ids}
    fixes = training_repo.corrections(session, params) if kind in ("preference-pairs", "corrections") else {}
    if kind == "step-rewards":
        records = list(step_rewards(items, ratings))
    elif kind == "stepwise":
        records = list(stepwise(items, ratings))
    elif kind == "preference-pairs":
        records = list(preference_pairs(items, ratings, fixes))
    else:
        records = list(correction_records(items, ratings, fixes))
    card = dataset_card(session, project_id=project_id, kind=kind, records=records, items=items, ratings=ratings,
                        filters={"model": model, "perturbation": perturbation, "final_only": final_only,
                                 "derivations chosen on the data page": len(ids) if ids is not None else None})
    return TrainingExport(kind, records, card)


def _counts(values: Iterable[str]) -> str:
    tally: dict[str, int] = defaultdict(int)
    for v in values:
        tally[v] += 1
    return ", ".join(f"{k} {n:,}" for k, n in sorted(tally.items())) or "none"


WHY_EMPTY = {
    "step-rewards": "no derivation is judged yet (all of the project's annotators submitted and agree, "
                    "or a reviewer settled it)",
    "stepwise": "no derivation is judged yet, or none has a labelled first step",
    "preference-pairs": "no judged derivation has a wrong step with a right derivation, the reference or a "
                        "settled correction to pair it with",
    "corrections": "no reviewer has settled a correction of a wrong step",
}


def dataset_card(session: Session, *, project_id: int, kind: str, records: list[dict], items: list[Judged],
                 ratings: dict[str, int], filters: dict) -> str:
    """A short README section for one export: what it holds, how it was labelled, where it came from."""
    project = get_project(session, project_id)
    report = agreement.compute(session, project_id=project_id)
    alphas = ", ".join(f"{f.name} {f.alpha:.3f}" for f in report.figures if f.alpha is not None) or "not enough overlap"
    annotators = sorted({name for d in items for name in d.annotators})
    chosen = {k: v for k, v in filters.items() if v}
    lines = [
        f"## {kind}", "",
        f"Exported by Derivation Lab from project \"{project.name}\"" + (f", filtered by {chosen}" if chosen else "") + ".",
        "", "### Contents", "",
        f"- records: {len(records):,}" + ("" if records else f" — {WHY_EMPTY[kind]}; no file is written"),
        f"- judged derivations it was made from: {len(items):,} ({_counts(d.judged_by for d in items)}; "
        "final = a reviewer's settled labels, agreed = all of the project's annotators submitted the same labels "
        "and goal)",
        f"- models: {_counts(d.model for d in items)}",
        f"- perturbations: {_counts(d.perturbation for d in items)}",
    ]
    if kind == "preference-pairs":
        lines.append(f"- levels: {_counts(r['level'] for r in records)}")
    lines += [
        "", "### Labels", "",
        "Step ratings: " + ", ".join(f"{label} {value:+d}" for label, value in sorted(ratings.items()))
        + f"; a step with no error label +{CORRECT}; a step with several labels takes the lowest. A step its "
        "source left unlabelled (ProcessBench after the first error, PRM800K unrated) has rating and labels "
        "null: unknown, not right.",
        "`first_error` is 0-based (ProcessBench); -1 when no step is rated -1. `error_step` is 1-based.",
        "`stepwise` is TRL's stepwise-supervision format: `labels[i]` is true for a step rated 0 or +1; the "
        "completions stop at the first wrong step and before the first unlabelled one.",
        "`preference-pairs` is TRL's preference format (`prompt`, `chosen`, `rejected`): derivation-level texts "
        "as the model wrote them (the reference as the problem gives it).",
        "", "### Provenance", "",
        f"- annotators: {', '.join(annotators) or 'none'}",
        f"- inter-annotator agreement (Krippendorff's alpha, whole project): {alphas}",
        "- corrections: a reviewer's settled correct step (SymPy's proposal accepted, or typed); "
        "continuations follow with the reference's remaining steps",
        "", "### Loading", "",
        "```python",
        "from datasets import load_dataset",
        f'ds = load_dataset("<this folder>", "{kind}")  # the card\'s configs say which file and its types',
        "```", "",
    ]
    return "\n".join(lines)


def folder_card(project_name: str, exports: list[TrainingExport], fmt: str) -> str:
    """The README.md of a folder of exports: YAML metadata (a config per kind that has records,
    so `load_dataset(<folder>, <kind>)` works), then each kind's section."""
    kinds = [e.kind for e in exports if e.records]
    head = card_metadata(kinds, fmt) if kinds else ""
    return head + f"# {project_name}: training data\n\n" + "\n".join(e.card for e in exports)


def write_folder(exports: list[TrainingExport], project_name: str, output, fmt: str) -> list[str]:
    """Each export with records as <kind>.<fmt> in `output` (a Path), and the card as README.md;
    an empty kind gets no file (an empty file loads nowhere), the card says 0 and why. Returns
    a line per kind saying what was written."""
    output.mkdir(parents=True, exist_ok=True)
    said = []
    for export_ in exports:
        path = output / f"{export_.kind}.{fmt}"
        if not export_.records:
            path.unlink(missing_ok=True)
            said.append(f"{export_.kind}: 0 records, no file written ({WHY_EMPTY[export_.kind]})")
            continue
        path.write_bytes(export_.parquet() if fmt == "parquet" else b"".join(export_.jsonl()))
        said.append(f"wrote {path} ({len(export_.records):,} records)")
    (output / "README.md").write_text(folder_card(project_name, exports, fmt), encoding="utf-8")
    return said
