"""Building, installing and running the offline bundle in a temporary root, with no network."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.serving import free_port

ROOT = Path(__file__).resolve().parents[2]


def offline_env() -> dict[str, str]:
    """No pip configuration, no index, and any network access fails: only the bundle can serve."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "SATELLITE_"))}
    env.update(PIP_CONFIG_FILE="/dev/null", PIP_NO_INDEX="1", PYTHON=sys.executable,
               http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9",
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    return env


def build_bundle(out: Path, unpack_into: Path) -> Path:
    """Run packaging/build-offline-bundle (registries reachable) and unpack the tarball."""
    env = dict(os.environ, PYTHON=sys.executable)
    result = subprocess.run([str(ROOT / "packaging" / "build-offline-bundle"), "--out", str(out)],
                            env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    tarball = Path(result.stdout.strip().splitlines()[-1])
    with tarfile.open(tarball) as archive:
        archive.extractall(unpack_into, filter="data")
    (directory,) = unpack_into.iterdir()
    return directory


def install(bundle: Path, root: Path) -> str:
    result = subprocess.run([str(bundle / "install.sh"), "--root", str(root)], env=offline_env(),
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def satellite(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `satellite` CLI with the installed settings file."""
    env = offline_env() | {"SATELLITE_CONFIG": str(root / "etc/satellite/satellite.toml")}
    return subprocess.run([str(root / "opt/satellite/venv/bin/satellite"), *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def agent(root: Path, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `satellite-agent`, acting as a device."""
    return subprocess.run([str(root / "opt/satellite/venv/bin/satellite-agent"), "--state",
                           str(state), "--retries", "1", *args], env=offline_env(),
                          capture_output=True, text=True, timeout=120, check=False)


@contextmanager
def serving(root: Path) -> Iterator[str]:
    port = free_port()
    env = offline_env() | {"SATELLITE_CONFIG": str(root / "etc/satellite/satellite.toml")}
    process = subprocess.Popen([str(root / "opt/satellite/venv/bin/satellite"), "serve",
                                "--port", str(port)],
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
