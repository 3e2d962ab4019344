"""Helpers every page uses: the database, the clock, the signed-in actor, the account in view."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeVar

from flask import current_app, g, render_template
from markupsafe import Markup, escape
from wtforms import Field
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate it
from wtforms.widgets import TextInput

from satellite.accounts.service import VaEntry, list_accounts
from satellite.actor import Actor
from satellite.clock import as_utc, utc_text
from satellite.uow import Database, UnitOfWork

T = TypeVar("T")


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


# Past this many matches a page says "more than": counting a million rows costs more than
# showing them.
COUNT_LIMIT = 10_000
# Past this many VAs a page offers a text box for the VA's name instead of a list: thousands
# of options make every page heavy to send and to render, and no easier to choose from.
VA_LIST_LIMIT = 200


class NameInput(TextInput):
    """A text box standing in for a select of VA names (the field still checks the name)."""

    def __call__(self, field: Field, **kwargs: Any) -> Markup:
        kwargs.setdefault("value", field.data or "")
        return super().__call__(field, **kwargs)


def offer_vas(field: Field, vas: list[VaEntry], *, top: str | None = None,
              leave_out: str | None = None) -> None:
    """Let `field` take one of these VAs by name; `top` adds a first option meaning "no VA"
    (an empty text box, when there are too many VAs to list: a page that only offers VAs
    may load VA_LIST_LIMIT + 1 of them). `leave_out` names a VA not to offer (where a thing
    already is)."""
    if len(vas) > VA_LIST_LIMIT:
        # The service checks the name it is given, and reports one it does not know.
        field.choices = []  # type: ignore[attr-defined]
        field.validate_choice = False  # type: ignore[attr-defined]
        field.widget = NameInput()
        field.render_kw = {**(field.render_kw or {}), "placeholder": top or "name"}
        return
    options = [SelectChoice("", top)] if top is not None else []
    field.choices = options + [SelectChoice(va.name, va.name)  # type: ignore[attr-defined]
                               for va in vas if va.name != leave_out]


NO_TIME = "\u2013"  # an en dash, as pages show a missing value


def when(value: datetime | str | None, missing: str = NO_TIME) -> Markup:
    """The one way a page shows a time: `2026-03-01 12:00 UTC`, which app.js rewrites into
    the viewer's time zone; the UTC time, to the second, stays on hover (title)."""
    if value is None or value == "":
        return escape(missing)
    at = as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        utc_text(at), at.strftime("%Y-%m-%d %H:%M:%S UTC"), at.strftime("%Y-%m-%d %H:%M UTC"))


def seconds(value: float) -> str:
    """A duration as people compare them on one page: whole seconds (`90 s`, `3600 s`)."""
    return f"{round(value):d} s" if value >= 1 or value == 0 else f"{value:.1f} s"




def change(fn: Callable[[UnitOfWork], T]) -> T:
    """Run a state change in one transaction, committed when it returns."""
    with database().uow() as uow:
        result = fn(uow)
        uow.commit()
        return result


@contextmanager
def reading() -> Iterator[UnitOfWork]:
    """A read-only unit of work whose rows stay readable after it ends, for the template."""
    with database().reader() as uow:
        yield uow
        uow.session.expunge_all()


def other_accounts(session: Any, domain: str) -> list[Any]:
    """The accounts the actor may see but the one named, as choices of a form's select."""
    return [SelectChoice(a.domain, a.name) for a in list_accounts(session, actor())
            if a.domain != domain]
