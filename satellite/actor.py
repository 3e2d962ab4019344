"""Who is acting: recorded in the audit trail and checked by access control."""

from __future__ import annotations

import getpass
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    kind: str  # "user", "apiclient", "device", "system", "cli"
    name: str
    user_id: int | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"

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
