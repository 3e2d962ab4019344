"""`satellite user ...` and `satellite apiclient ...`."""

from __future__ import annotations

from pathlib import Path

import click

from satellite.access import apiclients, grants
from satellite.cli import CliContext, emit_json, fail, pass_ctx
from satellite.clock import utc_text
from satellite.permissions.policy import ACCOUNT_ADMIN, ACCOUNT_ROLES, ROLES
from satellite.users import service as users
from satellite.users.passwords import generate_password


def _password(path: str | None) -> tuple[str, bool]:
    """(password, generated): from a file, else a new random one to show once."""
    if path is None:
        return generate_password(), True
    try:
        value = Path(path).read_text().strip()
    except OSError as exc:
        fail(f"cannot read password file {path}: {exc.strerror}")
    if not value:
        fail(f"password file {path} is empty")
    return value, False


@click.group("user")
def user() -> None:
    """Local users and their roles."""


@user.command("create")
@click.argument("username")
@click.option("--system-admin", is_flag=True, help="Make the user a system administrator.")
@click.option("--password-file", type=click.Path(dir_okay=False),
              help="Initial password (else a random one is printed once).")
@pass_ctx
def user_create(ctx: CliContext, username: str, system_admin: bool,
                password_file: str | None) -> None:
    """Create a user, who must change the password at first sign-in."""
    password, generated = _password(password_file)
    with ctx.db.uow() as uow:
        users.create_user(uow, ctx.actor, username, password, system_admin=system_admin,
                          must_change_password=True)
        uow.commit()
    click.echo(f"Created user {username}")
    if generated:
        click.echo(f"password: {password}")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def user_list(ctx: CliContext, as_json: bool) -> None:
    """List users with their roles."""
    with ctx.db.reader() as uow:
        # Rows are read inside the unit of work: leaving it expires the loaded users.
        listed = users.list_users(uow.session, ctx.actor)
        held_by = grants.grants_by_user(uow.session, [u.id for u in listed])
        found = [(u.username, u.is_system_admin, u.disabled, held_by[u.id]) for u in listed]
    if as_json:
        emit_json({"users": [
            {"userName": name, "systemAdmin": admin, "disabled": disabled,
             "roles": [{"account": g.account, "virtualAccount": g.virtual_account,
                        "role": g.role} for g in held]} for name, admin, disabled, held in found]})
        return
    for name, admin, disabled, held in found:
        roles = ["system_admin"] if admin else []
        roles += [f"{g.role}@{g.account}" + (f"/{g.virtual_account}" if g.virtual_account else "")
                  for g in held]
        state = "disabled" if disabled else "active"
        click.echo(f"{name}\t{state}\t{', '.join(roles) or '-'}")


@user.command("disable")
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable the user again instead.")
@pass_ctx
def user_disable(ctx: CliContext, username: str, enable: bool) -> None:
    """Disable a user: no sign-in, and its bearer tokens stop working."""
    with ctx.db.uow() as uow:
        users.set_disabled(uow, ctx.actor, username, not enable)
        uow.commit()
    click.echo(f"{'Enabled' if enable else 'Disabled'} user {username}")


@user.command("reset-password")
@click.argument("username")
@click.option("--password-file", type=click.Path(dir_okay=False),
              help="New password (else a random one is printed once).")
@pass_ctx
def user_reset_password(ctx: CliContext, username: str, password_file: str | None) -> None:
    """Set a new password, which the user must change at the next sign-in."""
    password, generated = _password(password_file)
    with ctx.db.uow() as uow:
        users.reset_password(uow, ctx.actor, username, password)
        uow.commit()
    click.echo(f"Reset the password of {username}; it must be changed at the next sign-in")
    if generated:
        click.echo(f"password: {password}")


def _grant_options(fn: click.decorators.FC) -> click.decorators.FC:
    fn = click.option("--va", "va_name", default=None, help="Virtual account (VA roles).")(fn)
    fn = click.option("--account", "account_ref", default=None,
                      help="Account name or domain (every role but system_admin).")(fn)
    fn = click.argument("role", type=click.Choice(ROLES))(fn)
    return click.argument("username")(fn)


@user.command("grant")
@_grant_options
@pass_ctx
def user_grant(ctx: CliContext, username: str, role: str, account_ref: str | None,
               va_name: str | None) -> None:
    """Give a user a role on an account or a virtual account (and the VAs under it)."""
    with ctx.db.uow() as uow:
        grants.grant(uow, ctx.actor, username, role, account_ref, va_name)
        uow.commit()
    click.echo(f"Granted {role} to {username}")


@user.command("revoke")
@_grant_options
@pass_ctx
def user_revoke(ctx: CliContext, username: str, role: str, account_ref: str | None,
                va_name: str | None) -> None:
    """Take a role away from a user."""
    with ctx.db.uow() as uow:
        grants.revoke(uow, ctx.actor, username, role, account_ref, va_name)
        uow.commit()
    click.echo(f"Revoked {role} from {username}")


@click.group("apiclient")
def apiclient() -> None:
    """REST API clients (client id and secret for POST /oauth/token)."""


@apiclient.command("create")
@click.argument("account_ref", metavar="ACCOUNT")
@click.option("--role", type=click.Choice(ACCOUNT_ROLES), default=ACCOUNT_ADMIN,
              show_default=True, help="What the client may do in the account.")
@click.option("--description", default="")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def apiclient_create(ctx: CliContext, account_ref: str, role: str, description: str,
                     as_json: bool) -> None:
    """Create an API client; its secret is shown now and never again."""
    with ctx.db.uow() as uow:
        client, secret = apiclients.create_client(uow, ctx.actor, account_ref, role, description)
        uow.commit()
    if as_json:
        emit_json({"client_id": client.client_id, "client_secret": secret, "role": role})
        return
    click.echo(f"client_id: {client.client_id}")
    click.echo(f"client_secret: {secret}")
    click.echo("Keep the secret now: it is stored hashed and cannot be shown again.")


@apiclient.command("list")
@click.argument("account_ref", metavar="ACCOUNT")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def apiclient_list(ctx: CliContext, account_ref: str, as_json: bool) -> None:
    """List an account's API clients."""
    with ctx.db.reader() as uow:
        rows = [{"client_id": c.client_id, "role": c.role, "description": c.description,
                 "created_by": c.created_by, "created_at": utc_text(c.created_at),
                 "revoked": c.revoked_at is not None}
                for c in apiclients.list_clients(uow.session, ctx.actor, account_ref)]
    if as_json:
        emit_json({"apiclients": rows})
        return
    for row in rows:
        click.echo(f"{row['client_id']}\t{row['role']}\t"
                   f"{'revoked' if row['revoked'] else 'active'}\t{row['description']}")


@apiclient.command("revoke")
@click.argument("account_ref", metavar="ACCOUNT")
@click.argument("client_id")
@pass_ctx
def apiclient_revoke(ctx: CliContext, account_ref: str, client_id: str) -> None:
    """Revoke an API client and every bearer token it holds."""
    with ctx.db.uow() as uow:
        apiclients.revoke_client(uow, ctx.actor, account_ref, client_id)
        uow.commit()
    click.echo(f"Revoked API client {client_id}")


COMMANDS = [user, apiclient]
