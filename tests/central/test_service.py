from __future__ import annotations

import stat
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from satellite.central import service
from satellite.cloudsync.envelope import read_bundle
from satellite.crypto import keys
from satellite.errors import ConfigError, InvalidInput, NotFound

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def central(tmp_path: Path) -> Path:
    directory = tmp_path / "central"
    service.init_central(directory, NOW)
    return directory


def _entitle(directory: Path, **changes: object) -> str:
    values: dict[str, object] = {"account": "ABC.xyz.com", "va": "Lab", "tag": "regid.x",
                                 "quantity": 10, "license_type": "perpetual"}
    values.update(changes)
    return service.entitle(directory, NOW, **values).line_id  # type: ignore[arg-type]


def test_init_writes_the_anchor_and_keeps_the_key_on_a_second_run(central: Path) -> None:
    assert stat.S_IMODE((central / "central.key").stat().st_mode) == 0o600
    key_before = (central / "central.key").read_bytes()
    info, created = service.init_central(central, NOW)
    assert not created
    assert (central / "central.key").read_bytes() == key_before
    assert info.key_id == keys.key_id(keys.load_public_key(central / "central.pub"))


def test_commands_on_a_directory_that_is_not_a_central_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run `satellite-central init`"):
        service.list_entitlements(tmp_path)


def test_entitle_normalises_and_lists_lines(central: Path) -> None:
    line_id = _entitle(central)
    [line] = service.list_entitlements(central)
    assert (line.line_id, line.account, line.va, line.license_type, line.display_name) == (
        line_id, "abc.xyz.com", "Lab", "PERPETUAL", "regid.x")


@pytest.mark.parametrize(("changes", "message"), [
    ({"license_type": "TERM"}, "needs a start and an end date"),
    ({"quantity": 0}, "at least 1"),
    ({"account": "not a domain"}, "is not a domain identifier"),
])
def test_bad_entitlements_are_refused(central: Path, changes: dict[str, object],
                                      message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        _entitle(central, **changes)
    assert service.list_entitlements(central) == []


def test_set_quantity_and_unentitle(central: Path) -> None:
    line_id = _entitle(central)
    assert service.set_quantity(central, line_id, 4).quantity == 4
    service.unentitle(central, line_id)
    assert service.list_entitlements(central) == []
    with pytest.raises(NotFound):
        service.unentitle(central, line_id)
    with pytest.raises(NotFound):
        service.set_quantity(central, line_id, 1)


def test_responses_are_signed_snapshots_with_a_serial_per_satellite(
        central: Path, tmp_path: Path) -> None:
    term = _entitle(central, license_type="TERM", start_date=date(2026, 1, 1),
                    end_date=date(2026, 12, 31), va=None, export_controlled=True,
                    subscription_id="SUB-9", display_name="Router Advantage")
    serials = [service.respond(central, sat, tmp_path / f"{sat}-{n}", NOW).serial
               for n, sat in enumerate(["sat-a", "sat-a", "sat-b", "sat-a"])]
    assert serials == [1, 2, 1, 3]
    with read_bundle(tmp_path / "sat-a-3") as bundle:
        bundle.verify(keys.load_public_key(central / "central.pub"))
        assert (bundle.header.recipient, bundle.header.serial) == ("sat-a", 3)
        assert bundle.header.fields == {"entitlements": "snapshot"}
        assert list(bundle.records()) == [{
            "type": "entitlement", "line_id": term, "account": "abc.xyz.com", "va": None,
            "tag": "regid.x", "display_name": "Router Advantage", "license_type": "TERM",
            "quantity": 10, "start_date": "2026-01-01", "end_date": "2026-12-31",
            "subscription_id": "SUB-9", "export_controlled": True}]


def test_a_failed_response_does_not_use_up_a_serial(central: Path, tmp_path: Path) -> None:
    with pytest.raises(OSError):
        service.respond(central, "sat-a", tmp_path / "missing-dir" / "out", NOW)
    assert service.respond(central, "sat-a", tmp_path / "out", NOW).serial == 1
    with pytest.raises(InvalidInput, match="is not a satellite id"):
        service.respond(central, "bad id", tmp_path / "out2", NOW)
