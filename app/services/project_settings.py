"""A project's team and queue: overlap, blind mode, annotators, stratified sample."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models import Project, User
from app.repositories import projects as projects_repo
from app.repositories import users as users_repo
from app.services import taxonomy
from app.services.projects import get_project

MAX_OVERLAP = 20


@dataclass
class SettingsView:
    project: Project
    users: list[User]
    members: set[int]
    sample_size: int

    @property
    def labels(self) -> list[dict]:
        return taxonomy.items(self.project)


_project = get_project


def view(session: Session, *, project_id: int) -> SettingsView:
    project = _project(session, project_id)
    return SettingsView(project, users_repo.list_all(session), projects_repo.member_ids(session, project_id),
                        projects_repo.sample_size(session, project_id))


MAX_GUIDELINES = 50_000


STRATEGY_TEXT = {
    "interleaved": "interleaved: models and problems mixed by a seeded shuffle",
    "uncertain": "uncertain first: where SymPy could not decide or disagrees with an annotator, or annotators disagree",
    "balanced": "per-model balanced: the model with the fewest annotations so far next",
}


def update(session: Session, *, project_id: int, overlap: int, blind: bool, member_ids: set[int],
           guidelines: str | None = None, queue_strategy: str | None = None) -> Project:
    """`guidelines`: markdown for the annotators; None (for it or the strategy) leaves it as it is."""
    project = _project(session, project_id)
    if queue_strategy is not None and queue_strategy not in STRATEGY_TEXT:
        raise InvalidInput(f"queue strategy '{queue_strategy}': use one of {', '.join(STRATEGY_TEXT)}")
    if guidelines is not None and len(guidelines) > MAX_GUIDELINES:
        raise InvalidInput(f"guidelines: at most {MAX_GUIDELINES} characters ({len(guidelines)} given)")
    if not 1 <= overlap <= MAX_OVERLAP:
        raise InvalidInput(f"overlap: 1..{MAX_OVERLAP} annotators per derivation (got {overlap})")
    known = {u.id for u in users_repo.list_all(session)}
    unknown = member_ids - known
    if unknown:
        raise InvalidInput(f"members: no user with id {', '.join(map(str, sorted(unknown)))}")
    project.overlap, project.blind = overlap, blind
    if queue_strategy is not None:
        project.queue_strategy = queue_strategy
    if guidelines is not None:
        project.guidelines = guidelines.replace("\r\n", "\n")
    projects_repo.set_members(session, project_id, member_ids)
    session.flush()
    return project


def draw_sample(session: Session, *, project_id: int, per_model: int, seed: int) -> int:
    """Per model, `per_model` static derivations drawn at random (by seed) and the same
    model's derivations of their perturbed twins, as the paper's manual evaluation did.
    Replaces the previous sample; returns its size."""
    _project(session, project_id)
    if not 1 <= per_model <= 100_000:
        raise InvalidInput(f"per model: 1..100000 static derivations (got {per_model})")
    if not 0 <= seed < 2**63:
        raise InvalidInput(f"seed: a whole number in 0..2^63-1 (got {seed})")
    rows = projects_repo.derivations_by_model(session, project_id)
    static: dict[int, list[tuple[int, int]]] = defaultdict(list)  # model -> [(derivation, problem)]
    twins: dict[tuple[int, int], list[int]] = defaultdict(list)  # (model, parent problem) -> derivations
    for derivation_id, model_id, perturbation, problem_id, parent_id in rows:
        if getattr(perturbation, "value", perturbation) == "static":
            static[model_id].append((derivation_id, problem_id))
        elif parent_id is not None:
            twins[(model_id, parent_id)].append(derivation_id)
    if not static:
        raise InvalidInput("this project has no static derivations to sample from")
    rng = random.Random(seed)
    chosen: list[int] = []
    for model_id in sorted(static):
        pool = static[model_id]
        for derivation_id, problem_id in rng.sample(pool, min(per_model, len(pool))):
            chosen.append(derivation_id)
            chosen += twins[(model_id, problem_id)]
    projects_repo.set_sample(session, project_id, chosen)
    return len(set(chosen))


def clear_sample(session: Session, *, project_id: int) -> None:
    _project(session, project_id)
    projects_repo.set_sample(session, project_id, [])
