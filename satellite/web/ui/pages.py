"""Helpers every page uses: the database, the clock, the signed-in actor, the account in view."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from flask import current_app, g, render_template
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate it

from satellite.accounts.models import Account, VirtualAccount
from satellite.actor import Actor
from satellite.uow import Database, UnitOfWork


def database() -> Database:
    db: Database = current_app.extensions["satellite.db"]
    return db


def today() -> date:
    return database().clock.now().date()


def actor() -> Actor:
    who: Actor = g.actor
    return who


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, **context), status


def va_choices(vas: list[VirtualAccount], *, top: str | None = None) -> list[SelectChoice]:
    """Select options for VAs, by name; `top` adds a first option meaning "no VA"."""
    options = [SelectChoice("", top)] if top is not None else []
    return options + [SelectChoice(va.name, va.name) for va in vas]


def account_label(account: Account) -> str:
    return f"{account.name} ({account.domain})"




@contextmanager
def reading() -> Iterator[UnitOfWork]:
    """A read-only unit of work whose rows stay readable after it ends, for the template."""
    with database().reader() as uow:
        yield uow
        uow.session.expunge_all()
