"""`satellite tls request|self-signed|install`: the certificate the reverse proxy serves."""

from __future__ import annotations

from pathlib import Path

import click

from satellite import proxy_tls as tls
from satellite.cli import CliContext, fail, pass_ctx


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        fail(f"cannot read {what} {path}: {exc.strerror}")


def _report(result: tls.InstalledCertificate) -> None:
    info = result.info
    names = ", ".join(info.dns_names + info.ip_addresses)
    click.echo(f"Installed certificate for {names}, valid until {info.not_after:%Y-%m-%d}")
    click.echo(f"  issuer: {info.issuer}; chain of {result.chain_length}; SHA-256 {info.fingerprint_sha256}")
    for path in result.files:
        click.echo(f"  wrote {path}")
    for note in result.notes:
        click.echo(f"  note: {note}")
    click.echo("  reload the reverse proxy to serve it: systemctl reload nginx")


@click.group("tls")
def tls_group() -> None:
    """The TLS certificate devices see (served by the reverse proxy)."""


@tls_group.command("request")
@click.option("--hostname", required=True, help="Host name devices use to reach this satellite.")
@click.option("--ip", "ips", multiple=True, help="An IP address devices may use (repeatable).")
@pass_ctx
def request_cmd(ctx: CliContext, hostname: str, ips: tuple[str, ...]) -> None:
    """Write a new private key and a certificate signing request for the site's CA."""
    key_path, csr_path = tls.request(ctx.settings, hostname, list(ips))
    click.echo(f"Wrote the key {key_path} (keep it here) and the request {csr_path}")
    click.echo(f"  have the site CA sign {csr_path.name}, then run: satellite tls install CERT {key_path} "
               "--chain CA-CHAIN")


@tls_group.command("self-signed")
@click.option("--hostname", required=True, help="Host name devices use to reach this satellite.")
@click.option("--ip", "ips", multiple=True, help="An IP address devices may use (repeatable).")
@click.option("--days", default=365, show_default=True, type=int, help="Validity.")
@pass_ctx
def self_signed_cmd(ctx: CliContext, hostname: str, ips: tuple[str, ...], days: int) -> None:
    """Make and install a self-signed certificate (labs only)."""
    from satellite.clock import SystemClock

    _report(tls.self_signed(ctx.settings, hostname, list(ips), SystemClock().now(), days))


@tls_group.command("install")
@click.argument("cert", type=click.Path(dir_okay=False))
@click.argument("key", type=click.Path(dir_okay=False))
@click.option("--chain", type=click.Path(dir_okay=False), help="The issuing CA certificates (PEM).")
@pass_ctx
def install_cmd(ctx: CliContext, cert: str, key: str, chain: str | None) -> None:
    """Check and install a certificate, its key and chain; refuse when devices would not accept it."""
    from satellite.clock import SystemClock

    chain_pem = _read(chain, "chain file") if chain else b""
    result = tls.install(ctx.settings, _read(cert, "certificate file"), _read(key, "key file"), chain_pem,
                         SystemClock().now())
    _report(result)


COMMANDS = [tls_group]
