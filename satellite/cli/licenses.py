"""`satellite license ...`, `satellite transfer` and `satellite maintenance snapshot-usage|rebuild-pools`."""

from __future__ import annotations

from datetime import date, datetime

import click

from satellite.cli import CliContext, emit_json, fail, pass_ctx
from satellite.cli.devices import maintenance
from satellite.cli.reports import CSV_HELP, write_report
from satellite.licenses.counters import STATUSES
from satellite.licenses.pools import drifted_pools, rebuild_pools
from satellite.licenses.schemas import page_json
from satellite.licenses.service import list_licenses
from satellite.licenses.transfers import transfer, transfer_between_accounts
from satellite.licenses.usage_history import snapshot_usage
from satellite.reports.exports import Filters


def _tag_counts(ctx: click.Context, param: click.Parameter,
                values: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """TAG=N, as in `--license regid.2024-01.com.example.router=3`."""
    parsed = []
    for value in values:
        tag, sep, count = value.rpartition("=")
        if not sep or not tag.strip() or not count.strip().isdigit():
            raise click.BadParameter(f"{value!r} is not TAG=N (a license tag and a whole number)",
                                     ctx, param)
        parsed.append((tag.strip(), int(count)))
    return tuple(parsed)


@click.group("license")
def license_group() -> None:
    """License pools and their counters."""


@license_group.command("list")
@click.option("--account", "account_ref", default=None, help="Account name or domain.")
@click.option("--va", "va_names", multiple=True, help="Virtual account name (repeatable).")
@click.option("--tag", default=None, help="Only this license tag.")
@click.option("--with-tag", "tagged", multiple=True,
              help="Only pools carrying this tag of yours (repeatable: all of them).")
@click.option("--status", type=click.Choice(STATUSES, case_sensitive=False), default=None)
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Count TERM and DEMO lines as on this date (YYYY-MM-DD; default today).")
@click.option("--limit", type=click.IntRange(1, 10000), default=1000, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--csv", "as_csv", is_flag=True, help=CSV_HELP)
@pass_ctx
def license_list(ctx: CliContext, account_ref: str | None, va_names: tuple[str, ...],
                 tag: str | None, tagged: tuple[str, ...], status: str | None,
                 as_of: datetime | None, limit: int, offset: int, as_json: bool,
                 as_csv: bool) -> None:
    """Show counters per account, virtual account and license tag."""
    db = ctx.db
    on: date = as_of.date() if as_of else db.clock.now().date()
    wanted = next((s for s in STATUSES if status and s.lower() == status.lower()), None)
    if as_csv:
        if len(va_names) > 1 or as_of:
            fail("--csv takes at most one --va and no --as-of")
        write_report(ctx, "licenses", Filters(account=account_ref, va=next(iter(va_names), None),
                                              tag=tag, status=wanted, tags=tagged))
        return
    with db.reader() as uow:
        page = list_licenses(uow.session, ctx.actor, on, account_ref, va_names=va_names,
                             tag=tag, status=wanted, limit=limit, offset=offset, tagged=tagged)
    if as_json:
        emit_json(page_json(page))
        return
    click.echo(f"Licenses as of {on}: {page.total}")
    for row in page.rows:
        c = row.counter
        click.echo(f"{row.account}\t{row.virtual_account}\t{c.tag}\tquantity={c.quantity}\t"
                   f"inUse={c.in_use}\treserved={c.reserved}\tavailable={c.available}\t"
                   f"{c.status}" + (f"\ttags={','.join(row.labels)}" if row.labels else ""))


@click.command("transfer")
@click.argument("account_ref", metavar="ACCOUNT")
@click.option("--from", "source", required=True, help="Virtual account giving the licenses.")
@click.option("--to", "target", required=True, help="Virtual account receiving them.")
@click.option("--license", "licenses", multiple=True, required=True, callback=_tag_counts,
              metavar="TAG=N",
              help="TAG=N to move (repeatable; all or nothing).")
@click.option("--to-account", default=None,
              help="Receiving account, for a transfer between accounts.")
@pass_ctx
def transfer_cmd(ctx: CliContext, account_ref: str, source: str, target: str,
                 licenses: tuple[tuple[str, int], ...], to_account: str | None) -> None:
    """Move license quantity between virtual accounts, keeping each line's dates."""
    with ctx.db.uow() as uow:
        done = [
            transfer_between_accounts(uow, ctx.actor, account_ref, source, to_account, target,
                                      tag, n)
            if to_account else transfer(uow, ctx.actor, account_ref, source, target, tag, n)
            for tag, n in licenses
        ]
        uow.commit()
    for t in done:
        click.echo(f"Transferred {t.quantity} of {t.tag} from {source} to {target}: "
                   f"{source} has {t.source_after.available} available, "
                   f"{target} has {t.target_after.available}")


@maintenance.command("snapshot-usage")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def snapshot_usage_cmd(ctx: CliContext, as_json: bool) -> None:
    """Record this hour's consumption history now (it runs hourly under `satellite serve`)."""
    with ctx.db.uow() as uow:
        done = snapshot_usage(uow, uow.clock.now(), ctx.settings.usage_history_days)
        uow.commit()
    if as_json:
        emit_json({"period_start": done.period_start.isoformat(), "rows": done.rows,
                   "daily": done.daily, "pruned": done.pruned})
        return
    click.echo(f"Recorded {done.rows} counters for {done.period_start:%Y-%m-%d %H:00} UTC; "
               f"pruned {done.pruned} old snapshots")


@maintenance.command("rebuild-pools")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def rebuild_pools_cmd(ctx: CliContext, as_json: bool) -> None:
    """Recompute every pool's stored quantity from its license lines (a repair: services keep
    them current; needed only after license lines were edited outside Satellite)."""
    with ctx.db.uow() as uow:
        drifted = drifted_pools(uow.session)
        pools = rebuild_pools(uow.session.connection(), uow.clock.now().date())
        uow.commit()
    if as_json:
        emit_json({"pools": pools, "corrected": len(drifted)})
        return
    click.echo(f"Recomputed {pools} pools with license lines; {len(drifted)} disagreed with "
               f"their lines before")


COMMANDS = [license_group, transfer_cmd]
