"""The problem view's reads: a problem family (one key: its static form and perturbed twins),
every derivation of them with its steps, and each step's human labels and SymPy verdicts."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    Adjudication, Annotation, AnnotationStatus, AutoCheck, Derivation, FinalLabel, LLMModel, Problem, Step, StepLabel,
)


def family(session: Session, project_id: int, key: str) -> list[Problem]:
    return list(session.scalars(select(Problem).where(Problem.project_id == project_id, Problem.key == key)
                                .order_by(Problem.id)))


def derivations(session: Session, problem_ids: list[int]) -> list[tuple[Derivation, str]]:
    return [(d, name) for d, name in session.execute(
        select(Derivation, LLMModel.name).join(LLMModel, LLMModel.id == Derivation.model_id)
        .where(Derivation.problem_id.in_(problem_ids)).order_by(LLMModel.name, Derivation.id))]


def steps(session: Session, derivation_ids: list[int]) -> dict[int, list[Step]]:
    out: dict[int, list[Step]] = defaultdict(list)
    for step in session.scalars(select(Step).where(Step.derivation_id.in_(derivation_ids))
                                .order_by(Step.derivation_id, Step.index)):
        out[step.derivation_id].append(step)
    return out


def human_labels(session: Session, derivation_ids: list[int]) -> tuple[dict[int, dict[str, int]], set[int]]:
    """step id -> label -> how many annotators gave it (a settled derivation: its final labels,
    each counted once); and the settled derivations."""
    settled = set(session.scalars(select(Adjudication.derivation_id).where(
        Adjudication.derivation_id.in_(derivation_ids), Adjudication.decided_at.is_not(None))))
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for step_id, label, n in session.execute(
            select(StepLabel.step_id, StepLabel.label, func.count())
            .join(Annotation, Annotation.id == StepLabel.annotation_id)
            .where(Annotation.derivation_id.in_([d for d in derivation_ids if d not in settled]),
                   Annotation.status == AnnotationStatus.submitted)
            .group_by(StepLabel.step_id, StepLabel.label)):
        out[step_id][label] = n
    for step_id, label in session.execute(select(FinalLabel.step_id, FinalLabel.label)
                                          .where(FinalLabel.derivation_id.in_(settled))):
        out[step_id][label] = 1
    return out, settled


def submitted_counts(session: Session, derivation_ids: list[int]) -> dict[int, int]:
    return dict(session.execute(select(Annotation.derivation_id, func.count())
                                .where(Annotation.derivation_id.in_(derivation_ids),
                                       Annotation.status == AnnotationStatus.submitted)
                                .group_by(Annotation.derivation_id)).all())


def sympy_yes(session: Session, derivation_ids: list[int]) -> dict[tuple[int, int], list[str]]:
    """(derivation, step index) -> the labels SymPy says yes to ("unknown" where it could not tell)."""
    out: dict[tuple[int, int], list[str]] = defaultdict(list)
    for d_id, index, label, verdict in session.execute(
            select(AutoCheck.derivation_id, AutoCheck.step_index, AutoCheck.label, AutoCheck.verdict)
            .where(AutoCheck.derivation_id.in_(derivation_ids), AutoCheck.verdict != "no")
            .order_by(AutoCheck.label)):
        out[(d_id, index)].append(label if verdict == "yes" else f"{label}?")
    return out
