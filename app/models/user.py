import enum
from datetime import datetime

from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class Role(str, enum.Enum):
    admin = "admin"
    annotator = "annotator"
    reviewer = "reviewer"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, name="role"), default=Role.annotator)
    # Part of every session cookie: bumping it (logout, password change) ends all the user's sessions.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # Deactivated users cannot log in, and their sessions and tokens stop working; their work stays.
    active: Mapped[bool] = mapped_column(default=True, server_default="true")
    created_at: Mapped[datetime] = created_at_column()
