"""`satellite-central`: the reference Central for labs and tests."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from satellite.central import service
from satellite.cloudsync.records import Entitlement
from satellite.errors import SatelliteError
from satellite.licenses.models import LICENSE_TYPES

_DIR = click.option("--dir", "directory", required=True, type=click.Path(file_okay=False),
                    help="Central's directory (key, public key, state).")
_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _now() -> datetime:
    return datetime.now(UTC)


@click.group()
def cli() -> None:
    """Reference Central: entitlements in, signed responses out."""


@cli.command("init")
@_DIR
def init_cmd(directory: str) -> None:
    """Create the central root key; writes the trust anchor DIR/central.pub."""
    info, created = service.init_central(Path(directory), _now())
    verb = "Initialised" if created else "Checked"
    click.echo(f"{verb} central {info.central_id} in {directory}")
    click.echo(f"  root key {info.key_id}; give {info.public_key_file} to "
               "`satellite init --central-key`")


@cli.command("entitle")
@_DIR
@click.option("--account", required=True, help="The account's domain identifier.")
@click.option("--va", default=None, help="Virtual account the order names (else Default).")
@click.option("--tag", required=True, help="Entitlement tag.")
@click.option("--quantity", required=True, type=int)
@click.option("--type", "license_type", required=True,
              type=click.Choice(LICENSE_TYPES, case_sensitive=False))
@click.option("--start", type=_DATE, default=None, help="Start date (TERM), YYYY-MM-DD.")
@click.option("--end", type=_DATE, default=None, help="End date (TERM), YYYY-MM-DD.")
@click.option("--display-name", default="", help="Human name of the license (default: the tag).")
@click.option("--subscription-id", default="")
@click.option("--export-controlled", is_flag=True)
def entitle_cmd(directory: str, account: str, va: str | None, tag: str, quantity: int,
                license_type: str, start: datetime | None, end: datetime | None,
                display_name: str, subscription_id: str, export_controlled: bool) -> None:
    """Record an entitlement line; prints its line id."""
    line = service.entitle(
        Path(directory), _now(), account=account, va=va, tag=tag, quantity=quantity,
        license_type=license_type, start_date=start.date() if start else None,
        end_date=end.date() if end else None, display_name=display_name,
        subscription_id=subscription_id, export_controlled=export_controlled)
    click.echo(line.line_id)


@cli.command("set-quantity")
@_DIR
@click.option("--line", "line_id", required=True)
@click.option("--quantity", required=True, type=int)
def set_quantity_cmd(directory: str, line_id: str, quantity: int) -> None:
    """Amend an entitlement line's quantity."""
    line = service.set_quantity(Path(directory), line_id, quantity)
    click.echo(f"line {line.line_id}: quantity {line.quantity}")


@cli.command("unentitle")
@_DIR
@click.option("--line", "line_id", required=True)
def unentitle_cmd(directory: str, line_id: str) -> None:
    """Remove an entitlement line; the next response no longer lists it."""
    service.unentitle(Path(directory), line_id)
    click.echo(f"removed line {line_id}")


@cli.command("entitlements")
@_DIR
@click.option("--json", "as_json", is_flag=True)
def entitlements_cmd(directory: str, as_json: bool) -> None:
    """List the entitlement lines."""
    lines = service.list_entitlements(Path(directory))
    if as_json:
        click.echo(json.dumps({"entitlements": [line.to_record() for line in lines]}, indent=2))
        return
    for line in lines:
        click.echo(_line_text(line))


def _line_text(line: Entitlement) -> str:
    return (f"{line.line_id}\t{line.account}\t{line.va or '(Default)'}\t{line.tag}\t"
            f"{line.license_type}\t{line.quantity}")


@cli.command("respond")
@_DIR
@click.option("--satellite", "satellite_id", required=True,
              help="The satellite's id (`satellite status --json`, key satellite_id).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write.")
def respond_cmd(directory: str, satellite_id: str, out: str) -> None:
    """Write a signed response carrying the full entitlement snapshot for one satellite."""
    header = service.respond(Path(directory), satellite_id, Path(out), _now())
    click.echo(f"wrote response {header.serial} for satellite {satellite_id} to {out} "
               f"({header.payload_records} entitlement lines)")


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="satellite-central", standalone_mode=False)
    except SatelliteError as exc:
        click.echo(f"satellite-central: error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"satellite-central: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("satellite-central: error: aborted", err=True)
        sys.exit(1)
    sys.exit(0)
