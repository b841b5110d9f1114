"""API tokens: made on the profile page, shown once, stored as a SHA-256 (a token is
random and long, so a fast hash is enough, unlike passwords)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session

from app.errors import InvalidInput, NotFound
from app.models import ApiToken, User
from app.repositories import tokens as tokens_repo

PREFIX = "dl_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


MAX_DAYS = 3650


def create(session: Session, *, user: User, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token; `days`: it stops working after that many days (None: until revoked)."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput("token name: 1 to 100 characters")
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"expires after: 1..{MAX_DAYS} days, or leave it empty for no expiry (got {days})")
    token = PREFIX + secrets.token_urlsafe(32)
    expires = datetime.now(timezone.utc) + timedelta(days=days) if days else None
    row = tokens_repo.add(session, user_id=user.id, name=name, token_hash=digest(token), prefix=token[:10],
                          expires_at=expires)
    return row, token


def revoke(session: Session, *, user: User, token_id: int) -> None:
    if not tokens_repo.revoke(session, token_id=token_id, user_id=user.id):
        raise NotFound(f"you have no live token {token_id}")


def user_for(session: Session, token: str) -> User | None:
    return tokens_repo.user_by_hash(session, digest(token)) if token.startswith(PREFIX) else None


def list_for(session: Session, *, user: User) -> list[ApiToken]:
    return tokens_repo.for_user(session, user.id)
