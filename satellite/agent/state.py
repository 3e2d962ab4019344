"""The agent's state directory: its private key (0600) and what the satellite last said."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from satellite.crypto import keys

KEY_FILE = "device.key"
STATE_FILE = "state.json"


class AgentState:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._data: dict[str, Any] | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            path = self.directory / STATE_FILE
            self._data = json.loads(path.read_text()) if path.exists() else {}
        return self._data

    @property
    def registered(self) -> bool:
        return "deviceId" in self.data and self.data.get("status") != "DEREGISTERED"

    def private_key(self) -> keys.PrivateKey:
        """The device key, created on first use and never replaced."""
        path = self.directory / KEY_FILE
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            keys.save_private_key(path, keys.generate_private_key())
        return keys.load_private_key(path)

    def save(self, **changes: Any) -> None:
        """Write the state atomically: a crash leaves the old file or the new one."""
        self.data.update(changes)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.directory / f"{STATE_FILE}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(self.data, fh, indent=2, sort_keys=True)
        os.replace(tmp, self.directory / STATE_FILE)
