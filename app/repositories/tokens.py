from datetime import datetime, timezone

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.models import ApiToken, User


def add(session: Session, **fields) -> ApiToken:
    token = ApiToken(**fields)
    session.add(token)
    session.flush()
    return token


def for_user(session: Session, user_id: int) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())))


def user_by_hash(session: Session, token_hash: str) -> User | None:
    """The live token's user, marking the token used."""
    now = datetime.now(timezone.utc)
    row = session.execute(
        update(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None),
                               or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))
        .values(last_used_at=now).returning(ApiToken.user_id)
    ).first()
    user = session.get(User, row[0]) if row else None
    return user if user is not None and user.active else None


def revoke(session: Session, *, token_id: int, user_id: int) -> bool:
    row = session.execute(
        update(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(timezone.utc)).returning(ApiToken.id)
    ).first()
    return row is not None


def revoke_all(session: Session, *, user_id: int) -> int:
    """Every live token of the user revoked; how many were."""
    rows = session.execute(
        update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(timezone.utc)).returning(ApiToken.id)
    ).all()
    return len(rows)
