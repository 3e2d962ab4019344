"""Upgrading is installing a newer bundle over an older one: data migrates, keys stay.

An older Satellite (schema 0004: accounts, devices, tokens, reservations; no sync log, no access
control) is built from this repository's history into a bundle laid out like the current one,
with the current bundle's dependency wheels, and installed with no index. It gets data and
keys; then the current bundle's install.sh runs over it, and the data, keys and a registration
token made before the upgrade are checked after it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from satellite.db import head_revisions
from tests.packaging.offline import ROOT, agent, install, satellite, serving

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("SATELLITE_TEST_PACKAGING") != "1",
                       reason="packaging tests run under `make test-packaging`"),
]
# Satellite with migrations 0001, 0003 and 0004 (two heads): before the sync log (0005) and access (0006).
OLDER = "86e1df2becd9ddba0fc2acd30b4c8cacc202d485"
OLDER_HEAD = "0003,0004"
DATA = "var/lib/satellite"


def _older_source(into: Path) -> Path:
    """The older commit's tree (what a release tarball of it would hold)."""
    found = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{OLDER}^{{commit}}"],
                           capture_output=True, check=False)
    if found.returncode != 0:
        pytest.skip(f"the upgrade test builds the older Satellite from commit {OLDER[:12]} of "
                    "this repository's history, which this checkout lacks (a shallow clone or "
                    "an export?): run it from a full clone, or `git fetch --unshallow`")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", OLDER],
                             capture_output=True, check=True).stdout
    into.mkdir()
    subprocess.run(["tar", "-C", str(into), "-xf", "-"], input=archive, check=True)
    return into


def _older_bundle(bundle: Path, work: Path) -> Path:
    """An offline bundle of the older Satellite: its wheel, install.sh and system files, and
    the current bundle's dependency wheels (the older one needs a subset of them)."""
    source = _older_source(work / "older-src")
    version = tomllib.loads((source / "pyproject.toml").read_text())["project"]["version"]
    older = work / f"satellite-{version}-offline"
    (older / "wheels").mkdir(parents=True)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                            "--wheel-dir", str(older / "wheels"), str(source)],
                           capture_output=True, text=True, timeout=600, check=False)
    assert built.returncode == 0, built.stderr
    for wheel in (bundle / "wheels").glob("*.whl"):
        if not wheel.name.startswith("satellite-"):
            shutil.copy(wheel, older / "wheels")
    shutil.copy(source / "packaging" / "install.sh", older / "install.sh")
    for part in ("systemd", "sysusers.d", "tmpfiles.d", "nginx"):
        shutil.copytree(source / "packaging" / part, older / part)
    (older / "config").mkdir()
    shutil.copy(source / "config" / "satellite.toml", older / "config")
    info = (bundle / "BUNDLE-INFO").read_text().splitlines()
    (older / "BUNDLE-INFO").write_text("\n".join(
        f"version={version}" if line.startswith("version=") else line for line in info) + "\n")
    sums = subprocess.run("sha256sum wheels/*.whl", shell=True, cwd=older, capture_output=True,
                          text=True, check=True).stdout
    (older / "SHA256SUMS").write_text(sums)
    return older


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _key_files(root: Path) -> dict[str, str]:
    keys = root / DATA / "keys"
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(keys.iterdir())}


def test_a_newer_bundle_installed_over_an_older_one_migrates_the_data_and_keeps_the_keys(
        bundle: Path, tmp_path: Path) -> None:
    older = _older_bundle(bundle, tmp_path)
    root = tmp_path / "root"
    assert "Next steps" in install(older, root)
    _ok(satellite(root, "init"))
    _ok(satellite(root, "account", "create", "Acme", "--domain", "acme.example.com"))
    _ok(satellite(root, "va", "create", "Acme", "Lab"))
    token = _ok(satellite(root, "token", "create", "Acme", "Lab", "--expires-days", "30")).strip()
    before = json.loads(_ok(satellite(root, "status", "--json")))
    assert before["schema_revision"] == OLDER_HEAD
    keys_before = _key_files(root)
    assert "identity.key" in keys_before

    upgraded = install(bundle, root)
    assert "Upgraded Satellite" in upgraded
    # The service runs `satellite init` before `satellite serve`: that is what migrates.
    _ok(satellite(root, "init"))
    after = json.loads(_ok(satellite(root, "status", "--json")))
    assert after["schema_revision"] == ",".join(sorted(head_revisions()))
    assert after["schema_revision"] != OLDER_HEAD
    assert after["satellite_id"] == before["satellite_id"]
    assert after["keys"] == before["keys"]
    # Every key stays as it was (the newer version may add its own, e.g. the session secret).
    kept = _key_files(root)
    assert {name: kept.get(name) for name in keys_before} == keys_before
    assert after["counts"]["accounts"] == 1 and after["counts"]["virtual_accounts"] == 2
    assert after["counts"]["users"] == before["counts"]["users"]
    listed = json.loads(_ok(satellite(root, "token", "list", "Acme", "Lab", "--json")))["tokens"]
    assert [t["token"] for t in listed] == [token]
    # What the newer version added works on the migrated data (access control, the sync log).
    _ok(satellite(root, "apiclient", "create", "Acme", "--json"))

    # A device registers with the token made before the upgrade and reports to the new server.
    with serving(root) as url:
        device = tmp_path / "device"
        registered = agent(root, device, "register", "--url", url, "--token", token,
                           "--pid", "C9300-24T", "--sn", "FOC-UPGRADE-1")
        assert "Registered as device" in _ok(registered)
        _ok(agent(root, device, "report", "regid.2024-01.com.example.router-advantage=1", "--json"))
    assert json.loads(_ok(satellite(root, "sync", "status", "--json")))["pending_events"] >= 1
