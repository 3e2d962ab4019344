"""`satellite alert list|check`."""

from __future__ import annotations

import click

from satellite.alerts.service import list_alerts, to_json
from satellite.cli import CliContext, emit_json, pass_ctx
from satellite.cloudsync.network import alerts_job


@click.group("alert")
def alert() -> None:
    """Conditions that need an operator: sync overdue, Central unreachable, compliance, expiry."""


@alert.command("list")
@click.option("--account", default=None, help="Only this account's alerts (name or domain).")
@click.option("--all", "include_cleared", is_flag=True, help="Include cleared alerts.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def alert_list(ctx: CliContext, account: str | None, include_cleared: bool,
               as_json: bool) -> None:
    """List open alerts, newest first."""
    with ctx.db.reader() as uow:
        rows = [to_json(a) for a in list_alerts(uow.session, ctx.actor, account, include_cleared)]
    if as_json:
        emit_json({"alerts": rows})
        return
    if not rows:
        click.echo("no open alerts")
    for row in rows:
        cleared = f" (cleared {row['cleared_at']})" if row["cleared_at"] else ""
        click.echo(f"{row['raised_at']}  {row['kind']}: {row['message']}{cleared}")


@alert.command("check")
@pass_ctx
def alert_check(ctx: CliContext) -> None:
    """Re-check the time-based alerts now (`satellite serve` does it every hour)."""
    alerts_job(ctx.db, ctx.settings)
    click.echo("alerts checked; see `satellite alert list`")


COMMANDS = [alert]
