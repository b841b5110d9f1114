"""Looking projects up, the one way: a clear 404 when one does not exist."""

from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models import Project
from app.repositories import derivations as derivations_repo
from app.repositories import projects as projects_repo


def get_project(session: Session, project_id: int) -> Project:
    project = projects_repo.get(session, project_id)
    if project is None:
        raise NotFound(f"project {project_id} does not exist")
    return project


def get_project_named(session: Session, name: str) -> Project:
    project = projects_repo.get_by_name(session, name)
    if project is None:
        raise NotFound(f"project '{name}' does not exist")
    return project


def listing(session: Session, user_id: int, only_open_to: int | None = None) -> list[dict]:
    """Projects with the user's progress in each (only those open to `only_open_to`, if given)."""
    return projects_repo.list_with_progress(session, user_id, only_open_to=only_open_to)


def models_of(session: Session, project_id: int) -> list[tuple[int, str]]:
    return projects_repo.models_of(session, project_id)


def project_of_derivation(session: Session, derivation_id: int) -> int | None:
    """The project a derivation belongs to (a gold item's: the project it calibrates)."""
    return derivations_repo.get_project_id(session, derivation_id)
