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
    assert accounts == [{"name": "Acme", "domain": "acme.example.com", "reservation": "both",
                         "exportCategory": "A"}]


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
