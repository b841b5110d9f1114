"""Generation runs: create one (its jobs enqueued in the same transaction), store
what the model wrote as derivations, report progress."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath

from sqlalchemy.orm import Session

from app import jobs
from app.errors import InvalidInput, NotFound
from app.models import PERTURBATIONS, GenerationRun
from app.repositories import imports as imports_repo
from app.repositories import jobs as jobs_repo
from app.repositories import projects as projects_repo
from app.repositories import runs as runs_repo
from app.schemas.runs import BACKENDS, Decoding
from app.services import step_split
from app.services.problems import generate_problems

ALL_PERTURBATIONS = PERTURBATIONS


def parse_perturbations(raw: str | list[str] | None) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else list(raw or [])
    chosen = [p.strip() for p in items if p and p.strip()]
    if not chosen:
        return list(ALL_PERTURBATIONS)
    unknown = [p for p in chosen if p not in ALL_PERTURBATIONS]
    if unknown:
        raise InvalidInput(f"unknown perturbation {', '.join(unknown)} (use {', '.join(ALL_PERTURBATIONS)})")
    return chosen


def default_model_name(model_path: str) -> str:
    """A hub id stays as it is (jmeadows17/MathT5-large); a local folder is named by its last part."""
    path = model_path.rstrip("/")
    if path.startswith(("/", ".", "~")):
        return PurePath(path).name or path
    return path


def problems_per_job(decoding: Decoding) -> int:
    # several batches per job: the GPU stays busy, and a lost job costs little
    return max(decoding.batch_size * 4, 16)


MAX_JOB_SIZE = 10_000


def create_run(session: Session, *, project_name: str, model_path: str, backend: str, decoding: Decoding,
               perturbations: list[str], name: str | None = None, fresh: int = 0, seed: int = 0,
               user_id: int | None = None, job_size: int | None = None) -> GenerationRun:
    """Queue a run; `job_size` problems per job (default: four batches)."""
    model_path = model_path.strip()
    perturbations = parse_perturbations(perturbations)  # none chosen: all of them
    if backend not in BACKENDS:
        raise InvalidInput(f"unknown backend '{backend}'", details=[f"use one of {', '.join(BACKENDS)}"])
    if not model_path:
        raise InvalidInput("give the model: a local folder, a hub id, or the served model's name")
    decoding.check().for_backend(backend)
    if job_size is not None and not 1 <= job_size <= MAX_JOB_SIZE:
        raise InvalidInput(f"job size: 1..{MAX_JOB_SIZE} problems per job (got {job_size})")
    if fresh:
        if not 1 <= fresh <= 100_000:
            raise InvalidInput(f"fresh problems: 1..100000 (got {fresh})")
        variants = tuple(p for p in perturbations if p != "static")
        made = generate_problems(session, project_name=project_name, count=fresh, seed=seed, perturbations=variants)
        project = projects_repo.get_by_name(session, project_name.strip())
        problem_ids = made.ids
    else:
        project = projects_repo.get_by_name(session, project_name.strip())
        if project is None:
            raise NotFound(f"project '{project_name}' does not exist")
        problem_ids = runs_repo.problem_ids(session, project_id=project.id, perturbations=perturbations)
    if not problem_ids:
        raise InvalidInput(f"project '{project.name}' has no problems with perturbation {', '.join(perturbations)}",
                           details=["import derivations or generate problems first (derivlab problems generate)"])
    model_name = (name or default_model_name(model_path))[:200]
    model_id = projects_repo.model_ids(session, {model_name})[model_name]
    run = runs_repo.add(session, project_id=project.id, model_id=model_id, backend=backend, model_path=model_path,
                        decoding=decoding.as_dict(), perturbations=perturbations, total=len(problem_ids),
                        created_by_id=user_id)
    size = job_size or problems_per_job(decoding)
    jobs_repo.add_many(session, [
        {"kind": jobs.GENERATE, "run_id": run.id, "max_attempts": 3,
         "payload": {"run_id": run.id, "problem_ids": problem_ids[i:i + size]}}
        for i in range(0, len(problem_ids), size)
    ])
    session.flush()  # its jobs written before anyone reads its progress in this transaction
    return run


def output_hash(run_id: int, problem_id: int) -> str:
    # one derivation per problem per run: a job run twice inserts nothing new
    return hashlib.sha256(f"run:{run_id}:problem:{problem_id}".encode()).hexdigest()


def store_outputs(session: Session, *, run: GenerationRun, outputs: list[tuple[int, str]]) -> list[int]:
    """(problem id, text) -> derivations of the run's model with steps, and metrics and check
    jobs for them. Returns the new derivations' ids."""
    rows = [{
        "project_id": run.project_id, "problem_id": problem_id, "model_id": run.model_id, "raw_text": text,
        "source": "generated", "content_hash": output_hash(run.id, problem_id), "run_id": run.id,
        "metrics": {},
    } for problem_id, text in outputs]
    new = imports_repo.insert_derivations(session, rows)
    texts = {output_hash(run.id, p): t for p, t in outputs}
    rule = Decoding.from_dict(run.decoding).split
    imports_repo.insert_steps(session, [
        {"derivation_id": derivation_id, "index": i, "latex": latex, "parse_status": "pending"}
        for derivation_id, digest in new
        for i, latex in enumerate(step_split.split(texts[digest], rule), start=1)
    ])
    ids = [derivation_id for derivation_id, _ in new]
    jobs.enqueue_metrics(session, ids)
    jobs.enqueue_checks(session, ids)
    return ids


@dataclass
class RunProgress:
    run: GenerationRun
    model_name: str
    total: int
    done: int
    jobs: dict[str, int]
    per_second: float | None
    eta_seconds: float | None
    started_at: datetime | None
    state: str  # queued | running | done | failed

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 100.0


def progress(session: Session, *, run_id: int) -> RunProgress:
    run = runs_repo.get(session, run_id)
    if run is None:
        raise NotFound(f"run {run_id} does not exist")
    raw = runs_repo.progress(session, run_id)
    jobs_by_state, done = raw["jobs"], raw["done"]
    pending = jobs_by_state["queued"] + jobs_by_state["running"]
    if pending == 0:
        state = "failed" if jobs_by_state["failed"] else "done"
    else:
        state = "running" if raw["started_at"] else "queued"
    per_second = eta = None
    if raw["started_at"] and done:
        end = raw["now"] if pending else (raw["finished_at"] or raw["now"])
        elapsed = max((end - raw["started_at"]).total_seconds(), 1e-3)
        per_second = done / elapsed
        eta = (run.total - done) / per_second if pending else 0.0
    return RunProgress(run=run, model_name=runs_repo.model_name(session, run.model_id), total=run.total,
                       done=done, jobs=jobs_by_state, per_second=per_second, eta_seconds=eta,
                       started_at=raw["started_at"], state=state)


def of_project(session: Session, project_id: int) -> list[GenerationRun]:
    """The project's runs, newest first."""
    return [run for run, _ in runs_repo.list_for_project(session, project_id)]
