"""End to end with the real `satellite` CLI, the reference Central and the agent's
`satellite-agent reservation` commands: the device trusts Central's key and nothing else."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from satellite.accounts.service import find_va
from satellite.agent.cli import main as agent_main
from satellite.audit.service import list_events
from satellite.central import service as central_service
from satellite.central.cli import main as central_main
from satellite.central.ingest import ca_certificate
from satellite.cloudsync.central_registration import CERTIFICATE_KEY
from satellite.crypto import certificates, keys
from satellite.crypto.signing import Signer
from satellite.keystore import open_keystore
from satellite.licenses.models import LicenseLine
from satellite.reservation import codes, files
from satellite.state import set_state
from satellite.uow import Database
from tests.conftest import CliResult

TAG = "regid.2024-01.com.example.router-advantage"
Cli = Callable[..., CliResult]


@dataclass
class Run:
    code: int
    out: str
    err: str


Runner = Callable[..., Run]


def _in_process(main: Callable[[list[str]], None], capsys: pytest.CaptureFixture[str],
                args: list[str]) -> Run:
    capsys.readouterr()
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return Run(code, out.strip(), err.strip())


class Agent:
    """`satellite-agent --state DIR ...`, its real entry point, in-process."""

    def __init__(self, state: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.state, self.capsys = state, capsys

    def __call__(self, *args: str) -> Run:
        return _in_process(agent_main, self.capsys, ["--state", str(self.state), *args])

    def ok(self, *args: str) -> str:
        run = self(*args)
        assert run.code == 0, run.err
        return run.out

    def refused(self, *args: str) -> str:
        run = self(*args)
        assert run.code != 0 and run.out == "", run
        assert run.err.startswith("satellite-agent: error: ") and "\n" not in run.err, run.err
        return run.err


class Central:
    """`satellite-central --dir D ...` in-process: the reference Central."""

    def __init__(self, directory: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.directory, self.capsys = directory, capsys
        self("init")

    def __call__(self, command: str, *args: str) -> str:
        run = _in_process(central_main, self.capsys, [command, "--dir", str(self.directory),
                                                      *args])
        assert run.code == 0, run.err
        return run.out

    @property
    def anchor(self) -> str:
        return str(self.directory / central_service.PUB_FILE)


def satellite_id(cli: Cli) -> str:
    return str(json.loads(cli("status", "--json").out)["satellite_id"])


def register(cli: Cli, central: Central, work: Path) -> None:
    """What a disconnected site does: request out, certificate back, through files."""
    assert cli("sync", "register", "--out", str(work / "register.bundle")).code == 0
    central("ingest", str(work / "register.bundle"))
    central("respond", "--satellite", satellite_id(cli), "--out", str(work / "response.bundle"))
    result = cli("sync", "import", str(work / "response.bundle"))
    assert result.code == 0, result.err


@pytest.fixture
def central(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Central:
    return Central(tmp_path / "central", capsys)


@pytest.fixture
def site(cli: Cli, db: Database, central: Central, tmp_path: Path) -> Database:
    """A satellite registered with the reference Central, its pool entitled by Central."""
    assert cli("init", "--central-key", central.anchor).code == 0
    assert cli("account", "create", "Acme", "--domain", "acme.example.com").code == 0
    assert cli("va", "create", "Acme", "Lab").code == 0
    central("entitle", "--account", "acme.example.com", "--va", "Lab", "--tag", TAG,
            "--quantity", "3", "--type", "TERM", "--start", "2020-01-01", "--end", "2099-12-31")
    central("entitle", "--account", "acme.example.com", "--va", "Lab", "--tag", TAG,
            "--quantity", "2", "--type", "PERPETUAL")
    register(cli, central, tmp_path)
    return db


@pytest.fixture
def device(tmp_path: Path, central: Central,
           capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[str], Agent]]:
    def make(name: str = "dev") -> Agent:
        agent = Agent(tmp_path / name, capsys)
        assert "as a trust anchor" in agent.ok("reservation", "trust-anchor", central.anchor)
        return agent

    yield make


def reserved(db: Database, clock) -> int:  # type: ignore[no-untyped-def]
    from satellite.licenses.counters import counter

    with db.reader() as uow:
        _, va = find_va(uow.session, "Acme", "Lab")
        return counter(uow.session, va.id, TAG, clock.now().date()).reserved


def test_slr_and_plr_lifecycle(cli: Cli, site: Database, settings, clock,  # type: ignore[no-untyped-def]
                               device: Callable[[str], Agent], central: Central,
                               tmp_path: Path) -> None:
    assert cli("account", "set", "Acme", "--reservation", "both").code == 0
    agent = device("dev")
    request = agent.ok("reservation", "request", "--pid", "C9300-24T", "--sn", "FOC1")

    result = cli("reservation", "authorize", "Acme", "Lab", "--request-code", request,
                 "--license", f"{TAG}=3", "--json")
    assert result.code == 0, result.err
    issued = json.loads(result.out)
    # The longest-lived lines are chosen first: the perpetual ones, then the TERM line.
    assert sorted((ln["type"], ln["count"]) for ln in issued["licenses"]) == [
        ("PERPETUAL", 2), ("TERM", 1)]
    assert reserved(site, clock) == 3

    # A typed code names its key; the device needs that key's certificate chain once.
    identity = open_keystore(settings).identity_key_id()
    refusal = agent.refused("reservation", "install", issued["authorizationCode"])
    assert f"signed by satellite key {identity}, for which this device holds no certificate" \
        in refusal
    assert cli("reservation", "chain", "--out", str(tmp_path / "chain.pem")).code == 0
    out = agent.ok("reservation", "chain", str(tmp_path / "chain.pem"))
    assert f"Satellite key {identity} (CN={satellite_id(cli)}) is certified by Central" in out
    out = agent.ok("reservation", "install", issued["authorizationCode"])
    assert f"{TAG}: 2 (PERPETUAL)" in out and f"{TAG}: 1 (TERM 2020-01-01 to 2099-12-31)" in out

    update = cli("reservation", "update", "C9300-24T:FOC1", "--license", f"{TAG}=1",
                 "--out", str(tmp_path / "auth.json"))
    assert update.code == 0, update.err
    assert reserved(site, clock) == 3  # held until the device confirms
    out = agent.ok("reservation", "install", str(tmp_path / "auth.json"))
    confirmation = out.splitlines()[-1].removeprefix("Confirmation code: ")
    assert len(confirmation) <= 32
    result = cli("reservation", "confirm", "C9300-24T:FOC1", "--code", confirmation)
    assert result.code == 0, result.err
    assert reserved(site, clock) == 1

    return_code = agent.ok("reservation", "return")
    assert len(return_code) <= 32
    assert cli("reservation", "return", "--code", return_code).code == 0
    assert reserved(site, clock) == 0
    show = json.loads(cli("reservation", "show", "C9300-24T:FOC1", "--json").out)
    assert show["status"] == "Returned"

    # A device that imports files gets the chain inside the authorization file.
    plr = device("plr")
    request = plr.ok("reservation", "request", "--pid", "ISR4451", "--sn", "FDO2")
    result = cli("reservation", "authorize", "Acme", "Lab", "--request-code", request,
                 "--permanent", "--out", str(tmp_path / "plr.json"))
    assert result.code == 0, result.err
    assert "all features of the product" in plr.ok("reservation", "install",
                                                   str(tmp_path / "plr.json"))
    status = json.loads(plr.ok("reservation", "status", "--json"))
    assert status["installed"]["kind"] == "PLR"
    assert status["anchors"] == [keys.key_id(keys.load_public_key(Path(central.anchor)))]
    assert [k["key_id"] for k in status["satellite_keys"]] == [identity]
    assert reserved(site, clock) == 0  # a PLR takes no pool quantity
    assert cli("reservation", "return", "--code", plr.ok("reservation", "return")).code == 0
    assert json.loads(plr.ok("reservation", "status", "--json"))["installed"] is None


def test_refusals_name_the_problem_and_leave_the_pool_alone(cli: Cli, site: Database, clock,  # type: ignore[no-untyped-def]
                                                            device: Callable[[str], Agent],
                                                            tmp_path: Path) -> None:
    assert cli("reservation", "chain", "--out", str(tmp_path / "chain.pem")).code == 0
    agent, other = device("dev"), device("other")
    for each in (agent, other):
        each.ok("reservation", "chain", str(tmp_path / "chain.pem"))
    request = agent.ok("reservation", "request", "--pid", "C9300-24T", "--sn", "FOC1")
    other_request = other.ok("reservation", "request", "--pid", "C9300-24T", "--sn", "FOC2")

    def authorize(code: str, *licenses: str) -> CliResult:
        args = [a for tag in licenses for a in ("--license", tag)]
        return cli("reservation", "authorize", "Acme", "Lab", "--request-code", code, *args)

    result = authorize(request, f"{TAG}=1")
    assert result.code != 0 and "reservation is not enabled for account 'Acme'" in result.err
    assert cli("account", "set", "Acme", "--reservation", "specific").code == 0
    result = cli("reservation", "authorize", "Acme", "Lab", "--request-code", request, "--permanent")
    assert "permanent (PLR) reservation is not enabled" in result.err

    mistyped = request[:12] + ("0" if request[12] != "0" else "1") + request[13:]
    result = authorize(mistyped, f"{TAG}=1")
    assert "request code has a mistyped character at position 11 (group 3, character 1)" in result.err

    result = authorize(request, f"{TAG}=6")
    assert f"{TAG}: 1 missing (6 requested, 5 available)" in result.err
    assert reserved(site, clock) == 0

    auth = authorize(request, f"{TAG}=2").out.strip()
    other_auth = authorize(other_request, f"{TAG}=2").out.strip()
    assert reserved(site, clock) == 4

    err = agent.refused("reservation", "install",
                        auth[:30] + ("0" if auth[30] != "0" else "1") + auth[31:])
    assert "authorization code has a mistyped character at position 26" in err
    err = agent.refused("reservation", "install", other_auth)
    assert "is for UDI C9300-24T:FOC2, not for this device (C9300-24T:FOC1)" in err
    agent.ok("reservation", "install", auth)

    newer = cli("reservation", "update", "C9300-24T:FOC1", "--license", f"{TAG}=1").out.strip()
    agent.ok("reservation", "install", newer)
    err = agent.refused("reservation", "install", auth)
    assert "has serial 1, older than the installed serial 2" in err

    cli("reservation", "update", "C9300-24T:FOC2", "--license", f"{TAG}=1")
    other_out = other.ok("reservation", "install", json.loads(
        cli("reservation", "show", "C9300-24T:FOC2", "--json").out)["authorizationCode"])
    other_confirmation = other_out.splitlines()[-1].removeprefix("Confirmation code: ")
    result = cli("reservation", "confirm", "C9300-24T:FOC1", "--code", other_confirmation)
    assert result.code != 0 and "was not made by the device C9300-24T:FOC1" in result.err
    assert reserved(site, clock) == 4

    return_code = agent.ok("reservation", "return")
    bad = return_code[:3] + ("0" if return_code[3] != "0" else "1") + return_code[4:]
    result = cli("reservation", "return", "--code", bad)
    assert result.code != 0 and "return code has a mistyped character at position 4" in result.err
    assert reserved(site, clock) == 4
    assert cli("reservation", "return", "--code", return_code).code == 0
    assert reserved(site, clock) == 2


def test_the_device_trusts_only_what_its_central_certified(  # type: ignore[no-untyped-def]
        cli: Cli, site: Database, settings, clock, central: Central,
        device: Callable[[str], Agent], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("account", "set", "Acme", "--reservation", "specific").code == 0
    agent = device("dev")
    request = agent.ok("reservation", "request", "--pid", "C9300-24T", "--sn", "FOC1")
    auth_file = tmp_path / "auth.json"
    assert cli("reservation", "authorize", "Acme", "Lab", "--request-code", request,
               "--license", f"{TAG}=1", "--out", str(auth_file)).code == 0
    store = open_keystore(settings)
    identity = store.identity_key_id()

    # A device anchored at another Central trusts nothing this satellite says.
    other_central = Central(tmp_path / "other-central", capsys)
    stranger = Agent(tmp_path / "stranger", capsys)
    stranger.ok("reservation", "trust-anchor", other_central.anchor)
    stranger.ok("reservation", "request", "--pid", "C9300-24T", "--sn", "FOC1")
    other_id = keys.key_id(keys.load_public_key(Path(other_central.anchor)))
    for args in (("chain", str(auth_file)), ("install", str(auth_file))):
        err = stranger.refused("reservation", *args)
        assert f"which is not a Central this device trusts (trust anchors: {other_id})" in err
    assert json.loads(stranger.ok("reservation", "status", "--json"))["satellite_keys"] == []

    # A code signed by a key the chain does not certify, even with the real chain beside it.
    parsed = codes.RequestCode.decode(request)
    forged = codes.AuthorizationCode(
        codes.SLR, 1, datetime.now(UTC).replace(microsecond=0), parsed.nonce, parsed.udi,
        (codes.Entitlement(TAG, 100, "PERPETUAL"),), "00" * 8).sign(Signer(keys.generate_private_key()))
    forged_file = tmp_path / "forged.json"
    forged_file.write_text(files.authorization_file(forged.encode(), parsed.udi, forged.key_id,
                                                    store.satellite_certificate()))
    err = agent.refused("reservation", "install", str(forged_file))
    assert (f"signed by satellite key {forged.key_id}, but its certificate chain certifies key "
            f"{identity}") in err
    err = agent.refused("reservation", "install", forged.encode())
    assert f"signed by satellite key {forged.key_id}, for which this device holds no" in err
    assert json.loads(agent.ok("reservation", "status", "--json"))["installed"] is None
    agent.ok("reservation", "install", str(auth_file))

    # An expired satellite certificate: the device refuses it, the satellite will not sign.
    root = central_service.load_root(central.directory)
    issuer = ca_certificate(central.directory, root, "unused: it exists", datetime.now(UTC))
    expired = certificates.issue_certificate(
        root, issuer, store.identity_public_key(), common_name=satellite_id(cli),
        now=datetime.now(UTC) - timedelta(days=800), days=730)
    (tmp_path / "expired.pem").write_bytes(expired)
    err = device("fresh").refused("reservation", "chain", str(tmp_path / "expired.pem"))
    assert f"the satellite certificate for key {identity}" in err and "expired at" in err
    with site.uow() as uow:  # the certificate every node signs with is the database's
        set_state(uow.session, CERTIFICATE_KEY, expired.decode())
        uow.commit()
    result = cli("reservation", "update", "C9300-24T:FOC1", "--license", f"{TAG}=2")
    assert result.code != 0 and "the satellite certificate expired at" in result.err
    assert "satellite sync register" in result.err
    assert reserved(site, clock) == 1
    # Registering again renews the certificate.
    (tmp_path / "again").mkdir()
    register(cli, central, tmp_path / "again")
    result = cli("reservation", "update", "C9300-24T:FOC1", "--license", f"{TAG}=2",
                 "--out", str(auth_file))
    assert result.code == 0, result.err
    assert "serial 2, signed by satellite key" in agent.ok("reservation", "install",
                                                            str(auth_file))


def test_an_unregistered_satellite_makes_no_authorization_code(  # type: ignore[no-untyped-def]
        cli: Cli, db: Database, clock, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("init").code == 0
    assert cli("account", "create", "Acme", "--domain", "acme.example.com").code == 0
    assert cli("va", "create", "Acme", "Lab").code == 0
    assert cli("account", "set", "Acme", "--reservation", "both").code == 0
    with db.uow() as uow:
        _, va = find_va(uow.session, "Acme", "Lab")
        # Test data: in production, lines arrive only through signed sync from Central.
        uow.session.add(LicenseLine(va_id=va.id, tag=TAG, license_type="PERPETUAL", quantity=2,
                                    start_date=None, end_date=None, origin_id="o1"))
        uow.commit()
    request = Agent(tmp_path / "dev", capsys).ok("reservation", "request", "--pid", "C9300-24T",
                                                 "--sn", "FOC1")
    for args in (("--license", f"{TAG}=1"), ("--permanent",)):
        result = cli("reservation", "authorize", "Acme", "Lab", "--request-code", request, *args)
        assert result.code != 0
        assert ("this satellite has no certificate from Central, so devices cannot verify its "
                "authorization codes: register it with Central first (`satellite sync register`"
                in result.err)
    assert reserved(db, clock) == 0
    assert json.loads(cli("reservation", "list", "--json").out)["reservations"] == []
    result = cli("reservation", "chain")
    assert result.code != 0 and "satellite sync register" in result.err


def test_force_removal_needs_a_reason_and_is_audited(cli: Cli, site: Database, clock,  # type: ignore[no-untyped-def]
                                                     device: Callable[[str], Agent]) -> None:
    assert cli("account", "set", "Acme", "--reservation", "specific").code == 0
    request = device("dev").ok("reservation", "request", "--pid", "C9300-24T", "--sn", "FOC1")
    cli("reservation", "authorize", "Acme", "Lab", "--request-code", request, "--license", f"{TAG}=2")
    result = cli("reservation", "remove", "C9300-24T:FOC1", "--reason", " ")
    assert result.code != 0 and "needs a reason" in result.err
    assert reserved(site, clock) == 2
    assert cli("reservation", "remove", "C9300-24T:FOC1", "--reason", "RMA 4711").code == 0
    assert reserved(site, clock) == 0
    with site.reader() as uow:
        details = json.loads(list_events(uow.session, action="reservation.remove")[0].details)
    assert details["reason"] == "RMA 4711"
    assert details["released"] == {TAG: 2}
    again = cli("reservation", "authorize", "Acme", "Lab", "--request-code", request,
                "--license", f"{TAG}=1")
    assert "this request code was already used" in again.err
