"""`satellite slup ...`: Cisco Smart Licensing Using Policy usage reports and their ACKs."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import IO

import click

from satellite.cli import CliContext, emit_json, pass_ctx
from satellite.errors import InvalidInput
from satellite.slup import service


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
