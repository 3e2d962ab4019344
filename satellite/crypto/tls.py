"""X.509 for the TLS front end: keys, CSRs, lab certificates, and checking what an operator installs."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from satellite.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    fingerprint_sha256: str


def new_private_key() -> ec.EllipticCurvePrivateKey:
    # P-256: accepted by every TLS client a device is likely to ship with.
    return ec.generate_private_key(ec.SECP256R1())


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _names(hostname: str, ips: list[IPAddress]) -> x509.SubjectAlternativeName:
    general: list[x509.GeneralName] = [x509.DNSName(hostname)]
    general += [x509.IPAddress(ip) for ip in ips]
    return x509.SubjectAlternativeName(general)


def _subject(hostname: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])


def certificate_request(key: ec.EllipticCurvePrivateKey, hostname: str, ips: list[IPAddress]) -> bytes:
    """Return a PEM CSR naming the host (and addresses) as subjectAltNames."""
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(_subject(hostname))
           .add_extension(_names(hostname, ips), critical=False)
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM)


def self_signed_certificate(key: ec.EllipticCurvePrivateKey, hostname: str, ips: list[IPAddress],
                            now: datetime, days: int) -> bytes:
    return issue_certificate(key, _subject(hostname), key, hostname, ips, now, days, ca=False)


def issue_certificate(issuer_key: CertificateIssuerPrivateKeyTypes, issuer: x509.Name,
                      subject_key: ec.EllipticCurvePrivateKey, hostname: str, ips: list[IPAddress],
                      now: datetime, days: int, *, ca: bool) -> bytes:
    """Return a PEM certificate; `ca=True` makes a CA certificate (used for site CAs in labs)."""
    builder = (x509.CertificateBuilder()
               .subject_name(_subject(hostname))
               .issuer_name(issuer)
               .public_key(subject_key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(minutes=5))
               .not_valid_after(now + timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = (builder.add_extension(_names(hostname, ips), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def load_certificates(pem: bytes, what: str) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise InvalidInput(f"{what} holds no PEM certificate") from None
    return certs


TLSKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def load_private_key(pem: bytes, what: str) -> TLSKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise InvalidInput(f"{what} is not an unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise InvalidInput(f"{what} holds a key type nginx cannot serve TLS with (use EC or RSA)")
    return key


def _public_der(key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey | object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return b""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches(cert: x509.Certificate, key: TLSKey) -> bool:
    mine = _public_der(key.public_key())
    return bool(mine) and mine == _public_der(cert.public_key())


def describe(cert: x509.Certificate) -> CertificateInfo:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = tuple(san.get_values_for_type(x509.DNSName))
        ips = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        dns, ips = (), ()
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        dns_names=dns, ip_addresses=ips,
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(":"),
    )


def is_self_issued(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject and issued_by(cert, cert)


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when `issuer`'s key signed `cert` (and the names link)."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def encode_certificates(certs: list[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
