"""No secret reaches a log: a full run against a real `satellite serve`, then every log is searched.

The server logs at DEBUG, one JSON object per line, request lines included; its stdout and
stderr, any *.log file in the data dir, the CLI's output of the commands that handle secrets,
and the audit trail are searched for every secret the run created or used, in the forms a log
could hold them (as is, URL-encoded, JSON-escaped; PEM keys by every line of their body).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from satellite.agent.agent import Agent
from satellite.central.cli import main as central_main
from satellite.config import Settings
from tests.conftest import CliResult
from tests.serving import satellite_env, serving

pytestmark = pytest.mark.e2e
TAG = "regid.2024-01.com.example.router-advantage"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_CLIENT = re.compile(r'<code id="client-(id|secret)">([^<]+)</code>')


def _secret() -> str:
    """A password-like secret no log line could hold by chance."""
    return "S-" + secrets.token_urlsafe(18)


class WebUser:
    """A browser-like session over real HTTP that keeps the last page's CSRF token."""

    def __init__(self, url: str) -> None:
        self.url, self.http, self.csrf = url, requests.Session(), ""

    def get(self, path: str) -> str:
        answer = self.http.get(self.url + path, timeout=10)
        assert answer.status_code == 200, (path, answer.status_code)
        found = _CSRF.search(answer.text)
        self.csrf = found.group(1) if found else self.csrf
        return answer.text

    def post(self, path: str, data: dict[str, str]) -> requests.Response:
        return self.http.post(self.url + path, data={"csrf_token": self.csrf, **data}, timeout=10)

    def sign_in(self, username: str, password: str) -> None:
        self.get("/sign-in")
        answer = self.post("/sign-in", {"username": username, "password": password})
        assert answer.status_code == 200 and "Signed in as" in answer.text, answer.text[:500]

    def cookie(self) -> str:
        (value,) = [c.value for c in self.http.cookies if c.value]
        return value or ""


def _forms(value: str) -> set[str]:
    return {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}


def _pem_lines(pem: bytes) -> list[str]:
    """The base64 lines of a PEM body (any one of them in a log is a leak)."""
    return [line for line in pem.decode().splitlines()
            if line and not line.startswith("-----") and ":" not in line and len(line) >= 24]


def _private_key_secrets(files: Iterable[Path], passphrase: bytes) -> list[tuple[str, str]]:
    found = []
    for path in files:
        data = path.read_bytes()
        if b"PRIVATE KEY" not in data:
            continue
        label = f"private key PEM body ({path.name})"
        found += [(label, line) for line in _pem_lines(data)]
        password = passphrase if b"ENCRYPTED" in data else None
        key = serialization.load_pem_private_key(data, password)
        plain = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
        found += [(f"decrypted {label}", line) for line in _pem_lines(plain)]
        raw = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        found += [(f"raw {label}", raw.hex()), (f"raw {label}", base64.b64encode(raw).decode())]
    return found


def _leaks(haystack: str, wanted: list[tuple[str, str]]) -> list[str]:
    return sorted({kind for kind, value in wanted if any(f in haystack for f in _forms(value))})


def test_no_secret_of_a_full_run_reaches_the_logs(
        settings: Settings, tmp_path: Path, cli: Callable[..., CliResult],
        monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[tuple[str, str]] = []

    def remember(kind: str, value: str) -> str:
        assert value, kind
        created.append((kind, value))
        return value

    def secret_file(name: str, kind: str) -> Path:
        path = tmp_path / name
        path.write_text(remember(kind, _secret()) + "\n")
        path.chmod(0o600)
        return path

    admin_password = secret_file("admin.pw", "admin password")
    alice_password = secret_file("alice.pw", "user password")
    key_pass = secret_file("keys.pass", "key passphrase")
    backup_pass = secret_file("backup.pass", "backup passphrase")
    monkeypatch.setenv("SATELLITE_KEY_PASSPHRASE_FILE", str(key_pass))
    said: list[str] = []

    def satellite(*args: str) -> CliResult:
        result = cli(*args)
        assert result.code == 0, result.err
        said.append(result.out + result.err)
        return result

    central = tmp_path / "central"

    def central_cli(*args: str) -> None:
        with pytest.raises(SystemExit) as done:
            central_main(list(args))
        assert done.value.code in (0, None)

    central_cli("init", "--dir", str(central))
    satellite("init", "--central-key", str(central / "central.pub"),
              "--admin-password-file", str(admin_password))
    satellite_id = json.loads(satellite("status", "--json").out)["satellite_id"]
    satellite("account", "create", "ABC", "--domain", "abc.xyz.com")
    request = tmp_path / "register.bundle"
    satellite("sync", "register", "--out", str(request))
    central_cli("ingest", "--dir", str(central), str(request))
    central_cli("entitle", "--dir", str(central), "--account", "abc.xyz.com", "--va", "Lab",
                "--tag", TAG, "--quantity", "10", "--type", "PERPETUAL")
    bundle = tmp_path / "response.bundle"
    central_cli("respond", "--dir", str(central), "--satellite", satellite_id, "--out",
                str(bundle))
    satellite("sync", "import", str(bundle))
    satellite("tls", "self-signed", "--hostname", "satellite.example.internal",
              "--ip", "127.0.0.1")

    env = satellite_env(settings.data_dir, settings.database_url, {
        "SATELLITE_LOG_JSON": "true", "SATELLITE_LOG_LEVEL": "DEBUG",
        "SATELLITE_KEY_PASSPHRASE_FILE": str(key_pass)})
    with serving(env, tmp_path) as server:
        url = server.url
        admin = WebUser(url)
        admin.sign_in("admin", admin_password.read_text().strip())
        remember("session cookie", admin.cookie())
        admin.get("/users")
        first = remember("initial user password", _secret())
        made = admin.post("/users/create", {"username": "alice", "password": first})
        assert made.status_code == 200 and "alice" in made.text
        admin.get("/a/abc.xyz.com/access")
        granted = admin.post("/a/abc.xyz.com/access/grant",
                             {"username": "alice", "role": "account_user", "va": ""})
        assert granted.status_code == 200, granted.text[:500]
        admin.get("/a/abc.xyz.com/access")
        page = admin.post("/a/abc.xyz.com/access/api-clients",
                          {"role": "account_admin", "description": "automation"}).text
        shown = dict(_CLIENT.findall(page))
        client = {"client_id": shown["id"], "client_secret": remember("client secret",
                                                                      shown["secret"])}

        alice = WebUser(url)
        alice.get("/sign-in")
        changed = alice.post("/sign-in", {"username": "alice", "password": first})
        assert changed.status_code == 200 and "Choose a new password" in changed.text
        alice.get("/password")
        new = alice_password.read_text().strip()
        assert alice.post("/password", {"current": first, "new": new,
                                        "repeat": new}).status_code == 200
        remember("session cookie", alice.cookie())
        assert "ABC" in alice.get("/a/abc.xyz.com/")
        # A wrong password is refused without being written down either.
        assert WebUser(url).post("/sign-in", {"username": "alice",
                                              "password": new + "x"}).status_code in (400, 401)

        token = requests.post(url + "/oauth/token", json={"grant_type": "client_credentials",
                                                          **client}, timeout=10)
        assert token.status_code == 200
        app = {"Authorization": "Bearer " + remember("bearer token",
                                                     token.json()["access_token"])}
        by_password = requests.post(url + "/backend/oauth/token", timeout=10, data={
            "grant_type": "password", "username": "alice", "password": new, **client})
        assert by_password.status_code == 200
        remember("bearer token", by_password.json()["access_token"])
        wrong = requests.post(url + "/oauth/token", timeout=10, json={
            "grant_type": "client_credentials", "client_id": client["client_id"],
            "client_secret": client["client_secret"][::-1]})
        assert wrong.status_code in (400, 401)
        forged = {"Authorization": app["Authorization"][:-2] + "xx"}
        assert requests.get(url + "/api/v1/accounts", headers=forged, timeout=10).status_code == 401
        assert requests.get(url + "/api/v1/accounts", headers=app, timeout=10).status_code == 200

        tokens_url = url + "/api/v1/accounts/ABC/virtual-accounts/Lab/tokens"
        made_token = requests.post(tokens_url, headers=app, timeout=10, json={
            "expiresAfterDays": 7, "description": "lab", "numberofUses": 1})
        assert made_token.status_code == 200, made_token.text
        registration = remember("registration token", made_token.json()["tokenInfo"]["token"])
        assert requests.get(tokens_url, headers=app, timeout=10).status_code == 200
        agent = Agent(tmp_path / "agent", attempts=1)
        agent.register(url, registration, "C9300-24T", "FOC1234X", hostname="sw-lab-1")
        agent.report({TAG: 2})
        spent = subprocess.run(
            [sys.executable, "-m", "satellite.agent", "--state", str(tmp_path / "agent2"),
             "--retries", "1", "register", "--url", url, "--token", registration,
             "--pid", "C9300-24T", "--sn", "FOC9999X"], capture_output=True, text=True, timeout=60)
        assert spent.returncode == 1 and "maximum" in spent.stderr  # refused: used up

        admin.get("/sync")
        exported = admin.post("/sync/export", {"exp-csrf_token": admin.csrf})
        assert exported.status_code == 200 and exported.headers["Content-Disposition"]
        backup = subprocess.run(
            [sys.executable, "-m", "satellite", "backup", "--out", str(tmp_path / "run.satbak"),
             "--passphrase-file", str(backup_pass)], env=env, capture_output=True, text=True,
            timeout=120)
        assert backup.returncode == 0, backup.stderr
        said.append(backup.stdout + backup.stderr)
    log = server.log.read_text()
    said.append(satellite("audit", "list", "--json").out)

    # The capture is real: request lines of the run are there, as JSON objects.
    for route in ("/sign-in", "/oauth/token", "/api/device/v1/register", "/api/device/v1/usage"):
        assert route in log, route
    assert all(json.loads(line) for line in log.splitlines() if line.startswith("{"))

    for path in (settings.data_dir / "keys").iterdir():
        data = path.read_bytes()
        if path.suffix not in (".pub", ".crt") and b"PRIVATE KEY" not in data:
            # The session signing secret, the token sealing key: secrets in any encoding.
            remember(f"secret file {path.name}", data.decode().strip() if data.isascii()
                     else base64.b64encode(data).decode())
    key_files = [*(settings.data_dir / "keys").glob("*"), *(settings.data_dir / "tls").glob("*"),
                 *(tmp_path / "agent").glob("*")]
    wanted = created + _private_key_secrets(key_files, key_pass.read_text().strip().encode())
    files = [*settings.data_dir.rglob("*.log")]
    haystack = "\n".join([log, *said, *(p.read_text(errors="replace") for p in files)])
    leaks = _leaks(haystack, wanted)
    assert not leaks, f"secrets found in the logs: {', '.join(leaks)}"
