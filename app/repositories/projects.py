from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.models import (
    Annotation, AnnotationStatus, Derivation, LLMModel, Problem, Project, ProjectMember, SampleItem,
)
from app.repositories.cascades import plan_cascades_once


def get(session: Session, project_id: int) -> Project | None:
    return session.get(Project, project_id)


def get_by_name(session: Session, name: str) -> Project | None:
    return session.scalar(select(Project).where(Project.name == name))


def get_or_create(session: Session, name: str) -> tuple[Project, bool]:
    project = get_by_name(session, name)
    if project:
        return project, False
    project = Project(name=name)
    session.add(project)
    session.flush()
    return project, True


def list_with_progress(session: Session, annotator_id: int, only_open_to: int | None = None) -> list[dict]:
    """Every project with its size and how much of it this annotator has submitted
    (only_open_to: just the projects that user may annotate)."""
    total = (
        select(Derivation.project_id, func.count().label("derivations"))
        .group_by(Derivation.project_id)
        .subquery()
    )
    mine = (
        select(Derivation.project_id, func.count().label("done"))
        .join(Annotation, Annotation.derivation_id == Derivation.id)
        .where(Annotation.annotator_id == annotator_id, Annotation.status == AnnotationStatus.submitted)
        .group_by(Derivation.project_id)
        .subquery()
    )
    rows = session.execute(
        select(Project, func.coalesce(total.c.derivations, 0), func.coalesce(mine.c.done, 0))
        .outerjoin(total, total.c.project_id == Project.id)
        .outerjoin(mine, mine.c.project_id == Project.id)
        .where(True if only_open_to is None else open_to(only_open_to) & Project.archived_at.is_(None))
        .where(Project.gold_of.is_(None))  # gold items' companion projects stay out of sight
        .order_by(Project.archived_at.is_not(None), Project.name)
    ).all()
    return [{"project": p, "derivations": n, "done": d} for p, n, d in rows]


def model_ids(session: Session, names: set[str]) -> dict[str, int]:
    """Ids of the named models, creating the ones not seen before."""
    if names:
        session.execute(
            insert(LLMModel).values([{"name": n} for n in sorted(names)]).on_conflict_do_nothing()
        )
    rows = session.execute(select(LLMModel.name, LLMModel.id).where(LLMModel.name.in_(names)))
    return {name: id_ for name, id_ in rows}


def open_to(user_id: int):
    """Projects with no members are open to all; else to their members."""
    members = select(ProjectMember.user_id).where(ProjectMember.project_id == Project.id)
    return ~members.exists() | members.where(ProjectMember.user_id == user_id).exists()


def is_open_to(session: Session, project_id: int, user_id: int) -> bool:
    return bool(session.scalar(select(Project.id).where(Project.id == project_id, open_to(user_id))))


def derivation_open_to(session: Session, derivation_id: int, user_id: int) -> bool | None:
    """Whether the derivation's project is open to the user; None when there is no such
    derivation (one query: it runs on every annotator's write)."""
    row = session.execute(select(open_to(user_id)).select_from(Derivation)
                          .join(Project, Project.id == Derivation.project_id)
                          .where(Derivation.id == derivation_id)).first()
    return None if row is None else bool(row[0])


def member_ids(session: Session, project_id: int) -> set[int]:
    return set(session.scalars(select(ProjectMember.user_id).where(ProjectMember.project_id == project_id)))


def set_members(session: Session, project_id: int, user_ids: set[int]) -> None:
    session.execute(delete(ProjectMember).where(ProjectMember.project_id == project_id))
    if user_ids:
        session.execute(insert(ProjectMember).values([{"project_id": project_id, "user_id": u} for u in sorted(user_ids)]))


def has_sample(session: Session, project_id: int) -> bool:
    return bool(session.scalar(select(SampleItem.derivation_id).where(SampleItem.project_id == project_id).limit(1)))


def sample_size(session: Session, project_id: int) -> int:
    return session.scalar(select(func.count()).select_from(SampleItem).where(SampleItem.project_id == project_id))


def set_sample(session: Session, project_id: int, derivation_ids: list[int]) -> None:
    session.execute(delete(SampleItem).where(SampleItem.project_id == project_id))
    if derivation_ids:
        session.execute(insert(SampleItem).values([{"project_id": project_id, "derivation_id": d}
                                                   for d in sorted(set(derivation_ids))]))


def derivations_by_model(session: Session, project_id: int) -> list[tuple[int, int, str, int, int | None]]:
    """(derivation id, model id, perturbation, problem id, parent problem id) of every derivation."""
    return [tuple(r) for r in session.execute(
        select(Derivation.id, Derivation.model_id, Problem.perturbation, Problem.id, Problem.parent_id)
        .join(Problem, Problem.id == Derivation.problem_id)
        .where(Derivation.project_id == project_id)
        .order_by(Derivation.id)
    )]


def models_of(session: Session, project_id: int) -> list[tuple[int, str]]:
    """(id, name) of the models with derivations in the project."""
    return [tuple(r) for r in session.execute(
        select(LLMModel.id, LLMModel.name).where(
            select(Derivation.id).where(Derivation.project_id == project_id, Derivation.model_id == LLMModel.id).exists()
        ).order_by(LLMModel.name)
    )]


def judgement_progress(session: Session, project_id: int, annotator_id: int) -> tuple[int, int, int]:
    """(submitted annotations, derivations) of the project, within its sample when it has
    one, and the annotator's own submitted count: one round trip (the annotate page's)."""
    row = session.execute(text("""
        WITH scope AS (
            SELECT d.id FROM derivations d
            WHERE d.project_id = :p
              AND (NOT EXISTS (SELECT 1 FROM sample_items s WHERE s.project_id = :p)
                   OR d.id IN (SELECT s.derivation_id FROM sample_items s WHERE s.project_id = :p)))
        SELECT (SELECT count(*) FROM annotations a
                WHERE a.status = 'submitted' AND a.derivation_id IN (SELECT id FROM scope)),
               (SELECT count(*) FROM scope),
               (SELECT count(*) FROM annotations a JOIN derivations d ON d.id = a.derivation_id
                WHERE d.project_id = :p AND a.annotator_id = :u AND a.status = 'submitted')
    """), {"p": project_id, "u": annotator_id}).one()
    return row[0], row[1], row[2]


def delete_project(session: Session, project_id: int) -> None:
    """The project and everything in it (its problems, derivations, annotations, checks, gold
    companion: foreign keys cascade); the dashboards' rollups subtract the derivations on their
    next refresh, as for any deleted derivation."""
    plan_cascades_once(session)
    session.execute(delete(Project).where(Project.id == project_id))


def derivation_count(session: Session, project_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Derivation).where(Derivation.project_id == project_id))


def add_to_sample(session: Session, project_id: int, derivation_ids: list[int]) -> int:
    if not derivation_ids:
        return 0
    return len(session.execute(insert(SampleItem).values([{"project_id": project_id, "derivation_id": d}
                                                          for d in sorted(set(derivation_ids))])
                               .on_conflict_do_nothing().returning(SampleItem.derivation_id)).all())


def remove_from_sample(session: Session, project_id: int, derivation_ids: list[int]) -> int:
    return session.execute(delete(SampleItem).where(SampleItem.project_id == project_id,
                                                    SampleItem.derivation_id.in_(derivation_ids))).rowcount


def label_keys_in_use(session: Session, project_id: int) -> set[str]:
    """Label keys some step label or final label of the project holds."""
    return set(session.scalars(text("""
        SELECT DISTINCT sl.label FROM step_labels sl JOIN annotations a ON a.id = sl.annotation_id
        JOIN derivations d ON d.id = a.derivation_id WHERE d.project_id = :p
        UNION SELECT DISTINCT fl.label FROM final_labels fl JOIN derivations d ON d.id = fl.derivation_id
        WHERE d.project_id = :p"""), {"p": project_id}))


def set_gold_taxonomy(session: Session, project_id: int, taxonomy: list[dict]) -> None:
    """The project's gold companion (app.services.gold) takes the project's labels."""
    session.execute(update(Project).where(Project.gold_of == project_id).values(taxonomy=taxonomy))
