"""Adding and removing tags on license pools, product instances and reservations; each form
goes back to the page it was on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, request, url_for

from satellite.accounts import service as accounts
from satellite.errors import SatelliteError
from satellite.labels.filters import typed
from satellite.labels.service import Item, add_labels, remove_labels
from satellite.web.ui.blueprint import ui
from satellite.web.ui.feedback import report
from satellite.web.ui.forms import LicenseTagForm, TagForm
from satellite.web.ui.pages import VA_LIST_LIMIT, actor, database, offer_vas, reading


def _change(form: TagForm, item: Callable[[], Item], remove: bool, back: str) -> Any:
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash("; ".join(str(e) for e in errors), "error")
        return redirect(back)
    try:
        with database().uow() as uow:
            left = (remove_labels if remove else add_labels)(uow, actor(), item(),
                                                             typed(form.tags.data))
            uow.commit()
    except SatelliteError as exc:
        report(exc)
        return redirect(back)
    flash(f"Tags now: {' '.join(left) or 'none'}.", "info")
    return redirect(back)


@ui.route("/a/<account>/devices/<path:udi>/tags", endpoint="device_tag", methods=["POST"])
def device_tag(account: str, udi: str) -> Any:
    return _change(TagForm(), lambda: Item("device", udi=udi, account=account), False,
                   url_for("ui.device_page", account=account, udi=udi))


@ui.route("/a/<account>/devices/<path:udi>/tags/remove", endpoint="device_untag",
          methods=["POST"])
def device_untag(account: str, udi: str) -> Any:
    return _change(TagForm(), lambda: Item("device", udi=udi, account=account), True,
                   url_for("ui.device_page", account=account, udi=udi))


@ui.route("/a/<account>/reservations/<udi>/tags", endpoint="reservation_tag", methods=["POST"])
def reservation_tag(account: str, udi: str) -> Any:
    return _change(TagForm(), lambda: Item("reservation", udi=udi, account=account), False,
                   url_for("ui.reservation_page", account=account, udi=udi))


@ui.route("/a/<account>/reservations/<udi>/tags/remove", endpoint="reservation_untag",
          methods=["POST"])
def reservation_untag(account: str, udi: str) -> Any:
    return _change(TagForm(), lambda: Item("reservation", udi=udi, account=account), True,
                   url_for("ui.reservation_page", account=account, udi=udi))


def _license_form(account: str) -> LicenseTagForm:
    form = LicenseTagForm(prefix="lt")
    with reading() as uow:
        _, vas = accounts.va_entries(uow.session, actor(), account, VA_LIST_LIMIT + 1)
    offer_vas(form.va, vas)
    return form


def _license_item(account: str, form: LicenseTagForm) -> Callable[[], Item]:
    return lambda: Item("license", account=account, va=form.va.data or "",
                        license=(form.license.data or "").strip())


@ui.route("/a/<account>/licenses/tags", endpoint="license_tag", methods=["POST"])
def license_tag(account: str) -> Any:
    form = _license_form(account)
    remove = request.form.get("remove") is not None
    return _change(form, _license_item(account, form), remove,
                   url_for("ui.licenses_page", account=account) + "#tags")
