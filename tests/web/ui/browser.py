"""Debian's chromium driven by Playwright, for browser tests and the screenshot script."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def require_chromium() -> None:
    """In CI a missing browser fails the run; elsewhere the browser tests are skipped."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium package"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
