"""The offline bundle: built once, installed with no index and no network, then run.

Slow (it builds every wheel): runs under `make test-packaging` (SATELLITE_TEST_PACKAGING=1), which
.ci/run calls after `make test`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.serving import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("SATELLITE_TEST_PACKAGING") != "1",
                       reason="packaging tests run under `make test-packaging`"),
]
ROOT = Path(__file__).resolve().parents[2]


def _offline_env() -> dict[str, str]:
    """No pip configuration, no index, and any network access fails: only the bundle can serve."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "SATELLITE_"))}
    env.update(PIP_CONFIG_FILE="/dev/null", PIP_NO_INDEX="1", PYTHON=sys.executable,
               http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9",
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    return env


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    env = dict(os.environ, PYTHON=sys.executable)
    result = subprocess.run([str(ROOT / "packaging" / "build-offline-bundle"), "--out", str(out)],
                            env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    tarball = Path(result.stdout.strip().splitlines()[-1])
    unpacked = tmp_path_factory.mktemp("bundle")
    with tarfile.open(tarball) as archive:
        archive.extractall(unpacked, filter="data")
    (directory,) = unpacked.iterdir()
    return directory


def _install(bundle: Path, root: Path) -> str:
    result = subprocess.run([str(bundle / "install.sh"), "--root", str(root)], env=_offline_env(),
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _satellite(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = _offline_env() | {"SATELLITE_CONFIG": str(root / "etc/satellite/satellite.toml")}
    return subprocess.run([str(root / "opt/satellite/venv/bin/satellite"), *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@contextmanager
def _serving(root: Path) -> Iterator[str]:
    port = free_port()
    env = _offline_env() | {"SATELLITE_CONFIG": str(root / "etc/satellite/satellite.toml")}
    process = subprocess.Popen([str(root / "opt/satellite/venv/bin/satellite"), "serve", "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "satellite serve exited"
            try:
                requests.get(url + "/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "satellite serve did not answer"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(15)


def test_the_bundle_holds_every_wheel_and_the_system_files(bundle: Path) -> None:
    names = {p.name.split("-")[0].lower() for p in (bundle / "wheels").glob("*.whl")}
    assert {"satellite", "flask", "waitress", "sqlalchemy", "alembic", "cryptography", "psycopg"} <= names
    for path in ("install.sh", "systemd/satellite.service", "sysusers.d/satellite.conf",
                 "tmpfiles.d/satellite.conf", "nginx/satellite.conf", "config/satellite.toml", "SHA256SUMS"):
        assert (bundle / path).is_file(), path


def test_install_offline_then_init_serve_and_reinstall_over_it(bundle: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    printed = _install(bundle, root)
    assert "Next steps" in printed
    unit = (root / "etc/systemd/system/satellite.service").read_text()
    assert "ExecStart=/opt/satellite/venv/bin/satellite serve" in unit
    assert (root / "var/lib/satellite").stat().st_mode & 0o777 == 0o700

    init = _satellite(root, "init")
    assert init.returncode == 0, init.stderr
    with _serving(root) as url:
        health = requests.get(url + "/healthz", timeout=5)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
    status = _satellite(root, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert str(root / "var/lib/satellite") in status.stdout

    # Installing over an existing installation keeps settings, data and keys.
    config = root / "etc/satellite/satellite.toml"
    config.write_text(config.read_text() + "\n# edited by the operator\n")
    keys = root / "var/lib/satellite/keys"
    keys.mkdir(exist_ok=True)
    (keys / "kept.pem").write_text("key material")
    again = _install(bundle, root)
    assert "Upgraded Satellite" in again
    assert "edited by the operator" in config.read_text()
    assert (keys / "kept.pem").read_text() == "key material"
    assert _satellite(root, "init").stdout.startswith("Checked satellite")
    assert _satellite(root, "status", "--json").stdout == status.stdout
