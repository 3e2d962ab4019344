"""The device library: anchors, chains, key rotation, and the refusals that name the cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from satellite.agent.reservation import ReservationDevice
from satellite.clock import FixedClock
from satellite.crypto import certificates, keys
from satellite.crypto.signing import Signer
from satellite.errors import VerificationFailed
from satellite.reservation import codes, files
from tests.reservation.certify import issue

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TAG = "regid.2024-01.com.example.router-advantage"


class Satellite:
    """A satellite key and its certificate from a Central key, making codes for one device."""

    def __init__(self, central: keys.PrivateKey, days: int = 730) -> None:
        self.key = keys.generate_private_key()
        self.chain = issue(central, keys.public_key_of(self.key), AT, days=days)
        self.key_id = keys.key_id(keys.public_key_of(self.key))

    def code(self, request: str, serial: int, issued_at: datetime = AT) -> str:
        parsed = codes.RequestCode.decode(request)
        return codes.AuthorizationCode(
            codes.SLR, serial, issued_at, parsed.nonce, parsed.udi,
            (codes.Entitlement(TAG, serial, "PERPETUAL"),), "00" * 8).sign(Signer(self.key)).encode()

    def file(self, request: str, serial: int, chain: bytes | None = None) -> str:
        parsed = codes.RequestCode.decode(request)
        return files.authorization_file(self.code(request, serial), parsed.udi, self.key_id,
                                        self.chain if chain is None else chain)


@pytest.fixture
def central() -> keys.PrivateKey:
    return keys.generate_private_key()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(AT + timedelta(hours=1))


@pytest.fixture
def device(tmp_path: Path, central: keys.PrivateKey, clock: FixedClock) -> ReservationDevice:
    made = ReservationDevice(tmp_path / "device", clock)
    made.trust_anchor(keys.public_key_to_pem(keys.public_key_of(central)), "central.pub")
    return made


def test_no_anchor_no_install(tmp_path: Path, central: keys.PrivateKey, clock: FixedClock) -> None:
    bare = ReservationDevice(tmp_path / "bare", clock)
    request = bare.request("C9300", "A1")
    satellite = Satellite(central)
    for given in (satellite.code(request, 1), satellite.file(request, 1)):
        with pytest.raises(VerificationFailed, match="no Central trust anchor: run `reservation "
                                                     "trust-anchor FILE`"):
            bare.install(given)
    assert bare.installed() is None


def test_a_typed_code_needs_the_chain_imported_once(device: ReservationDevice,
                                                    central: keys.PrivateKey) -> None:
    request = device.request("C9300", "A1")
    satellite = Satellite(central)
    with pytest.raises(VerificationFailed, match=f"signed by satellite key {satellite.key_id}, "
                       "for which this device holds no certificate: import the satellite's "
                       "certificate chain"):
        device.install(satellite.code(request, 1))
    assert device.status()["satellite_keys"] == []
    certified = device.add_chain(satellite.chain)
    assert certified.key_id == satellite.key_id
    assert device.install(satellite.code(request, 1)).authorization.serial == 1
    assert [k["key_id"] for k in device.status()["satellite_keys"]] == [satellite.key_id]


def test_the_file_carries_the_chain_and_the_device_keeps_it(device: ReservationDevice,
                                                           central: keys.PrivateKey) -> None:
    request = device.request("C9300", "A1")
    satellite = Satellite(central)
    assert device.install(satellite.file(request, 1)).authorization.serial == 1
    # The typed code of the next serial verifies with the kept certificate.
    assert device.install(satellite.code(request, 2)).authorization.serial == 2


def test_a_code_signed_by_a_key_the_chain_does_not_certify(device: ReservationDevice,
                                                           central: keys.PrivateKey) -> None:
    request = device.request("C9300", "A1")
    real, rogue = Satellite(central), Satellite(keys.generate_private_key())
    with pytest.raises(VerificationFailed, match=f"signed by satellite key {rogue.key_id}, but its "
                       f"certificate chain certifies key {real.key_id}"):
        device.install(rogue.file(request, 1, chain=real.chain))
    # Nothing was kept from a refused install.
    assert device.status()["satellite_keys"] == []
    with pytest.raises(VerificationFailed, match="not a Central this device trusts"):
        device.install(rogue.file(request, 1))
    assert device.installed() is None


def test_a_code_issued_outside_its_certificate_is_refused(device: ReservationDevice,
                                                          central: keys.PrivateKey) -> None:
    request = device.request("C9300", "A1")
    satellite = Satellite(central)
    device.add_chain(satellite.chain)
    with pytest.raises(VerificationFailed, match="outside the validity of the certificate"):
        device.install(satellite.code(request, 1, issued_at=AT - timedelta(days=2)))


def test_codes_of_an_older_key_verify_while_its_certificate_is_valid(
        device: ReservationDevice, central: keys.PrivateKey, clock: FixedClock) -> None:
    request = device.request("C9300", "A1")
    old, new = Satellite(central, days=30), Satellite(central)
    device.install(old.file(request, 1))
    device.install(new.file(request, 2))  # the satellite's key changed
    assert {k["key_id"] for k in device.status()["satellite_keys"]} == {old.key_id, new.key_id}
    assert device.install(old.code(request, 3)).authorization.serial == 3
    clock.advance(timedelta(days=31))
    with pytest.raises(VerificationFailed, match=f"certificate for key {old.key_id} "
                       r"\(CN=satellite-under-test\) expired at"):
        device.install(old.code(request, 4))
    assert device.install(new.code(request, 4)).authorization.serial == 4
    assert [k["key_id"] for k in device.status()["satellite_keys"]] == [new.key_id]


def test_a_renewed_certificate_replaces_the_one_that_ends_sooner(
        device: ReservationDevice, central: keys.PrivateKey, clock: FixedClock) -> None:
    satellite = Satellite(central, days=30)
    device.add_chain(satellite.chain)
    clock.advance(timedelta(days=21))
    device.add_chain(issue(central, keys.public_key_of(satellite.key), AT + timedelta(days=20)))
    device.add_chain(satellite.chain)  # the older one again does not shorten it
    clock.advance(timedelta(days=19))
    request = device.request("C9300", "A1")
    assert device.install(satellite.code(request, 1, AT + timedelta(days=39))).authorization


def test_a_chain_with_an_intermediate_is_kept_whole(device: ReservationDevice,
                                                   central: keys.PrivateKey) -> None:
    satellite = Satellite(central)
    intermediate = certificates.create_ca_certificate(central, "Central intermediate", AT)
    satellite.chain = certificates.issue_certificate(
        central, intermediate, keys.public_key_of(satellite.key), common_name="sat", now=AT,
        days=30) + intermediate
    device.add_chain(satellite.chain)
    request = device.request("C9300", "A1")
    assert device.install(satellite.code(request, 1)).authorization.serial == 1
