"""A project's life: created (on the home page, in the API, or by an import), renamed,
archived (kept whole, out of annotators' sight), deleted (the name typed to confirm)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput
from app.models import Project
from app.repositories import projects as projects_repo
from app.services import taxonomy
from app.services.projects import get_project

NAME_LENGTH = 200  # projects.name is varchar(200)


def _checked_name(session: Session, name: str, *, other_than: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("name: give the project a name")
    if len(name) > NAME_LENGTH:
        raise InvalidInput(f"name: at most {NAME_LENGTH} characters (this one has {len(name)})")
    clash = projects_repo.get_by_name(session, name)
    if clash is not None and clash.id != other_than:
        raise Conflict(f"project '{name}' exists already")
    return name


# what "copy settings from" takes from another project (its data, members and sample stay there)
COPIED = ("taxonomy", "guidelines", "overlap", "blind", "queue_strategy", "gold_rate", "onboarding_gold")


def create(session: Session, *, name: str, description: str = "", preset: str | None = None,
           copy_from: int | None = None) -> Project:
    """A new, empty project: its labels from a preset, or its labels and settings (guidelines,
    overlap, blind mode, queue, gold rates) copied from another project."""
    name = _checked_name(session, name)
    source = get_project(session, copy_from) if copy_from is not None else None
    if source is not None and source.gold_of is not None:
        raise InvalidInput("copy settings from: a gold companion project has no settings of its own")
    project, _ = projects_repo.get_or_create(session, name)
    project.description = description or ""
    if source is not None:
        for attribute in COPIED:
            value = getattr(source, attribute)
            setattr(project, attribute, [dict(item) for item in value] if attribute == "taxonomy" else value)
    elif preset:
        taxonomy.apply_preset(session, project_id=project.id, preset=preset)
    session.flush()
    return project


def size(session: Session, project_id: int) -> int:
    """How many derivations the project holds."""
    return projects_repo.derivation_count(session, project_id)


def update(session: Session, *, project_id: int, name: str | None = None, description: str | None = None,
           archived: bool | None = None) -> Project:
    """Rename, re-describe, archive or bring back; what is not given stays as it was."""
    project = get_project(session, project_id)
    if project.gold_of is not None:
        raise InvalidInput("a gold companion project follows the project it calibrates: change that one")
    if name is not None:
        project.name = _checked_name(session, name, other_than=project.id)
    if description is not None:
        project.description = description
    if archived is not None and archived != (project.archived_at is not None):
        project.archived_at = datetime.now(timezone.utc) if archived else None
    session.flush()
    return project


def delete(session: Session, *, project_id: int, confirm: str | None) -> str:
    """Delete the project and all it holds; `confirm` must be its name, typed (a project id
    alone is too easy to get wrong in a script or a form). Returns the deleted name."""
    project = get_project(session, project_id)
    if project.gold_of is not None:
        raise InvalidInput("a gold companion project is deleted with the project it calibrates")
    if (confirm or "").strip() != project.name:
        raise InvalidInput(f"confirm: type the project's name, '{project.name}', to delete it and everything in it "
                           f"({projects_repo.derivation_count(session, project_id)} derivations, their "
                           "annotations and checks); nothing was deleted")
    name = project.name
    projects_repo.delete_project(session, project_id)
    session.expunge(project)
    return name
