from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from satellite.db import Base


class RegistrationToken(Base):
    """A VA's registration token. The secret itself is stored sealed (see tokens.sealing)."""

    __tablename__ = "registration_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    va_id: Mapped[int] = mapped_column(ForeignKey("virtual_accounts.id"), index=True)
    # SHA-256 of the secret: how a presented token is found without decrypting anything.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sealed_secret: Mapped[str] = mapped_column(Text)
    seal_key_id: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # None means unlimited.
    max_uses: Mapped[int | None]
    uses: Mapped[int] = mapped_column(default=0)
    export_controlled: Mapped[bool] = mapped_column(default=False)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(200))
