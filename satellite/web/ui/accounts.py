"""Accounts, the per-account dashboard and the virtual account tree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, flash, redirect, request, url_for
from sqlalchemy.orm import Session

from satellite.access import requests
from satellite.access.models import AccountRequest
from satellite.accounts import removal
from satellite.accounts import service as accounts
from satellite.accounts.models import ACTIVE
from satellite.accounts.service import VaEntry
from satellite.alerts.service import list_alerts
from satellite.cloudsync.held import held_lines
from satellite.cloudsync.network import sync_status
from satellite.devices import service as devices
from satellite.errors import InvalidInput, SatelliteError
from satellite.licenses import service as licenses
from satellite.licenses.counters import line_counts
from satellite.licenses.models import OUT_OF_COMPLIANCE
from satellite.licenses.usage_history import usage_history
from satellite.permissions.policy import visible_va_ids
from satellite.proxy_tls import warnings as tls_warnings
from satellite.users.models import User
from satellite.web.ui.blueprint import ui
from satellite.web.ui.charts import history_charts, usage_bars
from satellite.web.ui.export_control import category_form
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
from satellite.web.ui.pages import (
    COUNT_LIMIT,
    VA_LIST_LIMIT,
    actor,
    database,
    offer_vas,
    reading,
    render,
    today,
)
from satellite.web.ui.session import allowed


@ui.route("/", endpoint="home", methods=["GET"])
def home() -> Any:
    with reading() as uow:
        visible = accounts.list_accounts(uow.session, actor())
    if len(visible) == 1:
        return redirect(url_for("ui.dashboard", account=visible[0].domain))
    return redirect(url_for("ui.accounts_page"))


@ui.route("/accounts", endpoint="accounts_page", methods=["GET", "POST"])
def accounts_page() -> Any:
    form = AccountForm(prefix="new")
    status = 200
    db = database()
    if form.validate_on_submit():
        try:
            with db.uow() as uow:
                account = accounts.create_account(uow, actor(), form.name.data or "",
                                                  form.domain.data or "",
                                                  pending=bool(form.pending.data))
                uow.commit()
                domain, state = account.domain, account.status
            flash(f"Account {form.name.data} created, {state.capitalize()}, with its Default "
                  "virtual account.", "info")
            return redirect(url_for("ui.dashboard", account=domain))
        except SatelliteError as exc:
            status = report(exc, form)
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


# A Pending account's page lists this many of its held lines.
HELD_ROWS = 200
# Consumption chart periods: days shown, and whether one snapshot a day is read.
HISTORY_RANGES = {"7d": (7, False), "30d": (30, True), "90d": (90, True), "400d": (400, True)}
# The dashboard draws the first pools of the account (the licenses page lists them all).
CHART_POOLS = 30


@dataclass(frozen=True)
class AccountRequestRow:
    request: AccountRequest
    requester: str
    may_decide: bool
    # Central's lines held for the domain asked for (delivered when it is approved), shown to
    # whoever decides: anyone may ask for any domain.
    held: int = 0


def account_requests(session: Session) -> list[AccountRequestRow]:
    """The account requests the signed-in user made or may decide, newest first."""
    who = actor()
    rows = []
    asked = list(reversed(requests.list_account_requests(session, who)))
    deciding = requests.to_decide(session, who, asked)
    for req in asked:
        user = session.get(User, req.user_id)
        rows.append(AccountRequestRow(req, user.username if user else f"#{req.user_id}",
                                      req.id in deciding, deciding.get(req.id, 0)))
    return rows


@ui.route("/a/<account>/", endpoint="dashboard", methods=["GET"])
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
        # Summaries: the first rows, without the lines behind them (nor, for the shortfalls,
        # a count that would read every pool of the account).
        out = licenses.list_licenses(s, who, on, account, status=OUT_OF_COMPLIANCE, limit=50,
                                     details=False, count=False)
        pools = licenses.list_licenses(s, who, on, account, limit=CHART_POOLS, details=False)
        notice_days = current_app.config["SATELLITE_SETTINGS"].expiry_notice_days
        soon = licenses.expiring(s, who, on, account, within_days=notice_days)
        # Account-wide figures go to those who may see the whole account.
        whole = visible_va_ids(s, who, "va.view", acct.id) is None
        by_status = (devices.account_status_counts(s, who, acct.domain, COUNT_LIMIT)
                     if whole else None)
        open_alerts = list_alerts(s, who, acct.domain, limit=10) if whole else None
        may_see_sync = allowed(s, who, "sync.view", account_id=acct.id)
        history = usage_history(s, who, acct.domain, since, daily=daily)
        may_see_health = allowed(s, who, "system.view")
        held = (held_lines(s, who, acct.domain, HELD_ROWS)[1:] if acct.status != ACTIVE
                else None)
        may_activate = acct.status != ACTIVE and allowed(s, who, "account.create")
        may_manage_deposits = allowed(s, who, "deposit_rule.manage", account_id=acct.id)
        may_set_category = allowed(s, who, "account.export_category")
    settings = current_app.config["SATELLITE_SETTINGS"]
    sync = sync_status(database(), settings, who, acct.domain) if may_see_sync else None
    # The same warnings `satellite status` prints, for those who look after the appliance.
    health = tls_warnings(settings, database().clock.now()) if may_see_health else []
    return render("dashboard.html", account=acct, out=out, soon=soon, today=on,
                  notice_days=notice_days, may_manage_deposits=may_manage_deposits,
                  devices_by_status=by_status, alerts=open_alerts, sync=sync, warnings=health,
                  chart=usage_bars(pools.rows),
                  pool_total=pools.total, history=history_charts(history, since, until),
                  history_period=period, history_ranges=HISTORY_RANGES,
                  history_since=since.date().isoformat(), held=held, may_activate=may_activate,
                  held_rows=HELD_ROWS, action=ActionForm(formdata=None),
                  category_form=category_form(acct) if may_set_category else None)


# The tree page shows as many levels as fit in this many rows; deeper VAs are one click away
# (each VA's page lists its children), or found by name.
TREE_ROWS = 300


@dataclass(frozen=True)
class TreeRow:
    va: VaEntry
    depth: int
    # VAs nested below this one that the page does not show (its children are collapsed).
    hidden: int = 0


def _tree(vas: list[VaEntry], limit: int = TREE_ROWS) -> tuple[list[TreeRow], int]:
    """VAs in folder order with their depth for indenting, as many levels as fit in `limit`
    rows, and how many VAs are not shown. Parents the actor cannot see are skipped, their
    visible children shown at the top.

    Every VA is placed (depth, VAs below it) in a few passes without recursion; only the
    levels shown are sorted and walked."""
    ids = {va.id for va in vas}
    children: dict[int | None, list[VaEntry]] = {}
    for va in vas:
        children.setdefault(va.parent_id if va.parent_id in ids else None, []).append(va)
    # Top-down, level by level: each VA's depth, and the order parents come before children.
    levels: list[list[VaEntry]] = []
    level = children.get(None, [])
    while level:
        levels.append(level)
        level = [child for va in level for child in children.get(va.id, ())]
    shown_depth, shown = 0, 0
    for depth, members in enumerate(levels):
        if depth > 0 and shown + len(members) > limit:
            break
        shown_depth, shown = depth, shown + len(members)
    # Bottom-up: how many VAs each VA of the deepest shown level holds.
    below: dict[int, int] = {}
    for members in reversed(levels[shown_depth:]):
        for va in members:
            below[va.id] = sum(1 + below[c.id] for c in children.get(va.id, ()))
    rows: list[TreeRow] = []

    def walk(parent: int | None, depth: int) -> None:
        for va in sorted(children.get(parent, []), key=_folder_order):
            if len(rows) == limit:
                return
            rows.append(TreeRow(va, depth, below[va.id] if depth == shown_depth else 0))
            if depth < shown_depth:
                walk(va.id, depth + 1)

    walk(None, 0)
    return rows, len(vas) - len(rows)


def _folder_order(va: VaEntry) -> tuple[bool, str]:
    return not va.is_default, va.name


def _named(vas: list[VaEntry], text: str, limit: int = TREE_ROWS) -> tuple[list[TreeRow], int]:
    found = [va for va in vas if text.lower() in va.name.lower()]
    return [TreeRow(va, 0) for va in found[:limit]], len(found) - min(len(found), limit)


@ui.route("/a/<account>/virtual-accounts", endpoint="vas_page", methods=["GET", "POST"])
def vas_page(account: str) -> Any:
    db = database()
    form = VaCreateForm()
    text = request.args.get("q", "").strip()
    with reading() as uow:
        acct, vas = accounts.va_entries(uow.session, actor(), account)
        offer_vas(form.parent, vas, top="(top level)")
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
            status = report(exc, form)
    elif form.errors:
        status = 400
    tree, not_shown = _named(vas, text) if text else _tree(vas)
    with reading() as uow:
        may_create = allowed(uow.session, actor(), "va.create", account_id=acct.id)
        counts = line_counts(uow.session, [row.va.id for row in tree])
    return render("vas.html", status, account=acct, tree=tree, not_shown=not_shown, q=text,
                  form=form, may_create=may_create, counts=counts, total=len(vas))


@ui.route("/a/<account>/virtual-accounts/<va>", endpoint="va_page", methods=["GET"])
def va_page(account: str, va: str, forms: dict[str, Any] | None = None, status: int = 200) -> Any:
    with reading() as uow:
        s = uow.session
        acct, the_va = accounts.va_for(s, actor(), account, va, "va.view")
        _, vas = accounts.va_entries(s, actor(), account, VA_LIST_LIMIT + 1)
        _, children = accounts.va_entries(s, actor(), account, under=the_va.id)
        path = accounts.va_path(s, the_va)
        contents = removal.va_contents(s, the_va.id)
        may_update = allowed(s, actor(), "va.update", account_id=acct.id, va_id=the_va.id)
        may_delete = allowed(s, actor(), "va.delete", account_id=acct.id, va_id=the_va.id)
        may_upload = allowed(s, actor(), "slup.upload", account_id=acct.id, va_id=the_va.id)
    forms = forms or {}
    upload = forms.get("upload") or ActionForm(formdata=None)
    rename = forms.get("rename") or VaRenameForm(formdata=None, new_name=the_va.name)
    move = forms.get("move") or VaMoveForm(formdata=None)
    offer_vas(move.parent, vas, top="(top level)", leave_out=the_va.name)
    delete = forms.get("delete") or ActionForm(formdata=None)
    return render("va.html", status, account=acct, va=the_va, path=path, contents=contents,
                  children=children, rename=rename, move=move, delete=delete, may_update=may_update,
                  may_delete=may_delete, upload=upload, may_upload=may_upload)


@ui.route("/a/<account>/virtual-accounts/<va>/rename", endpoint="va_rename", methods=["POST"])
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


@ui.route("/a/<account>/virtual-accounts/<va>/move", endpoint="va_move", methods=["POST"])
def va_move(account: str, va: str) -> Any:
    form = VaMoveForm()
    with reading() as uow:
        _, vas = accounts.va_entries(uow.session, actor(), account)
    offer_vas(form.parent, vas, top="(top level)")
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


@ui.route("/a/<account>/virtual-accounts/<va>/delete", endpoint="va_delete", methods=["POST"])
def va_delete(account: str, va: str) -> Any:
    form = ActionForm()
    if not form.validate_on_submit():
        return va_page(account, va, {"delete": form}, 400)
    try:
        with database().uow() as uow:
            removal.delete_va(uow, actor(), account, va)
            uow.commit()
    except SatelliteError as exc:
        return va_page(account, va, {"delete": form}, report(exc, form))
    flash(f"Virtual account {va} deleted.", "info")
    return redirect(url_for("ui.vas_page", account=account))
