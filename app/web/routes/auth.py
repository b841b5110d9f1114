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
    throttle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    wait = throttle.retry_after(username, address)
    if wait is not None:  # refused before the password is even checked
        minutes = (wait + 59) // 60
        return render(
            request, "pages/login.html",
            {"next": _safe_next(next), "username": username,
             "error": f"Too many failed logins for this account or from this address: try again in "
                      f"{minutes} minute{'s' if minutes != 1 else ''}."},
            status_code=429, headers={"Retry-After": str(wait)},
        )
    user = auth.authenticate(session, username=username, password=password)
    if user is None:
        throttle.failed(username, address)
        return render(
            request, "pages/login.html",
            {"next": _safe_next(next), "error": "Unknown user or wrong password.", "username": username},
            status_code=401,
        )
    throttle.succeeded(username)
    request.session.clear()
    request.session["uid"] = user.id
    request.session["csrf"] = secrets.token_urlsafe(32)  # a new token for the new session
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request):
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
