"""Looking a project up, the one way: a clear 404 when it does not exist."""

from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models import Project
from app.repositories import projects as projects_repo


def get_project(session: Session, project_id: int) -> Project:
    project = projects_repo.get(session, project_id)
    if project is None:
        raise NotFound(f"project {project_id} does not exist")
    return project
