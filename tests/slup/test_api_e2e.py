"""Uploading SLUP usage files through the REST API of a real `satellite serve` (waitress)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from satellite.config import Settings
from tests.conftest import CliResult
from tests.serving import satellite_env, serving
from tests.slup.files import WLC, report, usage_file
from tests.web.conftest import conforms

pytestmark = pytest.mark.e2e
PASSWORD = "violet-kestrel-42-river"
V = "/api/v1/accounts/{account}/virtual-accounts/{va}"


def test_upload_by_multipart_and_raw_body_with_va_roles(
        settings: Settings, tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    def run(*args: str) -> CliResult:
        result = cli(*args)
        assert result.code == 0, result.err
        return result

    run("init")
    run("account", "create", "ABC", "--domain", "abc.xyz.com")
    run("va", "create", "ABC", "Lab")
    run("va", "create", "ABC", "Ops")
    (tmp_path / "pw").write_text(PASSWORD)
    run("user", "create", "victor", "--password-file", str(tmp_path / "pw"))
    run("user", "grant", "victor", "va_user", "--account", "abc.xyz.com", "--va", "Lab")
    made = json.loads(run("apiclient", "create", "ABC", "--json").out)
    usage = usage_file(report("C9300-24T", "FCW1", 1), report("C9300-24T", "FCW1", 2),
                       report("C9800-L-C-K9", "FOX9", 3, WLC))
    env = satellite_env(settings.data_dir, settings.database_url)

    with serving(env, tmp_path) as server:
        url = server.url
        creds = {"client_id": made["client_id"], "client_secret": made["client_secret"]}
        first = requests.post(url + "/backend/oauth/token", timeout=10, data={
            "grant_type": "password", "username": "victor", "password": PASSWORD, **creds}).json()
        # The password an administrator set only lets victor choose his own.
        assert requests.post(url + "/api/v1/me/password", timeout=10, headers={
            "Authorization": f"Bearer {first['access_token']}"}, json={
            "oldPassword": PASSWORD, "newPassword": PASSWORD + " his own"}).status_code == 200
        token = requests.post(url + "/backend/oauth/token", timeout=10, data={
            "grant_type": "password", "username": "victor", "password": PASSWORD + " his own",
            **creds}).json()
        victor = {"Authorization": f"Bearer {token['access_token']}"}
        lab = url + V.format(account="abc.xyz.com", va="Lab") + "/usage-reports"

        sent = requests.post(lab, headers=victor, timeout=30,
                             files={"file": ("usage.txt", usage, "application/xml")})
        assert sent.status_code == 200, sent.text
        conforms(sent.json(), V + "/usage-reports", "post", 200)
        assert (sent.json()["new"], sent.json()["known"]) == (3, 0)
        assert sorted(sent.json()["devices"]) == ["PID:C9300-24T,SN:FCW1",
                                                  "PID:C9800-L-C-K9,SN:FOX9"]

        again = requests.post(lab + "?filename=again.txt", headers={
            **victor, "Content-Type": "application/xml"}, data=usage, timeout=30)
        assert again.status_code == 200 and (again.json()["new"], again.json()["known"]) == (0, 3)

        # A VA user uploads into their VAs only.
        ops = url + V.format(account="abc.xyz.com", va="Ops") + "/usage-reports"
        refused = requests.post(ops, headers={**victor, "Content-Type": "application/xml"},
                                data=usage, timeout=30)
        assert refused.status_code in (403, 404) and refused.json()["status"] == "ERROR"

        bomb = (b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa">'
                b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><smartLicense>&b;</smartLicense>')
        bad = requests.post(lab + "?filename=bomb.txt", data=bomb, timeout=30,
                            headers={**victor, "Content-Type": "application/xml"})
        assert bad.status_code == 400 and "bomb.txt: not a well-formed, safe XML" in bad.text
        truncated = requests.post(lab + "?filename=cut.txt", data=usage[:-40], timeout=30,
                                  headers={**victor, "Content-Type": "application/xml"})
        assert truncated.status_code == 400 and "cut.txt" in truncated.json()["statusMessage"]

        ack = requests.get(url + V.format(account="abc.xyz.com", va="Lab") + "/usage-reports/ack",
                           params={"udi": "PID:C9300-24T,SN:FCW1"}, headers=victor, timeout=10)
        assert ack.status_code == 404 and "has no ACK yet" in ack.json()["statusMessage"]

    listed = json.loads(run("device", "list", "--json").out)
    assert listed["total"] == 2
    assert all(row["reporting"] == "slup" for row in listed["devices"])
