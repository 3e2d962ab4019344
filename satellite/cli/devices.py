"""`satellite device ...` (product instances) and `satellite maintenance age-devices`."""

from __future__ import annotations

from datetime import UTC, datetime, time

import click

from satellite.cli import CliContext, columns, emit_json, pass_ctx
from satellite.cli.reports import CSV_HELP, write_report
from satellite.devices import evaluation, service
from satellite.devices.aging import age_devices
from satellite.devices.models import DEVICE_STATES
from satellite.devices.moves import move_device
from satellite.errors import InvalidInput
from satellite.limits import printable
from satellite.reports.exports import Filters


@click.group("device")
def device() -> None:
    """Product instances registered with this satellite."""


@device.command("list")
@click.option("--account", default=None, help="Account name or domain identifier.")
@click.option("--va", default=None, help="Virtual account (with --account).")
@click.option("--status", type=click.Choice(DEVICE_STATES), default=None)
@click.option("--search", default=None, help="Text in the PID, serial number, host name or tag.")
@click.option("--evaluation", "in_evaluation", type=click.Choice(sorted(evaluation.FILTERS)),
              default=None, help="Only devices in evaluation (active) or whose evaluation "
                                 "period is over (expired).")
@click.option("--tag", "tagged", multiple=True,
              help="Only devices carrying this tag of yours (repeatable: all of them).")
@click.option("--limit", default=100, show_default=True)
@click.option("--offset", default=0)
@click.option("--json", "as_json", is_flag=True)
@click.option("--csv", "as_csv", is_flag=True, help=CSV_HELP)
@pass_ctx
def device_list(ctx: CliContext, account: str | None, va: str | None, status: str | None,
                search: str | None, in_evaluation: str | None, tagged: tuple[str, ...],
                limit: int, offset: int,
                as_json: bool, as_csv: bool) -> None:
    """List devices (product instances)."""
    if as_csv:
        if in_evaluation is not None:
            raise click.UsageError("--evaluation lists with --json or as text, not --csv")
        write_report(ctx, "product-instances",
                     Filters(account=account, va=va, status=status, text=search, tags=tagged))
        return
    with ctx.db.reader() as uow:
        page = service.list_devices(uow.session, ctx.actor, account=account, va=va, status=status,
                                    search=search, limit=limit, offset=offset,
                                    now=uow.clock.now(), in_evaluation=in_evaluation,
                                    tagged=tagged)
    if as_json:
        emit_json({"total": page.total, "devices": page.rows})
        return
    for row in page.rows:
        slup = row.get("slup")
        how = (f"SLUP: last report {slup['last_report_at'] or '-'}, {slup['awaiting_ack']} "
               f"awaiting ACK, last ACK {slup['last_ack_at'] or 'none'}") if slup else "agent"
        shown = row["evaluation"]
        click.echo(columns(row["udi"], row["hostname"], f"{row['account']}/{row['va']}",
                           row["status"], f"last contact {row['last_contact_at']}", how,
                           " ".join(row["tags"]) or "-",
                           *([shown["text"]] if shown and shown["state"] != evaluation.ENDED
                             else [])))
    click.echo(f"{len(page.rows)} of {page.total} devices")


@device.command("show")
@click.argument("udi")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def device_show(ctx: CliContext, udi: str, as_json: bool) -> None:
    """Show one device (UDI as PID:<pid>,SN:<serial>, or a serial number)."""
    with ctx.db.reader() as uow:
        row = service.show_device(uow.session, ctx.actor, udi, now=uow.clock.now())
    if as_json:
        emit_json(row)
        return
    for key, value in row.items():
        if key == "evaluation":
            value = value["text"] if value else "never in evaluation"
        click.echo(printable(f"{key}: {value}"))


@device.command("transfer")
@click.argument("udi")
@click.option("--to-va", required=True, help="A virtual account of the same account.")
@pass_ctx
def device_transfer(ctx: CliContext, udi: str, to_va: str) -> None:
    """Move a device, and what it consumes, to another virtual account."""
    with ctx.db.uow() as uow:
        row = service.transfer_device(uow, ctx.actor, udi, to_va)
        uow.commit()
    click.echo(f"Moved {row['udi']} to {row['account']}/{row['va']}")


@device.command("move")
@click.argument("udi")
@click.option("--to-account", required=True, help="Account name or domain identifier.")
@click.option("--to-va", required=True, help="A virtual account of that account.")
@pass_ctx
def device_move(ctx: CliContext, udi: str, to_account: str, to_va: str) -> None:
    """Move a device, and what it consumes, to a virtual account of any account (another
    account needs account administrator rights in both)."""
    with ctx.db.uow() as uow:
        row = move_device(uow, ctx.actor, udi, to_account, to_va)
        uow.commit()
    click.echo(f"Moved {row['udi']} to {row['account']}/{row['va']}")


@device.command("remove")
@click.argument("udi")
@pass_ctx
def device_remove(ctx: CliContext, udi: str) -> None:
    """Remove a device (e.g. RMA): its licenses return to the pool; it stays in history."""
    with ctx.db.uow() as uow:
        row = service.remove_device(uow, ctx.actor, udi)
        uow.commit()
    click.echo(f"Removed {row['udi']}; its licenses are back in {row['account']}/{row['va']}")


@click.group("maintenance")
def maintenance() -> None:
    """Maintenance jobs that also run on schedule under `satellite serve`."""


def _as_of(value: str | None, now: datetime) -> datetime:
    if value is None:
        return now
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"--as-of {value!r} is not a date such as 2026-06-30 or 2026-06-30T12:00") from None
    if len(value) <= 10:
        parsed = datetime.combine(parsed.date(), time(23, 59, 59))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@maintenance.command("age-devices")
@click.option("--as-of", "as_of", default=None, metavar="DATE",
              help="Age as of this date (default now); a future date needs --dry-run.")
@click.option("--dry-run", is_flag=True, help="Only show what would happen.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def age_devices_cmd(ctx: CliContext, as_of: str | None, dry_run: bool, as_json: bool) -> None:
    """Expire authorizations of silent devices and deregister those whose certificate expired."""
    with ctx.db.uow() as uow:
        now = uow.clock.now()
        when = _as_of(as_of, now)
        if when > now and not dry_run:
            raise InvalidInput("--as-of in the future only plans: add --dry-run")
        transitions = age_devices(uow, ctx.settings, when, dry_run=dry_run)
        if not dry_run:
            uow.commit()
    if as_json:
        emit_json({"as_of": when.isoformat(), "dry_run": dry_run,
                   "transitions": [t.as_dict() for t in transitions]})
        return
    verb = "would change" if dry_run else "changed"
    for t in transitions:
        click.echo(columns(t.udi, f"{t.before} -> {t.after}", t.reason))
    click.echo(f"{len(transitions)} devices {verb} as of {when:%Y-%m-%d %H:%M} UTC")


COMMANDS = [device, maintenance]
