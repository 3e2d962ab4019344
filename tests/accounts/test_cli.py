from __future__ import annotations

import json


def test_account_and_va_commands(cli) -> None:
    assert cli("init").code == 0
    created = cli("account", "create", "Acme", "--domain", "acme.example.com")
    assert created.code == 0, created.err
    assert cli("va", "create", "acme.example.com", "Lab").code == 0
    assert cli("va", "create", "Acme", "Sub", "--parent", "Lab").code == 0
    listed = json.loads(cli("va", "list", "Acme", "--json").out)
    assert {(v["name"], v["parent"]) for v in listed["virtualAccounts"]} == {
        ("Default", None), ("Lab", None), ("Sub", "Lab")}
    assert cli("account", "set", "Acme", "--reservation", "both").code == 0
    accounts = json.loads(cli("account", "list", "--json").out)["accounts"]
    assert [(a["name"], a["domain"], a["reservation"], a["status"], a["exportCategory"])
            for a in accounts] == [("Acme", "acme.example.com", "both", "ACTIVE", "A")]


def test_a_pending_account_is_shown_held_and_activated(cli) -> None:
    cli("init")
    created = cli("account", "create", "Later", "--domain", "later.example.org", "--pending")
    assert created.out == "Created account Later (later.example.org), Pending\n"
    shown = cli("account", "show", "Later")
    assert "status: PENDING" in shown.out and "approved by: -" in shown.out
    assert json.loads(cli("account", "held", "Later", "--json").out) == {
        "heldLines": [], "totalCount": 0}
    assert cli("account", "activate", "Later").out == "Account Later (later.example.org) is Active\n"
    again = cli("account", "activate", "Later")
    assert again.code == 4 and "already Active" in again.err
    shown_json = json.loads(cli("account", "show", "Later", "--json").out)
    assert shown_json["status"] == "ACTIVE"
    assert shown_json["approvedBy"] == shown_json["createdBy"]


def test_bad_input_is_one_line_on_stderr_and_changes_nothing(cli) -> None:
    cli("init")
    cli("account", "create", "Acme", "--domain", "acme.example.com")
    cli("va", "create", "Acme", "Lab")
    cli("va", "create", "Acme", "Sub", "--parent", "Lab")
    for args in (
        ("va", "delete", "Acme", "Lab"),
        ("va", "create", "Nope", "X"),
        ("account", "create", "Other", "--domain", "not a domain"),
        ("va", "move", "Acme", "Lab", "--parent", "Sub"),
        ("account", "set", "Acme", "--reservation", "sometimes"),
    ):
        result = cli(*args)
        assert result.code != 0, args
        assert result.err.count("\n") == 1 and result.err.startswith("satellite: error: "), result.err
        assert result.out == ""
    listed = json.loads(cli("va", "list", "Acme", "--json").out)
    assert len(listed["virtualAccounts"]) == 3


def test_commands_refuse_an_uninitialised_data_dir(cli) -> None:
    result = cli("account", "list")
    assert result.code != 0
    assert "satellite init" in result.err
