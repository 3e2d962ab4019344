"""Central entitles (some lines in the partner holding account), responds; the operator
previews the import with `sync import --dry-run`, applies it, and deposits from holding."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from satellite.actor import Actor
from satellite.central import service as central
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.uow import Database
from tests.cloudsync.conftest import dump
from tests.cloudsync.lab import TAG, Lab, make_lab
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
SWITCH = "regid.2024-01.com.example.switch-essentials"


@pytest.fixture
def lab(db: Database, settings: Settings, actor: Actor, clock: FixedClock,
        tmp_path: Path) -> Lab:
    return make_lab(db, settings, actor, clock, tmp_path)


def entitle(lab: Lab, tag: str, quantity: int, va: str | None = None,
            holding: str | None = None) -> str:
    return central.entitle(lab.central_dir, lab.now(), account=None if holding else
                           "abc.xyz.com", va=va, tag=tag, quantity=quantity,
                           license_type="PERPETUAL", holding=holding).line_id


def ok(result: CliResult) -> CliResult:
    assert result.code == 0, result.err
    return result


def test_dry_run_shows_each_rule_decision_and_changes_nothing(cli: Cli, lab: Lab) -> None:
    ok(cli("va", "create", "abc.xyz.com", "Routers"))
    ok(cli("deposit-rule", "add", "abc.xyz.com", "--tag", "regid.2024-01.com.example.*",
           "--va", "Lab"))
    ok(cli("deposit-rule", "add", "abc.xyz.com", "--tag", TAG, "--va", "Routers",
           "--position", "1"))
    listed = json.loads(ok(cli("deposit-rule", "list", "abc.xyz.com", "--json")).out)
    assert [(r["position"], r["virtualAccount"]) for r in listed["depositRules"]] == \
        [(1, "Routers"), (2, "Lab")]
    router = entitle(lab, TAG, 5)
    switch = entitle(lab, SWITCH, 3)
    other = entitle(lab, "regid.other.thing", 2)
    named = entitle(lab, TAG, 1, va="Lab")
    held = entitle(lab, TAG, 7, holding="partner.example.com")
    response = lab.respond()
    before = dump(lab.db)
    assert "in partner holding account partner.example.com (waits there to be deposited)" in \
        ok(cli("sync", "inspect", str(response))).out

    preview = ok(cli("sync", "import", "--dry-run", str(response)))
    assert "Dry run: nothing was changed." in preview.out
    assert f"line {router} ({TAG}) -> abc.xyz.com/Routers: by rule" in preview.out
    assert f"line {switch} ({SWITCH}) -> abc.xyz.com/Lab: by rule" in preview.out
    assert f"line {other} (regid.other.thing) -> abc.xyz.com/Default: no deposit rule " \
           "matched" in preview.out
    assert f"line {named} " not in preview.out
    assert "holding account: 1 lines wait to be deposited" in preview.out
    as_json = json.loads(ok(cli("sync", "import", "--dry-run", "--json", str(response))).out)
    assert {p["line_id"]: p["va"] for p in as_json["placements"]} == \
        {router: "Routers", switch: "Lab", other: "Default"}
    assert as_json["applied"] is False and as_json["entitlements"]["in_holding"] == 1
    assert dump(lab.db) == before

    # A dry run still verifies the bundle as an import does.
    tampered = response.with_name("tampered.bundle")
    data = bytearray(response.read_bytes())
    data[-12] ^= 0x01
    tampered.write_bytes(bytes(data))
    assert cli("sync", "import", "--dry-run", str(tampered)).code == 6
    assert dump(lab.db) == before

    ok(cli("sync", "import", str(response)))
    licenses = json.loads(ok(cli("license", "list", "--json")).out)["licenses"]
    assert sorted((p["license"], p["virtualAccount"], p["quantity"]) for p in licenses) == [
        ("regid.2024-01.com.example.router-advantage", "Lab", 1),
        ("regid.2024-01.com.example.router-advantage", "Routers", 5),
        ("regid.2024-01.com.example.switch-essentials", "Lab", 3),
        ("regid.other.thing", "Default", 2)]

    waiting = json.loads(ok(cli("holding", "list", "--json")).out)["holdingLines"]
    assert [(w["lineId"], w["available"]) for w in waiting] == [(held, 7)]
    done = ok(cli("holding", "deposit", held, "--account", "abc.xyz.com", "--va", "Lab",
                  "--quantity", "3"))
    assert "deposited 3 x" in done.out and "(4 left in holding)" in done.out
    ok(cli("sync", "import", str(lab.respond())))
    waiting = json.loads(ok(cli("holding", "list", "--json")).out)["holdingLines"]
    assert [(w["lineId"], w["deposited"], w["available"]) for w in waiting] == [(held, 3, 4)]
    refused = cli("holding", "deposit", held, "--account", "abc.xyz.com", "--va", "Lab",
                  "--quantity", "5")
    assert refused.code != 0 and "has 4 left" in refused.err


def test_rule_commands_refuse_bad_input_in_one_line(cli: Cli, lab: Lab) -> None:
    both = cli("deposit-rule", "add", "abc.xyz.com", "--tag", "a", "--name", "b", "--va", "Lab")
    assert both.code != 0 and "one of --tag" in both.err
    missing = cli("deposit-rule", "remove", "abc.xyz.com", "99")
    assert missing.code == 3 and missing.err.count("\n") == 1
    ok(cli("deposit-rule", "add", "abc.xyz.com", "--name", "router*", "--va", "Lab"))
    ok(cli("deposit-rule", "add", "abc.xyz.com", "--tag", "x", "--va", "Default"))
    rules = json.loads(ok(cli("deposit-rule", "list", "abc.xyz.com", "--json")).out)
    last = rules["depositRules"][1]["id"]
    assert "now at position 1" in ok(cli("deposit-rule", "move", "abc.xyz.com", str(last),
                                         "--to", "1")).out
    assert ok(cli("deposit-rule", "list", "abc.xyz.com")).out.splitlines()[1].startswith(
        f"1. rule {last}: tag x -> Default")
