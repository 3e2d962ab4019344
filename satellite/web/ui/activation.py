"""Activating a Pending account, and the lines held for domains with no account."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for

from satellite.access.requests import activate_account, requested_lines
from satellite.cloudsync.held import held_lines
from satellite.errors import InvalidInput, SatelliteError
from satellite.limits import INT32_MAX
from satellite.web.ui.blueprint import ui
from satellite.web.ui.feedback import report
from satellite.web.ui.forms import ActionForm
from satellite.web.ui.pages import actor, database, reading, render

# Held lines per page of the list of lines held for no account.
HELD_PAGE = 200


@ui.route("/a/<account>/activate", endpoint="account_activate", methods=["POST"])
def account_activate(account: str) -> Any:
    form = ActionForm()
    if form.validate_on_submit():
        try:
            with database().uow() as uow:
                done = activate_account(uow, actor(), account)
                name, domain = done.name, done.domain
                uow.commit()
            flash(f"Account {name} is Active; the lines held for it are in its pools.", "info")
            return redirect(url_for("ui.dashboard", account=domain))
        except SatelliteError as exc:
            report(exc)
    return redirect(url_for("ui.dashboard", account=account))


def _offset() -> int:
    offset = request.args.get("offset", 0, type=int) or 0
    if not 0 <= offset <= INT32_MAX:
        raise InvalidInput(f"offset must be 0 to {INT32_MAX:,}", field="offset")
    return offset


@ui.route("/held-licenses", endpoint="held_page", methods=["GET"])
def held_page() -> Any:
    offset = _offset()
    with reading() as uow:
        _none, rows, total = held_lines(uow.session, actor(), None, HELD_PAGE, offset)
    return render("held.html", rows=rows, total=total, offset=offset, page_size=HELD_PAGE,
                  request_of=None)


@ui.route("/accounts/requests/<int:request_id>/held-licenses", endpoint="requested_held",
          methods=["GET"])
def requested_held(request_id: int) -> Any:
    """For whoever decides an account request: what Central holds for the account asked for."""
    offset = _offset()
    with reading() as uow:
        req, rows, total = requested_lines(uow.session, actor(), request_id, HELD_PAGE, offset)
    return render("held.html", rows=rows, total=total, offset=offset, page_size=HELD_PAGE,
                  request_of=req)
