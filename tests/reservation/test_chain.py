"""The device's trust in a satellite key: a certificate chain up to a Central anchor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from satellite.crypto import certificates, keys
from satellite.errors import InvalidInput, VerificationFailed
from satellite.reservation import codes
from satellite.reservation.chain import read_anchor, verify_chain
from tests.reservation import vectors as v
from tests.reservation.certify import issue

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def central_pub() -> keys.PublicKey:
    return keys.public_key_from_pem(v.CENTRAL_PUB_PEM)


def test_the_vector_certificate_certifies_the_vector_key_under_the_vector_anchor() -> None:
    central = keys.private_key_from_pem(v.CENTRAL_KEY_PEM)
    assert keys.key_id(keys.public_key_of(central)) == v.CENTRAL_KEY_ID
    certified = verify_chain(v.SATELLITE_CERTIFICATE, [central_pub()], AT)
    assert certified.key_id == v.SATELLITE_KEY_ID
    assert certified.subject == "CN=satellite-test-vector"
    assert (certified.not_before, certified.not_after) == (
        datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
    codes.AuthorizationCode.decode(v.AUTHORIZATION).verify([certified.public])


def test_an_anchor_is_read_from_a_public_key_or_a_certificate() -> None:
    central = keys.generate_private_key()
    ca = certificates.create_ca_certificate(central, "Central x", AT)
    expected = keys.key_id(keys.public_key_of(central))
    assert keys.key_id(read_anchor(ca, "central-ca.crt")) == expected
    assert keys.key_id(read_anchor(keys.public_key_to_pem(keys.public_key_of(central)),
                                   "central.pub")) == expected
    with pytest.raises(InvalidInput, match="not a PEM public key"):
        read_anchor(b"hello", "anchor.txt")


def test_an_intermediate_issued_by_the_anchor_is_followed() -> None:
    central = keys.generate_private_key()
    ca = certificates.create_ca_certificate(central, "Central x", AT)
    satellite = keys.generate_private_key()
    leaf = certificates.issue_certificate(central, ca, keys.public_key_of(satellite),
                                          common_name="sat", now=AT, days=30)
    certified = verify_chain(leaf + ca, [keys.public_key_of(central)], AT)
    assert certified.key_id == keys.key_id(keys.public_key_of(satellite))
    with pytest.raises(VerificationFailed, match="is a CA certificate, not a satellite"):
        verify_chain(ca, [keys.public_key_of(central)], AT)
    # The chain in the wrong order: the CA first.
    with pytest.raises(VerificationFailed, match="is a CA certificate"):
        verify_chain(ca + leaf, [keys.public_key_of(central)], AT)


def test_refusals_name_what_is_wrong() -> None:
    central, other = keys.generate_private_key(), keys.generate_private_key()
    satellite = keys.public_key_of(keys.generate_private_key())
    chain = issue(central, satellite, AT, days=30)
    with pytest.raises(VerificationFailed, match="no Central trust anchor"):
        verify_chain(chain, [], AT)
    other_id = keys.key_id(keys.public_key_of(other))
    with pytest.raises(VerificationFailed, match=rf"issued by CN=Central test, which is not a "
                       rf"Central this device trusts \(trust anchors: {other_id}\)"):
        verify_chain(chain, [keys.public_key_of(other)], AT)
    with pytest.raises(VerificationFailed, match=r"expired at 2026-03-31T11:55:00\+00:00"):
        verify_chain(chain, [keys.public_key_of(central)], AT + timedelta(days=30))
    with pytest.raises(VerificationFailed, match=r"not valid before .* check this device.s clock"):
        verify_chain(chain, [keys.public_key_of(central)], AT - timedelta(days=1))
    with pytest.raises(InvalidInput, match=r"not a list of PEM X\.509 certificates"):
        verify_chain(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                     [keys.public_key_of(central)], AT)


def test_a_certificate_whose_key_may_not_sign_is_refused() -> None:
    central = keys.generate_private_key()
    satellite = keys.public_key_of(keys.generate_private_key())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sat")])
    pem = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(satellite)
           .serial_number(7).not_valid_before(AT - timedelta(days=1))
           .not_valid_after(AT + timedelta(days=1))
           .add_extension(x509.KeyUsage(
               digital_signature=False, content_commitment=False, key_encipherment=False,
               data_encipherment=False, key_agreement=True, key_cert_sign=False, crl_sign=False,
               encipher_only=False, decipher_only=False), critical=True)
           .sign(central, None).public_bytes(serialization.Encoding.PEM))
    with pytest.raises(VerificationFailed, match="does not allow its key to make signatures"):
        verify_chain(pem, [keys.public_key_of(central)], AT)
