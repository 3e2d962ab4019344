"""Fixed-window rate limits kept in the database, so every node of a cluster shares them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select
from sqlalchemy.dialects import postgresql, sqlite

from satellite.access.models import RateBucket
from satellite.errors import TooManyRequests
from satellite.uow import UnitOfWork


def hit(uow: UnitOfWork, key: str, limit: int, window_seconds: int) -> None:
    """Count one attempt under `key`. Raises TooManyRequests past `limit` in the window."""
    session = uow.session
    now = int(uow.clock.now().timestamp())
    window = now - now % window_seconds
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql"
              else sqlite.insert)
    stmt: Any = insert(RateBucket).values(key=key[:200], window_start=window, count=1)
    # One atomic upsert: a new window starts the count again, the same window adds one.
    stmt = stmt.on_conflict_do_update(index_elements=[RateBucket.key], set_={
        "count": case((RateBucket.window_start == stmt.excluded.window_start,
                       RateBucket.count + 1), else_=1),
        "window_start": stmt.excluded.window_start,
    })
    session.execute(stmt)
    count = session.scalar(select(RateBucket.count).where(RateBucket.key == key[:200])) or 0
    if count > limit:
        wait = window + window_seconds - now
        raise TooManyRequests(f"too many requests: try again in {wait} seconds", wait)
