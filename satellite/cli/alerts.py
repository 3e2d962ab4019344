"""`satellite alert list|check|deliveries|deliver|retry` and `satellite alert channel ...`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from satellite.alerts import channels
from satellite.alerts.delivery import deliver_due, send_test
from satellite.alerts.jobs import check_alerts
from satellite.alerts.models import CHANNEL_KINDS, DEFAULT_MIN_SEVERITY, DELIVERY_STATES, SEVERITIES
from satellite.alerts.service import list_alerts, to_json
from satellite.cli import CliContext, emit_json, fail, pass_ctx
from satellite.cli.reports import CSV_HELP, write_report
from satellite.clock import utc_text
from satellite.limits import printable
from satellite.reports.exports import Filters
from satellite.tokens.secrets import TokenSealer


@click.group("alert")
def alert() -> None:
    """Conditions that need an operator: sync overdue, Central unreachable, compliance, expiry."""


@alert.command("list")
@click.option("--account", default=None, help="Only this account's alerts (name or domain).")
@click.option("--all", "include_cleared", is_flag=True, help="Include cleared alerts.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--csv", "as_csv", is_flag=True, help=CSV_HELP)
@pass_ctx
def alert_list(ctx: CliContext, account: str | None, include_cleared: bool,
               as_json: bool, as_csv: bool) -> None:
    """List open alerts, newest first."""
    if as_csv:
        write_report(ctx, "alerts", Filters(account=account, cleared=include_cleared))
        return
    with ctx.db.reader() as uow:
        rows = [to_json(a) for a in list_alerts(uow.session, ctx.actor, account, include_cleared)]
    if as_json:
        emit_json({"alerts": rows})
        return
    if not rows:
        click.echo("no open alerts")
    for row in rows:
        cleared = f" (cleared {row['cleared_at']})" if row["cleared_at"] else ""
        click.echo(printable(f"{row['raised_at']}  {row['severity']:8} {row['kind']}: "
                             f"{row['message']}{cleared}"))


@alert.command("check")
@pass_ctx
def alert_check(ctx: CliContext) -> None:
    """Re-check the time-based alerts now (`satellite serve` does it every hour)."""
    check_alerts(ctx.db, ctx.settings)
    click.echo("alerts checked; see `satellite alert list`")


@alert.command("deliveries")
@click.option("--account", default=None, help="Only this account's channels (name or domain).")
@click.option("--state", type=click.Choice(DELIVERY_STATES), default=None,
              help="Only deliveries in this state.")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def alert_deliveries(ctx: CliContext, account: str | None, state: str | None, limit: int,
                     as_json: bool) -> None:
    """List alert deliveries (the outbox), newest first: pending, sent or failed."""
    with ctx.db.reader() as uow:
        rows = channels.list_deliveries(uow.session, ctx.actor, account, state=state,
                                        limit=limit)
    if as_json:
        emit_json({"deliveries": [r.to_json() for r in rows]})
        return
    if not rows:
        click.echo("no alert deliveries")
    for r in rows:
        when = (f"next attempt {utc_text(r.next_attempt_at)}" if r.state == "pending"
                else f"at {(utc_text(r.finished_at) or '?')}")
        repeats = f", {r.repeats} repeat(s) not sent" if r.repeats else ""
        error = f"\n      last error: {r.last_error}" if r.last_error else ""
        click.echo(f"{r.id:>6} {r.state:8} {r.channel} ({r.kind}) {r.severity} {r.alert_key}: "
                   f"{r.attempts} attempt(s), {when}{repeats}{error}")


@alert.command("deliver")
@pass_ctx
def alert_deliver(ctx: CliContext) -> None:
    """Attempt the deliveries that are due now (`satellite serve` does it every 15 seconds)."""
    run = deliver_due(ctx.db, ctx.settings)
    click.echo(f"sent {run.sent}, will retry {run.retrying}, failed {run.failed}")


@alert.command("retry")
@click.argument("delivery_id", type=int)
@pass_ctx
def alert_retry(ctx: CliContext, delivery_id: int) -> None:
    """Queue a failed delivery again, with a fresh set of attempts."""
    with ctx.db.uow() as uow:
        channels.retry_delivery(uow, ctx.actor, delivery_id)
        uow.commit()
    click.echo(f"delivery {delivery_id} queued again")


@alert.group("channel")
def channel() -> None:
    """Where alerts are delivered: email through the SMTP relay, syslog, or a webhook."""


_ACCOUNT = click.option("--account", default=None,
                        help="The account (name or domain); without it, the appliance's "
                             "channels, which receive every alert.")


@channel.command("add")
@click.argument("name")
@click.option("--kind", type=click.Choice(CHANNEL_KINDS), required=True)
@click.option("--target", required=True,
              help="email: addresses, comma-separated; webhook: http(s) URL; syslog: "
                   "udp://HOST:PORT or a socket path such as /dev/log (?facility=local0).")
@_ACCOUNT
@click.option("--min-severity", type=click.Choice(SEVERITIES), default=DEFAULT_MIN_SEVERITY,
              show_default=True, help="Deliver alerts of this severity and above.")
@click.option("--dedupe-hours", type=int, default=24, show_default=True,
              help="Deliver the same alert at most once within this many hours.")
@click.option("--secret-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="webhook: read the HMAC signing key from this file (else one is made).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def channel_add(ctx: CliContext, name: str, kind: str, target: str, account: str | None,
                min_severity: str, dedupe_hours: int, secret_file: Path | None,
                as_json: bool) -> None:
    """Add a delivery channel; a webhook's signing key is printed once."""
    secret = None
    if secret_file is not None:
        try:
            secret = secret_file.read_text().strip()
        except OSError as exc:
            fail(f"cannot read {secret_file}: {exc.strerror}")
    with ctx.db.uow() as uow:
        view = channels.add_channel(uow, ctx.actor, TokenSealer.for_data_dir(ctx.settings.data_dir),
                                    account, name, kind, target, min_severity=min_severity,
                                    dedupe_hours=dedupe_hours, secret=secret,
                                    allow_local=ctx.settings.alert_allow_local_targets)
        uow.commit()
    if secret_file is not None:
        view = dataclasses.replace(view, secret=None)
    if as_json:
        emit_json(view.to_json())
        return
    click.echo(f"added {kind} channel {name!r} for {view.account or 'the appliance'}: "
               f"{view.target} ({min_severity} and above)")
    if view.secret:
        click.echo(f"webhook signing key (shown once): {view.secret}")


@channel.command("list")
@_ACCOUNT
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def channel_list(ctx: CliContext, account: str | None, as_json: bool) -> None:
    """List delivery channels (all of them for a system administrator without --account)."""
    with ctx.db.reader() as uow:
        rows = channels.list_channels(uow.session, ctx.actor, account)
    if as_json:
        emit_json({"channels": [r.to_json() for r in rows]})
        return
    if not rows:
        click.echo("no alert channels")
    for r in rows:
        signed = ", signed" if r.signed else ""
        click.echo(f"{r.account or '(appliance)'}  {r.name}  {r.kind} {r.target}  "
                   f"{r.min_severity}+, dedupe {r.dedupe_hours}h{signed}")


@channel.command("remove")
@click.argument("name")
@_ACCOUNT
@pass_ctx
def channel_remove(ctx: CliContext, name: str, account: str | None) -> None:
    """Remove a channel and its queued deliveries."""
    with ctx.db.uow() as uow:
        channels.remove_channel(uow, ctx.actor, account, name)
        uow.commit()
    click.echo(f"removed channel {name!r}")


@channel.command("test")
@click.argument("name")
@_ACCOUNT
@pass_ctx
def channel_test(ctx: CliContext, name: str, account: str | None) -> None:
    """Send a test alert through the channel now; exits non-zero with the reason if it fails."""
    send_test(ctx.db, ctx.settings, ctx.actor, account, name)
    click.echo(f"test alert sent through channel {name!r}")


COMMANDS = [alert]
