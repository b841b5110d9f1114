import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from app.deps import SessionDep
from app.services import auth
from app.web.templating import render

router = APIRouter()


def _safe_next(value: str | None) -> str:
    # Only local paths: a login link must not send the user to another site.
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return "/"


@router.get("/login")
def login_page(request: Request, next: str | None = None):
    return render(request, "pages/login.html", {"next": _safe_next(next)})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
):
    user = auth.authenticate(session, username=username, password=password)
    if user is None:
        return render(
            request, "pages/login.html",
            {"next": _safe_next(next), "error": "Unknown user or wrong password.", "username": username},
            status_code=401,
        )
    request.session.clear()
    request.session["uid"] = user.id
    request.session["csrf"] = secrets.token_urlsafe(32)  # a new token for the new session
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request):
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
