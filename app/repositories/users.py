from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Role, User


def get(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def add(session: Session, *, username: str, password_hash: str, role: Role) -> User:
    user = User(username=username, password_hash=password_hash, role=role)
    session.add(user)
    session.flush()
    return user


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def list_all(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))
