"""Request dependencies: the database session, the current user, CSRF."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.db import transaction
from app.errors import Forbidden, InvalidInput, LoginRequired
from app.models import Role, User
from app.repositories import users as users_repo

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
API_PREFIX = "/api/v1/"


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: commit when the route succeeds, roll back when it raises.
    Services only flush. Scope "function" commits before the response is sent, so an
    acknowledged save is in the database."""
    with transaction(request.app.state.sessionmaker) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def csrf_protect(request: Request) -> None:
    """Synchronizer token kept in the signed session, sent as a header by htmx
    (static/js/core.js) or as a form field by plain forms. Written here rather than
    taken from a library: the ones we looked at check only a header or only a
    form field, and we need both, in one place, for every unsafe method."""
    if request.method in SAFE_METHODS or request.url.path.startswith(API_PREFIX):
        return  # the API authenticates by bearer token only, never by cookie: nothing to forge
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get(CSRF_FIELD)
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(expected, sent):
        raise Forbidden("The form's security token is missing or out of date. Reload the page and try again.")


def _nul_in(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_nul_in(k) or _nul_in(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_nul_in(v) for v in value)
    return False


async def reject_nul(request: Request) -> None:
    """PostgreSQL text cannot hold a NUL character: say which field has one, instead of
    letting the database refuse the statement."""
    where = [f"query parameter '{k}'" for k, v in request.query_params.multi_items() if _nul_in(k) or _nul_in(v)]
    if "\x00" in request.url.path or "%00" in request.url.path:
        where.append("the address")
    kind = request.headers.get("content-type", "")
    if request.method not in SAFE_METHODS and kind.startswith(("application/x-www-form-urlencoded",
                                                                 "multipart/form-data")):
        form = await request.form()
        where += [f"form field '{k}'" for k, v in form.multi_items() if _nul_in(k) or _nul_in(v)]
    elif request.method not in SAFE_METHODS and kind.startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            body = None  # malformed JSON is the route's to report
        if isinstance(body, dict):
            where += [f"JSON field '{k}'" for k, v in body.items() if _nul_in(k) or _nul_in(v)]
    if where:
        raise InvalidInput(f"{', '.join(where)}: contains a NUL character (\\0), which cannot be stored; "
                           "remove it and try again. Nothing was saved.")


@dataclass(frozen=True)
class Viewer:
    """Who is looking, for templates: plain values that outlive the request's session
    (an error page is rendered after the session has rolled back)."""

    id: int
    username: str
    role: Role


def current_user(request: Request, session: SessionDep) -> User:
    """The logged-in user. The cookie is signed, not stored: it holds the user's session
    generation, and logout, a password change or deactivation bump that, which ends every
    cookie issued before."""
    user_id = request.session.get("uid")
    user = users_repo.get(session, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active or request.session.get("gen") != user.session_generation:
        if user_id is not None:
            request.session.clear()
        raise LoginRequired("Please log in.")
    request.state.user = Viewer(user.id, user.username, user.role)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def _roles(base, roles: tuple[Role, ...], message: str):
    """A dependency that lets through only these roles (web session or API token alike)."""
    def check(user) -> User:
        if user.role not in roles:
            raise Forbidden(message)
        return user
    # set here, not written in the signature: `from __future__ import annotations` would make it
    # a string naming a closure variable, which FastAPI could not resolve
    check.__annotations__["user"] = Annotated[User, Depends(base)]
    return check


AdminUser = Annotated[User, Depends(_roles(current_user, (Role.admin,), "Only an admin can do this."))]
# Admins and reviewers: they see the analysis (breakdown, agreement, history, exports).
StaffUser = Annotated[User, Depends(_roles(current_user, (Role.admin, Role.reviewer),
                                           "Only admins and reviewers can see this."))]


def api_user(request: Request, session: SessionDep) -> User:
    """The JSON API's caller, from `Authorization: Bearer TOKEN` (cookies are ignored)."""
    from app.services import tokens

    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    user = tokens.user_for(session, token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise LoginRequired("Send a valid API token: Authorization: Bearer TOKEN (make one on your profile page).")
    return user


ApiUser = Annotated[User, Depends(api_user)]


ApiStaff = Annotated[User, Depends(_roles(api_user, (Role.admin, Role.reviewer),
                                         "Only admins and reviewers can use this part of the API."))]
ApiAdmin = Annotated[User, Depends(_roles(api_user, (Role.admin,), "Only an admin can do this."))]
