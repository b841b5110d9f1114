import hashlib
import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from app.deps import SessionDep
from app.services import auth
from app.web.login_throttle import KNOWN_COOKIE, KNOWN_MAX_AGE
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
    throttle, known = request.app.state.login_throttle, request.app.state.known_browsers
    address = request.client.host if request.client else "unknown"
    # A browser this account logged in from before is counted on its own: failures elsewhere
    # (anyone failing on purpose) do not lock the owner out of it.
    account = auth.account_named(session, username.strip())
    cookie = request.cookies.get(KNOWN_COOKIE)
    browser = hashlib.sha256(cookie.encode()).hexdigest()[:16] if (
        account and account.id in known.users(cookie)) else None
    wait = throttle.retry_after(username, address, browser)
    if wait is not None:  # refused before the password is even checked
        minutes = (wait + 59) // 60
        return render(
            request, "pages/login.html",
            {"next": _safe_next(next), "username": username,
             "error": f"Too many failed logins for this account or from this address: try again in "
                      f"{minutes} minute{'s' if minutes != 1 else ''} (or from a browser you have logged in with "
                      f"before)."},
            status_code=429, headers={"Retry-After": str(wait)},
        )
    user = auth.authenticate(session, username=username, password=password)
    if user is None:
        throttle.failed(username, address, browser)
        return render(
            request, "pages/login.html",
            {"next": _safe_next(next), "error": "Unknown user or wrong password.", "username": username},
            status_code=401,
        )
    throttle.succeeded(username)
    request.session.clear()
    request.session["uid"] = user.id
    request.session["gen"] = user.session_generation
    request.session["csrf"] = secrets.token_urlsafe(32)  # a new token for the new session
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(KNOWN_COOKIE, known.add(request.cookies.get(KNOWN_COOKIE), user.id), max_age=KNOWN_MAX_AGE,
                        httponly=True, samesite="lax", secure=request.app.state.settings.secure_cookies)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep):
    """Ends the session for good: the cookie stops working even if someone kept a copy
    (this ends the user's sessions in other browsers too)."""
    user_id = request.session.get("uid")
    user = auth.user_by_id(session, user_id) if isinstance(user_id, int) else None
    if user is not None and request.session.get("gen") == user.session_generation:
        auth.end_sessions(session, user)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
