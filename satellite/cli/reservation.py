"""`satellite reservation ...`: offline SLR/PLR codes for devices with no network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from satellite.accounts.service import account_for
from satellite.cli import CliContext, emit_json, pass_ctx
from satellite.cli.reports import CSV_HELP, write_report
from satellite.cloudsync.central_registration import satellite_certificate
from satellite.errors import InvalidInput
from satellite.keystore import open_keystore
from satellite.reports.exports import Filters
from satellite.reservation import codes, files, service
from satellite.reservation.models import RESERVATION_STATES, Reservation
from satellite.reservation.schemas import reservation_row, reservation_rows
from satellite.reservation.signer import CodeSigner, code_signer


def _licenses(values: tuple[str, ...]) -> dict[str, int]:
    found: dict[str, int] = {}
    for value in values:
        tag, sep, count = value.partition("=")
        if not sep or not tag.strip() or not count.strip().isdigit():
            raise InvalidInput(f"--license {value!r} is not TAG=COUNT")
        if tag.strip() in found:
            raise InvalidInput(f"--license names {tag.strip()!r} twice")
        found[tag.strip()] = int(count)
    return found


def _signer(ctx: CliContext) -> CodeSigner:
    return code_signer(ctx.db, open_keystore(ctx.settings))


def _write_file(out: str, code: str, r: Reservation, chain: bytes | None) -> None:
    key_id = codes.AuthorizationCode.decode(code).key_id
    Path(out).write_text(files.authorization_file(code, service.udi_of(r), key_id, chain))


def _show_issued(ctx: CliContext, issued: service.Issued, as_json: bool, out: str | None,
                 row: dict[str, Any]) -> None:
    if out:
        _write_file(out, issued.code, issued.reservation, issued.chain)
    if as_json:
        emit_json({**row, "authorizationCode": issued.code})
        return
    click.echo(issued.code)


@click.group("reservation")
def reservation() -> None:
    """Offline license reservations (SLR: specific, PLR: permanent)."""


@reservation.command("authorize")
@click.argument("account_ref", metavar="ACCOUNT")
@click.argument("va_name", metavar="VA")
@click.option("--request-code", required=True, help="The device's request code.")
@click.option("--license", "licenses", multiple=True, metavar="TAG=N",
              help="A tag and count to reserve (repeat for several tags).")
@click.option("--permanent", is_flag=True, help="A permanent reservation (PLR): everything.")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Also write the authorization file (code and certificate chain) for devices "
                   "that import files.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def authorize_cmd(ctx: CliContext, account_ref: str, va_name: str, request_code: str,
                  licenses: tuple[str, ...], permanent: bool, out: str | None,
                  as_json: bool) -> None:
    """Authorize a device's request code; prints the authorization code."""
    if bool(licenses) == permanent:
        raise click.UsageError("give --license TAG=N (one or more) or --permanent, not both")
    signer = _signer(ctx)
    with ctx.db.uow() as uow:
        issued = service.authorize(uow, ctx.actor, account_ref, va_name, request_code,
                                   None if permanent else _licenses(licenses), signer)
        row = reservation_row(uow.session, issued.reservation)
        uow.commit()
    _show_issued(ctx, issued, as_json, out, row)


@reservation.command("update")
@click.argument("udi", metavar="PID:SN")
@click.option("--license", "licenses", multiple=True, required=True, metavar="TAG=N",
              help="The new full set of tags and counts.")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Also write the authorization file (code and certificate chain).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def update_cmd(ctx: CliContext, udi: str, licenses: tuple[str, ...], out: str | None,
               as_json: bool) -> None:
    """Issue a new authorization code (next serial) with new counts."""
    signer = _signer(ctx)
    with ctx.db.uow() as uow:
        issued = service.update(uow, ctx.actor, udi, _licenses(licenses), signer)
        row = reservation_row(uow.session, issued.reservation)
        uow.commit()
    _show_issued(ctx, issued, as_json, out, row)


@reservation.command("confirm")
@click.argument("udi", metavar="PID:SN")
@click.option("--code", required=True, help="The device's confirmation code.")
@pass_ctx
def confirm_cmd(ctx: CliContext, udi: str, code: str) -> None:
    """Enter the device's confirmation code; decreases are released."""
    with ctx.db.uow() as uow:
        r = service.confirm(uow, ctx.actor, udi, code)
        uow.commit()
    click.echo(f"Confirmed serial {r.confirmed_serial} for {service.udi_of(r)}")


@reservation.command("return")
@click.option("--code", required=True, help="The device's return code.")
@pass_ctx
def return_cmd(ctx: CliContext, code: str) -> None:
    """Enter a device's return code; its licenses go back to the pool."""
    with ctx.db.uow() as uow:
        r = service.return_reservation(uow, ctx.actor, code)
        uow.commit()
    click.echo(f"Returned the {r.kind} reservation of {service.udi_of(r)}")


@reservation.command("list")
@click.option("--account", "account_ref", default=None)
@click.option("--status", type=click.Choice(RESERVATION_STATES), default=None)
@click.option("--tag", "tagged", multiple=True,
              help="Only reservations carrying this tag of yours (repeatable: all of them).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--csv", "as_csv", is_flag=True, help=CSV_HELP)
@pass_ctx
def list_cmd(ctx: CliContext, account_ref: str | None, status: str | None,
             tagged: tuple[str, ...], as_json: bool, as_csv: bool) -> None:
    """List reservations."""
    if as_csv:
        write_report(ctx, "reservations", Filters(account=account_ref, status=status,
                                                  tags=tagged))
        return
    with ctx.db.reader() as uow:
        account_id = (account_for(uow.session, ctx.actor, account_ref, "reservation.view").id
                      if account_ref else None)
        rows = reservation_rows(uow.session, service.list_reservations(
            uow.session, ctx.actor, account_id, status, tagged=tagged))
    if as_json:
        emit_json({"reservations": rows})
        return
    for row in rows:
        licenses = ", ".join(f"{ln['tag']}={ln['count']}" for ln in row["licenses"] if ln["count"])
        click.echo(f"{row['udi']}\t{row['kind']}\t{row['status']}\t{row['account']}/"
                   f"{row['virtualAccount']}\tserial {row['serial']}\t{licenses or '-'}\t"
                   f"{' '.join(row['tags']) or '-'}")


@reservation.command("show")
@click.argument("udi", metavar="PID:SN")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Also write the authorization file (code and certificate chain) again.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def show_cmd(ctx: CliContext, udi: str, out: str | None, as_json: bool) -> None:
    """Show a UDI's reservation and its last authorization code (to give it again)."""
    with ctx.db.reader() as uow:
        r = service.latest(uow.session, udi)
        row = {**reservation_row(uow.session, r), "authorizationCode": r.authorization_code}
        certificate = satellite_certificate(uow.session, open_keystore(ctx.settings))
    if out:
        _write_file(out, r.authorization_code, r, certificate)
    if as_json:
        emit_json(row)
        return
    for key in ("udi", "kind", "status", "account", "virtualAccount", "serial", "confirmedSerial",
                "awaitingConfirmation", "issuedAt", "closedAt", "closeReason"):
        if row[key] is not None:
            click.echo(f"{key}: {row[key]}")
    for ln in row["licenses"]:
        dates = f" {ln['start']} to {ln['end']}" if ln["end"] else ""
        click.echo(f"  {ln['tag']}: {ln['count']} (reserved {ln['reserved']}, {ln['type']}{dates})")
    click.echo(f"authorizationCode: {row['authorizationCode']}")


@reservation.command("remove")
@click.argument("udi", metavar="PID:SN")
@click.option("--reason", required=True, help="Why the device can never return it (audited).")
@pass_ctx
def remove_cmd(ctx: CliContext, udi: str, reason: str) -> None:
    """Force-remove a reservation (system administrator; failed or RMA'd device)."""
    # The console operator is the appliance's system administrator.
    with ctx.db.uow() as uow:
        r = service.remove(uow, ctx.actor, udi, reason)
        uow.commit()
    click.echo(f"Removed the {r.kind} reservation of {service.udi_of(r)}: {reason}")


@reservation.command("chain")
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Write the chain to FILE instead of printing it.")
@pass_ctx
def chain_cmd(ctx: CliContext, out: str | None) -> None:
    """Print the certificate chain devices verify authorization codes with (PEM)."""
    chain = _signer(ctx).chain(ctx.db.clock.now())
    if out:
        Path(out).write_bytes(chain)
        click.echo(f"Wrote the certificate chain to {out}")
    else:
        click.echo(chain.decode("ascii"), nl=False)


COMMANDS = [reservation]
