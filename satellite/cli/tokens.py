"""`satellite token ...`: registration tokens for a virtual account."""

from __future__ import annotations

import click

from satellite.cli import CliContext, emit_json, pass_ctx
from satellite.tokens import service
from satellite.tokens.secrets import TokenSealer


def _sealer(ctx: CliContext) -> TokenSealer:
    return TokenSealer.for_data_dir(ctx.settings.data_dir)


@click.group("token")
def token() -> None:
    """Registration tokens (devices register with them)."""


@token.command("create")
@click.argument("account_ref", metavar="ACCOUNT")
@click.argument("va_name", metavar="VA")
@click.option("--expires-days", default=30, show_default=True, help="Days until it expires.")
@click.option("--max-uses", type=int, default=None, help="Registrations allowed (default: unlimited).")
@click.option("--export-controlled", is_flag=True, help="Devices may use export-controlled licenses.")
@click.option("--description", default="")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def token_create(ctx: CliContext, account_ref: str, va_name: str, expires_days: int,
                 max_uses: int | None, export_controlled: bool, description: str,
                 as_json: bool) -> None:
    """Create a token and print it."""
    db = ctx.db
    with db.uow() as uow:
        view = service.create_token(uow, ctx.actor, _sealer(ctx), account_ref, va_name,
                                    expires_days=expires_days, max_uses=max_uses,
                                    export_controlled=export_controlled, description=description)
        uow.commit()
        now = uow.clock.now()
    if as_json:
        emit_json(view.as_dict(now))
    else:
        click.echo(view.secret)


@token.command("list")
@click.argument("account_ref", metavar="ACCOUNT")
@click.argument("va_name", metavar="VA")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def token_list(ctx: CliContext, account_ref: str, va_name: str, as_json: bool) -> None:
    """List a VA's tokens, with their secrets, uses and state."""
    with ctx.db.reader() as uow:
        views = service.list_tokens(uow.session, ctx.actor, _sealer(ctx), account_ref, va_name)
        now = uow.clock.now()
    if as_json:
        emit_json({"tokens": [v.as_dict(now) for v in views]})
        return
    for v in views:
        uses = f"{v.uses}/{v.max_uses if v.max_uses is not None else 'unlimited'}"
        click.echo(f"{v.id}\t{v.state(now)}\tuses {uses}\texpires {v.expires_at:%Y-%m-%d}\t"
                   f"{'export-controlled' if v.export_controlled else '-'}\t{v.secret}\t"
                   f"{v.description}")


@token.command("revoke")
@click.argument("account_ref", metavar="ACCOUNT")
@click.argument("va_name", metavar="VA")
@click.argument("token_id", type=int, metavar="TOKEN_ID")
@pass_ctx
def token_revoke(ctx: CliContext, account_ref: str, va_name: str, token_id: int) -> None:
    """Revoke a token (by the id `token list` shows): it registers no more devices."""
    with ctx.db.uow() as uow:
        service.revoke_token(uow, ctx.actor, account_ref, va_name, token_id)
        uow.commit()
    click.echo(f"Revoked token {token_id}")


COMMANDS = [token]
