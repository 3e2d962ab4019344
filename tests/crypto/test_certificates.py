from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from satellite.crypto import certificates, keys
from satellite.errors import InvalidInput, VerificationFailed

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def ca() -> tuple[keys.PrivateKey, bytes]:
    ca_key = keys.generate_private_key()
    return ca_key, certificates.create_ca_certificate(ca_key, "Satellite test device CA", NOW)


def test_ca_certificate_is_a_self_signed_ca(ca: tuple[keys.PrivateKey, bytes]) -> None:
    ca_key, pem = ca
    info = certificates.describe(pem)
    assert info.is_ca
    assert info.subject == info.issuer == "CN=Satellite test device CA"
    assert info.public_key_id == keys.key_id(keys.public_key_of(ca_key))
    assert certificates.verify_issued(pem, pem, NOW).is_ca


def test_issued_certificate_names_its_subject_and_validity(
        ca: tuple[keys.PrivateKey, bytes]) -> None:
    ca_key, ca_pem = ca
    device = keys.public_key_of(keys.generate_private_key())
    pem = certificates.issue_certificate(ca_key, ca_pem, device, common_name="PID:C9300 SN:FOC1",
                                         now=NOW, days=365, serial=4242, organization="abc.xyz.com")
    info = certificates.verify_issued(ca_pem, pem, NOW + timedelta(days=364))
    assert info.subject == "O=abc.xyz.com,CN=PID:C9300 SN:FOC1"
    assert info.issuer == "CN=Satellite test device CA"
    assert info.serial == 4242
    assert not info.is_ca
    assert info.public_key_id == keys.key_id(device)
    assert info.not_after - info.not_before == timedelta(days=365)
    assert info.not_before <= NOW


def test_an_expired_certificate_is_refused(ca: tuple[keys.PrivateKey, bytes]) -> None:
    ca_key, ca_pem = ca
    device = keys.public_key_of(keys.generate_private_key())
    pem = certificates.issue_certificate(ca_key, ca_pem, device, common_name="d", now=NOW, days=1)
    with pytest.raises(VerificationFailed, match="expired"):
        certificates.verify_issued(ca_pem, pem, NOW + timedelta(days=2))


def test_a_certificate_from_another_ca_is_refused(ca: tuple[keys.PrivateKey, bytes]) -> None:
    _, ca_pem = ca
    other_key = keys.generate_private_key()
    other_pem = certificates.create_ca_certificate(other_key, "Satellite test device CA", NOW)
    device = keys.public_key_of(keys.generate_private_key())
    pem = certificates.issue_certificate(other_key, other_pem, device, common_name="d", now=NOW,
                                         days=30)
    with pytest.raises(VerificationFailed, match="does not verify"):
        certificates.verify_issued(ca_pem, pem, NOW)


def test_issuing_with_a_key_that_is_not_the_cas_is_refused(
        ca: tuple[keys.PrivateKey, bytes]) -> None:
    _, ca_pem = ca
    device = keys.public_key_of(keys.generate_private_key())
    with pytest.raises(InvalidInput, match="does not belong"):
        certificates.issue_certificate(keys.generate_private_key(), ca_pem, device,
                                       common_name="d", now=NOW, days=30)


def test_random_serials_are_positive_and_distinct(ca: tuple[keys.PrivateKey, bytes]) -> None:
    ca_key, ca_pem = ca
    device = keys.public_key_of(keys.generate_private_key())
    serials = {certificates.describe(certificates.issue_certificate(
        ca_key, ca_pem, device, common_name="d", now=NOW, days=30)).serial for _ in range(5)}
    assert len(serials) == 5 and min(serials) > 0


def test_a_csr_yields_its_key_only_when_its_signature_holds() -> None:
    private = keys.generate_private_key()
    pem = certificates.create_csr(private, "PID:P,SN:S")
    assert keys.key_id(certificates.csr_public_key(pem)) == keys.key_id(keys.public_key_of(private))
    body = pem.decode().splitlines()
    # Flip one character inside the base64 body: the self-signature no longer verifies.
    line = body[3]
    body[3] = line[:10] + ("A" if line[10] != "A" else "B") + line[11:]
    with pytest.raises(InvalidInput):
        certificates.csr_public_key("\n".join(body).encode())
    with pytest.raises(InvalidInput, match="not a PEM"):
        certificates.csr_public_key(b"hello")
