"""The API's lists, one page at a time with the total (what `GET /api/v1/...` returns): the
repository's paged queries, reached the way every route reaches data, through a service."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.repositories import api as api_repo


def projects(session: Session, *, archived: bool | None, limit: int, offset: int) -> tuple[list, int]:
    return api_repo.projects(session, archived=archived, limit=limit, offset=offset)


def problems(session: Session, **page) -> tuple[list[dict], int]:
    return api_repo.problems(session, **page)


def derivations_json(session: Session, **page) -> tuple[str, int]:
    return api_repo.derivations_json(session, **page)


def derivations_json_by_id(session: Session, ids: list[int]) -> str:
    return api_repo.derivations_json_by_id(session, ids)


def annotations(session: Session, **page) -> tuple[list[dict], int]:
    return api_repo.annotations(session, **page)
