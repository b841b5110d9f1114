"""The user's profile: API tokens (create, shown once; revoke)."""

from fastapi import APIRouter, Form, Request

from app.deps import CurrentUser, SessionDep
from app.errors import InvalidInput
from app.services import tokens
from app.web.templating import render

router = APIRouter()


def _page(request, session, user, **extra):
    return render(request, "pages/profile.html", {"tokens": tokens.list_for(session, user=user), **extra},
                  block="tokens")


@router.get("/profile")
def profile(request: Request, session: SessionDep, user: CurrentUser):
    return _page(request, session, user)


@router.post("/profile/tokens")
def create_token(request: Request, session: SessionDep, user: CurrentUser, name: str = Form(""),
                 days: str = Form("")):
    if days.strip() and not days.strip().isdigit():
        raise InvalidInput(f"expires after '{days}': a whole number of days, or empty for no expiry")
    _, token = tokens.create(session, user=user, name=name, days=int(days) if days.strip() else None)
    return _page(request, session, user, new_token=token)


@router.post("/profile/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: int, session: SessionDep, user: CurrentUser):
    tokens.revoke(session, user=user, token_id=token_id)
    return _page(request, session, user)
