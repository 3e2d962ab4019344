"""`satellite user ...`, `satellite apiclient ...` and acting as a named user."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from satellite.permissions.models import ApiClient
from satellite.uow import Database
from tests.conftest import CliResult


def test_users_roles_and_acting_as_a_user(cli: Callable[..., CliResult], db: Database,
                                          tmp_path: Path) -> None:
    assert cli("account", "create", "Acme", "--domain", "acme.example.com").code == 0
    assert cli("va", "create", "Acme", "Lab").code == 0
    made = cli("user", "create", "bob")
    assert made.code == 0 and made.out.startswith("Created user bob\npassword: ")
    assert cli("user", "grant", "bob", "va_viewer", "--account", "Acme", "--va", "Lab").code == 0
    bad = cli("user", "grant", "bob", "va_viewer", "--account", "Acme")
    assert bad.code == 2 and bad.err.count("\n") == 1 and "give the virtual account" in bad.err

    listed = json.loads(cli("user", "list", "--json").out)["users"]
    bob = next(u for u in listed if u["userName"] == "bob")
    assert bob["roles"] == [{"account": "Acme", "virtualAccount": "Lab", "role": "va_viewer"}]
    assert "bob\tactive\tva_viewer@Acme/Lab\n" in cli("user", "list").out

    as_bob = cli("--as-user", "bob", "va", "list", "Acme", "--json")
    assert [v["name"] for v in json.loads(as_bob.out)["virtualAccounts"]] == ["Lab"]
    refused = cli("--as-user", "bob", "va", "create", "Acme", "Other", "--parent", "Lab")
    assert refused.code == 5 and refused.err.startswith("satellite: error: you may not")
    hidden = cli("--as-user", "bob", "user", "list")
    assert hidden.code == 5

    pw = tmp_path / "pw"
    pw.write_text("a-fresh-passw0rd-9\n")
    assert cli("user", "reset-password", "bob", "--password-file", str(pw)).code == 0
    assert cli("user", "disable", "bob").code == 0
    assert cli("--as-user", "bob", "va", "list", "Acme").code == 5
    assert cli("user", "disable", "bob", "--enable").code == 0
    assert cli("user", "revoke", "bob", "va_viewer", "--account", "Acme", "--va", "Lab").code == 0
    gone = cli("--as-user", "bob", "va", "list", "Acme")
    assert gone.code == 3 and "no account named 'Acme'" in gone.err


def test_api_clients_show_their_secret_once_and_store_a_hash(
        cli: Callable[..., CliResult], db: Database) -> None:
    cli("account", "create", "Acme", "--domain", "acme.example.com")
    made = json.loads(cli("apiclient", "create", "Acme", "--role", "account_viewer",
                          "--json").out)
    assert set(made) == {"client_id", "client_secret", "role"}
    with db.reader() as uow:
        stored = uow.session.scalars(select(ApiClient)).one()
        assert made["client_secret"] not in stored.secret_hash
        assert stored.role == "account_viewer"
    listed = json.loads(cli("apiclient", "list", "Acme", "--json").out)["apiclients"]
    assert [c["client_id"] for c in listed] == [made["client_id"]]
    assert made["client_secret"] not in json.dumps(listed)
    assert cli("apiclient", "revoke", "Acme", made["client_id"]).code == 0
    assert json.loads(cli("apiclient", "list", "Acme", "--json").out)["apiclients"][0]["revoked"]
    assert cli("apiclient", "create", "Nowhere").code == 3
