"""SQL of generation runs: the run, its problems and its progress."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Derivation, GenerationRun, Job, JobState, LLMModel, Problem


def add(session: Session, **fields: Any) -> GenerationRun:
    run = GenerationRun(**fields)
    session.add(run)
    session.flush()
    return run


def get(session: Session, run_id: int) -> GenerationRun | None:
    return session.get(GenerationRun, run_id)


def model_name(session: Session, model_id: int) -> str:
    return session.scalar(select(LLMModel.name).where(LLMModel.id == model_id)) or "?"


def list_for_project(session: Session, project_id: int) -> list[tuple[GenerationRun, str]]:
    rows = session.execute(
        select(GenerationRun, LLMModel.name)
        .join(LLMModel, LLMModel.id == GenerationRun.model_id)
        .where(GenerationRun.project_id == project_id)
        .order_by(GenerationRun.id.desc())
    )
    return [(run, name) for run, name in rows]


def list_all(session: Session, limit: int = 50) -> list[GenerationRun]:
    return list(session.scalars(select(GenerationRun).order_by(GenerationRun.id.desc()).limit(limit)))


def problem_ids(session: Session, *, project_id: int, perturbations: Sequence[str]) -> list[int]:
    return list(session.scalars(
        select(Problem.id)
        .where(Problem.project_id == project_id, Problem.perturbation.in_(list(perturbations)))
        .order_by(Problem.id)
    ))


def problems_to_generate(session: Session, *, run_id: int, problem_ids: Sequence[int]) -> list[tuple[int, str]]:
    """(id, prompt) of the given problems this run has no derivation for yet."""
    done = select(Derivation.problem_id).where(Derivation.run_id == run_id)
    return [tuple(r) for r in session.execute(
        select(Problem.id, Problem.prompt)
        .where(Problem.id.in_(list(problem_ids)), Problem.id.not_in(done))
        .order_by(Problem.id)
    )]


def progress(session: Session, run_id: int) -> dict[str, Any]:
    """Derivations written, jobs by state, when work started and last finished."""
    done = session.scalar(select(func.count()).where(Derivation.run_id == run_id)) or 0
    jobs = {state.value: 0 for state in JobState}
    for state, n in session.execute(select(Job.state, func.count()).where(Job.run_id == run_id).group_by(Job.state)):
        jobs[state.value] = n
    started, finished, now = session.execute(
        select(func.min(Job.started_at), func.max(Job.finished_at), func.now()).where(Job.run_id == run_id)
    ).one()
    return {"done": done, "jobs": jobs, "started_at": started, "finished_at": finished, "now": now}
