"""SQL of adjudication: where annotators disagree, what each said, the final labels."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.models import Adjudication, Annotation, AnnotationStatus, FinalLabel, StepLabel, User

# Derivations with at least two submitted annotations that differ on some step's label
# set or on goal reached ("not judged" counts as an answer of its own).
_DISAGREEMENTS = text("""
WITH scope AS (
    SELECT d.id, d.model_id, p.perturbation FROM derivations d JOIN problems p ON p.id = d.problem_id
    WHERE d.project_id = :project_id
      AND (CAST(:model_id AS int) IS NULL OR d.model_id = :model_id)
      AND (CAST(:perturbation AS text) IS NULL OR p.perturbation::text = :perturbation)
),
multi AS (
    SELECT a.derivation_id, count(*) AS n FROM annotations a JOIN scope ON scope.id = a.derivation_id
    WHERE a.status = 'submitted' GROUP BY a.derivation_id HAVING count(*) >= 2
),
step_sets AS (
    SELECT s.derivation_id, s.id AS step_id, a.id AS annotation_id,
           coalesce(string_agg(sl.label, '+' ORDER BY sl.label), '') AS labels
    FROM multi JOIN steps s ON s.derivation_id = multi.derivation_id
    JOIN annotations a ON a.derivation_id = multi.derivation_id AND a.status = 'submitted'
    LEFT JOIN step_labels sl ON sl.annotation_id = a.id AND sl.step_id = s.id
    GROUP BY s.derivation_id, s.id, a.id
),
disagree AS (
    SELECT derivation_id FROM step_sets GROUP BY derivation_id, step_id HAVING count(DISTINCT labels) > 1
    UNION
    SELECT a.derivation_id FROM multi JOIN annotations a ON a.derivation_id = multi.derivation_id
    WHERE a.status = 'submitted' GROUP BY a.derivation_id
    HAVING count(DISTINCT coalesce(a.goal_reached::text, '-')) > 1
)
SELECT scope.id AS derivation_id, m.name AS model, scope.perturbation::text AS perturbation, multi.n AS annotations,
       adj.decided_at, u.username AS reviewer
FROM disagree JOIN scope ON scope.id = disagree.derivation_id
JOIN multi ON multi.derivation_id = scope.id
JOIN llm_models m ON m.id = scope.model_id
LEFT JOIN adjudications adj ON adj.derivation_id = scope.id
LEFT JOIN users u ON u.id = adj.reviewer_id
ORDER BY adj.decided_at IS NOT NULL, scope.id
""")


def disagreements(session: Session, *, project_id: int, model_id: int | None, perturbation: str | None) -> list[dict]:
    params = {"project_id": project_id, "model_id": model_id, "perturbation": perturbation}
    return [dict(r._mapping) for r in session.execute(_DISAGREEMENTS, params)]


def submitted(session: Session, derivation_id: int) -> list[tuple[Annotation, str]]:
    rows = session.execute(
        select(Annotation, User.username).join(User, User.id == Annotation.annotator_id)
        .where(Annotation.derivation_id == derivation_id, Annotation.status == AnnotationStatus.submitted)
        .order_by(User.username)
    )
    return [(a, name) for a, name in rows]


def labels_of(session: Session, annotation_ids: list[int]) -> dict[int, dict[int, set[str]]]:
    """annotation id -> step id -> labels."""
    out: dict[int, dict[int, set[str]]] = {}
    for annotation_id, step_id, label in session.execute(
        select(StepLabel.annotation_id, StepLabel.step_id, StepLabel.label).where(StepLabel.annotation_id.in_(annotation_ids))
    ):
        out.setdefault(annotation_id, {}).setdefault(step_id, set()).add(label)
    return out


def get(session: Session, derivation_id: int) -> Adjudication | None:
    return session.get(Adjudication, derivation_id, populate_existing=True)


def create(session: Session, *, derivation_id: int, reviewer_id: int, goal_reached: bool | None,
           labels: dict[int, set[str]]) -> Adjudication:
    session.execute(insert(Adjudication).values(derivation_id=derivation_id, reviewer_id=reviewer_id,
                                                goal_reached=goal_reached, comment="").on_conflict_do_nothing())
    rows = [{"derivation_id": derivation_id, "step_id": s, "label": label} for s, ls in labels.items() for label in ls]
    if rows:
        session.execute(insert(FinalLabel).values(rows).on_conflict_do_nothing())
    session.flush()
    return session.get(Adjudication, derivation_id, populate_existing=True)


def final_labels(session: Session, derivation_id: int) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for step_id, label in session.execute(
        select(FinalLabel.step_id, FinalLabel.label).where(FinalLabel.derivation_id == derivation_id)
    ):
        out.setdefault(step_id, set()).add(label)
    return out


def set_final_label(session: Session, *, derivation_id: int, step_id: int, label: str, on: bool) -> bool:
    if on:
        statement = insert(FinalLabel).values(derivation_id=derivation_id, step_id=step_id, label=label) \
            .on_conflict_do_nothing().returning(FinalLabel.label)
    else:
        statement = delete(FinalLabel).where(FinalLabel.derivation_id == derivation_id, FinalLabel.step_id == step_id,
                                             FinalLabel.label == label).returning(FinalLabel.label)
    return session.execute(statement).first() is not None


def update_adjudication(session: Session, derivation_id: int, **values) -> None:
    session.execute(update(Adjudication).where(Adjudication.derivation_id == derivation_id).values(**values))


def now() -> datetime:
    return datetime.now(timezone.utc)
