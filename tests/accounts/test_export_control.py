"""Export-control categories: who sets them, and what a restricted account may no longer do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from satellite.accounts import export_control
from satellite.accounts import service as accounts
from satellite.actor import Actor
from satellite.audit.models import AuditEvent
from satellite.central import service as central
from satellite.central.cli import main as central_main
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.errors import InvalidInput, NotFound, PermissionDenied
from satellite.licenses.counters import counter
from satellite.reservation import codes
from satellite.reservation import service as reservations
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.access.helpers import build_world
from tests.cloudsync.lab import make_lab
from tests.conftest import CliResult
from tests.devices.fixtures import app, authority, sealer, site, transport  # noqa: F401
from tests.devices.helpers import SECRET_TAG, TAG, FlaskTransport, Site, device, make_token
from tests.reservation.certify import certified_signer


def _set(db: Database, actor: Actor, account: str, category: str) -> None:
    with db.uow() as uow:
        export_control.set_category(uow, actor, account, category)
        uow.commit()


def _audited(db: Database, action: str) -> list[dict[str, object]]:
    with db.reader() as uow:
        return [json.loads(e.details) for e in uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def test_accounts_start_unrestricted_and_only_system_administrators_change_the_category(
        db: Database, actor: Actor) -> None:
    world = build_world(db, actor)
    with db.reader() as uow:
        assert accounts.get_account(uow.session, "Acme").export_category == "A"
    with db.uow() as uow, pytest.raises(PermissionDenied, match="system administrator"):
        export_control.set_category(uow, world.actors["account_admin"], "Acme", "C")
    with db.uow() as uow, pytest.raises(NotFound):
        export_control.set_category(uow, world.actors["nobody"], "Acme", "C")
    with db.uow() as uow, pytest.raises(InvalidInput, match="one of A, B, C, D"):
        export_control.set_category(uow, actor, "Acme", "E")
    _set(db, world.actors["system_admin"], "Acme", "c")
    _set(db, actor, "Acme", "C")  # no change: not audited again
    with db.reader() as uow:
        assert accounts.get_account(uow.session, "Acme").export_category == "C"
    assert _audited(db, "account.set_export_category") == [
        {"before": "A", "after": "C", "source": "operator"}]


def test_a_restricted_account_gets_no_token_allowing_export_control(
        db: Database, actor: Actor, site: Site, cli) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    allowed = cli("token", "create", "Acme", "Lab", "--export-controlled")
    assert allowed.code == 0, allowed.err
    assert cli("account", "set", "Acme", "--export-category", "D").code == 0
    refused = cli("token", "create", "Acme", "Lab", "--export-controlled")
    assert refused.code != 0
    assert "export-control category D" in refused.err and len(refused.err.splitlines()) == 1
    assert cli("token", "create", "Acme", "Lab").code == 0
    listed = json.loads(cli("account", "list", "--json").out)["accounts"]
    assert [a["exportCategory"] for a in listed] == ["D"]


def test_existing_tokens_stop_granting_export_control_while_the_category_forbids_it(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,  # noqa: F811
        transport: FlaskTransport) -> None:  # noqa: F811
    client = device(transport, clock)
    client.register(make_token(db, actor, sealer, export_controlled=True), "C9300-24T", "EX1")
    first = client.report({SECRET_TAG: 2, TAG: 1})
    assert {t["tag"]: t["status"] for t in first["tags"]} == {SECRET_TAG: "AUTHORIZED",
                                                              TAG: "AUTHORIZED"}

    _set(db, actor, "Acme", "C")
    answer = client.report({SECRET_TAG: 2, TAG: 1})
    tags = {t["tag"]: t for t in answer["tags"]}
    assert tags[SECRET_TAG]["status"] == "NOT_AUTHORIZED"
    assert "export-control category C" in tags[SECRET_TAG]["reason"]
    assert tags[TAG]["status"] == "AUTHORIZED"
    with db.reader() as uow:
        assert counter(uow.session, site.va_id, SECRET_TAG, clock.now().date()).in_use == 0

    _set(db, actor, "Acme", "B")
    again = client.report({SECRET_TAG: 2})
    assert again["tags"][0]["status"] == "AUTHORIZED"


def test_reservations_of_a_restricted_account_hold_no_export_controlled_license(
        db: Database, actor: Actor, site: Site, clock: FixedClock) -> None:  # noqa: F811
    with db.uow() as uow:
        accounts.set_reservation_mode(uow, actor, "Acme", "both")
        uow.commit()
    _set(db, actor, "Acme", "D")
    signer = certified_signer(clock.now())

    def request(sn: str) -> str:
        return codes.RequestCode.for_device(bytes(32), codes.Udi("C9300", sn), bytes(8)).encode()

    with db.uow() as uow, pytest.raises(PermissionDenied, match=f"category D.*{SECRET_TAG}"):
        reservations.authorize(uow, actor, "Acme", "Lab", request("R1"), {SECRET_TAG: 1}, signer)
    with db.uow() as uow, pytest.raises(PermissionDenied, match="permanent reservation"):
        reservations.authorize(uow, actor, "Acme", "Lab", request("R2"), None, signer)
    with db.uow() as uow:
        reservations.authorize(uow, actor, "Acme", "Lab", request("R3"), {TAG: 1}, signer)
        uow.commit()
    with db.uow() as uow, pytest.raises(PermissionDenied, match="export-controlled licenses"):
        reservations.update(uow, actor, "C9300:R3", {TAG: 1, SECRET_TAG: 1}, signer)


def test_central_sets_a_category_by_its_signed_response_applied_at_sync_import(
        db: Database, settings: Settings, actor: Actor, clock: FixedClock, tmp_path: Path,
        cli) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(db, settings, actor, clock, tmp_path)

    def central_cli(*args: str) -> None:
        with pytest.raises(SystemExit) as done:
            central_main(list(args))
        assert done.value.code in (0, None)

    # A response without category records (as older Centrals write) changes none.
    first = lab.respond()
    assert cli("sync", "import", str(first)).code == 0
    central_cli("account-category", "--dir", str(lab.central_dir), "--account", "abc.xyz.com",
                "--category", "C")
    central_cli("account-category", "--dir", str(lab.central_dir), "--account",
                "elsewhere.example.com", "--category", "D")
    bundle = tmp_path / "categories.bundle"
    central_cli("respond", "--dir", str(lab.central_dir), "--satellite", lab.satellite_id,
                "--out", str(bundle))
    inspected = cli("sync", "inspect", str(bundle))
    assert "account abc.xyz.com is in export-control category C" in inspected.out
    imported: CliResult = cli("sync", "import", str(bundle))
    assert imported.code == 0, imported.err
    assert "export-control category of abc.xyz.com: A -> C" in imported.out
    assert "not on this satellite: elsewhere.example.com" in imported.out
    with db.reader() as uow:
        assert accounts.get_account(uow.session, "abc.xyz.com").export_category == "C"
    assert _audited(db, "account.set_export_category") == [
        {"before": "A", "after": "C", "source": "central"}]
    assert [c.account for c in central.list_categories(lab.central_dir)] == [
        "abc.xyz.com", "elsewhere.example.com"]


def test_a_malformed_category_record_refuses_the_whole_response(
        db: Database, settings: Settings, actor: Actor, clock: FixedClock, tmp_path: Path,
        cli) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(db, settings, actor, clock, tmp_path)
    from satellite.cloudsync.envelope import write_bundle
    from satellite.cloudsync.records import CENTRAL_RESPONSE
    from satellite.crypto.signing import Signer

    bundle = tmp_path / "bad.bundle"
    write_bundle(bundle, kind=CENTRAL_RESPONSE, sender="central", recipient=lab.satellite_id,
                 serial=1, created_at=clock.now(), signer=Signer(central.load_root(lab.central_dir)),
                 records=[{"type": "account_category", "account": "abc.xyz.com",
                           "category": "Z"}], fields={})
    refused = cli("sync", "import", str(bundle))
    assert refused.code != 0 and "record 1" in refused.err and "A, B, C, D" in refused.err
    with db.reader() as uow:
        assert accounts.get_account(uow.session, "abc.xyz.com").export_category == "A"
