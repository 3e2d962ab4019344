"""Product instances of an account: search, filter, page through; detail; transfer and remove."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for

from satellite.accounts import service as accounts
from satellite.devices import evaluation
from satellite.devices import service as devices
from satellite.devices.models import DEVICE_STATES
from satellite.devices.moves import move_device
from satellite.errors import NotFound, SatelliteError
from satellite.labels.filters import typed
from satellite.permissions.policy import visible_va_ids
from satellite.web.ui.blueprint import ui
from satellite.web.ui.feedback import report
from satellite.web.ui.forms import ActionForm, DeviceMoveForm, DeviceTransferForm, TagForm
from satellite.web.ui.pages import (
    COUNT_LIMIT,
    VA_LIST_LIMIT,
    actor,
    database,
    offer_vas,
    other_accounts,
    reading,
    render,
)
from satellite.web.ui.session import allowed, allowed_anywhere

PAGE_SIZE = 50


@ui.route("/a/<account>/devices", endpoint="devices_page", methods=["GET"])
def devices_page(account: str) -> Any:
    va = request.args.get("va") or None
    status = request.args.get("status") or None
    text = request.args.get("q", "").strip() or None
    in_evaluation = request.args.get("evaluation") or None
    tagged = typed(request.args.get("tag"))
    after = request.args.get("after") or None
    before = None if after else request.args.get("before") or None
    with reading() as uow:
        s = uow.session
        # Only offered (the service checks the name): enough to know whether to list them.
        acct, vas = accounts.va_entries(s, actor(), account, VA_LIST_LIMIT + 1)
        everything = visible_va_ids(s, actor(), "va.view", acct.id) is None
        if not everything and va is None:
            # Someone granted some VAs only sees one of them at a time.
            va = vas[0].name if vas else ""
        rows = devices.list_devices(s, actor(), account=acct.domain, va=va, status=status,
                                    search=text, limit=PAGE_SIZE, after=after, before=before,
                                    count_limit=COUNT_LIMIT, now=uow.clock.now(),
                                    in_evaluation=in_evaluation, tagged=tagged)
    filters = {k: v for k, v in (("va", va), ("status", status), ("q", text),
                                 ("tag", " ".join(tagged))) if v}
    # Downloads take these filters; the pages keep the evaluation too.
    paged = {**filters, **({"evaluation": in_evaluation} if in_evaluation else {})}
    return render("devices.html", account=acct, vas=vas, rows=rows, statuses=DEVICE_STATES,
                  everything=everything, filters=filters, paged=paged,
                  evaluations=evaluation.FILTERS, ended=evaluation.ENDED)


def device_of(s: Any, account: str, udi: str) -> tuple[Any, list[Any], dict[str, Any]]:
    acct, vas = accounts.va_entries(s, actor(), account, VA_LIST_LIMIT + 1)
    # The service shows only a device the actor may see; the page only one of this account.
    shown = devices.show_device(s, actor(), udi, now=database().clock.now())
    if shown["account"] != acct.name:
        raise NotFound(f"no device with UDI {udi!r} in {acct.name}")
    return acct, vas, shown


@ui.route("/a/<account>/devices/<path:udi>", endpoint="device_page", methods=["GET"])
def device_page(account: str, udi: str, form: DeviceTransferForm | None = None,
                status: int = 200, moving: DeviceMoveForm | None = None) -> Any:
    with reading() as uow:
        s, who = uow.session, actor()
        acct, vas, shown = device_of(s, account, udi)
        may_change = allowed_anywhere(s, who, "device.manage", acct.id)
        may_tag = allowed(s, who, "device.manage", account_id=acct.id,
                          va_id=accounts.get_va(s, acct, shown["va"]).id)
        others = other_accounts(s, acct.domain) if allowed(
            s, who, "device.transfer_account", account_id=acct.id) else []
    form = form or DeviceTransferForm(formdata=None)
    offer_vas(form.target, vas, leave_out=shown["va"])
    moving = moving or DeviceMoveForm(formdata=None, prefix="mv")
    moving.to_account.choices = others
    active = shown["deregistered_at"] is None
    return render("device.html", status, account=acct, device=shown, form=form,
                  remove=ActionForm(formdata=None), may_change=may_change and active,
                  tagging=TagForm(formdata=None), may_tag=may_tag,
                  moving=moving if others and may_change and active else None)


@ui.route("/a/<account>/devices/<path:udi>/transfer", endpoint="device_transfer", methods=["POST"])
def transfer(account: str, udi: str) -> Any:
    form = DeviceTransferForm()
    with reading() as uow:
        _, vas, _shown = device_of(uow.session, account, udi)
    offer_vas(form.target, vas)
    if not form.validate_on_submit():
        return device_page(account, udi, form, 400)
    try:
        with database().uow() as uow:
            moved = devices.transfer_device(uow, actor(), udi, form.target.data or "")
            uow.commit()
    except SatelliteError as exc:
        return device_page(account, udi, form, report(exc, form, "target"))
    flash(f"Moved {moved['udi']} to {moved['va']}.", "info")
    return redirect(url_for("ui.device_page", account=account, udi=udi))


@ui.route("/a/<account>/devices/<path:udi>/move", endpoint="device_move", methods=["POST"])
def move(account: str, udi: str) -> Any:
    """Move the device to a VA of another account (rights in both accounts)."""
    form = DeviceMoveForm(prefix="mv")
    with reading() as uow:
        acct, _vas, _shown = device_of(uow.session, account, udi)
        form.to_account.choices = other_accounts(uow.session, acct.domain)
    if not form.validate_on_submit():
        return device_page(account, udi, None, 400, form)
    try:
        with database().uow() as uow:
            moved = move_device(uow, actor(), udi, form.to_account.data or "",
                                form.target.data or "")
            uow.commit()
    except SatelliteError as exc:
        return device_page(account, udi, None, report(exc, form, "target"), form)
    flash(f"Moved {moved['udi']} to {moved['account']} / {moved['va']}.", "info")
    return redirect(url_for("ui.device_page", account=form.to_account.data, udi=udi))


@ui.route("/a/<account>/devices/<path:udi>/remove", endpoint="device_remove", methods=["POST"])
def remove(account: str, udi: str) -> Any:
    form = ActionForm()
    if not form.validate_on_submit():
        return device_page(account, udi, None, 400)
    with reading() as uow:
        device_of(uow.session, account, udi)
    try:
        with database().uow() as uow:
            gone = devices.remove_device(uow, actor(), udi)
            uow.commit()
    except SatelliteError as exc:
        return device_page(account, udi, None, report(exc))
    flash(f"Removed {gone['udi']}: its licenses went back to the pool.", "info")
    return redirect(url_for("ui.devices_page", account=account))
