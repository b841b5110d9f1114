"""Accounts (admins): add users, reset passwords, deactivate and reactivate."""

from fastapi import APIRouter, Form, Request

from app.deps import AdminUser, SessionDep
from app.services import auth
from app.web.templating import render

router = APIRouter()


def _page(request, session, **extra):
    return render(request, "pages/users.html", {"users": auth.all_users(session), **extra}, block="users")


@router.get("/users")
def users_page(request: Request, session: SessionDep, user: AdminUser):
    return _page(request, session)


@router.post("/users")
def add_user(request: Request, session: SessionDep, user: AdminUser, username: str = Form(""),
             role: str = Form("annotator")):
    """The password is generated and shown once, to hand to the new user."""
    password = auth.generate_password()
    added = auth.create_user(session, username=username, password=password, role=role)
    return _page(request, session, message=f"Added {added.role.value} '{added.username}'.",
                 secret=(added.username, password))


@router.post("/users/{user_id}/password")
def reset_password(request: Request, user_id: int, session: SessionDep, user: AdminUser):
    target = auth.user_by_id(session, user_id)
    password = auth.generate_password()
    changed, revoked = auth.set_password(session, username=target.username if target else "", password=password)
    return _page(request, session, message=f"New password for '{changed.username}'; {auth.ended(revoked)}.",
                 secret=(changed.username, password))


@router.post("/users/{user_id}/active")
def set_active(request: Request, user_id: int, session: SessionDep, user: AdminUser, active: str = Form("")):
    changed = auth.set_active(session, user_id=user_id, active=active == "on", by=user)
    state = "reactivated" if changed.active else "deactivated: their sessions and API tokens stop working"
    return _page(request, session, message=f"'{changed.username}' {state}.")
