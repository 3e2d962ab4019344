"""`satellite classic list|conversions|transfer|convert`: classic (PAK) licenses."""

from __future__ import annotations

import click

from satellite.cli import CliContext, emit_json, pass_ctx
from satellite.licenses.classic import (
    convert_classic,
    list_classic,
    list_conversions,
    transfer_classic,
)
from satellite.licenses.classic_schemas import classic_json, conversion_json

_ACCOUNT = click.argument("account_ref", metavar="ACCOUNT")
_PAK = click.option("--pak", required=True, help="Product Activation Key number.")
_SKU = click.option("--sku", required=True, help="The SKU of the PAK.")


@click.group("classic")
def classic_group() -> None:
    """Classic (PAK) licenses and their conversion to Smart Licensing."""


@classic_group.command("list")
@_ACCOUNT
@click.option("--va", default=None, help="Only this virtual account's.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def list_cmd(ctx: CliContext, account_ref: str, va: str | None, as_json: bool) -> None:
    """Classic licenses of an account (those of no VA are the account's, shown to all)."""
    with ctx.db.reader() as uow:
        _, rows = list_classic(uow.session, ctx.actor, account_ref, va)
        items = [classic_json(row) for row in rows]
    if as_json:
        emit_json({"totalRecords": len(items), "classicLicenses": items})
        return
    click.echo(f"Classic licenses: {len(items)}")
    for i in items:
        click.echo(f"{i['pak']}\t{i['sku']}\t{i['virtualAccount'] or '(no VA)'}\t{i['license']}"
                   f"\tquantity={i['quantity']}\tconverted={i['converted']}\t"
                   f"pending={i['pending']}\tconvertible={i['convertible']}"
                   + (f"\tnode-locked to {i['deviceUdi']}" if i["deviceUdi"] else ""))


@classic_group.command("conversions")
@_ACCOUNT
@click.option("--va", default=None, help="Only requests into this virtual account.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def conversions_cmd(ctx: CliContext, account_ref: str, va: str | None, as_json: bool) -> None:
    """Conversion requests, newest first: Pending until Central's answer is imported."""
    with ctx.db.reader() as uow:
        items = [conversion_json(c) for c in list_conversions(uow.session, ctx.actor,
                                                               account_ref, va)]
    if as_json:
        emit_json({"totalRecords": len(items), "conversions": items})
        return
    for i in items:
        click.echo(f"{i['requestId']}\t{i['status']}\t{i['quantity']} x {i['pak']}/{i['sku']}"
                   f"\tto {i['virtualAccount']}\t{i['origin']}-led"
                   + (f"\t{i['device']}" if i["device"] else "")
                   + (f"\t{i['reason']}" if i["reason"] else ""))


@classic_group.command("transfer")
@_ACCOUNT
@_PAK
@_SKU
@click.option("--to", "target", required=True, help="Virtual account receiving it.")
@pass_ctx
def transfer_cmd(ctx: CliContext, account_ref: str, pak: str, sku: str, target: str) -> None:
    """Move a classic license to another virtual account of the account."""
    with ctx.db.uow() as uow:
        done = transfer_classic(uow, ctx.actor, account_ref, pak, sku, target)
        uow.commit()
    click.echo(f"Moved PAK {pak} SKU {sku} to {done.va}")


@classic_group.command("convert")
@_ACCOUNT
@_PAK
@_SKU
@click.option("--quantity", required=True, type=click.IntRange(1), help="How many to convert.")
@click.option("--va", default=None,
              help="Virtual account for the pooled licenses (default: the license's, else "
                   "Default).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def convert_cmd(ctx: CliContext, account_ref: str, pak: str, sku: str, quantity: int,
                va: str | None, as_json: bool) -> None:
    """Ask Central to convert classic licenses to Smart Licensing (with the next sync)."""
    with ctx.db.uow() as uow:
        done = convert_classic(uow, ctx.actor, account_ref, pak, sku, quantity, va)
        item = conversion_json(done)
        uow.commit()
    if as_json:
        emit_json(item)
        return
    click.echo(f"Conversion {item['requestId']} of {quantity} x PAK {pak} SKU {sku} into "
               f"{item['virtualAccount']}: Pending; it goes to Central with the next "
               "`satellite sync export`")


COMMANDS = [classic_group]
