"""The one place where domain errors become what an operator sees on a page."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

from satellite.errors import SatelliteError


def report(exc: SatelliteError, form: FlaskForm | None = None, field: str | None = None) -> int:
    """Show a service's refusal next to `field` (or atop the form, or as a flash message).

    Returns the HTTP status the page is answered with, so that nothing looks like success.
    """
    if form is not None:
        target = getattr(form, field, None) if field else None
        if target is not None:
            target.errors = [*target.errors, exc.message]
        else:
            form.form_errors.append(exc.message)
    else:
        flash(exc.message, "error")
    return exc.http_status
