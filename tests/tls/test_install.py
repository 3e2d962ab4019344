from __future__ import annotations

import json
import shutil
import stat
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from satellite import proxy_tls as tls
from satellite.config import Settings, load_settings
from satellite.crypto import tls as x509tls
from satellite.errors import Conflict, InvalidInput

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOST = "satellite.example.internal"
PACKAGING = Path(__file__).resolve().parents[2] / "packaging"


@dataclass
class Issued:
    cert: bytes
    key: bytes


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class SiteCA:
    """A root and an intermediate CA, as a site's PKI would have."""

    def __init__(self, root_name: str = "Site Root CA") -> None:
        self.root_key = x509tls.new_private_key()
        self.root = x509tls.issue_certificate(self.root_key, _name(root_name), self.root_key, root_name, [],
                                              NOW - timedelta(days=10), 3650, ca=True)
        self.inter_key = x509tls.new_private_key()
        self.intermediate = x509tls.issue_certificate(self.root_key, _name(root_name), self.inter_key,
                                                      "Site Issuing CA", [], NOW - timedelta(days=10), 1000,
                                                      ca=True)

    def leaf(self, host: str = HOST, days: int = 90, start: datetime = NOW) -> Issued:
        key = x509tls.new_private_key()
        cert = x509tls.issue_certificate(self.inter_key, _name("Site Issuing CA"), key, host, [],
                                         start, days, ca=False)
        return Issued(cert, x509tls.private_key_pem(key))

    @property
    def chain(self) -> bytes:
        return self.intermediate + self.root


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data", env={},
                         overrides={"device_url": f"https://{HOST}/"})


def test_a_good_certificate_with_its_chain_is_installed(settings: Settings) -> None:
    ca = SiteCA()
    leaf = ca.leaf()
    result = tls.install(settings, leaf.cert, leaf.key, ca.chain, NOW)
    assert result.chain_length == 3
    fullchain, privkey = result.files
    served = x509.load_pem_x509_certificates(fullchain.read_bytes())
    # The leaf then the intermediate; the root stays with the devices.
    assert [c.subject.rfc4514_string() for c in served] == [f"CN={HOST}", "CN=Site Issuing CA"]
    assert stat.S_IMODE(privkey.stat().st_mode) == 0o600
    assert tls.installed(settings) is not None


def test_refuses_a_certificate_whose_names_do_not_cover_the_device_url(settings: Settings) -> None:
    ca = SiteCA()
    leaf = ca.leaf(host="other.example.internal")
    with pytest.raises(InvalidInput, match=r"do not cover satellite\.example\.internal, the host of the "
                                           "device_url setting"):
        tls.install(settings, leaf.cert, leaf.key, ca.chain, NOW)
    assert not tls.tls_dir(settings).exists()


def test_a_wildcard_covers_one_label_and_ip_urls_need_an_ip_name(settings: Settings, tmp_path: Path) -> None:
    ca = SiteCA()
    wildcard = ca.leaf(host="*.example.internal")
    tls.install(settings, wildcard.cert, wildcard.key, ca.chain, NOW)
    by_ip = load_settings(data_dir=tmp_path / "ip", env={}, overrides={"device_url": "https://10.0.0.5/"})
    with pytest.raises(InvalidInput, match=r"do not cover 10\.0\.0\.5"):
        tls.install(by_ip, wildcard.cert, wildcard.key, ca.chain, NOW)


def test_refuses_a_broken_chain(settings: Settings) -> None:
    ca, impostor = SiteCA(), SiteCA()
    leaf = ca.leaf()
    # Same CA names, other keys: the links do not verify.
    with pytest.raises(InvalidInput, match="the chain is broken: CN=Site Issuing CA did not sign"):
        tls.install(settings, leaf.cert, leaf.key, impostor.chain, NOW)


def test_refuses_an_incomplete_chain(settings: Settings) -> None:
    ca = SiteCA()
    leaf = ca.leaf()
    with pytest.raises(InvalidInput, match="the chain is incomplete: nothing in it issued CN=Site Issuing"):
        tls.install(settings, leaf.cert, leaf.key, ca.intermediate, NOW)
    with pytest.raises(InvalidInput, match="the chain is incomplete"):
        tls.install(settings, leaf.cert, leaf.key, b"", NOW)


def test_refuses_a_key_that_is_not_the_certificates(settings: Settings) -> None:
    ca = SiteCA()
    leaf, other = ca.leaf(), ca.leaf()
    with pytest.raises(InvalidInput, match="the key does not belong to the certificate"):
        tls.install(settings, leaf.cert, other.key, ca.chain, NOW)


def test_refuses_expired_and_not_yet_valid_certificates(settings: Settings) -> None:
    ca = SiteCA()
    old = ca.leaf(days=30, start=NOW - timedelta(days=60))
    with pytest.raises(InvalidInput, match="expired on 2026-01-30"):
        tls.install(settings, old.cert, old.key, ca.chain, NOW)
    future = ca.leaf(start=NOW + timedelta(days=2))
    with pytest.raises(InvalidInput, match="is not valid until"):
        tls.install(settings, future.cert, future.key, ca.chain, NOW)


def test_refuses_files_that_are_not_pem(settings: Settings) -> None:
    with pytest.raises(InvalidInput, match="the certificate file holds no PEM certificate"):
        tls.install(settings, b"hello", b"", b"", NOW)


def test_request_then_install_the_signed_certificate(settings: Settings) -> None:
    key_path, csr_path = tls.request(settings, HOST, ["10.0.0.5"])
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    csr = x509.load_pem_x509_csr(csr_path.read_bytes())
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [HOST]
    with pytest.raises(Conflict, match="pending already"):
        tls.request(settings, HOST, [])
    ca = SiteCA()
    csr_key = x509tls.load_private_key(key_path.read_bytes(), "key")
    assert isinstance(csr_key, ec.EllipticCurvePrivateKey)
    signed = x509tls.issue_certificate(ca.inter_key, _name("Site Issuing CA"), csr_key, HOST, [], NOW, 90,
                                       ca=False)
    tls.install(settings, signed, key_path.read_bytes(), ca.chain, NOW)
    assert not key_path.exists()


def test_status_warns_when_the_certificate_expires_within_30_days(settings: Settings) -> None:
    tls.self_signed(settings, HOST, [], NOW, days=40)
    assert tls.warnings(settings, NOW) == []
    (warning,) = tls.warnings(settings, NOW + timedelta(days=15))
    assert warning.startswith("the TLS certificate expires in 25 days")
    (expired,) = tls.warnings(settings, NOW + timedelta(days=41))
    assert "expired" in expired


def test_status_command_shows_the_warning(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATELLITE_DEVICE_URL", f"https://{HOST}")
    assert cli("init").code == 0
    result = cli("tls", "self-signed", "--hostname", HOST, "--days", "10")
    assert result.code == 0, result.err
    status = cli("status")
    assert "warning: the TLS certificate expires in 9 days" in status.out
    refused = cli("tls", "self-signed", "--hostname", "wrong.example.internal")
    assert refused.code == 2
    assert "do not cover satellite.example.internal" in refused.err


@pytest.mark.parametrize("conf", ["satellite.conf", "satellite-ha.conf"])
def test_nginx_accepts_the_shipped_configuration(settings: Settings, tmp_path: Path, conf: str) -> None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed (.ci/run installs it)")
    ca = SiteCA()
    leaf = ca.leaf()
    tls.install(settings, leaf.cert, leaf.key, ca.chain, NOW)
    site = (PACKAGING / "nginx" / conf).read_text()
    site = site.replace("/var/lib/satellite/tls/", f"{tls.tls_dir(settings)}/")
    site = site.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {tmp_path}/site.conf;\n}}\n")
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                             "-e", str(tmp_path / "error.log")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_status_warns_when_device_url_moves_off_the_certificate(cli, monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    monkeypatch.setenv("SATELLITE_DEVICE_URL", f"https://{HOST}")
    assert cli("init").code == 0
    assert cli("tls", "self-signed", "--hostname", HOST).code == 0
    assert "does not cover" not in cli("status").out
    # The certificate was installed for the old name; device_url now names another host.
    monkeypatch.setenv("SATELLITE_DEVICE_URL", "https://licensing.example.internal")
    status = cli("status")
    assert (f"warning: the TLS certificate ({HOST}) does not cover licensing.example.internal"
            in status.out)
    info = json.loads(cli("status", "--json").out)
    assert any("does not cover" in w for w in info["warnings"])
