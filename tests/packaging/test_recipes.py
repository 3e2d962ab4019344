"""The container recipe and the systemd unit agree with the bundle and the documentation
(fast checks of the files themselves; test_offline_bundle.py builds and installs the bundle)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = (ROOT / "packaging" / "Containerfile").read_text()
INSTALL = (ROOT / "packaging" / "install.sh").read_text()
BUILD = (ROOT / "packaging" / "build-offline-bundle").read_text()


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", "\n".join(
        line for line in CONTAINERFILE.splitlines() if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in text.splitlines() if line.strip()]


def test_the_recipe_builds_from_the_bundle_as_a_non_root_user_with_a_data_volume() -> None:
    steps = _instructions()
    kinds = [k for k, _ in steps]
    assert kinds.count("FROM") == 1 and "ADD" not in kinds
    assert ("COPY", ". /tmp/bundle") in steps
    run = " ".join(args for k, args in steps if k == "RUN")
    assert "/tmp/bundle/install.sh --no-system" in run
    # The bundle carries the recipe and everything it runs.
    assert 'install -m 0755 "$root/packaging/install.sh" "$stage/install.sh"' in BUILD
    assert 'cp "$root/packaging/Containerfile" "$stage/Containerfile"' in BUILD
    user = next(args for k, args in steps if k == "USER")
    assert user.strip() not in ("root", "0")
    volume = next(args for k, args in steps if k == "VOLUME")
    # install.sh's data dir and settings file are what the image declares and points at.
    assert 'datadir="$root/var/lib/satellite"' in INSTALL and "/var/lib/satellite" in volume
    assert 'confdir="$root/etc/satellite"' in INSTALL
    env = " ".join(args for k, args in steps if k == "ENV")
    assert "SATELLITE_CONFIG=/etc/satellite/satellite.toml" in env
    assert "SATELLITE_HOST=0.0.0.0" in env
    health = next(args for k, args in steps if k == "HEALTHCHECK")
    assert "/readyz" in health and "/opt/satellite/venv/bin/python" in health
    assert 'venv="$prefix/venv"' in INSTALL and 'prefix="$root/opt/satellite"' in INSTALL
    cmd = next(args for k, args in steps if k == "CMD")
    assert "satellite init && exec satellite serve" in cmd


def test_the_healthcheck_command_asks_readyz_on_the_configured_port(tmp_path: Path) -> None:
    # Run the HEALTHCHECK's own command against a port where nothing listens: it must fail
    # (exit non-zero), not pass for want of a server.
    from tests.serving import free_port

    health = next(args for k, args in _instructions() if k == "HEALTHCHECK")
    exec_form = health[health.index("CMD") + 3:].strip()
    argv = [part.strip().strip('"') for part in exec_form.strip("[]").split('", "')]
    assert argv[0] == "/opt/satellite/venv/bin/python"
    import sys
    result = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True,
                            timeout=30, env={"SATELLITE_PORT": str(free_port())}, check=False)
    assert result.returncode != 0 and "ConnectionRefused" in result.stderr


def test_the_unit_may_write_the_documented_backup_dir() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text()
    documented = re.search(r'backup_dir = "([^"]+)"', operations)
    assert documented is not None
    unit = (ROOT / "packaging" / "systemd" / "satellite.service").read_text()
    # What install.sh puts in place of the unit's @PLACEHOLDERS@.
    for old, new in re.findall(r"s\|(@\w+@)\|([^|]*)\|g", INSTALL):
        unit = unit.replace(old, new)
    assert "@" not in unit
    paths = re.search(r"^ReadWritePaths=(.*)$", unit, re.M)
    assert paths is not None
    writable = [p.lstrip("-") for p in paths.group(1).split()]
    assert "/var/lib/satellite" in writable and documented.group(1) in writable
    assert "ProtectSystem=strict" in unit


def test_the_bundle_carries_every_document_and_links_every_command() -> None:
    assert 'cp -r "$root/docs" "$stage/docs"' in BUILD
    for command in ("satellite", "satellite-central", "satellite-agent"):
        assert command in INSTALL.split("for command in ", 1)[1].split(";", 1)[0]
