"""CSV exports, streamed: rows are written as the cursor yields them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from sqlalchemy.orm import Session, sessionmaker

from app.errors import InvalidInput, NotFound
from app.repositories import exports as exports_repo
from app.repositories import history as history_repo
from app.repositories import projects as projects_repo

LEVELS = ("step", "derivation", "events")
METRICS = ("rouge2", "bleu", "gleu")  # ours, against the reference (app.math.metrics)


def check_export(session: Session, *, project_name: str | None = None, project_id: int | None = None,
                 level: str) -> tuple[int, list[str], str]:
    """Validate before streaming starts (a stream cannot turn into an error page)."""
    if level not in LEVELS:
        raise InvalidInput(f"level '{level}': use step, derivation or events")
    project = (
        projects_repo.get_by_name(session, project_name) if project_name is not None
        else projects_repo.get(session, project_id or 0)
    )
    if project is None:
        raise NotFound(f"project '{project_name or project_id}' does not exist")
    return project.id, project.label_keys, project.name


def _line(values: list) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _iso(value) -> str:
    return value.isoformat() if value is not None else ""


def step_rows(session: Session, project_id: int, labels: list[str]) -> Iterator[str]:
    yield _line(["project", "problem", "perturbation", "model", "derivation_id", "step_index", "latex",
                 *labels, "annotator", "submitted_at", *(f"sympy_{label}" for label in labels),
                 *(f"final_{label}" for label in labels), "adjudicated_by"])
    for r in exports_repo.stream(session, exports_repo.STEP_ROWS, project_id=project_id):
        annotated = r.annotator is not None
        flags = [int(label in r.labels) if annotated else "" for label in labels]
        yield _line([r.project, r.problem, r.perturbation, r.model, r.derivation_id, r.step_index, r.latex,
                     *flags, r.annotator or "", _iso(r.submitted_at), *(r.checks.get(label, "") for label in labels),
                     *(int(label in r.final_labels) if r.adjudicated else "" for label in labels),
                     r.reviewer if r.adjudicated else ""])


def derivation_rows(session: Session, project_id: int, labels: list[str]) -> Iterator[str]:
    yield _line(["project", "problem", "perturbation", "model", "derivation_id", "steps",
                 *labels, "goal_reached", "comment", "annotator", "submitted_at", *METRICS, "sympy_goal_reached",
                 *(f"final_{label}" for label in labels), "final_goal_reached", "adjudicated_by"])
    for r in exports_repo.stream(session, exports_repo.DERIVATION_ROWS, project_id=project_id):
        annotated = r.annotator is not None
        counts = [r.label_counts.get(label, 0) if annotated else "" for label in labels]
        goal = "" if r.goal_reached is None else ("yes" if r.goal_reached else "no")
        metrics = [r.metrics.get(name, "") for name in METRICS]
        final = [r.final_counts.get(label, 0) if r.adjudicated else "" for label in labels]
        final_goal = _yes_no(r.final_goal) if r.adjudicated else ""
        yield _line([r.project, r.problem, r.perturbation, r.model, r.derivation_id, r.steps,
                     *counts, goal, r.comment or "", r.annotator or "", _iso(r.submitted_at), *metrics,
                     r.checked_goal or "", *final, final_goal, r.reviewer if r.adjudicated else ""])


def _cell(value) -> str | int:
    """old/new of an event: 0/1 for a label, the value for a judgement field ('' when a whole dict)."""
    if isinstance(value, bool):
        return int(value)
    return "" if isinstance(value, dict) or value is None else value


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def event_rows(session: Session, project_id: int, labels: list[str]) -> Iterator[str]:
    """The history: every label change and judgement, by annotators and reviewers."""
    yield _line(["project", "derivation_id", "event_id", "at", "kind", "annotator", "actor", "step_index",
                 "label", "old", "new", "detail"])
    for r in history_repo.stream_for_project(session, project_id):
        detail = r.detail or {}
        old, new = detail.get("old", ""), detail.get("new", "")
        yield _line([r.project, r.derivation_id, r.id, _iso(r.at), r.kind, r.annotator or "", r.actor or "",
                     r.step_index if r.step_index is not None else "", detail.get("label", ""),
                     _cell(old), _cell(new),
                     json.dumps(detail, sort_keys=True)])


def stream_csv(factory: sessionmaker[Session], *, project_id: int, labels: list[str], level: str) -> Iterator[str]:
    """Own session, because the stream outlives the request that started it."""
    rows = {"step": step_rows, "derivation": derivation_rows, "events": event_rows}[level]
    session = factory()
    try:
        with session.begin():
            yield from rows(session, project_id, labels)
    finally:
        session.close()


def stream_jsonl(factory: sessionmaker[Session], *, filters) -> Iterator[str]:
    """Everything as JSON lines (problems, derivations with steps and checks, annotations
    with labels, adjudications with final labels, events), filtered by model and perturbation."""
    params = {"project_id": filters.project_id, "model_id": filters.model_id, "perturbation": filters.perturbation}
    session = factory()
    try:
        with session.begin():
            for (record,) in exports_repo.stream_jsonl(session, params):
                yield json.dumps(record, ensure_ascii=False, default=str) + "\n"
    finally:
        session.close()
