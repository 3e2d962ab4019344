"""The one place where domain errors become what an operator sees on a page."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import flash, redirect
from flask_wtf import FlaskForm

from satellite.errors import SatelliteError


def report(exc: SatelliteError, form: FlaskForm | None = None, field: str | None = None, *,
           fields: Mapping[str, str] | None = None) -> int:
    """Show a service's refusal next to the form field it names, else next to `field` (or atop
    the form, or as a flash message).

    The error names the service's input (`exc.field`); `fields` maps those names to the form's
    where they differ. Returns the HTTP status the page is answered with, so that nothing
    looks like success.
    """
    if form is not None:
        named = (fields or {}).get(exc.field, exc.field) if exc.field else None
        chosen = named if named is not None and named in form else field
        target = form[chosen] if chosen is not None and chosen in form else None
        if target is not None:
            target.errors = [*target.errors, exc.message]
        else:
            form.form_errors.append(exc.message)
    else:
        flash(exc.message, "error")
    return exc.http_status


def then_back(action: Callable[[], str], back: str) -> Any:
    """A button's action: run it, flash what it did (the text it returns) or why the service
    refused, and go back to the page at `back`."""
    try:
        message = action()
    except SatelliteError as exc:
        report(exc)
    else:
        flash(message, "info")
    return redirect(back)
