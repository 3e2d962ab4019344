"""License pools per account or VA, with filters and the transfer (borrow) form."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for

from satellite.accounts import service as accounts
from satellite.errors import InvalidInput, SatelliteError
from satellite.labels.filters import typed
from satellite.licenses import service as licenses
from satellite.licenses.counters import STATUSES
from satellite.licenses.transfers import transfer, transfer_between_accounts
from satellite.web.ui.blueprint import ui
from satellite.web.ui.feedback import report
from satellite.web.ui.forms import AccountTransferForm, LicenseTagForm, TransferForm
from satellite.web.ui.pages import (
    VA_LIST_LIMIT,
    actor,
    database,
    offer_vas,
    other_accounts,
    reading,
    render,
    today,
)
from satellite.web.ui.session import allowed_anywhere

PAGE_SIZE = 50


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        raise InvalidInput("page must be a whole number") from None


@ui.route("/a/<account>/licenses", endpoint="licenses_page", methods=["GET"])
def licenses_page(account: str, form: TransferForm | None = None, status: int = 200,
                  across: AccountTransferForm | None = None) -> Any:
    va = request.args.get("va") or None
    wanted_status = request.args.get("status") or None
    text = request.args.get("q", "").strip() or None
    tagged = typed(request.args.get("tag"))
    page = _page_number()
    with reading() as uow:
        s, who = uow.session, actor()
        acct, vas = accounts.va_entries(s, who, account, VA_LIST_LIMIT + 1)
        rows = licenses.list_licenses(s, who, today(), account, va_names=[va] if va else (),
                                      status=wanted_status, text=text, limit=PAGE_SIZE,
                                      offset=(page - 1) * PAGE_SIZE, tagged=tagged)
        may_transfer = allowed_anywhere(s, who, "license.transfer", acct.id)
        others = other_accounts(s, acct.domain) if may_transfer else []
    form = form or TransferForm(formdata=None, source=va or "")
    offer_vas(form.source, vas)
    offer_vas(form.target, vas)
    across = across or AccountTransferForm(formdata=None, prefix="acc", source=va or "")
    offer_vas(across.source, vas)
    across.to_account.choices = others
    pages = max(1, -(-rows.total // PAGE_SIZE))
    tagging = LicenseTagForm(formdata=None, prefix="lt", va=va or "")
    offer_vas(tagging.va, vas)
    filters = {"va": va or "", "status": wanted_status or "", "q": text or ""}
    return render("licenses.html", status, account=acct, vas=vas, rows=rows, form=form,
                  may_transfer=may_transfer, statuses=STATUSES, filters=filters,
                  query={**filters, "tag": " ".join(tagged)}, tagging=tagging,
                  page=page, pages=pages, across=across if others else None)


@ui.route("/a/<account>/licenses/transfer", endpoint="transfer", methods=["POST"])
def transfer_licenses(account: str) -> Any:
    form = TransferForm()
    with reading() as uow:
        _, vas = accounts.va_entries(uow.session, actor(), account, VA_LIST_LIMIT + 1)
    offer_vas(form.source, vas)
    offer_vas(form.target, vas)
    if not form.validate_on_submit():
        return licenses_page(account, form, 400)
    try:
        with database().uow() as uow:
            done = transfer(uow, actor(), account, form.source.data or "", form.target.data or "",
                            form.tag.data or "", form.quantity.data or 0)
            uow.commit()
    except SatelliteError as exc:
        return licenses_page(account, form, report(exc, form, fields={
            "source_va": "source", "target_va": "target"}))
    flash(f"Moved {done.quantity} x {done.tag} from {form.source.data} to {form.target.data}.",
          "info")
    return redirect(url_for("ui.licenses_page", account=account))


@ui.route("/a/<account>/licenses/transfer-account", endpoint="transfer_account", methods=["POST"])
def transfer_to_account(account: str) -> Any:
    """Move licenses to a VA of another account (needs the transfer right in both)."""
    form = AccountTransferForm(prefix="acc")
    with reading() as uow:
        _, vas = accounts.va_entries(uow.session, actor(), account, VA_LIST_LIMIT + 1)
        form.to_account.choices = other_accounts(
            uow.session, accounts.account_for(uow.session, actor(), account,
                                              "account.view").domain)
    offer_vas(form.source, vas)
    if not form.validate_on_submit():
        return licenses_page(account, None, 400, form)
    try:
        with database().uow() as uow:
            done = transfer_between_accounts(
                uow, actor(), account, form.source.data or "", form.to_account.data or "",
                form.target.data or "", form.tag.data or "", form.quantity.data or 0)
            uow.commit()
    except SatelliteError as exc:
        return licenses_page(account, None, report(exc, form, fields={
            "source_va": "source", "target_va": "target", "target_account": "to_account"}),
            form)
    flash(f"Moved {done.quantity} x {done.tag} from {form.source.data} to "
          f"{form.target.data} of {form.to_account.data}.", "info")
    return redirect(url_for("ui.licenses_page", account=account))
