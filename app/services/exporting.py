"""CSV exports, streamed: rows are written as the cursor yields them. Lossless by default
(every cell the stored text); `safe` ("spreadsheet-safe") prefixes text a spreadsheet would
run as a formula with a '."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from datetime import timezone

from sqlalchemy.orm import Session, sessionmaker

from app.errors import InvalidInput, NotFound
from app.repositories import exports as exports_repo
from app.repositories import history as history_repo
from app.repositories import projects as projects_repo

LEVELS = ("step", "derivation", "events")
# ours, against the reference: text (app.math.metrics) and symbolic (app.math.symbolic_metric)
METRICS = ("rouge2", "bleu", "gleu", "sym_recall", "sym_precision", "sym_goal")


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


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """As the database's csv_safe(): text a spreadsheet would run as a formula gets a leading '."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def filename(project: str, level: str) -> str:
    return f"{project}-{'events' if level == 'events' else level + 's'}.csv"


def _line(values: list, safe: bool = False) -> str:  # the history's rows (the label CSVs come from COPY)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([csv_safe(v) for v in values] if safe else values)
    return buffer.getvalue()


def iso(value) -> str:
    """ISO 8601 in UTC, as the COPY exports write it (exports_repo.ISO)."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value is not None else ""


def _cell(value) -> str | int:
    """old/new of an event: 0/1 for a label, the value for a judgement field ('' when a whole dict)."""
    if isinstance(value, bool):
        return int(value)
    return "" if isinstance(value, dict) or value is None else value


def event_rows(session: Session, project_id: int, labels: list[str], safe: bool = False) -> Iterator[str]:
    """The history: every label change and judgement, by annotators and reviewers."""
    yield _line(["project", "derivation_id", "event_id", "at", "kind", "annotator", "actor", "step_index",
                 "label", "old", "new", "detail"])
    for r in history_repo.stream_for_project(session, project_id):
        detail = r.detail or {}
        old, new = detail.get("old", ""), detail.get("new", "")
        yield _line([r.project, r.derivation_id, r.id, iso(r.at), r.kind, r.annotator or "", r.actor or "",
                     r.step_index if r.step_index is not None else "", detail.get("label", ""),
                     _cell(old), _cell(new),
                     json.dumps(detail, sort_keys=True, ensure_ascii=False)], safe)


def stream_csv(factory: sessionmaker[Session], *, project_id: int, labels: list[str], level: str,
               safe: bool = False, ids: list[int] | None = None) -> Iterator[str]:
    """Own session, because the stream outlives the request that started it. Step and
    derivation CSVs come straight from PostgreSQL's COPY; the history goes row by row.
    `ids`: of these derivations alone (a selection on the data page; step and derivation CSVs)."""
    session = factory()
    try:
        with session.begin():
            if level == "events":  # row by row, sent in blocks as COPY's are
                rows: list[str] = []
                size = 0
                for row in event_rows(session, project_id, labels, safe):
                    rows.append(row)
                    size += len(row)
                    if size >= exports_repo.BLOCK:
                        yield "".join(rows)
                        rows, size = [], 0
                yield "".join(rows)
                return
            statement = (exports_repo.step_copy(project_id, labels, safe, ids) if level == "step"
                         else exports_repo.derivation_copy(project_id, labels, METRICS, safe, ids))
            decoder = codecs.getincrementaldecoder("utf-8")()  # a block may end inside a character
            for block in exports_repo.copy_out(session, statement):
                yield decoder.decode(block)
            yield decoder.decode(b"", final=True)
    finally:
        session.close()


def stream_jsonl(factory: sessionmaker[Session], *, filters, ids: list[int] | None = None) -> Iterator[str]:
    """Everything as JSON lines (problems, derivations with steps and checks, annotations
    with labels, adjudications with final labels, events), filtered by model and perturbation,
    or of the given derivations alone (a selection on the data page)."""
    params = {"project_id": filters.project_id, "model_id": filters.model_id, "perturbation": filters.perturbation,
              "ids": ids}
    session = factory()
    try:
        with session.begin():
            for (record,) in exports_repo.stream_jsonl(session, params):
                yield json.dumps(record, ensure_ascii=False, default=str) + "\n"
    finally:
        session.close()
