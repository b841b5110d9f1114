"""Generation runs in the browser: create one, watch it (htmx polling), retry what failed."""

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import AdminUser, SessionDep
from app.schemas.runs import BACKENDS, TEMPLATES, Decoding
from app.services import queue_status, runs, step_split
from app.services.projects import get_project
from app.web.templating import is_fragment_request, render

router = APIRouter()


_project = get_project


@router.get("/projects/{project_id}/runs")
def runs_page(request: Request, project_id: int, session: SessionDep, user: AdminUser):
    project = _project(session, project_id)
    listed = [runs.progress(session, run_id=run.id) for run in runs.of_project(session, project_id)]
    return render(request, "pages/runs.html", {
        "project": project, "runs": listed, "backends": BACKENDS, "defaults": Decoding(),
        "templates": TEMPLATES, "split_rules": {k: v[0] for k, v in step_split.RULES.items()},
        "perturbations": runs.ALL_PERTURBATIONS,
    })


@router.post("/projects/{project_id}/runs")
def create_run(
    request: Request, project_id: int, session: SessionDep, user: AdminUser,
    model: str = Form(""), backend: str = Form("hf-seq2seq"), name: str = Form(""),
    perturbations: list[str] = Form([]), fresh: int = Form(0), max_new_tokens: int = Form(256),
    num_beams: int = Form(1), sampling: str = Form(""), temperature: float = Form(1.0), top_p: float = Form(1.0),
    seed: int = Form(0), batch_size: int = Form(16), endpoint: str = Form(""), key_name: str = Form(""),
    template: str = Form("auto"), system_prompt: str = Form(""), stop: str = Form(""), split: str = Form("and"),
):
    project = _project(session, project_id)
    decoding = Decoding(max_new_tokens=max_new_tokens, num_beams=num_beams, do_sample=sampling == "on",
                        temperature=temperature, top_p=top_p, seed=seed, batch_size=batch_size,
                        endpoint=endpoint.strip() or None, key_name=key_name.strip() or None, template=template,
                        system_prompt=system_prompt.strip(),
                        # one stop sequence per line, written with \n for a line break
                        stop=tuple(line.replace("\\n", "\n") for line in stop.splitlines() if line), split=split)
    run = runs.create_run(session, project_name=project.name, model_path=model, backend=backend, decoding=decoding,
                          perturbations=runs.parse_perturbations(perturbations), name=name.strip() or None,
                          fresh=fresh, seed=seed, user_id=user.id)
    url = f"/runs/{run.id}"
    if is_fragment_request(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: int, session: SessionDep, user: AdminUser):
    report = runs.progress(session, run_id=run_id)
    return render(request, "pages/run.html", {
        "p": report, "project": _project(session, report.run.project_id),
        "jobs": queue_status.recent(session, run_id=run_id, limit=20),
    }, block="progress")


@router.post("/runs/{run_id}/retry")
def retry_run(request: Request, run_id: int, session: SessionDep, user: AdminUser):
    runs.progress(session, run_id=run_id)  # 404 for an unknown run
    queue_status.retry(session, run_id=run_id)
    return run_page(request, run_id, session, user)
