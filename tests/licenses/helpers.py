"""Building pools for tests: accounts with VAs and license lines as Central would send them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from satellite.accounts.models import VirtualAccount
from satellite.accounts.service import create_account, create_va, get_account
from satellite.actor import Actor
from satellite.licenses.models import LicenseLine
from satellite.uow import Database

ROUTER = "regid.2024-01.com.example.router-advantage"
SWITCH = "regid.2024-01.com.example.switch-essentials"


def make_account(db: Database, actor: Actor, name: str = "Acme",
                 domain: str = "acme.example.com",
                 vas: tuple[str, ...] = ("Lab", "Ops")) -> dict[str, int]:
    """Create an account with VAs; returns VA ids by name (Default included)."""
    with db.uow() as uow:
        create_account(uow, actor, name, domain)
        for va in vas:
            create_va(uow, actor, name, va)
        uow.commit()
    return va_ids(db, name)


def va_ids(db: Database, account: str) -> dict[str, int]:
    with db.reader() as uow:
        acc = get_account(uow.session, account)
        rows = uow.session.execute(select(VirtualAccount.name, VirtualAccount.id)
                                   .where(VirtualAccount.account_id == acc.id))
        return {name: va_id for name, va_id in rows}


def add_line(db: Database, va_id: int, tag: str, quantity: int, license_type: str = "PERPETUAL",
             start: date | None = None, end: date | None = None, origin: str = "order-1",
             subscription_id: str = "", export_controlled: bool = False) -> int:
    with db.uow() as uow:
        line = LicenseLine(va_id=va_id, tag=tag, display_name=tag.rsplit(".", 1)[-1],
                           license_type=license_type, quantity=quantity, start_date=start,
                           end_date=end, subscription_id=subscription_id,
                           export_controlled=export_controlled, origin_id=origin)
        uow.session.add(line)
        uow.commit()
        return line.id


def lines_of(db: Database, va_id: int, tag: str) -> list[tuple[str, int, str, date | None,
                                                                 date | None, str]]:
    """(origin, quantity, type, start, end, subscription) of a VA's lines of a tag, sorted."""
    with db.reader() as uow:
        rows = uow.session.scalars(select(LicenseLine).where(LicenseLine.va_id == va_id,
                                                             LicenseLine.tag == tag))
        return sorted((r.origin_id, r.quantity, r.license_type, r.start_date, r.end_date,
                       r.subscription_id) for r in rows)


def account_id(db: Database, account: str) -> int:
    with db.reader() as uow:
        return get_account(uow.session, account).id
