"""`satellite audit verify|list`."""

from __future__ import annotations

import json

import click

from satellite.accounts.service import account_for
from satellite.audit.service import read_events, search_of, verify
from satellite.cli import CliContext, columns, emit_json, pass_ctx
from satellite.cli.reports import CSV_HELP, write_report
from satellite.clock import utc_text
from satellite.errors import VerificationFailed
from satellite.reports.exports import Filters


@click.group("audit")
def audit() -> None:
    """The audit trail (a hash chain of every state change)."""


@audit.command("verify")
@pass_ctx
def audit_verify(ctx: CliContext) -> None:
    """Check every event's hash and link; name the first broken one."""
    with ctx.db.reader() as uow:
        report = verify(uow.session)
    if not report.ok:
        raise VerificationFailed(
            f"audit chain broken at event {report.broken_at}: {report.reason} "
            f"({report.events} events before it are intact)"
        )
    click.echo(f"audit chain intact: {report.events} events")


@audit.command("list")
@click.option("--account", "account_ref", default=None, help="Only events of this account.")
@click.option("--user", default=None, help="Only what this user (or apiclient:ID) did.")
@click.option("--action", default=None, help="Only actions starting with this, e.g. license.")
@click.option("--target", "text", default=None, help="Only targets containing this text.")
@click.option("--since", default=None, metavar="DATE", help="From this day (YYYY-MM-DD).")
@click.option("--until", default=None, metavar="DATE", help="To this day, included.")
@click.option("--limit", type=click.IntRange(1, 100000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--csv", "as_csv", is_flag=True, help=CSV_HELP)
@pass_ctx
def audit_list(ctx: CliContext, account_ref: str | None, user: str | None, action: str | None,
               text: str | None, since: str | None, until: str | None, limit: int,
               as_json: bool, as_csv: bool) -> None:
    """Show the newest events first, searched by account, user, action, target and days."""
    if as_csv:
        write_report(ctx, "audit-log", Filters(account=account_ref, user=user, action=action,
                                               text=text, since=since, until=until))
        return
    with ctx.db.reader() as uow:
        account_id = (account_for(uow.session, ctx.actor, account_ref, "audit.list").id
                      if account_ref else None)
        search = search_of(account_id=account_id, user=user, action=action, text=text,
                           since=since, until=until)
        events = [
            {"id": e.id, "at": utc_text(e.at), "actor": e.actor, "action": e.action,
             "target": e.target, "accountId": e.account_id, "details": json.loads(e.details),
             "hash": e.hash}
            for e in read_events(uow.session, ctx.actor, search, limit=limit)
        ]
    if as_json:
        emit_json({"events": events})
        return
    for e in events:
        details = json.dumps(e["details"], sort_keys=True, separators=(",", ":"))
        click.echo(columns(e["id"], e["at"], e["actor"], e["action"], e["target"], details))


COMMANDS = [audit]
