from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.models import Annotation, AnnotationStatus, Derivation, LLMModel, Project


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


def list_with_progress(session: Session, annotator_id: int) -> list[dict]:
    """Every project with its size and how much of it this annotator has submitted."""
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
        .order_by(Project.name)
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
