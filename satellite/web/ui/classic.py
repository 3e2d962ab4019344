"""Classic Licenses: an account's (or a VA's) PAKs, with the transfer and convert forms and the
conversion requests, Pending until Central's answer comes back with a sync."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate it

from satellite.accounts import service as accounts
from satellite.errors import SatelliteError
from satellite.licenses.classic import (
    ClassicView,
    convert_classic,
    list_classic,
    list_conversions,
    transfer_classic,
)
from satellite.web.ui.blueprint import ui
from satellite.web.ui.feedback import report
from satellite.web.ui.forms import ClassicConvertForm, ClassicTransferForm
from satellite.web.ui.pages import VA_LIST_LIMIT, actor, database, offer_vas, reading, render
from satellite.web.ui.session import allowed_anywhere


def _label(view: ClassicView) -> str:
    return f"{view.license.pak} / {view.license.sku} ({view.va or 'no VA'})"


def _offer(transfer: ClassicTransferForm, convert: ClassicConvertForm, rows: list[ClassicView],
           vas: list[Any]) -> None:
    for form in (transfer, convert):
        form.license.choices = [SelectChoice(str(r.license.id), _label(r)) for r in rows]
    offer_vas(transfer.target, vas)
    offer_vas(convert.target, vas, top="Its own (else Default)")


@ui.route("/a/<account>/classic", endpoint="classic_page", methods=["GET"])
def classic_page(account: str, transfer: ClassicTransferForm | None = None,
                 convert: ClassicConvertForm | None = None, status: int = 200) -> Any:
    va = request.args.get("va") or None
    with reading() as uow:
        s, who = uow.session, actor()
        acct, vas = accounts.va_entries(s, who, account, VA_LIST_LIMIT + 1)
        rows = list_classic(s, who, account, va)[1]
        conversions = list_conversions(s, who, account, va, limit=50)
        may_transfer = allowed_anywhere(s, who, "license.transfer", acct.id)
        may_convert = allowed_anywhere(s, who, "license.convert", acct.id)
    transfer = transfer or ClassicTransferForm(formdata=None, prefix="t")
    convert = convert or ClassicConvertForm(formdata=None, prefix="c")
    _offer(transfer, convert, rows, vas)
    return render("classic.html", status, account=acct, vas=vas, rows=rows,
                  conversions=conversions, filters={"va": va or ""}, transfer=transfer,
                  convert=convert, may_transfer=may_transfer, may_convert=may_convert)


def _chosen(account: str,
            form: ClassicTransferForm | ClassicConvertForm) -> ClassicView | None:
    """The license the posted form names, its choices and VAs offered as the page does."""
    with reading() as uow:
        _, vas = accounts.va_entries(uow.session, actor(), account, VA_LIST_LIMIT + 1)
        rows = list_classic(uow.session, actor(), account)[1]
    form.license.choices = [SelectChoice(str(r.license.id), _label(r)) for r in rows]
    if isinstance(form, ClassicConvertForm):
        offer_vas(form.target, vas, top="Its own (else Default)")
    else:
        offer_vas(form.target, vas)
    return next((r for r in rows if str(r.license.id) == form.license.data), None)


@ui.route("/a/<account>/classic/transfer", endpoint="classic_transfer", methods=["POST"])
def classic_transfer(account: str) -> Any:
    form = ClassicTransferForm(prefix="t")
    chosen = _chosen(account, form)
    if not form.validate_on_submit() or chosen is None:
        return classic_page(account, transfer=form, status=400)
    try:
        with database().uow() as uow:
            done = transfer_classic(uow, actor(), account, chosen.license.pak,
                                    chosen.license.sku, form.target.data or "")
            uow.commit()
    except SatelliteError as exc:
        return classic_page(account, transfer=form, status=report(
            exc, form, "license", fields={"target_va": "target"}))
    flash(f"Moved PAK {chosen.license.pak} SKU {chosen.license.sku} to {done.va}.", "info")
    return redirect(url_for("ui.classic_page", account=account))


@ui.route("/a/<account>/classic/convert", endpoint="classic_convert", methods=["POST"])
def classic_convert(account: str) -> Any:
    form = ClassicConvertForm(prefix="c")
    chosen = _chosen(account, form)
    if not form.validate_on_submit() or chosen is None:
        return classic_page(account, convert=form, status=400)
    try:
        with database().uow() as uow:
            done = convert_classic(uow, actor(), account, chosen.license.pak,
                                   chosen.license.sku, form.quantity.data or 0,
                                   form.target.data or None)
            uow.commit()
    except SatelliteError as exc:
        return classic_page(account, convert=form, status=report(
            exc, form, "license", fields={"va": "target"}))
    flash(f"Conversion of {form.quantity.data} x PAK {chosen.license.pak} SKU "
          f"{chosen.license.sku} into {done.va} requested: Pending until Central answers "
          "(export a sync file, or wait for the network sync).", "info")
    return redirect(url_for("ui.classic_page", account=account))
