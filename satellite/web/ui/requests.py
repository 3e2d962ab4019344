"""Requests any signed-in user may make (access to an account, a new account), and the
decisions on account requests; access requests are decided on the account's Access page."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for

from satellite.access import requests
from satellite.errors import SatelliteError
from satellite.web.ui.accounts import accounts_listing
from satellite.web.ui.blueprint import ui
from satellite.web.ui.feedback import report
from satellite.web.ui.forms import AccessRequestForm, AccountRequestForm, ActionForm
from satellite.web.ui.pages import actor, database


def _listing(status: int, forms: dict[str, Any]) -> Any:
    return accounts_listing(status, forms)


@ui.route("/accounts/ask-access", endpoint="ask_access", methods=["POST"])
def ask_access() -> Any:
    form = AccessRequestForm(prefix="acc")
    if not form.validate_on_submit():
        return _listing(400, {"access": form})
    try:
        with database().uow() as uow:
            made = requests.request_access(uow, actor(), form.account.data or "",
                                           form.role.data or "", form.note.data or "")
            request_id = made.id
            uow.commit()
    except SatelliteError as exc:
        return _listing(report(exc, form), {"access": form})
    flash(f"Access request {request_id} sent to the administrators of {form.account.data}.",
          "info")
    return redirect(url_for("ui.accounts_page"))


@ui.route("/accounts/ask-account", endpoint="ask_account", methods=["POST"])
def ask_account() -> Any:
    form = AccountRequestForm(prefix="req")
    if not form.validate_on_submit():
        return _listing(400, {"request": form})
    try:
        with database().uow() as uow:
            made = requests.request_account(uow, actor(), form.name.data or "",
                                            form.domain.data or "", form.note.data or "")
            request_id = made.id
            uow.commit()
    except SatelliteError as exc:
        return _listing(report(exc, form), {"request": form})
    flash(f"Account request {request_id} sent.", "info")
    return redirect(url_for("ui.accounts_page"))


@ui.route("/accounts/requests/<int:request_id>", endpoint="decide_account", methods=["POST"])
def decide_account(request_id: int) -> Any:
    form = ActionForm()
    approve = request.form.get("approve") == "1"
    if not form.validate_on_submit():
        return _listing(400, {})
    try:
        with database().uow() as uow:
            requests.decide_account(uow, actor(), request_id, approve)
            uow.commit()
    except SatelliteError as exc:
        return _listing(report(exc), {})
    flash(f"Account request {request_id} "
          f"{'approved: the account is Active now' if approve else 'denied'}.", "info")
    return redirect(url_for("ui.accounts_page"))
