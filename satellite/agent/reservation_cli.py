"""`satellite-agent --state DIR reservation ...`: the device side of offline reservation."""

from __future__ import annotations

import json
from pathlib import Path

import click

from satellite.agent.reservation import ReservationDevice
from satellite.reservation import files
from satellite.reservation.codes import AuthorizationCode


def _device(ctx: click.Context) -> ReservationDevice:
    # The agent's root command owns `--state DIR`; read it from there whatever its obj is.
    params = ctx.find_root().params
    state = params.get("state") or params.get("state_dir")
    if not state:
        raise click.UsageError("give the device's state directory with --state DIR")
    return ReservationDevice(Path(state))


def _describe(auth: AuthorizationCode) -> list[str]:
    out = [f"Installed {auth.kind} reservation for {auth.udi}, serial {auth.serial}, "
           f"signed by satellite key {auth.key_id}"]
    if not auth.entitlements:
        out.append("  all features of the product (permanent reservation)")
    for e in auth.entitlements:
        dates = f" {e.start} to {e.end}" if e.end else ""
        out.append(f"  {e.tag}: {e.count} ({e.license_type}{dates})")
    return out


@click.group("reservation")
def reservation() -> None:
    """Offline license reservation (SLR/PLR) for a device with no network."""


@reservation.command("request")
@click.option("--pid", required=True, help="Product id of this device.")
@click.option("--sn", required=True, help="Serial number of this device.")
@click.pass_context
def request_cmd(ctx: click.Context, pid: str, sn: str) -> None:
    """Print the request code to carry to the satellite."""
    click.echo(_device(ctx).request(pid, sn))


@reservation.command("trust-anchor")
@click.argument("anchor_file", type=click.Path(dir_okay=False, exists=True))
@click.pass_context
def trust_anchor_cmd(ctx: click.Context, anchor_file: str) -> None:
    """Trust Central's key (central.pub, or Central's certificate) as the anchor that
    satellite certificates must lead to."""
    key_id = _device(ctx).trust_anchor(Path(anchor_file).read_bytes(), anchor_file)
    click.echo(f"Trusting Central key {key_id} as a trust anchor")


@reservation.command("chain")
@click.argument("chain_file", type=click.Path(dir_okay=False, exists=True))
@click.pass_context
def chain_cmd(ctx: click.Context, chain_file: str) -> None:
    """Import a satellite's certificate chain (from `satellite reservation chain`, or an
    authorization file), verified against the trust anchor."""
    text = Path(chain_file).read_text(errors="replace")
    certified = _device(ctx).add_chain(files.read_chain(text))
    click.echo(f"Satellite key {certified.key_id} ({certified.subject}) is certified by Central "
               f"until {certified.not_after.isoformat()}")


@reservation.command("install")
@click.argument("code_or_file")
@click.pass_context
def install_cmd(ctx: click.Context, code_or_file: str) -> None:
    """Verify and install an authorization code (the code itself, or its file, which also
    carries the satellite's certificate chain)."""
    try:
        is_file = Path(code_or_file).is_file()
    except OSError:  # a long code is not a usable file name
        is_file = False
    text = Path(code_or_file).read_text() if is_file else code_or_file
    result = _device(ctx).install(text)
    if result.already_installed:
        click.echo(f"Serial {result.authorization.serial} is already installed")
    else:
        for line in _describe(result.authorization):
            click.echo(line)
    if result.confirmation_code:
        click.echo(f"Confirmation code: {result.confirmation_code}")


@reservation.command("return")
@click.pass_context
def return_cmd(ctx: click.Context) -> None:
    """Give the reservation up and print the return code for the satellite."""
    click.echo(_device(ctx).give_back())


@reservation.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def status_cmd(ctx: click.Context, as_json: bool) -> None:
    """Show the request, what is installed, the trust anchors and certified satellite keys."""
    device = _device(ctx)
    info = device.status()
    if as_json:
        click.echo(json.dumps(info, indent=2, sort_keys=True))
        return
    if info["udi"] is None:
        click.echo("No reservation requested")
    else:
        click.echo(f"UDI: {info['udi']}")
        if info["returned"]:
            click.echo("Reservation returned")
        elif info["request_code"]:
            click.echo(f"Request code: {info['request_code']}")
        auth = device.installed()
        for line in _describe(auth) if auth else ["Nothing installed"]:
            click.echo(line)
    for anchor in info["anchors"] or ["none (run `reservation trust-anchor FILE`)"]:
        click.echo(f"Trust anchor: {anchor}")
    for key in info["satellite_keys"]:
        click.echo(f"Satellite key {key['key_id']} ({key['subject']}), certified until "
                   f"{key['not_after']}")
