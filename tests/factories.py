"""Build domain objects for tests, through the ORM (flush, never commit)."""

from __future__ import annotations

import hashlib
import itertools

from sqlalchemy.orm import Session

from app.math.latex import split_steps
from app.models import Derivation, LLMModel, Problem, Project, Role, Step, User
from app.services.auth import hash_password
from tests.helpers import PASSWORD

_seq = itertools.count(1)
_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once


def make_user(session: Session, *, role: Role = Role.annotator, username: str | None = None) -> User:
    user = User(username=username or f"user{next(_seq)}", password_hash=_HASH, role=role)
    session.add(user)
    session.flush()
    return user


def make_project(session: Session, *, name: str | None = None, overlap: int = 1) -> Project:
    project = Project(name=name or f"project {next(_seq)}", overlap=overlap)
    session.add(project)
    session.flush()
    return project


def make_model(session: Session, name: str) -> LLMModel:
    model = session.query(LLMModel).filter_by(name=name).one_or_none()
    if model is None:
        model = LLMModel(name=name)
        session.add(model)
        session.flush()
    return model


def make_derivation(
    session: Session,
    *,
    project: Project,
    text: str = r"f{(x)} = x^{2} and \frac{d}{d x} f{(x)} = 2 x and x \frac{d}{d x} f{(x)} = 2 f{(x)}",
    model: str = "test-model",
    perturbation: str = "static",
    prompt: str = r"Given f{(x)} = x^{2}, then obtain x \frac{d}{d x} f{(x)} = 2 f{(x)}",
    reference: str | None = r"f{(x)} = x^{2} and x \frac{d}{d x} f{(x)} = 2 f{(x)}",
) -> Derivation:
    n = next(_seq)
    problem = Problem(project_id=project.id, key=f"prob-{n}", perturbation=perturbation, prompt=prompt,
                      premises=["f{(x)} = x^{2}"], intermediates=[], goal=r"x \frac{d}{d x} f{(x)} = 2 f{(x)}",
                      reference=reference)
    session.add(problem)
    session.flush()
    derivation = Derivation(project_id=project.id, problem_id=problem.id, model_id=make_model(session, model).id,
                            raw_text=text, content_hash=hashlib.sha256(f"{n}{text}".encode()).hexdigest(),
                            metrics={})
    session.add(derivation)
    session.flush()
    for i, latex in enumerate(split_steps(text), start=1):
        session.add(Step(derivation_id=derivation.id, index=i, latex=latex))
    session.flush()
    return derivation


def steps_of(session: Session, derivation: Derivation) -> list[Step]:
    return session.query(Step).filter_by(derivation_id=derivation.id).order_by(Step.index).all()


def assign(session: Session, user: User, *derivations: Derivation) -> None:
    """Put derivations in an annotator's queue, as Next would have handed them out."""
    from app.repositories import annotations as annotations_repo

    for derivation in derivations:
        annotations_repo.get_or_create(session, derivation_id=derivation.id, annotator_id=user.id)


def score_all(session: Session) -> int:
    """What a worker's metrics jobs do after an import: ROUGE-2/BLEU/GLEU of every derivation."""
    from sqlalchemy import select

    from app.services.scoring import score_derivations

    return score_derivations(session, derivation_ids=list(session.scalars(select(Derivation.id))))
