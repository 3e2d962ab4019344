"""`satellite tag add|remove|list`: operators' own tags on licenses, devices and reservations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from satellite.cli import CliContext, emit_json, fail, pass_ctx
from satellite.labels.service import Item, add_labels, item_labels, remove_labels

_WHAT = """Name the item with --device UDI, --reservation UDI, or --account A --va V --license
TAG (a license pool: one license tag in one virtual account)."""


def _item_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--device", "device_udi", default=None, metavar="UDI",
                     help="A product instance: PID:<pid>,SN:<serial> or a serial number."),
        click.option("--reservation", "reservation_udi", default=None, metavar="UDI",
                     help="A reservation, by its device's UDI (PID:SN)."),
        click.option("--account", default=None, help="Account of the license pool."),
        click.option("--va", default=None, help="Virtual account of the license pool."),
        click.option("--license", "license_tag", default=None, metavar="TAG",
                     help="License tag of the pool (e.g. regid.2024-01.com.example.x)."),
        click.option("--json", "as_json", is_flag=True),
    ]):
        command = option(command)
    return command


def _item(device_udi: str | None, reservation_udi: str | None, account: str | None,
          va: str | None, license_tag: str | None) -> Item:
    named = [kind for kind, given in (("device", device_udi), ("reservation", reservation_udi),
                                      ("license", account or va or license_tag)) if given]
    if len(named) != 1:
        fail("name one item: " + _WHAT.replace("\n", " "))
    if named[0] == "device":
        return Item("device", udi=device_udi or "")
    if named[0] == "reservation":
        return Item("reservation", udi=reservation_udi or "")
    return Item("license", account=account or "", va=va or "", license=license_tag or "")


def _show(item: Item, tags: list[str], as_json: bool) -> None:
    if as_json:
        emit_json({"kind": item.kind, "tags": tags})
    else:
        click.echo(" ".join(tags) if tags else "(no tags)")


@click.group("tag")
def tag() -> None:
    """Your own tags on licenses, devices and reservations, to find them by; they never grant
    or restrict access."""


@tag.command("add")
@click.argument("tags", nargs=-1, required=True)
@_item_options
@pass_ctx
def tag_add(ctx: CliContext, tags: tuple[str, ...], device_udi: str | None,
            reservation_udi: str | None, account: str | None, va: str | None,
            license_tag: str | None, as_json: bool) -> None:
    """Put TAGS on an item (letters, digits and . _ : / + -; at most 20 per item)."""
    item = _item(device_udi, reservation_udi, account, va, license_tag)
    with ctx.db.uow() as uow:
        found = add_labels(uow, ctx.actor, item, tags)
        uow.commit()
    _show(item, found, as_json)


@tag.command("remove")
@click.argument("tags", nargs=-1, required=True)
@_item_options
@pass_ctx
def tag_remove(ctx: CliContext, tags: tuple[str, ...], device_udi: str | None,
               reservation_udi: str | None, account: str | None, va: str | None,
               license_tag: str | None, as_json: bool) -> None:
    """Take TAGS off an item; prints the tags left."""
    item = _item(device_udi, reservation_udi, account, va, license_tag)
    with ctx.db.uow() as uow:
        found = remove_labels(uow, ctx.actor, item, tags)
        uow.commit()
    _show(item, found, as_json)


@tag.command("list")
@_item_options
@pass_ctx
def tag_list(ctx: CliContext, device_udi: str | None, reservation_udi: str | None,
             account: str | None, va: str | None, license_tag: str | None,
             as_json: bool) -> None:
    """Show an item's tags. To find items by tag, give --tag to `device list`,
    `reservation list` or --with-tag to `license list`."""
    item = _item(device_udi, reservation_udi, account, va, license_tag)
    with ctx.db.reader() as uow:
        found = item_labels(uow.session, ctx.actor, item)
    _show(item, found, as_json)


COMMANDS = [tag]
