"""`satellite clock status|accept`: the clock checks of satellite.clockcheck."""

from __future__ import annotations

import click

from satellite.cli import CliContext, emit_json, pass_ctx
from satellite.clockcheck import accept_clock, clock_report


@click.group("clock")
def clock() -> None:
    """The satellite's clock against the latest time it has seen."""


@clock.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def clock_status(ctx: CliContext, as_json: bool) -> None:
    """Show the clock, the high-water mark of time seen, and any jump found."""
    db = ctx.db
    with db.reader() as uow:
        report = clock_report(uow.session, ctx.settings, uow.clock.now())
    if as_json:
        emit_json(report)
        return
    for key, value in report.items():
        if value is not None:
            click.echo(f"{key}: {value}")


@clock.command("accept")
@pass_ctx
def clock_accept(ctx: CliContext) -> None:
    """Declare the clock right as it is now: clear a recorded jump, restart the mark."""
    db = ctx.db
    with db.uow() as uow:
        jump = accept_clock(uow, ctx.actor, db.clock_watch)
        uow.commit()
    click.echo("clock accepted" + (f" (was: {jump.message})" if jump else " (no jump recorded)"))


COMMANDS = [clock]
