from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.math.latex import split_steps
from app.models import AutoCheck, Derivation, Problem, Step, StepProposal


def to_check(session: Session, project_id: int | None = None,
             derivation_ids: list[int] | None = None) -> list[tuple[int, list[str], str | None, list[str], list[str] | None]]:
    """(derivation id, premises, goal, steps' LaTeX, reference steps or None) for every derivation
    of the project, or the given ones."""
    which = (Derivation.project_id == project_id) if derivation_ids is None else Derivation.id.in_(derivation_ids)
    rows = session.execute(
        select(Derivation.id, Problem.premises, Problem.goal, Problem.reference)
        .join(Problem, Problem.id == Derivation.problem_id)
        .where(which)
        .order_by(Derivation.id)
    ).all()
    steps: dict[int, list[str]] = {}
    for derivation_id, latex in session.execute(
        select(Step.derivation_id, Step.latex)
        .join(Derivation, Derivation.id == Step.derivation_id)
        .where(which)
        .order_by(Step.derivation_id, Step.index)
    ):
        steps.setdefault(derivation_id, []).append(latex)
    return [(d, premises or [], goal, steps.get(d, []), split_steps(reference) if reference else None)
            for d, premises, goal, reference in rows]


def save(session: Session, derivation_id: int, rows: list[dict], parse: dict[int, tuple[str, str | None]],
         proposals: list[dict] | None = None) -> None:
    """Replace the derivation's suggestions and proposals (a re-run writes nothing twice)."""
    session.execute(delete(AutoCheck).where(AutoCheck.derivation_id == derivation_id))
    session.execute(delete(StepProposal).where(StepProposal.derivation_id == derivation_id))
    if rows:
        session.execute(insert(AutoCheck).values([{"derivation_id": derivation_id, **r} for r in rows]))
    if proposals:
        session.execute(insert(StepProposal).values([{"derivation_id": derivation_id, **p} for p in proposals]))
    for index, (status, canonical) in parse.items():
        session.execute(
            update(Step)
            .where(Step.derivation_id == derivation_id, Step.index == index)
            .values(parse_status=status, canonical=canonical)
        )


def for_derivation(session: Session, derivation_id: int) -> dict[int, dict[str, tuple[str, str]]]:
    """step index -> label -> (verdict, reason); index 0 holds goal_reached."""
    out: dict[int, dict[str, tuple[str, str]]] = {}
    for index, label, verdict, reason in session.execute(
        select(AutoCheck.step_index, AutoCheck.label, AutoCheck.verdict, AutoCheck.reason)
        .where(AutoCheck.derivation_id == derivation_id)
    ):
        out.setdefault(index, {})[label] = (verdict, reason)
    return out


def progress(session: Session, project_id: int) -> tuple[int, int, int, int]:
    """(derivations, with SymPy's suggestions, with text metrics or no reference to score against,
    checked in the last minute) of a project. A derivation's goal verdict (step 0) marks it checked."""
    return tuple(session.execute(text("""
        SELECT count(*),
               count(*) FILTER (WHERE c.created_at IS NOT NULL),
               count(*) FILTER (WHERE d.metrics ? 'rouge2' OR p.reference IS NULL OR p.reference = ''),
               count(*) FILTER (WHERE c.created_at > now() - interval '60 seconds')
        FROM derivations d
        JOIN problems p ON p.id = d.problem_id
        LEFT JOIN auto_checks c ON c.derivation_id = d.id AND c.step_index = 0 AND c.label = 'goal_reached'
        WHERE d.project_id = :project_id"""), {"project_id": project_id}).one())


def proposals_for(session: Session, derivation_id: int) -> dict[int, StepProposal]:
    """step index -> SymPy's proposed correct step."""
    return {p.step_index: p for p in session.scalars(
        select(StepProposal).where(StepProposal.derivation_id == derivation_id))}
