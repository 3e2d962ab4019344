"""X.509 for the device CA and Central: self-signed Ed25519 CAs and the certificates they issue."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from satellite.clock import as_utc
from satellite.crypto.keys import PrivateKey, PublicKey, key_id, public_key_of
from satellite.errors import InvalidInput, VerificationFailed

# Certificates start slightly in the past so a device with a lagging clock accepts them.
BACKDATE = timedelta(minutes=5)


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    serial: int
    not_before: datetime
    not_after: datetime
    is_ca: bool
    public_key_id: str
    # KeyUsage: absent means unrestricted, as RFC 5280 reads it.
    may_sign: bool = True
    may_certify: bool = True


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    if not common_name:
        raise InvalidInput("a certificate needs a common name")
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _load(pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise InvalidInput("not a PEM X.509 certificate") from None


def create_ca_certificate(ca_key: PrivateKey, common_name: str, now: datetime,
                          days: int = 7300, organization: str | None = None) -> bytes:
    """Return a self-signed CA certificate (PEM) that may issue leaf certificates only."""
    public = public_key_of(ca_key)
    name = _name(common_name, organization)
    start = as_utc(now) - BACKDATE
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    return builder.sign(ca_key, None).public_bytes(serialization.Encoding.PEM)


def issue_certificate(ca_key: PrivateKey, ca_certificate: bytes, subject_key: PublicKey, *,
                      common_name: str, now: datetime, days: int,
                      serial: int | None = None, organization: str | None = None) -> bytes:
    """Issue a client (leaf) certificate for `subject_key`, valid `days` from `now`.

    Returns the PEM certificate. Raises InvalidInput if the CA key does not match its certificate.
    """
    return Issuer(ca_key, ca_certificate).issue(
        subject_key, common_name=common_name, now=now, days=days, serial=serial,
        organization=organization).public_bytes(serialization.Encoding.PEM)


class Issuer:
    """A CA ready to issue leaf certificates: its certificate is read and checked once."""

    def __init__(self, ca_key: PrivateKey, ca_certificate: bytes) -> None:
        ca_cert = _load(ca_certificate)
        if key_id(public_key_of(ca_key)) != key_id(ca_cert.public_key()):  # type: ignore[arg-type]
            raise InvalidInput("the CA private key does not belong to the CA certificate")
        self._ca_key = ca_key
        self._issuer = ca_cert.subject
        self._authority_key_id = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value)

    def issue(self, subject_key: PublicKey, *, common_name: str, now: datetime, days: int,
              serial: int | None = None, organization: str | None = None) -> x509.Certificate:
        """A client (leaf) certificate for `subject_key`, valid `days` from `now`."""
        if days < 1:
            raise InvalidInput("a certificate must be valid for at least one day")
        start = as_utc(now) - BACKDATE
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, organization))
            .issuer_name(self._issuer)
            .public_key(subject_key)
            .serial_number(serial if serial is not None else _random_serial())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_LEAF_KEY_USAGE, critical=True)
            .add_extension(_CLIENT_AUTH, critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key),
                           critical=False)
            .add_extension(self._authority_key_id, critical=False)
        )
        return builder.sign(self._ca_key, None)


_LEAF_KEY_USAGE = x509.KeyUsage(
    digital_signature=True, content_commitment=False, key_encipherment=False,
    data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
    encipher_only=False, decipher_only=False)
_CLIENT_AUTH = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])


def _random_serial() -> int:
    # Positive, at most 159 bits, as RFC 5280 asks.
    return secrets.randbits(159) | 1


def describe(pem: bytes) -> CertificateInfo:
    cert = _load(pem)
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    try:
        usage: x509.KeyUsage | None = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
        serial=cert.serial_number, not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc, is_ca=is_ca,
        public_key_id=key_id(_public_key(cert)),
        may_sign=usage is None or usage.digital_signature,
        may_certify=is_ca and (usage is None or usage.key_cert_sign),
    )


def _public_key(cert: x509.Certificate) -> PublicKey:
    public = cert.public_key()
    if not isinstance(public, PublicKey):
        raise InvalidInput("the certificate's key is not an Ed25519 key")
    return public


def certified_key(pem: bytes) -> PublicKey:
    """The Ed25519 public key a certificate certifies. Raises InvalidInput."""
    return _public_key(_load(pem))


def split_pem(data: bytes, source: str = "the data") -> list[bytes]:
    """The certificates of a PEM bundle, in order, each as its own PEM.

    Raises InvalidInput when there is none or one cannot be read.
    """
    try:
        found = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise InvalidInput(f"{source} is not a list of PEM X.509 certificates") from None
    return [cert.public_bytes(serialization.Encoding.PEM) for cert in found]


def signed_by(certificate: bytes, issuer: PublicKey) -> bool:
    """Whether `issuer` made the certificate's signature (over its to-be-signed part)."""
    cert = _load(certificate)
    try:
        issuer.verify(cert.signature, cert.tbs_certificate_bytes)
    except InvalidSignature:
        return False
    return True


def verify_issued(ca_certificate: bytes, certificate: bytes, at: datetime) -> CertificateInfo:
    """Check that `certificate` was issued by the CA and is valid at `at`.

    Returns its description. Raises VerificationFailed naming what is wrong.
    """
    ca_cert = _load(ca_certificate)
    cert = _load(certificate)
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError) as exc:
        raise VerificationFailed(f"the certificate was not issued by this CA: {exc}") from None
    except InvalidSignature:
        raise VerificationFailed(
            "the certificate's signature does not verify with this CA") from None
    info = describe(certificate)
    at = as_utc(at)
    if at < info.not_before:
        raise VerificationFailed(
            f"the certificate is not valid before {info.not_before.isoformat()}")
    if at >= info.not_after:
        raise VerificationFailed(f"the certificate expired at {info.not_after.isoformat()}")
    return info


def create_csr(private: PrivateKey, common_name: str) -> bytes:
    """A PEM certificate signing request for `private`'s public key."""
    request = x509.CertificateSigningRequestBuilder().subject_name(_name(common_name))
    return request.sign(private, None).public_bytes(serialization.Encoding.PEM)


def csr_public_key(pem: bytes) -> PublicKey:
    """The Ed25519 key of a certificate signing request, once its self-signature checks out.

    Raises InvalidInput for anything that is not a validly signed Ed25519 CSR.
    """
    try:
        request = x509.load_pem_x509_csr(pem)
    except ValueError:
        raise InvalidInput("the CSR is not a PEM certificate signing request") from None
    public = request.public_key()
    if not isinstance(public, PublicKey):
        raise InvalidInput("the CSR's key is not an Ed25519 key")
    if not request.is_signature_valid:
        raise InvalidInput("the CSR's signature does not verify with its own key")
    return public
