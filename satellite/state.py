"""The satellite's own durable facts (its id, what it last applied), as key/value rows."""

from __future__ import annotations

from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from satellite.db import Base


class StateEntry(Base):
    __tablename__ = "satellite_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def get_state(session: Session, key: str, default: str | None = None) -> str | None:
    value = session.scalar(select(StateEntry.value).where(StateEntry.key == key))
    return default if value is None else value


def set_state(session: Session, key: str, value: str) -> None:
    entry = session.get(StateEntry, key)
    if entry is None:
        session.add(StateEntry(key=key, value=value))
    else:
        entry.value = value


def lock_state(session: Session, key: str) -> str | None:
    """Read a value holding its row lock (PostgreSQL); SQLite writers are serialised already."""
    return session.scalar(select(StateEntry.value).where(StateEntry.key == key).with_for_update())
