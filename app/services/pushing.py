"""What scripts push through the write API: projects, derivations (validated as an import,
idempotent by content, per-item errors or all or nothing) and predictions from other
suggestion sources (an external judge, a process reward model)."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models import Project
from app.repositories import derivations as derivations_repo
from app.repositories import predictions as predictions_repo
from app.schemas.api import DerivationsIn, ItemErrors, PredictionsIn, PushResult
from app.schemas.importing import DerivationIn
from app.services import import_formats, project_lifecycle, step_split
from app.services.importing import import_records, prompt_clashes
from app.services.projects import get_project


def create_project(session: Session, *, name: str, description: str = "", preset: str | None = None) -> Project:
    return project_lifecycle.create(session, name=name, description=description, preset=preset)


def push_derivations(session: Session, *, project_id: int, body: DerivationsIn) -> PushResult:
    project = get_project(session, project_id)
    rule = step_split.check_rule(body.split)
    indexed: list[tuple[int, DerivationIn]] = []
    rejected: list[ItemErrors] = []
    for index, raw in enumerate(body.derivations):
        errors = import_formats._Errors()
        rec = import_formats._check(f"item {index}", raw, errors)
        if rec is None:
            rejected.append(ItemErrors(index=index, errors=errors.items))
            continue
        rec.labels = rec.labeler = None  # labels come through annotation, or as predictions
        indexed.append((index, rec))
    # one problem id means one prompt, in a push as in a file: every item of a clash is refused
    prompts: dict[tuple[str, str], set[str]] = {}
    for _, rec in indexed:
        prompts.setdefault((rec.problem_id, rec.perturbation.value), set()).add(rec.prompt)
    clash = {key for key, seen in prompts.items() if len(seen) > 1}
    for index, rec in indexed:
        key = (rec.problem_id, rec.perturbation.value)
        if key in clash:
            rejected.append(ItemErrors(index=index, errors=[
                f"item {index}: problem '{key[0]}' ({key[1]}) has different prompts in this push"]))
    # ... and a problem the project has keeps its prompt
    stored = prompt_clashes(session, project.id, [rec for _, rec in indexed])
    for index, rec in indexed:
        key = (rec.problem_id, rec.perturbation.value)
        if key in stored and key not in clash:
            rejected.append(ItemErrors(index=index, errors=[
                f"item {index}: problem '{key[0]}' ({key[1]}) is in the project with another prompt"]))
    rejected.sort(key=lambda item: item.index)
    good = [rec for _, rec in indexed if (rec.problem_id, rec.perturbation.value) not in clash | stored]
    import_formats.with_steps(good, rule)
    if rejected and body.all_or_nothing:
        raise InvalidInput(f"{len(rejected)} of {len(body.derivations)} derivations are not valid; nothing was written",
                           details=[e for item in rejected for e in item.errors][:20])
    added = 0
    if good:
        # the batch's identity is its content: pushing the same records again adds nothing
        digest = hashlib.sha256(json.dumps([r.model_dump(mode="json") for r in good], sort_keys=True).encode())
        digest.update(f"\x00split={rule}".encode())
        result = import_records(session, project_name=project.name, filename="api push", sha256=digest.hexdigest(),
                                fmt="api", records=good)
        added = result.added
    return PushResult(received=len(body.derivations), added=added, existing=len(good) - added, rejected=rejected)


DERIVATION_LABELS = ("goal_reached", "goal_stated")  # what step 0, the derivation as a whole, may be said to be


def push_predictions(session: Session, *, project_id: int, body: PredictionsIn) -> int:
    """Store (replace) the source's verdicts; every derivation must be the project's."""
    get_project(session, project_id)
    if body.source.lower() == "sympy":
        raise InvalidInput("source 'sympy' is the checker's own name: name your source otherwise")
    project = get_project(session, project_id)
    wanted = {p.derivation_id for p in body.predictions}
    steps = derivations_repo.step_counts_in_project(session, project_id, sorted(wanted))
    missing = sorted(wanted - set(steps))
    if missing:
        raise InvalidInput(f"derivation(s) {', '.join(map(str, missing[:20]))} are not in project {project_id}; "
                           "nothing was stored")
    labels = set(project.label_keys)
    problems = []
    for n, p in enumerate(body.predictions):
        where = f"prediction {n} (derivation {p.derivation_id}, step {p.step_index})"
        if p.step_index == 0:
            if p.label not in DERIVATION_LABELS:
                problems.append(f"{where}: step 0 is the derivation: label {' or '.join(DERIVATION_LABELS)}, "
                                f"not '{p.label}'")
        elif p.step_index > steps[p.derivation_id]:
            problems.append(f"{where}: the derivation has {steps[p.derivation_id]} steps")
        elif p.label not in labels:
            problems.append(f"{where}: label '{p.label}' is not one of the project's ({', '.join(sorted(labels))})")
    if problems:
        raise InvalidInput(f"{len(problems)} of {len(body.predictions)} predictions do not fit the project; "
                           "nothing was stored", details=problems[:20])
    rows = {(p.derivation_id, p.step_index, p.label): {
        "source": body.source, "derivation_id": p.derivation_id, "step_index": p.step_index, "label": p.label,
        "verdict": p.verdict, "score": p.score, "reason": p.reason} for p in body.predictions}
    predictions_repo.upsert(session, list(rows.values()))
    session.flush()
    return len(rows)


def predictions_for(session: Session, derivation_id: int) -> dict[int, list[tuple[str, str, float | None, str]]]:
    """step index -> [(source, label, score, reason)] the sources say yes to."""
    out: dict[int, list] = {}
    for p in predictions_repo.yes_for(session, derivation_id):
        out.setdefault(p.step_index, []).append((p.source, p.label, p.score, p.reason))
    return out
