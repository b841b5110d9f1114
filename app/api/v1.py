"""JSON API, /api/v1, bearer tokens (made on the profile page). Reads for admins and
reviewers; creating runs for admins; /me for everyone."""

from __future__ import annotations

import json
from datetime import datetime

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from app.deps import ApiAdmin, ApiStaff, ApiUser, SessionDep
from app.errors import NotFound
from app.schemas import api as schemas
from app.schemas.runs import Decoding
from app.services import api_reads, browse, dashboards, exporting, project_lifecycle, pushing, runs
from app.web import streams
from app.web import training_files  # the page's answer: the same files
from app.services.projects import get_project

router = APIRouter(prefix="/api/v1", tags=["api"])
PAGE = Query(100, ge=1, le=10_000)
OFFSET = Query(0, ge=0)


def paged(request: Request, response: Response, rows: list, *, total: int, limit: int, offset: int) -> list:
    """A page of a list, as GitHub's API pages one: the total in X-Total-Count and the first,
    previous, next and last pages as links in a Link header (RFC 8288), so a client follows
    `next` until there is none."""
    response.headers["X-Total-Count"] = str(total)
    last = max(0, (total - 1) // limit * limit)
    links = {"first": 0, "last": last}
    if offset > 0:
        links["prev"] = max(0, min(offset - limit, last))
    if offset + limit < total:
        links["next"] = offset + limit
    response.headers["Link"] = ", ".join(
        f'<{request.url.include_query_params(limit=limit, offset=at)}>; rel="{rel}"' for rel, at in links.items())
    return rows


def _project_out(p, derivations: int) -> schemas.ProjectOut:
    return schemas.ProjectOut(id=p.id, name=p.name, description=p.description, overlap=p.overlap, blind=p.blind,
                              labels=p.label_keys, archived=p.archived_at is not None, derivations=derivations)


@router.get("/me", response_model=schemas.Me)
def me(user: ApiUser):
    return schemas.Me(id=user.id, username=user.username, role=user.role.value)


@router.get("/projects", response_model=list[schemas.ProjectOut])
def list_projects(request: Request, response: Response, session: SessionDep, user: ApiStaff,
                  archived: bool | None = Query(None, description="true: only archived ones; false: only the others"),
                  limit: int = PAGE, offset: int = OFFSET):
    """Projects by name (X-Total-Count and a Link header page them)."""
    rows, total = api_reads.projects(session, archived=archived, limit=limit, offset=offset)
    return paged(request, response, [_project_out(p, n) for p, n in rows], total=total, limit=limit, offset=offset)


@router.get("/projects/{project_id}", response_model=schemas.ProjectOut)
def get_project_api(project_id: int, session: SessionDep, user: ApiStaff):
    return _project_out(get_project(session, project_id), project_lifecycle.size(session, project_id))


@router.patch("/projects/{project_id}", response_model=schemas.ProjectOut)
def update_project(project_id: int, body: schemas.ProjectPatch, session: SessionDep, user: ApiAdmin):
    """Rename, re-describe, archive (`archived: true`: out of annotators' sight, kept whole) or
    bring back; a field left out stays as it was."""
    p = project_lifecycle.update(session, project_id=project_id, name=body.name, description=body.description,
                                 archived=body.archived)
    return _project_out(p, project_lifecycle.size(session, project_id))


@router.delete("/projects/{project_id}", status_code=204)
def delete_project(project_id: int, session: SessionDep, user: ApiAdmin,
                   confirm: str = Query(..., description="the project's name, exactly: what it holds goes with it")):
    """Delete the project with its derivations, annotations, checks and gold items (not undoable:
    archive it to keep it out of sight instead)."""
    project_lifecycle.delete(session, project_id=project_id, confirm=confirm)
    return Response(status_code=204)


@router.get("/projects/{project_id}/problems", response_model=list[schemas.ProblemOut])
def list_problems(request: Request, response: Response, project_id: int, session: SessionDep, user: ApiStaff,
                  perturbation: str | None = None, limit: int = PAGE, offset: int = OFFSET):
    get_project(session, project_id)
    rows, total = api_reads.problems(session, project_id=project_id, perturbation=perturbation, limit=limit,
                                    offset=offset)
    return paged(request, response, rows, total=total, limit=limit, offset=offset)


@router.get("/projects/{project_id}/derivations", response_model=list[schemas.DerivationOut])
def list_derivations(
    request: Request, response: Response, project_id: int, session: SessionDep, user: ApiStaff,
    model: str | None = None, perturbation: str | None = None,
    state: str | None = Query(None, description="unannotated, in progress, agreed, disputed or settled"),
    annotator: str | None = Query(None, description="submitted by this user"),
    human: str | None = Query(None, description="the humans gave this label to some step"),
    sympy: str | None = Query(None, description="SymPy says this label (or 'unknown') of some step"),
    sympy_not_humans: str | None = Query(None, description="SymPy says this label where the humans do not"),
    humans_not_sympy: str | None = Query(None, description="the humans gave this label where SymPy says no"),
    source: str | None = Query(None, description="a pushed source said yes (to source_label, if given)"),
    source_label: str | None = None,
    q: str | None = Query(None, description="text in a step's LaTeX or the prompt, as written"),
    sort: str = Query("id", description="id, model, perturbation, problem, steps, annotations, rouge2, bleu, gleu "
                                        "or symbolic"),
    dir: str = Query("asc", description="asc or desc"),
    limit: int = PAGE, offset: int = OFFSET,
):
    """The project's derivations with their steps and SymPy's verdicts, filtered as on the data
    page (metric ranges too: `rouge2_min`, `bleu_max`, …), sorted, paged."""
    # the parameters above document the filters; they are read, with the metric ranges, from
    # the query string by the one parser the data page uses (app.services.browse.parse)
    params = {k: v for k, v in request.query_params.items() if k in browse.PARAMS and k not in ("page", "per_page")}
    view = browse.parse(session, project_id=project_id, params=params)
    if set(params) <= {"model", "perturbation"}:  # the plain list: one query (peer-bench's "list 100 tasks")
        body, total = api_reads.derivations_json(session, project_id=project_id, model=model,
                                                 perturbation=perturbation, limit=limit, offset=offset)
    else:
        ids, total = browse.select_page(session, view, limit=limit, offset=offset)
        body = api_reads.derivations_json_by_id(session, ids)
    # built as JSON by PostgreSQL in response_model's shape (a test holds them equal), sent as is
    sent = Response(content=body, media_type="application/json")
    paged(request, sent, [], total=total, limit=limit, offset=offset)
    return sent


@router.get("/derivations/{derivation_id}", response_model=schemas.DerivationOut)
def get_derivation(derivation_id: int, session: SessionDep, user: ApiStaff):
    found = json.loads(api_reads.derivations_json_by_id(session, [derivation_id]))  # the list's one query
    if not found:
        raise NotFound(f"derivation {derivation_id} does not exist")
    return found[0]


@router.get("/projects/{project_id}/annotations", response_model=list[schemas.AnnotationOut])
def list_annotations(request: Request, response: Response, project_id: int, session: SessionDep, user: ApiStaff,
                     limit: int = PAGE, offset: int = OFFSET,
                     since: datetime | None = Query(None, description="only those submitted after this time "
                                                                       "(ISO 8601): pass the last one's submitted_at")):
    """Submitted annotations, oldest submission first (with `since`: read new ones incrementally)."""
    get_project(session, project_id)
    rows, total = api_reads.annotations(session, project_id=project_id, limit=limit, offset=offset, since=since)
    return paged(request, response, rows, total=total, limit=limit, offset=offset)


@router.post("/projects", response_model=schemas.ProjectOut, status_code=201)
def create_project(body: schemas.ProjectIn, session: SessionDep, user: ApiAdmin):
    p = project_lifecycle.create(session, name=body.name, description=body.description, preset=body.preset)
    return _project_out(p, 0)


@router.post("/projects/{project_id}/derivations", response_model=schemas.PushResult,
             responses={207: {"model": schemas.PushResult, "description": "some records were rejected"}})
def push_derivations(project_id: int, body: schemas.DerivationsIn, session: SessionDep, user: ApiAdmin):
    """Derivations as in a JSONL import, checked the same way; the same records pushed again add
    nothing. With all_or_nothing a bad record writes nothing (422); otherwise the good ones are
    written and the answer (207) lists the rejected ones by position with their errors."""
    result = pushing.push_derivations(session, project_id=project_id, body=body)
    return JSONResponse(result.model_dump(), status_code=207 if result.rejected else 200)


@router.post("/projects/{project_id}/predictions", response_model=schemas.PredictionsResult)
def push_predictions(project_id: int, body: schemas.PredictionsIn, session: SessionDep, user: ApiAdmin):
    """Another suggestion source's verdicts (an external judge, a PRM), shown beside SymPy's on the
    annotate page with the source's name; pushing again replaces the source's verdicts."""
    stored = pushing.push_predictions(session, project_id=project_id, body=body)
    return schemas.PredictionsResult(source=body.source, stored=stored)


def _rate(r: dashboards.Rate) -> schemas.RateOut:
    return schemas.RateOut(k=r.k, n=r.n, value=r.value, low=r.low, high=r.high)


def _scores(rows: list[dict]) -> list[dict]:
    return [{k: (_rate(v).model_dump() if isinstance(v, dashboards.Rate) else v) for k, v in row.items()}
            for row in rows]


def _group(g: dashboards.Group, labels: list[str]) -> schemas.ModelStats:
    return schemas.ModelStats(
        model=g.model, perturbation=g.perturbation, derivations=g.derivations, annotated=g.annotated,
        judgements=g.judgements, judged_steps=g.judged_steps,
        step_rates={k: _rate(g.step_rate(k)) for k in labels}, any_rates={k: _rate(g.any_rate(k)) for k in labels},
        goal_reached=_rate(g.goal), metrics={m: g.metric(m) for m in dashboards.METRICS})


@router.get("/projects/{project_id}/stats", response_model=schemas.StatsOut)
def stats(project_id: int, session: SessionDep, user: ApiStaff, model: str | None = None,
          perturbation: str | None = None, annotator: str | None = None, since: str | None = None,
          until: str | None = None):
    """The dashboards' numbers (final labels where a reviewer settled)."""
    f = dashboards.parse_filters(session, project_id=project_id, model=model, perturbation=perturbation,
                                 annotator=annotator, since=since, until=until)
    board = dashboards.compute(session, f)
    labels = [item["key"] for item in board.labels]
    return schemas.StatsOut(
        filters=f.__dict__, models=[_group(g, labels) for g in board.models],
        cells=[_group(g, labels) for _, g in sorted(board.cells.items())], spearman=board.spearman,
        checker=_scores(board.checker), sources=_scores(board.sources),
        progress_models=board.progress_models, progress_annotators=board.progress_annotators,
        throughput=board.throughput)


@router.get("/projects/{project_id}/export")
def export(request: Request, project_id: int, session: SessionDep, user: ApiStaff, level: str = "step",
           model: str | None = None, perturbation: str | None = None, spreadsheet_safe: bool = False):
    """CSV (level step, derivation or events) or JSONL of everything (level jsonl), streamed.
    Lossless; `spreadsheet_safe=1` prefixes cells a spreadsheet would run as formulas with '."""
    if level == "jsonl":
        f = dashboards.parse_filters(session, project_id=project_id, model=model, perturbation=perturbation)
        return streams.limited(request, user, exporting.stream_jsonl(request.app.state.sessionmaker, filters=f),
                               media_type="application/x-ndjson")
    pid, labels, _ = exporting.check_export(session, project_id=project_id, level=level)
    return streams.limited(request, user, exporting.stream_csv(request.app.state.sessionmaker, project_id=pid,
                                                               labels=labels, level=level, safe=spreadsheet_safe),
                           media_type="text/csv; charset=utf-8")


def _run_out(session, run_id: int) -> schemas.RunOut:
    p = runs.progress(session, run_id=run_id)
    r = p.run
    return schemas.RunOut(id=r.id, project_id=r.project_id, model=p.model_name, backend=r.backend,
                          model_path=r.model_path, state=p.state, done=p.done, total=p.total,
                          per_second=p.per_second, eta_seconds=p.eta_seconds, jobs=p.jobs, decoding=r.decoding,
                          perturbations=r.perturbations)


@router.get("/projects/{project_id}/runs", response_model=list[schemas.RunOut])
def list_runs(request: Request, response: Response, project_id: int, session: SessionDep, user: ApiStaff,
              limit: int = PAGE, offset: int = OFFSET):
    """Newest first. A project has a handful of runs: they are read whole and sliced."""
    get_project(session, project_id)
    every = runs.of_project(session, project_id)
    rows = [_run_out(session, run.id) for run in every[offset:offset + limit]]
    return paged(request, response, rows, total=len(every), limit=limit, offset=offset)


@router.get("/runs/{run_id}", response_model=schemas.RunOut)
def get_run(run_id: int, session: SessionDep, user: ApiStaff):
    return _run_out(session, run_id)


@router.post("/projects/{project_id}/runs", response_model=schemas.RunOut, status_code=201)
def create_run(project_id: int, body: schemas.RunIn, session: SessionDep, user: ApiAdmin):
    project = get_project(session, project_id)
    decoding = Decoding.from_dict(body.model_dump())
    run = runs.create_run(session, project_name=project.name, model_path=body.model, backend=body.backend,
                          decoding=decoding, perturbations=body.perturbations, name=body.name, fresh=body.fresh,
                          seed=body.seed, user_id=user.id)
    return _run_out(session, run.id)


@router.get("/projects/{project_id}/training/{name}")
def training_export(request: Request, project_id: int, name: str, session: SessionDep, user: ApiStaff,
                    model: str | None = None, perturbation: str | None = None, final_only: bool = False,
                    ratings: str | None = None):
    """A training export: `step-rewards`, `preference-pairs` or `corrections`, as `.jsonl` or
    `.parquet`, or `README.md` (the dataset card; `kind=` names the export it describes).
    Made from judged derivations only (settled, or every annotator agreeing)."""
    return training_files.respond(request, session, project_id, name, model, perturbation, final_only, ratings)
