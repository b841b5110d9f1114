"""Gold items' queries: the companion project that holds them, which one an annotator gets
next, and how each annotator's labels compare with the known answers."""

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from app.models import Annotation, Derivation, LLMModel, Problem, Project


def companion(session: Session, project_id: int) -> Project | None:
    return session.scalar(select(Project).where(Project.gold_of == project_id))


def counts(session: Session, project_id: int, companion_id: int, annotator_id: int) -> tuple[int, int, int | None]:
    """(the annotator's submitted items in the project, their gold items, an unfinished gold one)."""
    row = session.execute(text("""
        SELECT (SELECT count(*) FROM annotations a JOIN derivations d ON d.id = a.derivation_id
                WHERE d.project_id = :project AND a.annotator_id = :user AND a.status = 'submitted'),
               (SELECT count(*) FROM annotations a JOIN derivations d ON d.id = a.derivation_id
                WHERE d.project_id = :gold AND a.annotator_id = :user),
               (SELECT min(a.derivation_id) FROM annotations a JOIN derivations d ON d.id = a.derivation_id
                WHERE d.project_id = :gold AND a.annotator_id = :user AND a.status = 'in_progress'
                  AND a.skipped_at IS NULL)"""),
        {"project": project_id, "gold": companion_id, "user": annotator_id}).one()
    return row[0], row[1], row[2]


def next_item(session: Session, companion_id: int, annotator_id: int) -> int | None:
    """A gold item this annotator has not had, in the order they were made (spread across
    problems and error kinds by app.services.gold)."""
    return session.scalar(
        select(Derivation.id).where(
            Derivation.project_id == companion_id,
            ~select(Annotation.id).where(Annotation.derivation_id == Derivation.id,
                                         Annotation.annotator_id == annotator_id).exists())
        .order_by(Derivation.id).limit(1))


def answers(session: Session, companion_id: int, *, annotator_id: int | None = None,
            derivation_id: int | None = None) -> list[dict]:
    """Submitted annotations of gold items (all, or one annotator's of one item): who, the
    known answer, and their labels."""
    rows = session.execute(text("""
        SELECT u.username AS annotator, d.id AS derivation_id, d.gold_truth AS truth,
               (SELECT count(*) FROM steps s WHERE s.derivation_id = d.id) AS steps,
               coalesce((SELECT jsonb_object_agg(x.index, x.labels) FROM
                   (SELECT s.index, jsonb_agg(sl.label) AS labels FROM step_labels sl JOIN steps s ON s.id = sl.step_id
                    WHERE sl.annotation_id = a.id GROUP BY s.index) x), '{}') AS given
        FROM annotations a JOIN derivations d ON d.id = a.derivation_id JOIN users u ON u.id = a.annotator_id
        WHERE d.project_id = :gold AND a.status = 'submitted' AND d.gold_truth IS NOT NULL
          AND (CAST(:user AS int) IS NULL OR a.annotator_id = :user)
          AND (CAST(:derivation AS int) IS NULL OR d.id = :derivation)
        ORDER BY u.username, d.id"""), {"gold": companion_id, "user": annotator_id, "derivation": derivation_id})
    return [dict(r._mapping) for r in rows]


def model_steps(session: Session, project_id: int, per_model: int = 200) -> dict[str, list[tuple[int, str]]]:
    """Up to `per_model` (step index, LaTeX) of each model's derivations in the project: how the
    model writes (gold items are written the same way)."""
    rows = session.execute(text("""
        SELECT name, index, latex FROM (
            SELECT m.name, s.index, s.latex,
                   row_number() OVER (PARTITION BY m.id ORDER BY d.id, s.index) AS n
            FROM derivations d JOIN llm_models m ON m.id = d.model_id JOIN steps s ON s.derivation_id = d.id
            WHERE d.project_id = :project) x
        WHERE n <= :limit"""), {"project": project_id, "limit": per_model})
    out: dict[str, list[tuple[int, str]]] = {}
    for name, index, latex in rows:
        out.setdefault(name, []).append((index, latex))
    return out


def problems_with_reference_and_model(session: Session, project_id: int) -> list[tuple]:
    """(problem, a model that answered it) for each problem with a reference, by id."""
    return session.execute(
        select(Problem, func.min(LLMModel.name)).join(Derivation, Derivation.problem_id == Problem.id)
        .join(LLMModel, LLMModel.id == Derivation.model_id)
        .where(Problem.project_id == project_id, Problem.reference.is_not(None))
        .group_by(Problem.id).order_by(Problem.id)).all()


def set_truths(session: Session, companion_id: int, truths: dict[str, dict]) -> None:
    """Each gold item's known answer, by its content hash."""
    for digest, truth in truths.items():
        session.execute(update(Derivation).where(Derivation.project_id == companion_id,
                                                 Derivation.content_hash == digest).values(gold_truth=truth))


def item_count(session: Session, companion_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Derivation).where(Derivation.project_id == companion_id))


def steps_of(session: Session, derivation_id: int) -> list[tuple[int, str]]:
    return session.execute(text("SELECT index, latex FROM steps WHERE derivation_id = :d ORDER BY index"),
                           {"d": derivation_id}).all()


def steps_of_project(session: Session, project_id: int) -> list[tuple[int, str]]:
    """(derivation id, step LaTeX) for every step of the project, in order."""
    return session.execute(text(
        "SELECT s.derivation_id, s.latex FROM steps s JOIN derivations d ON d.id = s.derivation_id "
        "WHERE d.project_id = :gold ORDER BY s.derivation_id, s.index"), {"gold": project_id}).all()
