"""The offline bundle: built once, installed with no index and no network, then run.

Slow (it builds every wheel): runs under `make test-packaging` (SATELLITE_TEST_PACKAGING=1), which
.ci/run calls after `make test`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from tests.packaging.offline import install, satellite, serving

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("SATELLITE_TEST_PACKAGING") != "1",
                       reason="packaging tests run under `make test-packaging`"),
]


def test_the_bundle_holds_every_wheel_and_the_system_files(bundle: Path) -> None:
    names = {p.name.split("-")[0].lower() for p in (bundle / "wheels").glob("*.whl")}
    assert {"satellite", "flask", "waitress", "sqlalchemy", "alembic", "cryptography", "psycopg"} <= names
    for path in ("install.sh", "systemd/satellite.service", "sysusers.d/satellite.conf",
                 "tmpfiles.d/satellite.conf", "nginx/satellite.conf", "config/satellite.toml", "SHA256SUMS"):
        assert (bundle / path).is_file(), path


def test_install_offline_then_init_serve_and_reinstall_over_it(bundle: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    printed = install(bundle, root)
    assert "Next steps" in printed
    unit = (root / "etc/systemd/system/satellite.service").read_text()
    assert "ExecStart=/opt/satellite/venv/bin/satellite serve" in unit
    assert (root / "var/lib/satellite").stat().st_mode & 0o777 == 0o700
    assert "\nsecure_cookies = true\n" in (root / "etc/satellite/satellite.toml").read_text()

    init = satellite(root, "init")
    assert init.returncode == 0, init.stderr
    with serving(root) as url:
        health = requests.get(url + "/healthz", timeout=5)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
    status = satellite(root, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert str(root / "var/lib/satellite") in status.stdout

    # Installing over an existing installation keeps settings, data and keys.
    config = root / "etc/satellite/satellite.toml"
    config.write_text(config.read_text() + "\n# edited by the operator\n")
    keys = root / "var/lib/satellite/keys"
    keys.mkdir(exist_ok=True)
    (keys / "kept.pem").write_text("key material")
    again = install(bundle, root)
    assert "Upgraded Satellite" in again
    assert "edited by the operator" in config.read_text()
    assert (keys / "kept.pem").read_text() == "key material"
    assert satellite(root, "init").stdout.startswith("Checked satellite")
    assert satellite(root, "status", "--json").stdout == status.stdout


def test_the_bundle_carries_the_docs_and_the_container_recipe_and_links_all_commands(
        bundle: Path, tmp_path: Path) -> None:
    for doc in (Path(__file__).resolve().parents[2] / "docs").glob("*.md"):
        assert (bundle / "docs" / doc.name).is_file(), doc.name
    recipe = (bundle / "Containerfile").read_text()
    assert "COPY . /tmp/bundle" in recipe and (bundle / "install.sh").is_file()
    root = tmp_path / "root"
    install(bundle, root)
    for command in ("satellite", "satellite-central", "satellite-agent"):
        link = root / "usr/local/bin" / command
        assert link.is_symlink(), command
        assert link.resolve().is_file(), command
    assert (root / "opt/satellite/share/devices.md").is_file()
    # What the container's HEALTHCHECK runs exists where the recipe says.
    assert (root / "opt/satellite/venv/bin/python").exists()
    unit = (root / "etc/systemd/system/satellite.service").read_text()
    assert "ReadWritePaths=/var/lib/satellite -/srv/backups/satellite" in unit
