"""`satellite account ...` and `satellite va ...`."""

from __future__ import annotations

import click

from satellite.access.requests import activate_account
from satellite.accounts import export_control, removal, service
from satellite.accounts.models import RESERVATION_MODES
from satellite.accounts.schemas import account_json, va_json
from satellite.cli import CliContext, emit_json, pass_ctx
from satellite.cloudsync.held import held_json, held_lines


@click.group("account")
def account() -> None:
    """Accounts (local tenants)."""


@account.command("create")
@click.argument("name")
@click.option("--domain", required=True, help="Unique domain identifier, e.g. abc.xyz.com.")
@click.option("--pending", is_flag=True,
              help="Create it Pending: its lines are held until `satellite account activate`.")
@pass_ctx
def account_create(ctx: CliContext, name: str, domain: str, pending: bool) -> None:
    """Create an account (with its Default virtual account), Active unless --pending."""
    with ctx.db.uow() as uow:
        acc = service.create_account(uow, ctx.actor, name, domain, pending=pending)
        uow.commit()
        click.echo(f"Created account {acc.name} ({acc.domain}), {acc.status.capitalize()}")


@account.command("show")
@click.argument("account_ref", metavar="ACCOUNT")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def account_show(ctx: CliContext, account_ref: str, as_json: bool) -> None:
    """Show an account: its status, who created it and who approved it."""
    with ctx.db.reader() as uow:
        row = account_json(service.account_for(uow.session, ctx.actor, account_ref,
                                               "account.view"))
    if as_json:
        emit_json(row)
        return
    for label, key in (("name", "name"), ("domain", "domain"), ("status", "status"),
                       ("reservation", "reservation"), ("created by", "createdBy"),
                       ("created at", "createdAt"), ("approved by", "approvedBy"),
                       ("activated at", "activatedAt")):
        click.echo(f"{label}: {row[key] if row[key] is not None else '-'}")


@account.command("activate")
@click.argument("account_ref", metavar="ACCOUNT")
@pass_ctx
def account_activate(ctx: CliContext, account_ref: str) -> None:
    """Activate a Pending account (approving its request if a user asked for it)."""
    with ctx.db.uow() as uow:
        acc = activate_account(uow, ctx.actor, account_ref)
        uow.commit()
        click.echo(f"Account {acc.name} ({acc.domain}) is Active")


@account.command("held")
@click.argument("account_ref", metavar="[ACCOUNT]", required=False)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def account_held(ctx: CliContext, account_ref: str | None, as_json: bool) -> None:
    """Lines Central sent that are held: for a Pending ACCOUNT, or (without ACCOUNT) for
    domains no account answers to."""
    with ctx.db.reader() as uow:
        _acc, rows, total = held_lines(uow.session, ctx.actor, account_ref, None)
        shown = [held_json(r) for r in rows]
    if as_json:
        emit_json({"heldLines": shown, "totalCount": total})
        return
    for row in shown:
        click.echo(f"{row['domain']}\t{row['virtualAccount'] or 'Default'}\t{row['tag']}\t"
                   f"{row['type']}\t{row['quantity']}\tline {row['lineId']}")


@account.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def account_list(ctx: CliContext, as_json: bool) -> None:
    """List accounts."""
    with ctx.db.reader() as uow:
        rows = [account_json(a) for a in service.list_accounts(uow.session, ctx.actor)]
    if as_json:
        emit_json({"accounts": rows})
        return
    for row in rows:
        click.echo(f"{row['name']}\t{row['domain']}\t{row['status']}\t"
                   f"reservation={row['reservation']}\texport-category={row['exportCategory']}")


@account.command("set")
@click.argument("account_ref", metavar="ACCOUNT")
@click.option("--reservation", type=click.Choice(RESERVATION_MODES), default=None,
              help="Which offline reservations the account may use.")
@click.option("--export-category", type=click.Choice(export_control.CATEGORIES,
                                                     case_sensitive=False), default=None,
              help="Export-control category (system administrators only); C and D may not "
                   "use export-controlled functionality.")
@pass_ctx
def account_set(ctx: CliContext, account_ref: str, reservation: str | None,
                export_category: str | None) -> None:
    """Change an account's settings."""
    if reservation is None and export_category is None:
        raise click.UsageError("give --reservation MODE or --export-category CATEGORY")
    with ctx.db.uow() as uow:
        if reservation is not None:
            acc = service.set_reservation_mode(uow, ctx.actor, account_ref, reservation)
        if export_category is not None:
            acc = export_control.set_category(uow, ctx.actor, account_ref, export_category)
        uow.commit()
        click.echo(f"Account {acc.name}: reservation {acc.reservation_mode}, "
                   f"export-control category {acc.export_category}")


@click.group("va")
def va() -> None:
    """Virtual accounts (nested folders of licenses, devices and tokens)."""


@va.command("create")
@click.argument("account_ref", metavar="ACCOUNT")
@click.argument("name")
@click.option("--parent", default=None, help="Nest under this virtual account.")
@click.option("--description", default="")
@pass_ctx
def va_create(ctx: CliContext, account_ref: str, name: str, parent: str | None,
              description: str) -> None:
    """Create a virtual account."""
    with ctx.db.uow() as uow:
        service.create_va(uow, ctx.actor, account_ref, name, parent=parent, description=description)
        uow.commit()
    click.echo(f"Created virtual account {name}" + (f" under {parent}" if parent else ""))


@va.command("list")
@click.argument("account_ref", metavar="ACCOUNT")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def va_list(ctx: CliContext, account_ref: str, as_json: bool) -> None:
    """List an account's virtual accounts as a tree."""
    with ctx.db.reader() as uow:
        acc, vas = service.list_vas(uow.session, ctx.actor, account_ref)
        names = service.va_names(uow.session, acc.id)
        rows = [va_json(v, names) for v in vas]
    if as_json:
        emit_json({"virtualAccounts": rows})
        return
    children: dict[str | None, list[dict[str, object]]] = {}
    shown = {row["name"] for row in rows}
    for row in rows:
        # A VA whose parent the user may not see is shown at the top.
        parent = row["parent"] if row["parent"] in shown else None
        children.setdefault(parent, []).append(row)

    def show(parent: str | None, indent: int) -> None:
        for row in children.get(parent, []):
            click.echo("  " * indent + str(row["name"]))
            show(str(row["name"]), indent + 1)

    show(None, 0)


@va.command("rename")
@click.argument("account_ref", metavar="ACCOUNT")
@click.argument("name")
@click.argument("new_name")
@pass_ctx
def va_rename(ctx: CliContext, account_ref: str, name: str, new_name: str) -> None:
    """Rename a virtual account."""
    with ctx.db.uow() as uow:
        service.rename_va(uow, ctx.actor, account_ref, name, new_name)
        uow.commit()
    click.echo(f"Renamed {name} to {new_name}")


@va.command("move")
@click.argument("account_ref", metavar="ACCOUNT")
@click.argument("name")
@click.option("--parent", default=None, help="New parent virtual account.")
@click.option("--top", is_flag=True, help="Move to the top level.")
@pass_ctx
def va_move(ctx: CliContext, account_ref: str, name: str, parent: str | None, top: bool) -> None:
    """Move a virtual account (with what is nested under it)."""
    if bool(parent) == top:
        raise click.UsageError("give exactly one of --parent VA or --top")
    with ctx.db.uow() as uow:
        service.move_va(uow, ctx.actor, account_ref, name, None if top else parent)
        uow.commit()
    click.echo(f"Moved {name} " + ("to the top level" if top else f"under {parent}"))


@va.command("delete")
@click.argument("account_ref", metavar="ACCOUNT")
@click.argument("name")
@pass_ctx
def va_delete(ctx: CliContext, account_ref: str, name: str) -> None:
    """Delete an empty virtual account."""
    with ctx.db.uow() as uow:
        removal.delete_va(uow, ctx.actor, account_ref, name)
        uow.commit()
    click.echo(f"Deleted virtual account {name}")


COMMANDS = [account, va]
