"""End to end with the real `satellite` CLI and the agent's `reservation` commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from satellite.accounts.service import find_va
from satellite.agent.reservation_cli import reservation
from satellite.audit.service import list_events
from satellite.errors import SatelliteError
from satellite.keystore import open_keystore
from satellite.licenses.models import LicenseLine
from satellite.uow import Database

TAG = "regid.2024-01.com.example.router-advantage"


@click.group()
@click.option("--state", required=True)
def agent_root(state: str) -> None:
    """Stands in for the agent's root command, which owns --state."""


agent_root.add_command(reservation)


class Agent:
    def __init__(self, state: Path) -> None:
        self.state = state

    def __call__(self, *args: str) -> tuple[int, str]:
        result = CliRunner().invoke(agent_root, ["--state", str(self.state), *args])
        if isinstance(result.exception, SatelliteError):
            return 1, result.exception.message
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        return result.exit_code, result.output.strip()


@pytest.fixture
def site(cli: Callable[..., object], db: Database, settings, clock) -> Database:  # type: ignore[no-untyped-def]
    open_keystore(settings).ensure_keys("test", clock.now())
    assert cli("account", "create", "Acme", "--domain", "acme.example.com").code == 0
    assert cli("va", "create", "Acme", "Lab").code == 0
    with db.uow() as uow:
        _, va = find_va(uow.session, "Acme", "Lab")
        uow.session.add_all([
            LicenseLine(va_id=va.id, tag=TAG, license_type="TERM", quantity=3,
                        start_date=date(2020, 1, 1), end_date=date(2099, 12, 31), origin_id="o1"),
            LicenseLine(va_id=va.id, tag=TAG, license_type="PERPETUAL", quantity=2,
                        start_date=None, end_date=None, origin_id="o2"),
        ])
        uow.commit()
    return db


def device(tmp_path: Path, settings, name: str = "dev") -> Agent:  # type: ignore[no-untyped-def]
    agent = Agent(tmp_path / name)
    code, out = agent("reservation", "trust", str(settings.data_dir / "keys" / "identity.pub"))
    assert code == 0, out
    return agent


def reserved(db: Database, clock) -> int:  # type: ignore[no-untyped-def]
    from satellite.licenses.counters import counter

    with db.reader() as uow:
        _, va = find_va(uow.session, "Acme", "Lab")
        return counter(uow.session, va.id, TAG, clock.now().date()).reserved


def test_slr_and_plr_lifecycle(cli, site: Database, settings, clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("account", "set", "Acme", "--reservation", "both").code == 0
    agent = device(tmp_path, settings)
    code, request = agent("reservation", "request", "--pid", "C9300-24T", "--sn", "FOC1")
    assert code == 0

    result = cli("reservation", "authorize", "Acme", "Lab", "--request-code", request,
                 "--license", f"{TAG}=3", "--json")
    assert result.code == 0, result.err
    issued = json.loads(result.out)
    # The longest-lived lines are chosen first: the perpetual ones, then the TERM line.
    assert sorted((ln["type"], ln["count"]) for ln in issued["licenses"]) == [
        ("PERPETUAL", 2), ("TERM", 1)]
    assert reserved(site, clock) == 3

    code, out = agent("reservation", "install", issued["authorizationCode"])
    assert code == 0, out
    assert f"{TAG}: 2 (PERPETUAL)" in out and f"{TAG}: 1 (TERM 2020-01-01 to 2099-12-31)" in out

    update = cli("reservation", "update", "C9300-24T:FOC1", "--license", f"{TAG}=1",
                 "--out", str(tmp_path / "auth.json"))
    assert update.code == 0, update.err
    assert reserved(site, clock) == 3  # held until the device confirms
    code, out = agent("reservation", "install", str(tmp_path / "auth.json"))
    assert code == 0, out
    confirmation = out.splitlines()[-1].removeprefix("Confirmation code: ")
    assert len(confirmation) <= 32
    result = cli("reservation", "confirm", "C9300-24T:FOC1", "--code", confirmation)
    assert result.code == 0, result.err
    assert reserved(site, clock) == 1

    code, return_code = agent("reservation", "return")
    assert code == 0 and len(return_code) <= 32
    assert cli("reservation", "return", "--code", return_code).code == 0
    assert reserved(site, clock) == 0
    show = json.loads(cli("reservation", "show", "C9300-24T:FOC1", "--json").out)
    assert show["status"] == "Returned"

    plr = device(tmp_path, settings, "plr")
    _, request = plr("reservation", "request", "--pid", "ISR4451", "--sn", "FDO2")
    result = cli("reservation", "authorize", "Acme", "Lab", "--request-code", request, "--permanent")
    assert result.code == 0, result.err
    code, out = plr("reservation", "install", result.out.strip())
    assert code == 0 and "all features of the product" in out
    status = json.loads(plr("reservation", "status", "--json")[1])
    assert status["installed"]["kind"] == "PLR"
    assert reserved(site, clock) == 0  # a PLR takes no pool quantity
    _, return_code = plr("reservation", "return")
    assert cli("reservation", "return", "--code", return_code).code == 0
    assert json.loads(plr("reservation", "status", "--json")[1])["installed"] is None


def test_refusals_name_the_problem_and_leave_the_pool_alone(cli, site: Database, settings, clock,  # type: ignore[no-untyped-def]
                                                            tmp_path: Path) -> None:
    agent, other = device(tmp_path, settings), device(tmp_path, settings, "other")
    _, request = agent("reservation", "request", "--pid", "C9300-24T", "--sn", "FOC1")
    _, other_request = other("reservation", "request", "--pid", "C9300-24T", "--sn", "FOC2")

    def authorize(code: str, *licenses: str):  # type: ignore[no-untyped-def]
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

    code, out = agent("reservation", "install", auth[:30] + ("0" if auth[30] != "0" else "1")
                      + auth[31:])
    assert code != 0 and "authorization code has a mistyped character at position 26" in out
    code, out = agent("reservation", "install", other_auth)
    assert code != 0 and "is for UDI C9300-24T:FOC2, not for this device (C9300-24T:FOC1)" in out
    assert agent("reservation", "install", auth)[0] == 0

    newer = cli("reservation", "update", "C9300-24T:FOC1", "--license", f"{TAG}=1").out.strip()
    assert agent("reservation", "install", newer)[0] == 0
    code, out = agent("reservation", "install", auth)
    assert code != 0 and "has serial 1, older than the installed serial 2" in out

    cli("reservation", "update", "C9300-24T:FOC2", "--license", f"{TAG}=1")
    _, other_out = other("reservation", "install",
                         json.loads(cli("reservation", "show", "C9300-24T:FOC2", "--json").out)
                         ["authorizationCode"])
    other_confirmation = other_out.splitlines()[-1].removeprefix("Confirmation code: ")
    result = cli("reservation", "confirm", "C9300-24T:FOC1", "--code", other_confirmation)
    assert result.code != 0 and "was not made by the device C9300-24T:FOC1" in result.err
    assert reserved(site, clock) == 4

    _, return_code = agent("reservation", "return")
    bad = return_code[:3] + ("0" if return_code[3] != "0" else "1") + return_code[4:]
    result = cli("reservation", "return", "--code", bad)
    assert result.code != 0 and "return code has a mistyped character at position 4" in result.err
    assert reserved(site, clock) == 4
    assert cli("reservation", "return", "--code", return_code).code == 0
    assert reserved(site, clock) == 2


def test_force_removal_needs_a_reason_and_is_audited(cli, site: Database, settings, clock,  # type: ignore[no-untyped-def]
                                                     tmp_path: Path) -> None:
    assert cli("account", "set", "Acme", "--reservation", "specific").code == 0
    agent = device(tmp_path, settings)
    _, request = agent("reservation", "request", "--pid", "C9300-24T", "--sn", "FOC1")
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
