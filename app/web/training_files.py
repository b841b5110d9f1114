"""A training export as an HTTP answer: the file (JSONL streamed, Parquet whole) or its dataset
card. The page's route and the API's answer with the same."""

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from app.errors import InvalidInput, NotFound
from app.services import training
from app.services.projects import get_project


def _build(session, project_id: int, kind: str, model: str | None, perturbation: str | None, final_only: bool,
           ratings: str | None, ids: list[int] | None) -> training.TrainingExport:
    return training.build(session, project_id=project_id, kind=kind, model=model or None,
                          perturbation=perturbation or None, final_only=final_only,
                          ratings=training.parse_ratings(ratings), ids=ids)


def respond(request: Request, session, project_id: int, name: str, model: str | None, perturbation: str | None,
            final_only: bool, ratings: str | None, ids: list[int] | None = None) -> Response:
    """The file (or card) asked for; `ids`: made of these derivations alone (the data page's
    selection)."""
    if name == "README.md":
        kind = request.query_params.get("kind", "step-rewards")
        fmt = request.query_params.get("format", "jsonl")
        if fmt not in training.FORMATS:
            raise InvalidInput(f"format '{fmt}': use {' or '.join(training.FORMATS)}")
        built = _build(session, project_id, kind, model, perturbation, final_only, ratings, ids)
        card = training.folder_card(get_project(session, project_id).name, [built], fmt)
        return PlainTextResponse(card, media_type="text/markdown; charset=utf-8")
    kind, _, fmt = name.rpartition(".")
    if kind not in training.KINDS or fmt not in training.FORMATS:
        raise InvalidInput(f"'{name}': ask for <kind>.<format> with kind {', '.join(training.KINDS)} "
                           f"and format {', '.join(training.FORMATS)}, or README.md")
    built = _build(session, project_id, kind, model, perturbation, final_only, ratings, ids)
    if not built.records and fmt == "jsonl":  # an empty JSONL file loads nowhere: say why instead
        raise NotFound(f"{kind}: 0 records — {training.WHY_EMPTY[kind]}")
    filename = f"{get_project(session, project_id).name}-{'selection-' if ids is not None else ''}{name}"
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
               "X-Records": str(len(built.records))}
    if fmt == "parquet":
        return Response(built.parquet(), media_type="application/vnd.apache.parquet", headers=headers)
    return StreamingResponse(built.jsonl(), media_type="application/x-ndjson", headers=headers)
