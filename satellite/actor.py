"""Who is acting: recorded in the audit trail and checked by access control."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

# The console operator and the scheduler act as system administrators: whoever is root on
# the appliance already holds its keys and its database, so refusing them proves nothing.
_TRUSTED_KINDS = frozenset({"cli", "system"})


@dataclass(frozen=True)
class Actor:
    kind: str  # "user", "apiclient", "device", "system", "cli"
    name: str
    user_id: int | None = None
    client_id: int | None = None
    system_admin: bool = False
    # The API client a user acts through (password grant), named in the audit trail.
    via: str | None = None
    # A user whose first or reset password must be changed: may do nothing else until then,
    # whatever roles it holds (access.policy).
    password_change_due: bool = False

    @property
    def label(self) -> str:
        base = f"{self.kind}:{self.name}"
        return f"{base} via apiclient:{self.via}" if self.via else base

    @property
    def is_system_admin(self) -> bool:
        return (self.system_admin or self.kind in _TRUSTED_KINDS) and not self.password_change_due

    @classmethod
    def system(cls, job: str = "satellite") -> Actor:
        return cls("system", job)

    @classmethod
    def local_operator(cls) -> Actor:
        """The person at the appliance's console, running the CLI as an OS user."""
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "unknown"
        return cls("cli", name)
