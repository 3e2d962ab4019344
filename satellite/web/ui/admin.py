"""Users, access to an account (grants, requests, API clients) and system health."""

from __future__ import annotations

import shutil
from datetime import datetime
from typing import Any

from flask import current_app, flash, redirect, request, url_for
from sqlalchemy import text
from sqlalchemy.orm import Session

from satellite import __version__
from satellite.access import apiclients, grants, requests
from satellite.accounts import service as accounts
from satellite.config import Settings
from satellite.db import schema_revision
from satellite.effective_settings import effective_settings
from satellite.errors import InvalidInput, SatelliteError
from satellite.keystore import open_keystore
from satellite.leader import leader_node
from satellite.permissions.policy import VA_ROLES, require
from satellite.proxy_tls import installed as installed_certificate
from satellite.proxy_tls import warnings as tls_warnings
from satellite.scheduler import JobRun, job_runs, scheduled_jobs
from satellite.state import get_state
from satellite.users import service as users
from satellite.users.models import User
from satellite.web.ui.blueprint import ui
from satellite.web.ui.feedback import report
from satellite.web.ui.forms import (
    ActionForm,
    ApiClientForm,
    GrantForm,
    ResetPasswordForm,
    UserForm,
)
from satellite.web.ui.pages import actor, database, offer_vas, reading, render
from satellite.web.ui.session import allowed, allowed_vas


@ui.route("/users", endpoint="users_page", methods=["GET"])
def users_page(form: UserForm | None = None, status: int = 200) -> Any:
    with reading() as uow:
        rows = users.list_users(uow.session, actor())
        held = grants.grants_by_user(uow.session, [u.id for u in rows])
    return render("users.html", status, users=rows, held=held,
                  form=form or UserForm(formdata=None), action=ActionForm(formdata=None),
                  reset=ResetPasswordForm(formdata=None))


@ui.route("/users/create", endpoint="user_create", methods=["POST"])
def create_user() -> Any:
    form = UserForm()
    if not form.validate_on_submit():
        return users_page(form, 400)
    try:
        with database().uow() as uow:
            users.create_user(uow, actor(), form.username.data or "", form.password.data or "",
                              system_admin=bool(form.system_admin.data), must_change_password=True)
            uow.commit()
    except SatelliteError as exc:
        return users_page(form, report(exc, form))
    flash(f"User {form.username.data} created; they choose their own password at first sign-in.",
          "info")
    return redirect(url_for("ui.users_page"))


def _user_action(username: str, change: Any, done: str) -> Any:
    try:
        with database().uow() as uow:
            change(uow)
            uow.commit()
    except SatelliteError as exc:
        return users_page(status=report(exc))
    flash(done.format(username=username), "info")
    return redirect(url_for("ui.users_page"))


@ui.route("/users/<username>/disabled", endpoint="user_disabled", methods=["POST"])
def set_disabled(username: str) -> Any:
    form = ActionForm()
    disable = request.form.get("disable") == "1"
    if not form.validate_on_submit():
        return users_page(status=400)
    return _user_action(username, lambda uow: users.set_disabled(uow, actor(), username, disable),
                        "User {username} " + ("disabled." if disable else "enabled."))


@ui.route("/users/<username>/password", endpoint="user_password", methods=["POST"])
def reset_password(username: str) -> Any:
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        flash("Give the new password.", "error")
        return users_page(status=400)
    password = form.password.data or ""
    return _user_action(username, lambda uow: users.reset_password(uow, actor(), username, password),
                        "The password of {username} is reset; they must change it at sign-in.")


@ui.route("/a/<account>/access", endpoint="access_page", methods=["GET"])
def access_page(account: str, forms: dict[str, Any] | None = None, status: int = 200,
                secret: tuple[str, str] | None = None) -> Any:
    forms = forms or {}
    with reading() as uow:
        s, who = uow.session, actor()
        acct, vas = accounts.va_entries(s, who, account)
        held = grants.list_grants(s, who, account) if allowed(
            s, who, "grant.view", account_id=acct.id) else []
        may_grant = bool(allowed_vas(s, who, "grant.manage", acct.id, vas))
        may_decide = allowed(s, who, "access_request.decide", account_id=acct.id)
        pending = requests.list_access_requests(s, who, account) if may_decide else []
        may_clients = allowed(s, who, "apiclient.manage", account_id=acct.id)
        clients = apiclients.list_clients(s, who, account) if may_clients else []
        names = {r.user_id: users_name(s, r.user_id) for r in pending}
    grant_form = forms.get("grant") or GrantForm(formdata=None)
    offer_vas(grant_form.va, vas, top="(whole account)")
    return render("access.html", status, account=acct, grants=held, may_grant=may_grant,
                  grant=grant_form, action=ActionForm(formdata=None), pending=pending,
                  names=names, may_decide=may_decide, may_clients=may_clients, clients=clients,
                  client_form=forms.get("client") or ApiClientForm(formdata=None), secret=secret,
                  va_roles=VA_ROLES)


def users_name(session: Session, user_id: int) -> str:
    user = session.get(User, user_id)
    return user.username if user else f"#{user_id}"


@ui.route("/a/<account>/access/grant", endpoint="grant", methods=["POST"])
def add_grant(account: str) -> Any:
    form = GrantForm()
    with reading() as uow:
        _, vas = accounts.va_entries(uow.session, actor(), account)
    offer_vas(form.va, vas, top="(whole account)")
    if not form.validate_on_submit():
        return access_page(account, {"grant": form}, 400)
    try:
        with database().uow() as uow:
            grants.grant(uow, actor(), form.username.data or "", form.role.data or "", account,
                         form.va.data or None)
            uow.commit()
    except SatelliteError as exc:
        return access_page(account, {"grant": form}, report(exc, form, fields={"va_name": "va"}))
    flash(f"{form.username.data} now holds {form.role.data}.", "info")
    return redirect(url_for("ui.access_page", account=account))


@ui.route("/a/<account>/access/revoke", endpoint="revoke", methods=["POST"])
def revoke_grant(account: str) -> Any:
    form = ActionForm()
    username, role = request.form.get("username", ""), request.form.get("role", "")
    va = request.form.get("va") or None
    if not form.validate_on_submit():
        return access_page(account, status=400)
    try:
        with database().uow() as uow:
            grants.revoke(uow, actor(), username, role, account, va)
            uow.commit()
    except SatelliteError as exc:
        return access_page(account, status=report(exc))
    flash(f"{username} no longer holds {role}.", "info")
    return redirect(url_for("ui.access_page", account=account))


@ui.route("/a/<account>/access/requests/<int:request_id>", endpoint="decide", methods=["POST"])
def decide(account: str, request_id: int) -> Any:
    form = ActionForm()
    approve = request.form.get("approve") == "1"
    if not form.validate_on_submit():
        return access_page(account, status=400)
    try:
        with database().uow() as uow:
            requests.decide_access(uow, actor(), request_id, approve)
            uow.commit()
    except SatelliteError as exc:
        return access_page(account, status=report(exc))
    flash(f"Request {request_id} {'approved' if approve else 'denied'}.", "info")
    return redirect(url_for("ui.access_page", account=account))


@ui.route("/a/<account>/access/api-clients", endpoint="api_client_create", methods=["POST"])
def create_client(account: str) -> Any:
    form = ApiClientForm()
    if not form.validate_on_submit():
        return access_page(account, {"client": form}, 400)
    try:
        with database().uow() as uow:
            client, secret = apiclients.create_client(uow, actor(), account, form.role.data or "",
                                                      form.description.data or "")
            client_id = client.client_id
            uow.commit()
    except SatelliteError as exc:
        return access_page(account, {"client": form}, report(exc, form, "role"))
    # Shown on this one answer only: the page is not cached and the secret is stored hashed.
    return access_page(account, secret=(client_id, secret))


@ui.route("/a/<account>/access/api-clients/<client_id>/revoke", endpoint="api_client_revoke",
          methods=["POST"])
def revoke_client(account: str, client_id: str) -> Any:
    form = ActionForm()
    if not form.validate_on_submit():
        return access_page(account, status=400)
    try:
        with database().uow() as uow:
            apiclients.revoke_client(uow, actor(), account, client_id)
            uow.commit()
    except SatelliteError as exc:
        return access_page(account, status=report(exc))
    flash(f"API client {client_id} revoked with its tokens.", "info")
    return redirect(url_for("ui.access_page", account=account))


@ui.route("/settings", endpoint="settings_page", methods=["GET"])
def settings_page() -> Any:
    settings: Settings = current_app.config["SATELLITE_SETTINGS"]
    with reading() as uow:
        groups = effective_settings(uow.session, actor(), settings)
    return render("settings.html", groups=groups)


@ui.route("/system", endpoint="system_page", methods=["GET"])
def system_page() -> Any:
    settings: Settings = current_app.config["SATELLITE_SETTINGS"]
    db = database()
    with db.reader() as uow:
        require(uow.session, actor(), "system.view")
        satellite_id = get_state(uow.session, "satellite_id") or ""
    leader: str | None = None
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database_state = "answering"
        leader = leader_node(db.engine, satellite_id)
    except Exception as exc:  # any driver failure is what the page must show
        database_state = f"not answering ({type(exc).__name__})"
    runs = {run.name: run for run in job_runs(db)}
    jobs = [(job, runs.get(job.name)) for job in scheduled_jobs(settings)]
    now = db.clock.now()
    disk = shutil.disk_usage(settings.data_dir)
    try:
        keys = open_keystore(settings).describe()
    except SatelliteError as exc:
        raise InvalidInput(exc.message) from None
    return render("system.html", version=__version__, engine=db.engine.dialect.name,
                  database_state=database_state, revision=",".join(schema_revision(db.engine)),
                  jobs=jobs, disk=disk, keys=keys, warnings=tls_warnings(settings, now),
                  settings=settings, certificate=installed_certificate(settings), leader=leader,
                  durations={j.name: _took(r) for j, r in jobs if r is not None})


def _took(run: JobRun) -> float | None:
    """How long the job's last run took, in seconds (None before its first run)."""
    if not run.last_started or not run.last_finished:
        return None
    return (datetime.fromisoformat(run.last_finished)
            - datetime.fromisoformat(run.last_started)).total_seconds()
