from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from satellite.db import Base


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_system_admin: Mapped[bool] = mapped_column(default=False)
    disabled: Mapped[bool] = mapped_column(default=False)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Unused since sign-in failures are counted per source (SignInThrottle); kept for old rows.
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]


class WebSession(Base):
    """A signed-in web UI session. The cookie carries a random secret; only its SHA-256 is
    kept, so the server can end a session (sign-out, password change, user disabled) and a
    database dump holds nothing a browser could present."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]


class SignInThrottle(Base):
    """Failed sign-ins counted per (source address, user name) and per source address."""

    __tablename__ = "sign_in_throttles"

    # SHA-256 of what is counted: bounded whatever name was typed.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int]
    blocked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(index=True)
