"""`satellite holding list|deposit` and `satellite deposit-rule add|list|remove|move`."""

from __future__ import annotations

import click

from satellite.cli import CliContext, emit_json, pass_ctx
from satellite.cloudsync.holding import deposit, list_holding
from satellite.licenses.deposit_rules import add_rule, list_rules, move_rule, remove_rule


@click.group("holding")
def holding() -> None:
    """Lines in the partner holding account, waiting to be deposited into an account."""


@holding.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def holding_list(ctx: CliContext, as_json: bool) -> None:
    """Show every waiting line, with what is left to deposit."""
    with ctx.db.reader() as uow:
        rows = list_holding(uow.session, ctx.actor)
    if as_json:
        emit_json({"holdingLines": rows, "totalRecords": len(rows)})
        return
    click.echo(f"Lines in the holding account: {len(rows)}")
    for row in rows:
        click.echo(f"{row['lineId']}\t{row['holdingAccount']}\t{row['license']}\t"
                   f"{row['licenseType']}\tquantity={row['quantity']}\t"
                   f"deposited={row['deposited']}\tavailable={row['available']}")


@holding.command("deposit")
@click.argument("line_id", metavar="LINE")
@click.option("--account", "account_ref", required=True, help="Account name or domain.")
@click.option("--va", required=True, help="Virtual account to deposit into.")
@click.option("--quantity", type=click.IntRange(1), default=None,
              help="How many (default: all that is left).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def holding_deposit(ctx: CliContext, line_id: str, account_ref: str, va: str,
                    quantity: int | None, as_json: bool) -> None:
    """Deposit a holding line (or part of it) into a virtual account."""
    with ctx.db.uow() as uow:
        done = deposit(uow, ctx.actor, line_id, account_ref, va, quantity)
        uow.commit()
    if as_json:
        emit_json(done)
        return
    click.echo(f"deposited {done['quantity']} x {done['license']} of line {line_id} into "
               f"{done['account']}/{done['virtualAccount']} ({done['left']} left in holding)")


@click.group("deposit-rule")
def deposit_rule() -> None:
    """Where lines that Central sends with no virtual account named go (first match wins)."""


@deposit_rule.command("list")
@click.argument("account_ref", metavar="ACCOUNT")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def rule_list(ctx: CliContext, account_ref: str, as_json: bool) -> None:
    """Show an account's rules in the order they are tried."""
    with ctx.db.reader() as uow:
        account, rows = list_rules(uow.session, ctx.actor, account_ref)
        domain, name = account.domain, account.name
    if as_json:
        emit_json({"account": domain, "depositRules": rows})
        return
    click.echo(f"Deposit rules of {name}: {len(rows)} (else the Default virtual account)")
    for row in rows:
        click.echo(f"{row['position']}. rule {row['id']}: {row['match']} {row['pattern']} -> "
                   f"{row['virtualAccount']}")


@deposit_rule.command("add")
@click.argument("account_ref", metavar="ACCOUNT")
@click.option("--tag", "tag_pattern", default=None,
              help="Match the license tag: exact, or a glob such as 'regid.*.router-*'.")
@click.option("--name", "name_pattern", default=None,
              help="Match the display name (SKU), a glob, case ignored.")
@click.option("--va", required=True, help="Virtual account the matching lines go to.")
@click.option("--position", type=click.IntRange(1), default=None,
              help="Place in the order (1 is tried first; default: last).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def rule_add(ctx: CliContext, account_ref: str, tag_pattern: str | None,
             name_pattern: str | None, va: str, position: int | None, as_json: bool) -> None:
    """Add a rule for new lines that name no virtual account."""
    if (tag_pattern is None) == (name_pattern is None):
        raise click.UsageError("give one of --tag PATTERN or --name PATTERN")
    match, pattern = ("tag", tag_pattern) if tag_pattern is not None else ("name", name_pattern)
    with ctx.db.uow() as uow:
        row = add_rule(uow, ctx.actor, account_ref, match, pattern or "", va, position)
        uow.commit()
    if as_json:
        emit_json(row)
        return
    click.echo(f"added rule {row['id']} at position {row['position']}: {match} {pattern} -> "
               f"{row['virtualAccount']}")


@deposit_rule.command("remove")
@click.argument("account_ref", metavar="ACCOUNT")
@click.argument("rule_id", metavar="RULE", type=click.IntRange(1))
@pass_ctx
def rule_remove(ctx: CliContext, account_ref: str, rule_id: int) -> None:
    """Remove a rule; the lines it placed stay where they are."""
    with ctx.db.uow() as uow:
        remove_rule(uow, ctx.actor, account_ref, rule_id)
        uow.commit()
    click.echo(f"removed rule {rule_id}")


@deposit_rule.command("move")
@click.argument("account_ref", metavar="ACCOUNT")
@click.argument("rule_id", metavar="RULE", type=click.IntRange(1))
@click.option("--to", "position", required=True, type=click.IntRange(1),
              help="New place in the order (1 is tried first).")
@pass_ctx
def rule_move(ctx: CliContext, account_ref: str, rule_id: int, position: int) -> None:
    """Change where a rule is tried."""
    with ctx.db.uow() as uow:
        row = move_rule(uow, ctx.actor, account_ref, rule_id, position)
        uow.commit()
    click.echo(f"rule {rule_id} is now at position {row['position']}")


COMMANDS = [holding, deposit_rule]
