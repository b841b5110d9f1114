from datetime import datetime, timedelta, timezone

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


# "Last used" is written at most once a minute per token: a write made every API read a
# transaction that waits for the WAL to reach the disk (most of a small list's 16 ms).
USED_EVERY = timedelta(minutes=1)


def user_by_hash(session: Session, token_hash: str) -> User | None:
    """The live token's user, marking the token used (to the minute)."""
    now = datetime.now(timezone.utc)
    row = session.execute(
        select(ApiToken.id, ApiToken.last_used_at, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None),
               or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))
    ).first()
    if row is None or not row.User.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= USED_EVERY:
        session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return row.User


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
