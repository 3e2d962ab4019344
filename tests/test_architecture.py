"""The import rules of docs/architecture.md, enforced."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import satellite

PACKAGE = Path(satellite.__file__).parent
ROOT = PACKAGE.parent


def test_import_contracts_hold() -> None:
    """The contracts in pyproject.toml ([tool.importlinter]): adapters on top, crypto and the
    device agent free of the server's domain."""
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_migrations_are_frozen() -> None:
    """A migration holds its own copy of what it needs: of Satellite, it may use only the
    column types in satellite.db, so an old revision never changes when live code does."""
    offending = {
        path.name: sorted(name for name in _imported(path)
                          if name.startswith("satellite") and name != "satellite.db")
        for path in sorted((PACKAGE / "migrations" / "versions").glob("*.py"))
    }
    assert not {name: found for name, found in offending.items() if found}
