"""Accounts, the per-account dashboard and the virtual account tree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, flash, redirect, request, url_for
from sqlalchemy.orm import Session

from satellite.access import requests
from satellite.access.models import AccountRequest
from satellite.access.policy import visible_va_ids
from satellite.accounts import service as accounts
from satellite.accounts.models import VirtualAccount
from satellite.alerts.service import list_alerts
from satellite.cloudsync.network import sync_status
from satellite.devices import service as devices
from satellite.devices.models import DEVICE_STATES
from satellite.errors import InvalidInput, SatelliteError
from satellite.licenses import service as licenses
from satellite.licenses.history import usage_history
from satellite.licenses.models import OUT_OF_COMPLIANCE
from satellite.tls import warnings as tls_warnings
from satellite.users.models import User
from satellite.web.ui.charts import history_charts, usage_bars
from satellite.web.ui.feedback import report
from satellite.web.ui.forms import (
    AccessRequestForm,
    AccountForm,
    AccountRequestForm,
    ActionForm,
    VaCreateForm,
    VaMoveForm,
    VaRenameForm,
)
from satellite.web.ui.pages import actor, database, reading, render, today, va_choices
from satellite.web.ui.session import allowed


def home() -> Any:
    with reading() as uow:
        visible = accounts.list_accounts(uow.session, actor())
    if len(visible) == 1:
        return redirect(url_for("ui.dashboard", account=visible[0].domain))
    return redirect(url_for("ui.accounts_page"))


def accounts_page() -> Any:
    form = AccountForm(prefix="new")
    status = 200
    db = database()
    if form.validate_on_submit():
        try:
            with db.uow() as uow:
                account = accounts.create_account(uow, actor(), form.name.data or "",
                                                  form.domain.data or "")
                uow.commit()
                domain = account.domain
            flash(f"Account {form.name.data} created with its Default virtual account.", "info")
            return redirect(url_for("ui.dashboard", account=domain))
        except SatelliteError as exc:
            status = report(exc, form, "domain" if "domain" in exc.message else "name")
    elif form.errors:
        status = 400
    return accounts_listing(status, {"create": form})


def accounts_listing(status: int = 200, forms: dict[str, Any] | None = None) -> Any:
    """The accounts page, with any posted form shown again (errors and what was typed)."""
    forms = forms or {}
    with reading() as uow:
        rows = accounts.list_accounts(uow.session, actor())
        may_create = allowed(uow.session, actor(), "account.create")
        asked = account_requests(uow.session)
    return render("accounts.html", status, accounts=rows,
                  form=forms.get("create") or AccountForm(formdata=None, prefix="new"),
                  may_create=may_create, account_requests=asked,
                  access_form=forms.get("access") or AccessRequestForm(formdata=None, prefix="acc"),
                  request_form=forms.get("request") or AccountRequestForm(formdata=None,
                                                                          prefix="req"),
                  action=ActionForm(formdata=None))


# Consumption chart periods: days shown, and whether one snapshot a day is read.
HISTORY_RANGES = {"7d": (7, False), "30d": (30, True), "90d": (90, True), "400d": (400, True)}


@dataclass(frozen=True)
class AccountRequestRow:
    request: AccountRequest
    requester: str
    may_decide: bool


def account_requests(session: Session) -> list[AccountRequestRow]:
    """The account requests the signed-in user made or may decide, newest first."""
    who = actor()
    rows = []
    for req in reversed(requests.list_account_requests(session, who)):
        user = session.get(User, req.user_id)
        if req.parent_account_id is None:
            may = allowed(session, who, "account.create")
        else:
            may = allowed(session, who, "account_request.decide",
                          account_id=req.parent_account_id)
        rows.append(AccountRequestRow(req, user.username if user else f"#{req.user_id}", may))
    return rows


def dashboard(account: str) -> Any:
    on = today()
    period = request.args.get("history", "7d")
    if period not in HISTORY_RANGES:
        raise InvalidInput(f"history {period!r} is not one of {', '.join(HISTORY_RANGES)}")
    days, daily = HISTORY_RANGES[period]
    until = database().clock.now()
    since = until - timedelta(days=days)
    with reading() as uow:
        s, who = uow.session, actor()
        acct = accounts.account_for(s, who, account, "account.view")
        out = licenses.list_licenses(s, who, on, account, status=OUT_OF_COMPLIANCE, limit=50)
        pools = licenses.list_licenses(s, who, on, account, limit=200)
        soon = licenses.expiring(s, who, on, account, within_days=90)
        # Account-wide figures go to those who may see the whole account.
        whole = visible_va_ids(s, who, "va.view", acct.id) is None
        by_status = {state: devices.list_devices(s, who, account=acct.domain, status=state,
                                                 limit=0).total
                     for state in DEVICE_STATES} if whole else None
        open_alerts = list_alerts(s, who, acct.domain)[:10] if whole else None
        may_see_sync = allowed(s, who, "sync.view", account_id=acct.id)
        history = usage_history(s, who, acct.domain, since, daily=daily)
        may_see_health = allowed(s, who, "system.view")
    settings = current_app.config["SATELLITE_SETTINGS"]
    sync = sync_status(database(), settings, who, acct.domain) if may_see_sync else None
    # The same warnings `satellite status` prints, for those who look after the appliance.
    health = tls_warnings(settings, database().clock.now()) if may_see_health else []
    return render("dashboard.html", account=acct, out=out, soon=soon, today=on,
                  devices_by_status=by_status, alerts=open_alerts, sync=sync, warnings=health,
                  chart=usage_bars(pools.rows[:30]),
                  pool_total=pools.total, history=history_charts(history, since, until),
                  history_period=period, history_ranges=HISTORY_RANGES)


def _tree(vas: list[VirtualAccount]) -> list[tuple[VirtualAccount, int]]:
    """VAs in folder order with their depth for indenting (parents the actor cannot see are
    skipped, their visible children shown at the top)."""
    ids = {va.id for va in vas}
    children: dict[int | None, list[VirtualAccount]] = {}
    for va in vas:
        parent = va.parent_id if va.parent_id in ids else None
        children.setdefault(parent, []).append(va)
    ordered: list[tuple[VirtualAccount, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for va in sorted(children.get(parent, []), key=lambda v: (not v.is_default, v.name)):
            ordered.append((va, depth))
            walk(va.id, depth + 1)

    walk(None, 0)
    return ordered


def vas_page(account: str) -> Any:
    db = database()
    form = VaCreateForm()
    with reading() as uow:
        acct, vas = accounts.list_vas(uow.session, actor(), account)
        form.parent.choices = va_choices(vas, top="(top level)")
    status = 200
    if form.validate_on_submit():
        try:
            with db.uow() as uow:
                accounts.create_va(uow, actor(), account, form.name.data or "",
                                   form.parent.data or None, form.description.data or "")
                uow.commit()
            flash(f"Virtual account {form.name.data} created.", "info")
            return redirect(url_for("ui.vas_page", account=account))
        except SatelliteError as exc:
            status = report(exc, form, "parent" if "parent" in exc.message else "name")
    elif form.errors:
        status = 400
    with reading() as uow:
        may_create = allowed(uow.session, actor(), "va.create", account_id=acct.id)
        counts = {va.id: accounts.va_contents(uow.session, va.id) for va in vas}
    return render("vas.html", status, account=acct, tree=_tree(vas), form=form,
                  may_create=may_create, counts=counts)


def va_page(account: str, va: str, forms: dict[str, Any] | None = None, status: int = 200) -> Any:
    with reading() as uow:
        s = uow.session
        acct, the_va = accounts.va_for(s, actor(), account, va, "va.view")
        _, vas = accounts.list_vas(s, actor(), account)
        path = accounts.va_path(s, the_va)
        contents = accounts.va_contents(s, the_va.id)
        may_update = allowed(s, actor(), "va.update", account_id=acct.id, va_id=the_va.id)
        may_delete = allowed(s, actor(), "va.delete", account_id=acct.id, va_id=the_va.id)
    forms = forms or {}
    rename = forms.get("rename") or VaRenameForm(formdata=None, new_name=the_va.name)
    move = forms.get("move") or VaMoveForm(formdata=None)
    move.parent.choices = va_choices([v for v in vas if v.id != the_va.id], top="(top level)")
    delete = forms.get("delete") or ActionForm(formdata=None)
    return render("va.html", status, account=acct, va=the_va, path=path, contents=contents,
                  rename=rename, move=move, delete=delete, may_update=may_update,
                  may_delete=may_delete)


def va_rename(account: str, va: str) -> Any:
    form = VaRenameForm()
    if not form.validate_on_submit():
        return va_page(account, va, {"rename": form}, 400)
    try:
        with database().uow() as uow:
            accounts.rename_va(uow, actor(), account, va, form.new_name.data or "")
            uow.commit()
    except SatelliteError as exc:
        return va_page(account, va, {"rename": form}, report(exc, form, "new_name"))
    flash(f"Virtual account {va} renamed to {form.new_name.data}.", "info")
    return redirect(url_for("ui.va_page", account=account, va=form.new_name.data))


def va_move(account: str, va: str) -> Any:
    form = VaMoveForm()
    with reading() as uow:
        _, vas = accounts.list_vas(uow.session, actor(), account)
    form.parent.choices = va_choices(vas, top="(top level)")
    if not form.validate_on_submit():
        return va_page(account, va, {"move": form}, 400)
    try:
        with database().uow() as uow:
            accounts.move_va(uow, actor(), account, va, form.parent.data or None)
            uow.commit()
    except SatelliteError as exc:
        return va_page(account, va, {"move": form}, report(exc, form, "parent"))
    flash(f"Virtual account {va} moved.", "info")
    return redirect(url_for("ui.va_page", account=account, va=va))


def va_delete(account: str, va: str) -> Any:
    form = ActionForm()
    if not form.validate_on_submit():
        return va_page(account, va, {"delete": form}, 400)
    try:
        with database().uow() as uow:
            accounts.delete_va(uow, actor(), account, va)
            uow.commit()
    except SatelliteError as exc:
        return va_page(account, va, {"delete": form}, report(exc, form))
    flash(f"Virtual account {va} deleted.", "info")
    return redirect(url_for("ui.vas_page", account=account))
