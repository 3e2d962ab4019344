"""`satellite-central`: the reference Central for labs and tests."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from satellite.central import classic, service
from satellite.central.ingest import IngestReport, ingest, satellites
from satellite.cloudsync.records import REGISTRATION_REQUEST, Entitlement
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
@click.option("--account", default=None,
              help="The account's domain identifier (required unless --holding is given).")
@click.option("--va", default=None, help="Virtual account the order names (else Default).")
@click.option("--holding", default=None,
              help="Put the line in this partner holding account (its domain identifier): the site "
                   "deposits it into an account of its choice.")
@click.option("--tag", required=True, help="Entitlement tag.")
@click.option("--quantity", required=True, type=int)
@click.option("--type", "license_type", required=True,
              type=click.Choice(LICENSE_TYPES, case_sensitive=False))
@click.option("--start", type=_DATE, default=None, help="Start date (TERM), YYYY-MM-DD.")
@click.option("--end", type=_DATE, default=None, help="End date (TERM), YYYY-MM-DD.")
@click.option("--display-name", default="", help="Human name of the license (default: the tag).")
@click.option("--subscription-id", default="")
@click.option("--export-controlled", is_flag=True)
def entitle_cmd(directory: str, account: str | None, va: str | None, holding: str | None,
                tag: str, quantity: int, license_type: str, start: datetime | None,
                end: datetime | None, display_name: str, subscription_id: str,
                export_controlled: bool) -> None:
    """Record an entitlement line; prints its line id."""
    if account is None and holding is None:
        raise click.UsageError("give --account, or --holding for a holding account's line")
    line = service.entitle(
        Path(directory), _now(), account=account, va=va, tag=tag, quantity=quantity,
        license_type=license_type, start_date=start.date() if start else None,
        end_date=end.date() if end else None, display_name=display_name,
        subscription_id=subscription_id, export_controlled=export_controlled, holding=holding)
    click.echo(line.line_id)


@cli.command("entitle-classic")
@_DIR
@click.option("--account", required=True, help="The account's domain identifier.")
@click.option("--pak", required=True, help="Product Activation Key number.")
@click.option("--sku", required=True, help="The product SKU of the PAK.")
@click.option("--quantity", required=True, type=int)
@click.option("--tag", required=True, help="Smart Licensing tag it converts to.")
@click.option("--va", default=None, help="Virtual account it is associated with (else none).")
@click.option("--device", default=None, help="UDI (PID:SN) of the device it is node-locked to.")
def entitle_classic_cmd(directory: str, account: str, pak: str, sku: str, quantity: int,
                        tag: str, va: str | None, device: str | None) -> None:
    """Record a classic (PAK) license; every later response lists it."""
    item = classic.entitle_classic(Path(directory), _now(), account=account, pak=pak, sku=sku,
                                   quantity=quantity, tag=tag, va=va, device=device)
    click.echo(f"classic license PAK {item.pak} SKU {item.sku}: {item.quantity} x {item.tag} "
               f"for {item.account}")


@cli.command("classic-licenses")
@_DIR
@click.option("--json", "as_json", is_flag=True)
def classic_licenses_cmd(directory: str, as_json: bool) -> None:
    """List classic licenses with what has been converted of each."""
    items = classic.list_classic(Path(directory))
    if as_json:
        click.echo(json.dumps({"classicLicenses": [i.to_record() for i in items]}, indent=2))
        return
    for i in items:
        click.echo(f"{i.account}\t{i.pak}\t{i.sku}\t{i.tag}\t{i.quantity}\t"
                   f"converted {i.converted}\t{i.va or '(no VA)'}\t{i.device or '-'}")


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
    where = f"(holding {line.holding})" if line.holding else line.va or "(Default)"
    return (f"{line.line_id}\t{line.account}\t{where}\t{line.tag}\t"
            f"{line.license_type}\t{line.quantity}")


@cli.command("account-category")
@_DIR
@click.option("--account", default=None, help="The account's domain identifier.")
@click.option("--category", default=None, type=click.Choice(("A", "B", "C", "D"),
                                                            case_sensitive=False),
              help="Export-control category: A (unrestricted) to D; C and D may not use "
                   "export-controlled functionality.")
def account_category_cmd(directory: str, account: str | None, category: str | None) -> None:
    """Set an account's export-control category, sent with every later response (without
    options: list the categories set)."""
    if (account is None) != (category is None):
        raise click.UsageError("give both --account and --category (or neither, to list)")
    if account is not None and category is not None:
        line = service.set_category(Path(directory), account, category, _now())
        click.echo(f"account {line.account}: export-control category {line.category}; "
                   "`respond` sends it")
        return
    for line in service.list_categories(Path(directory)):
        click.echo(f"{line.account}\t{line.category}")


@cli.command("respond")
@_DIR
@click.option("--satellite", "satellite_id", required=True,
              help="The satellite's id (`satellite status --json`, key satellite_id).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write.")
def respond_cmd(directory: str, satellite_id: str, out: str) -> None:
    """Write a signed response carrying the full entitlement snapshot for one satellite."""
    header = service.respond(Path(directory), satellite_id, Path(out), _now())
    click.echo(f"wrote response {header.serial} for satellite {satellite_id} to {out} "
               f"({header.payload_records} records)")


@cli.command("ingest")
@_DIR
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def ingest_cmd(directory: str, file: str, as_json: bool) -> None:
    """Take in a satellite's registration request or usage batch (verified, deduplicated)."""
    report = ingest(Path(directory), Path(file), _now(), service.load_root(Path(directory)))
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
        return
    for line in ingest_text(report):
        click.echo(line)


def ingest_text(report: IngestReport) -> list[str]:
    if report.kind == REGISTRATION_REQUEST:
        return [f"satellite {report.satellite_id}: {report.notes[0]} "
                f"({report.records} accounts); `respond` sends its certificate"]
    span = (f"events {report.first_sequence}-{report.last_sequence}" if report.records
            else "no events")
    lines = [f"batch {report.batch_id} (serial {report.serial}) from satellite "
             f"{report.satellite_id}: {report.records} records, {span}",
             f"  new: {report.new}, duplicates (already received, counted once): "
             f"{report.duplicates}"]
    lines += [f"  GAP: events {a}-{b} are missing; nothing after {a - 1} is acknowledged "
              "until they arrive" for a, b in report.missing]
    lines += [f"  note: {note}" for note in report.notes]
    lines.append(f"  acknowledged through {report.acked_through}")
    return lines


@cli.command("satellites")
@_DIR
@click.option("--json", "as_json", is_flag=True)
def satellites_cmd(directory: str, as_json: bool) -> None:
    """List registered satellites, their acknowledged sequence and current usage."""
    rows = satellites(Path(directory))
    if as_json:
        click.echo(json.dumps({"satellites": rows}, indent=2))
        return
    for row in rows:
        click.echo(f"{row['satellite_id']}\tkey {row['key_id']}\tacked through "
                   f"{row['acked_through']}\t{row['events']} events\t"
                   f"{len(row['usage'])} usage rows")


@cli.command("policy")
@_DIR
@click.option("--sync-overdue-days", type=int, default=None)
@click.option("--sync-interval-hours", type=float, default=None)
def policy_cmd(directory: str, sync_overdue_days: int | None,
               sync_interval_hours: float | None) -> None:
    """Set policy values that every later response carries."""
    values = {k: v for k, v in (("sync_overdue_days", sync_overdue_days),
                                ("sync_interval_hours", sync_interval_hours)) if v is not None}
    for key, value in service.set_policy(Path(directory), values).items():
        click.echo(f"policy {key} = {value}")


@cli.command("serve")
@_DIR
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, type=int, show_default=True)
@click.option("--fail-first", default=0, type=int,
              help="Lab rehearsal: answer 503 to the first N sync requests.")
@click.option("--delay", "delay_seconds", default=0.0, type=float,
              help="Lab rehearsal: wait this long between taking a bundle in and answering.")
def serve_cmd(directory: str, host: str, port: int, fail_first: int,
              delay_seconds: float) -> None:
    """Network mode: satellites POST bundles to /api/v1/sync and get the response back."""
    from satellite.central.server import serve

    serve(Path(directory), host, port, _now, fail_first, delay_seconds)


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
