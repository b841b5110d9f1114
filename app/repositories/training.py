"""What the training exports are made of: each derivation in scope with its steps, the
human judgement of every step (settled final labels, or what its annotators all gave),
and the corrections reviewers settled. A few set-based queries."""

from collections import defaultdict

from sqlalchemy import text
from sqlalchemy.orm import Session

_JOINS = "FROM derivations d JOIN problems p ON p.id = d.problem_id JOIN llm_models m ON m.id = d.model_id"
_FILTER = """
    WHERE d.project_id = :project_id
      AND (CAST(:model AS text) IS NULL OR m.name = :model)
      AND (CAST(:perturbation AS text) IS NULL OR p.perturbation::text = :perturbation)
      AND (CAST(:ids AS int[]) IS NULL OR d.id = ANY(CAST(:ids AS int[])))
"""
_SCOPE = _JOINS + _FILTER


def derivations(session: Session, params: dict) -> list[dict]:
    rows = session.execute(text(f"""
        SELECT d.id, p.id AS problem_id, p.key AS problem_key, p.perturbation::text AS perturbation,
               p.prompt, p.reference, m.name AS model,
               adj.decided_at IS NOT NULL AS settled, adj.goal_reached AS final_goal, d.raw_text,
               (SELECT pj.overlap FROM projects pj WHERE pj.id = d.project_id) AS overlap
        {_JOINS} LEFT JOIN adjudications adj ON adj.derivation_id = d.id {_FILTER}
        ORDER BY d.id"""), params).mappings().all()
    return [dict(r) for r in rows]


def steps(session: Session, params: dict) -> dict[int, list[tuple[int, int, str]]]:
    out: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for derivation_id, step_id, index, latex in session.execute(text(f"""
            SELECT s.derivation_id, s.id, s.index, s.latex FROM steps s
            WHERE s.derivation_id IN (SELECT d.id {_SCOPE}) ORDER BY s.derivation_id, s.index"""), params):
        out[derivation_id].append((step_id, index, latex))
    return out


def final_labels(session: Session, params: dict) -> dict[int, dict[int, set[str]]]:
    """derivation -> step id -> labels, for settled adjudications."""
    out: dict[int, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for derivation_id, step_id, label in session.execute(text(f"""
            SELECT fl.derivation_id, fl.step_id, fl.label FROM final_labels fl
            JOIN adjudications adj ON adj.derivation_id = fl.derivation_id AND adj.decided_at IS NOT NULL
            WHERE fl.derivation_id IN (SELECT d.id {_SCOPE})"""), params):
        out[derivation_id][step_id].add(label)
    return out


def submitted(session: Session, params: dict) -> dict[int, list[tuple[str, bool | None, dict[int, set[str]], set[int]]]]:
    """derivation -> [(annotator, goal reached, step id -> labels, step ids left unlabelled)] of
    submitted annotations, as last submitted (a reopened change waits for its submit)."""
    annotations: dict[int, tuple[int, str, bool | None]] = {}
    for a_id, derivation_id, name, goal in session.execute(text(f"""
            SELECT a.id, a.derivation_id, u.username, a.submitted_goal_reached FROM annotations a
            JOIN users u ON u.id = a.annotator_id
            WHERE a.status = 'submitted' AND a.derivation_id IN (SELECT d.id {_SCOPE}) ORDER BY a.id"""), params):
        annotations[a_id] = (derivation_id, name, goal)
    labels: dict[int, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    unlabelled: dict[int, set[int]] = defaultdict(set)
    if annotations:
        for a_id, step_id, label in session.execute(text(
                "SELECT annotation_id, step_id, label FROM submitted_step_labels WHERE annotation_id = ANY(:ids)"),
                {"ids": list(annotations)}):
            labels[a_id][step_id].add(label)
        for a_id, step_id in session.execute(text(
                "SELECT annotation_id, step_id FROM step_notes WHERE unlabelled AND annotation_id = ANY(:ids)"),
                {"ids": list(annotations)}):
            unlabelled[a_id].add(step_id)
    out: dict[int, list] = defaultdict(list)
    for a_id, (derivation_id, name, goal) in annotations.items():
        out[derivation_id].append((name, goal, labels.get(a_id, {}), unlabelled.get(a_id, set())))
    return out


def corrections(session: Session, params: dict) -> dict[int, tuple[str, bool]]:
    """step id -> (the latest correction's LaTeX, whether it was SymPy's proposal accepted)."""
    out = {}
    for step_id, latex, from_proposal in session.execute(text(f"""
            SELECT c.step_id, c.latex, c.from_proposal FROM step_corrections c
            WHERE c.derivation_id IN (SELECT d.id {_SCOPE}) ORDER BY c.updated_at, c.id"""), params):
        out[step_id] = (latex, from_proposal)
    return out
