"""Users and passwords (argon2 via argon2-cffi)."""

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput, NotFound
from app.models import Role, User
from app.repositories import tokens as tokens_repo
from app.repositories import users as users_repo

_hasher = PasswordHasher()
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,80}$")
MIN_PASSWORD = 8
# Verified against when the user does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def create_user(session: Session, *, username: str, password: str, role: Role | str) -> User:
    username = username.strip()
    if not USERNAME.match(username):
        raise InvalidInput(
            f"username '{username}': use 1-80 letters, digits or _ . @ - (no spaces)"
        )
    _check_password(password)
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput(f"role '{role}': use one of {', '.join(r.value for r in Role)}") from None
    if users_repo.get_by_username(session, username):
        raise Conflict(f"username '{username}' is taken")
    return users_repo.add(session, username=username, password_hash=hash_password(password), role=role)


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    """The user, when the password is theirs and the account is active."""
    user = users_repo.get_by_username(session, username.strip())
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if not user.active:
        return None
    if user and _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password: at least {MIN_PASSWORD} characters are needed")


def end_sessions(session: Session, user: User) -> None:
    """Every session cookie of this user stops working (it carries the old generation)."""
    user.session_generation += 1
    session.flush()


def set_password(session: Session, *, username: str, password: str) -> tuple[User, int]:
    """A new password; the user's sessions end and their API tokens are revoked (a token minted
    with a stolen session must not outlive the reset). Returns the user and how many tokens went."""
    user = users_repo.get_by_username(session, username.strip())
    if user is None:
        raise NotFound(f"no user '{username}'")
    _check_password(password)
    user.password_hash = hash_password(password)
    end_sessions(session, user)
    return user, tokens_repo.revoke_all(session, user_id=user.id)


def ended(revoked: int) -> str:
    """What a password change did, in words (the page and the CLI say it alike)."""
    tokens = f"their {revoked} API token{'s' if revoked != 1 else ''} revoked" if revoked else "they had no API tokens"
    return f"their sessions have ended and {tokens}"


def set_active(session: Session, *, user_id: int, active: bool, by: User) -> User:
    """Deactivated: no login, no session, no API token works; their work stays."""
    user = users_repo.get(session, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    if user.id == by.id and not active:
        raise InvalidInput("you cannot deactivate your own account (another admin can)")
    user.active = active
    end_sessions(session, user)
    return user


def account_named(session: Session, username: str) -> User | None:
    return users_repo.get_by_username(session, username)


def user_by_id(session: Session, user_id: int) -> User | None:
    return users_repo.get(session, user_id)


def all_users(session: Session) -> list[User]:
    return users_repo.list_all(session)
