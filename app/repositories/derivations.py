import json

from sqlalchemy import Text, any_, bindparam, case, func, literal_column, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, joinedload, selectinload

from app.models import Annotation, Derivation, Problem, Project, SampleItem, Step


def get_full(session: Session, derivation_id: int) -> Derivation | None:
    """A derivation with its problem, model and steps, loaded in two queries."""
    return session.scalar(
        select(Derivation)
        .where(Derivation.id == derivation_id)
        .options(
            joinedload(Derivation.problem),
            joinedload(Derivation.model),
            selectinload(Derivation.steps),
        )
    )


def get_project_id(session: Session, derivation_id: int) -> int | None:
    """The derivation's project; for a gold item, the project it calibrates (app.services.gold)."""
    return session.scalar(select(func.coalesce(Project.gold_of, Project.id))
                          .join(Derivation, Derivation.project_id == Project.id).where(Derivation.id == derivation_id))


def step_in_derivation(session: Session, derivation_id: int, step_id: int) -> tuple[Step, list[dict]] | None:
    """The step, if it belongs to the derivation, with its project's taxonomy (one query: the hot path)."""
    row = session.execute(
        select(Step, Project.taxonomy)
        .join(Derivation, Derivation.id == Step.derivation_id)
        .join(Project, Project.id == Derivation.project_id)
        .where(Step.id == step_id, Step.derivation_id == derivation_id)
    ).first()
    return (row[0], row[1]) if row else None


# Next works through the project in blocks of about this many derivations (in queue_rank
# order): each block reaches the overlap before the next one starts, so with overlap k > 1
# the second annotations, and agreement data, come early instead of after the whole project.
QUEUE_BLOCK = 20
_RANKS = 2 ** 32  # queue_rank is a signed 32-bit hash


# "Uncertain": SymPy could not decide whether a step (or the goal) is right, or it said an error
# a submitted annotator did not mark, or submitted annotators differ on a label or the goal.
UNCERTAIN_SQL = """(
  EXISTS (SELECT 1 FROM auto_checks ac WHERE ac.derivation_id = derivations.id AND ac.verdict = 'unknown'
          AND ac.label IN ('incorrect', 'goal_reached'))
  OR EXISTS (SELECT 1 FROM step_labels sl JOIN annotations a ON a.id = sl.annotation_id
             WHERE a.derivation_id = derivations.id AND a.status = 'submitted'
             GROUP BY sl.step_id, sl.label
             HAVING count(*) < (SELECT count(*) FROM annotations a2
                                WHERE a2.derivation_id = derivations.id AND a2.status = 'submitted'))
  OR (SELECT count(DISTINCT coalesce(a.goal_reached::text, '?')) FROM annotations a
      WHERE a.derivation_id = derivations.id AND a.status = 'submitted') > 1
  OR EXISTS (SELECT 1 FROM auto_checks ac
             JOIN steps s ON s.derivation_id = ac.derivation_id AND s.index = ac.step_index
             JOIN annotations a ON a.derivation_id = ac.derivation_id AND a.status = 'submitted'
             WHERE ac.derivation_id = derivations.id AND ac.verdict = 'yes' AND ac.step_index > 0
               AND NOT EXISTS (SELECT 1 FROM step_labels sl
                               WHERE sl.annotation_id = a.id AND sl.step_id = s.id AND sl.label = ac.label))
)"""
STRATEGIES = ("interleaved", "uncertain", "balanced")


# Long because it is one statement assembled per queue strategy: the three share the lock,
# the overlap and the sample filters, which must stay one query.
def next_candidate(session: Session, *, project_id: int, annotator_id: int, overlap: int, sampled: bool,
                   exclude: list[int], strategy: str = "interleaved") -> int | None:
    """The next derivation this annotator has not touched, below the overlap (within the
    sample, when the project has one), locked; rows another annotator holds are skipped.
    interleaved (default): the first block (a queue_rank range) with a free slot, then within
    it the fewest annotations, then queue_rank; uncertain: derivations SymPy or the annotators
    are unsure about first (UNCERTAIN_SQL), the ones already started first among them;
    balanced: the model with the fewest annotations so far first. The count is the
    statement's snapshot: the caller counts again once the lock is held (annotation_count)."""
    taken = (
        select(func.count())
        .select_from(Annotation)
        .where(Annotation.derivation_id == Derivation.id)
        .scalar_subquery()
    )
    mine = select(Annotation.id).where(
        Annotation.derivation_id == Derivation.id, Annotation.annotator_id == annotator_id
    )

    def candidates(*columns):
        query = select(*columns).where(Derivation.project_id == project_id, ~mine.exists(), taken < overlap)
        if exclude:
            query = query.where(Derivation.id.not_in(exclude))
        if sampled:
            query = query.where(
                select(SampleItem.derivation_id)
                .where(SampleItem.project_id == project_id, SampleItem.derivation_id == Derivation.id)
                .exists()
            )
        return query

    if strategy == "uncertain":
        # the uncertain first, the most annotated of them first (a dispute gets its next opinion);
        # then the rest as usual: fewest annotations, then the shuffled order
        uncertain = literal_column(UNCERTAIN_SQL)
        return session.scalar(
            candidates(Derivation.id)
            .order_by(uncertain.desc(), case((uncertain, -taken), else_=taken), Derivation.queue_rank, Derivation.id)
            .limit(1).with_for_update(skip_locked=True, of=Derivation))
    if strategy == "balanced":
        # annotations per model so far (skipped ones too: they were served); fewest first
        served = dict(session.execute(
            select(Derivation.model_id, func.count(Annotation.id))
            .join(Annotation, Annotation.derivation_id == Derivation.id, isouter=True)
            .where(Derivation.project_id == project_id).group_by(Derivation.model_id)).all())
        for model_id in sorted(served, key=lambda m: (served[m], m)):
            found = session.scalar(
                candidates(Derivation.id).where(Derivation.model_id == model_id)
                .order_by(taken, Derivation.queue_rank, Derivation.id)
                .limit(1).with_for_update(skip_locked=True, of=Derivation))
            if found is not None:
                return found
        return None
    # The first free derivation in rank order (walks ix_derivations_queue, stopping at the first
    # one with a slot): its block is the one to fill. Counting every derivation's annotations
    # to sort the whole project would be O(project) per Next.
    first = session.scalar(candidates(Derivation.queue_rank).order_by(Derivation.queue_rank, Derivation.id).limit(1))
    if first is None:
        return None
    total = session.scalar(select(func.count()).select_from(Derivation).where(Derivation.project_id == project_id))
    width = -(-_RANKS // max(1, -(-total // QUEUE_BLOCK)))  # ceil(2^32 / number of blocks)
    block = (first + 2 ** 31) // width
    low, high = block * width - 2 ** 31, (block + 1) * width - 2 ** 31
    in_range = [Derivation.queue_rank >= low] + ([Derivation.queue_rank < high] if high < 2 ** 31 else [])
    in_block = session.scalar(
        candidates(Derivation.id)
        .where(*in_range)
        .order_by(taken, Derivation.queue_rank, Derivation.id).limit(1)
        .with_for_update(skip_locked=True, of=Derivation)
    )
    if in_block is not None:
        return in_block
    # Every free row of the block is held by other annotators' Next right now: take the next free one.
    if high >= 2 ** 31:
        return None
    return session.scalar(
        candidates(Derivation.id).where(Derivation.queue_rank >= high)
        .order_by(Derivation.queue_rank, Derivation.id).limit(1)
        .with_for_update(skip_locked=True, of=Derivation)
    )


def annotation_count(session: Session, derivation_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Annotation).where(Annotation.derivation_id == derivation_id))


def texts_for_metrics(session: Session, derivation_ids: list[int]) -> list[tuple[int, str, str | None]]:
    """(derivation id, its text, its problem's reference) for the text metrics."""
    return [tuple(r) for r in session.execute(
        select(Derivation.id, Derivation.raw_text, Problem.reference)
        .join(Problem, Problem.id == Derivation.problem_id)
        .where(Derivation.id.in_(derivation_ids))
        .order_by(Derivation.id)
    )]


def add_metrics(session: Session, values: list[tuple[int, dict]]) -> None:
    """Merge scores into each derivation's metrics (the authors' stored scores stay), one statement."""
    if values:
        session.execute(text("""
            UPDATE derivations d SET metrics = coalesce(d.metrics, CAST('{}' AS jsonb)) || v.m
            FROM unnest(CAST(:ids AS int[]), CAST(:ms AS jsonb[])) AS v(id, m)
            WHERE d.id = v.id
        """), {"ids": [i for i, _ in values], "ms": [json.dumps(m) for _, m in values]})


def step_counts_in_project(session: Session, project_id: int, derivation_ids: list[int]) -> dict[int, int]:
    """derivation id -> its number of steps, for those of the ids that are the project's."""
    return dict(session.execute(
        select(Derivation.id, func.count(Step.id)).outerjoin(Step, Step.derivation_id == Derivation.id)
        .where(Derivation.id.in_(derivation_ids), Derivation.project_id == project_id).group_by(Derivation.id)).all())


def stored_prompts(session: Session, project_id: int, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(problem key, perturbation) -> the stored prompt, for those of the keys the project has."""
    if not keys:
        return {}
    # one array parameter, not IN with a parameter per key: psycopg re-parsed the long statement
    # on every call (~45 ms, under cProfile, of importing a 500-problem file into a project)
    wanted = bindparam("keys", sorted({k for k, _ in keys}), type_=ARRAY(Text))
    rows = session.execute(select(Problem.key, Problem.perturbation, Problem.prompt)
                           .where(Problem.project_id == project_id, Problem.key == any_(wanted)))
    asked = set(keys)
    return {(k, p.value): prompt for k, p, prompt in rows if (k, p.value) in asked}
