"""`satellite slup ...`: Cisco Smart Licensing Using Policy usage reports and their ACKs."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import IO

import click

from satellite.cli import CliContext, emit_json, pass_ctx
from satellite.errors import InvalidInput
from satellite.slup import acks, cssm, service


@click.group("slup")
def slup() -> None:
    """Cisco SLUP usage (RUM) reports: import, carry to Central or CSSM, ACKs back."""


def _open(stack: ExitStack, path: str) -> tuple[str, IO[bytes]]:
    try:
        return path, stack.enter_context(Path(path).open("rb"))
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc.strerror})") from None


@slup.command("import")
@click.argument("files", nargs=-1, required=True)
@click.option("--account", required=True, help="Account name or domain identifier.")
@click.option("--va", required=True, help="Virtual account new devices are created in.")
@click.option("--dry-run", is_flag=True, help="Check and summarise; record nothing.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def slup_import(ctx: CliContext, files: tuple[str, ...], account: str, va: str, dry_run: bool,
                as_json: bool) -> None:
    """Import usage files (license smart save usage) and offline-upload archives."""
    with ExitStack() as stack:
        sources = [_open(stack, path) for path in files]
        with ctx.db.uow() as uow:
            summary = service.import_usage(uow, ctx.actor, account, va,
                                           sources, dry_run=dry_run)
            if not dry_run:
                uow.commit()
    if as_json:
        emit_json(summary.to_json())
    else:
        click.echo(summary.text())


COMMANDS = [slup]


@slup.command("export")
@click.option("--va", required=True, help="Virtual account whose reports are exported.")
@click.option("--account", default=None, help="Account (needed when VA names repeat).")
@click.option("--format", "fmt", type=click.Choice(["cssm-offline"]), required=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def slup_export(ctx: CliContext, va: str, account: str | None, fmt: str, out: str,
                as_json: bool) -> None:
    """Write the VA's unacknowledged reports as Cisco's offline-upload archive for CSSM."""
    target = Path(out)
    partial = target.with_name(target.name + ".partial")
    try:
        with ctx.db.uow() as uow:
            found_account, found_va = service.find_va(uow.session, ctx.actor, account, va,
                                                      "slup.upload")
            with partial.open("wb") as stream:
                done = cssm.export_cssm(uow, ctx.actor, found_account, found_va, stream)
            partial.replace(target)
            uow.commit()
    except OSError as exc:
        raise InvalidInput(f"{out}: cannot be written ({exc.strerror})") from None
    finally:
        partial.unlink(missing_ok=True)
    if as_json:
        emit_json({"file": out, **done.to_json()})
        return
    click.echo(f"Wrote {out}: {done.reports} reports of {done.devices} devices "
               f"({fmt}, inner archive {done.inner}); upload it to CSSM, then import its "
               "ACK archive with `satellite slup import-ack FILE`")


@slup.command("import-ack")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def slup_import_ack(ctx: CliContext, file: str, as_json: bool) -> None:
    """Read CSSM's ACK archive (or one ACK file) and give each ACK to its device."""
    with ExitStack() as stack:
        name, stream = _open(stack, file)
        with ctx.db.uow() as uow:
            done = acks.import_cssm_acks(uow, ctx.actor, name, stream)
            uow.commit()
    if as_json:
        emit_json(done.to_json())
        return
    click.echo(f"{done.files} ACK files: {len(done.devices)} devices, {done.reports} reports "
               "acknowledged; write them for the devices with `satellite slup acks`")
    for unmatched in done.unmatched:
        click.echo(f"  no device matches {unmatched}")


@slup.command("ack")
@click.argument("udi")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@pass_ctx
def slup_ack(ctx: CliContext, udi: str, out: str) -> None:
    """Write a device's latest ACK file (for `license smart import` on the device)."""
    with ctx.db.uow() as uow:
        label, document = acks.give_ack(uow, ctx.actor, udi)
        _write_text(out, document)
        uow.commit()
    click.echo(f"Wrote the ACK of {label} to {out}")


@slup.command("acks")
@click.option("--va", required=True)
@click.option("--account", default=None, help="Account (needed when VA names repeat).")
@click.option("--out", required=True, type=click.Path(file_okay=False))
@pass_ctx
def slup_acks(ctx: CliContext, va: str, account: str | None, out: str) -> None:
    """Write the latest ACK of every SLUP device of a VA, one file per device named by UDI."""
    with ctx.db.uow() as uow:
        found_account, found_va = service.find_va(uow.session, ctx.actor, account, va,
                                                  "device.view")
        try:
            written = acks.write_acks(uow, ctx.actor, found_account.name, found_va.name,
                                      Path(out))
        except OSError as exc:
            raise InvalidInput(f"{out}: cannot be written ({exc.strerror})") from None
        uow.commit()
    click.echo(f"Wrote {len(written)} ACK files to {out}")


def _write_text(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be written ({exc.strerror})") from None
