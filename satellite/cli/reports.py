"""`satellite report KIND` and the `--csv` of every list command: streamed to a file or stdout."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from satellite.cli import CliContext, pass_ctx
from satellite.reports.exports import KINDS, Filters, export
from satellite.reports.formats import csv_stream, json_stream

CSV_HELP = "Every matching row as CSV (all pages, streamed; no --limit)."


def write_report(ctx: CliContext, kind: str, filters: Filters, fmt: str = "csv",
                 out: str | None = None) -> None:
    """Write one report to `out` (or stdout), row by row."""
    report = export(ctx.db, ctx.actor, kind, filters)
    chunks = (csv_stream(report.columns, report.rows) if fmt == "csv"
              else json_stream(report.name, report.rows))
    if out is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        sys.stdout.flush()
        return
    # Written beside the target and renamed: a failed export leaves no half file behind.
    target = Path(out)
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            for chunk in chunks:
                handle.write(chunk)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


@click.command("report")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--account", default=None, help="Account name or domain (all visible if left out).")
@click.option("--va", default=None, help="Only this virtual account (with --account).")
@click.option("--status", default=None, help="Only this status (licenses, devices, reservations).")
@click.option("--search", "text", default=None,
              help="Text to look for (license text, device search, audit target).")
@click.option("--user", default=None, help="Audit log: who acted.")
@click.option("--action", default=None, help="Audit log: actions starting with this.")
@click.option("--since", default=None, metavar="DATE", help="From this day (YYYY-MM-DD).")
@click.option("--until", default=None, metavar="DATE", help="To this day, included.")
@click.option("--all", "cleared", is_flag=True, help="Alerts: include cleared ones.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True)
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Write to this file instead of standard output.")
@pass_ctx
def report_cmd(ctx: CliContext, kind: str, account: str | None, va: str | None,
               status: str | None, text: str | None, user: str | None, action: str | None,
               since: str | None, until: str | None, cleared: bool, fmt: str,
               out: str | None) -> None:
    """Export a list (licenses, product instances, consumption history, alerts,
    reservations, audit log) as CSV or JSON."""
    write_report(ctx, kind, Filters(account=account, va=va, status=status, text=text, user=user,
                                    action=action, since=since, until=until, cleared=cleared),
                 fmt, out)


COMMANDS = [report_cmd]
