"""The operator's web UI: server-rendered pages over the same services as the CLI and API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, request, url_for
from flask import session as cookie
from flask_wtf.csrf import CSRFError

from satellite import __version__
from satellite.errors import SatelliteError
from satellite.web.ui import (
    accounts,
    admin,
    alerts,
    audit,
    auth,
    channels,
    devices,
    licenses,
    requests,
    reservations,
    slup,
    sync,
    tokens,
)
from satellite.web.ui import session as web_session
from satellite.web.ui.forms import ActionForm
from satellite.web.ui.pages import COUNT_LIMIT, VA_LIST_LIMIT, database, render, seconds, when

# The session key remembering the account last viewed (for the navigation of other pages).
LAST_ACCOUNT = "account"
# Pages reachable without signing in.
PUBLIC = frozenset({"ui.sign_in"})
# Pages a user who must change their password may still reach.
BEFORE_PASSWORD_CHANGE = frozenset({"ui.password", "ui.sign_out"})

_GET, _POST, _BOTH = ["GET"], ["POST"], ["GET", "POST"]
ROUTES: list[tuple[str, str, Any, list[str]]] = [
    ("/sign-in", "sign_in", auth.sign_in, _BOTH),
    ("/sign-out", "sign_out", auth.sign_out, _POST),
    ("/password", "password", auth.password, _BOTH),
    ("/", "home", accounts.home, _GET),
    ("/accounts", "accounts_page", accounts.accounts_page, _BOTH),
    ("/accounts/ask-access", "ask_access", requests.ask_access, _POST),
    ("/accounts/ask-account", "ask_account", requests.ask_account, _POST),
    ("/accounts/requests/<int:request_id>", "decide_account", requests.decide_account, _POST),
    ("/a/<account>/", "dashboard", accounts.dashboard, _GET),
    ("/a/<account>/virtual-accounts", "vas_page", accounts.vas_page, _BOTH),
    ("/a/<account>/virtual-accounts/<va>", "va_page", accounts.va_page, _GET),
    ("/a/<account>/virtual-accounts/<va>/rename", "va_rename", accounts.va_rename, _POST),
    ("/a/<account>/virtual-accounts/<va>/move", "va_move", accounts.va_move, _POST),
    ("/a/<account>/virtual-accounts/<va>/delete", "va_delete", accounts.va_delete, _POST),
    ("/a/<account>/licenses", "licenses_page", licenses.licenses_page, _GET),
    ("/a/<account>/licenses/transfer", "transfer", licenses.transfer_licenses, _POST),
    ("/a/<account>/licenses/transfer-account", "transfer_account",
     licenses.transfer_to_account, _POST),
    ("/a/<account>/devices", "devices_page", devices.devices_page, _GET),
    ("/a/<account>/virtual-accounts/<va>/usage-reports", "usage_upload", slup.upload, _POST),
    # A Cisco PID may hold a slash (ISR4331/K9): device routes take the UDI as a path.
    ("/a/<account>/devices/<path:udi>/transfer", "device_transfer", devices.transfer, _POST),
    ("/a/<account>/devices/<path:udi>/remove", "device_remove", devices.remove, _POST),
    ("/a/<account>/devices/<path:udi>/ack.txt", "device_ack", slup.ack_download, _GET),
    ("/a/<account>/devices/<path:udi>", "device_page", devices.device_page, _GET),
    ("/a/<account>/tokens", "tokens_page", tokens.tokens_page, _GET),
    ("/a/<account>/tokens/create", "token_create", tokens.create, _POST),
    ("/a/<account>/tokens/<va>/<int:token_id>/revoke", "token_revoke", tokens.revoke, _POST),
    ("/a/<account>/alerts", "alerts_page", alerts.alerts_page, _GET),
    ("/a/<account>/alerts/channels", "channels_page", channels.channels_page, _GET),
    ("/a/<account>/alerts/channels/add", "channel_add", channels.add, _POST),
    ("/a/<account>/alerts/channels/<name>/test", "channel_test", channels.test, _POST),
    ("/a/<account>/alerts/channels/<name>/remove", "channel_remove", channels.remove, _POST),
    ("/a/<account>/reservations", "reservations_page", reservations.reservations_page, _GET),
    ("/a/<account>/reservations/authorize", "authorize", reservations.authorize, _POST),
    ("/a/<account>/reservations/mode", "reservation_mode", reservations.set_mode, _POST),
    ("/a/<account>/reservations/return", "reservation_return", reservations.return_code, _POST),
    ("/a/<account>/reservations/satellite-chain.pem", "reservation_chain", reservations.chain,
     _GET),
    ("/a/<account>/reservations/<udi>", "reservation_page", reservations.reservation_page, _GET),
    ("/a/<account>/reservations/<udi>/authorization.json", "reservation_download",
     reservations.download, _GET),
    ("/a/<account>/reservations/<udi>/update", "reservation_update", reservations.update, _POST),
    ("/a/<account>/reservations/<udi>/confirm", "reservation_confirm", reservations.confirm,
     _POST),
    ("/a/<account>/reservations/<udi>/remove", "reservation_remove", reservations.remove, _POST),
    ("/a/<account>/access", "access_page", admin.access_page, _GET),
    ("/a/<account>/access/grant", "grant", admin.add_grant, _POST),
    ("/a/<account>/access/revoke", "revoke", admin.revoke_grant, _POST),
    ("/a/<account>/access/requests/<int:request_id>", "decide", admin.decide, _POST),
    ("/a/<account>/access/api-clients", "api_client_create", admin.create_client, _POST),
    ("/a/<account>/access/api-clients/<client_id>/revoke", "api_client_revoke",
     admin.revoke_client, _POST),
    ("/users", "users_page", admin.users_page, _GET),
    ("/users/create", "user_create", admin.create_user, _POST),
    ("/users/<username>/disabled", "user_disabled", admin.set_disabled, _POST),
    ("/users/<username>/password", "user_password", admin.reset_password, _POST),
    ("/sync", "sync_page", sync.sync_page, _GET),
    ("/sync/preview", "sync_preview", sync.preview, _POST),
    ("/sync/apply", "sync_apply", sync.apply, _POST),
    ("/sync/inspect", "sync_inspect", sync.inspect, _POST),
    ("/sync/export", "sync_export", sync.export, _POST),
    ("/sync/register", "sync_register", sync.register, _POST),
    ("/sync/now", "sync_now", sync.sync_now, _POST),
    ("/audit", "audit_page", audit.audit_page, _GET),
    ("/audit/verify", "audit_verify", audit.audit_verify, _GET),
    ("/audit.csv", "audit_csv", audit.audit_export, _GET),
    ("/audit/export.<fmt>", "audit_export", audit.audit_export, _GET),
    ("/a/<account>/export/<kind>.<fmt>", "export", audit.export, _GET),
    ("/system", "system_page", admin.system_page, _GET),
    ("/settings", "settings_page", admin.settings_page, _GET),
]


@dataclass(frozen=True)
class SignedIn:
    id: int
    username: str
    is_system_admin: bool
    must_change_password: bool


def _signed_in() -> Any:
    user, timed_out = web_session.current_user(database(),
                                               current_app.config["SATELLITE_IDLE_TIMEOUT"])
    if user is not None:
        g.user = SignedIn(user.id, user.username, user.is_system_admin,
                          user.must_change_password)
        g.actor = web_session.actor_of(user)
    if request.endpoint in PUBLIC:
        return None
    if user is None:
        if timed_out:
            flash("Your session ended after a while without use: sign in again.", "info")
        return redirect(url_for("ui.sign_in"))
    if g.user.must_change_password and request.endpoint not in BEFORE_PASSWORD_CHANGE:
        flash("Choose a new password before going on.", "info")
        return redirect(url_for("ui.password"))
    return None


def _domain_error(exc: SatelliteError) -> Any:
    return render("error.html", exc.http_status, message=exc.message)


def _csrf_error(exc: CSRFError) -> Any:
    return render("error.html", 400,
                  message="The form had expired or did not come from this site: nothing was "
                          "changed. Reload the page and try again.")


def _context() -> dict[str, Any]:
    # The account in view, else the last one viewed: every page shows the same navigation.
    account = (request.view_args or {}).get("account")
    if account and g.get("user") is not None:
        cookie[LAST_ACCOUNT] = account
    elif g.get("user") is not None:
        account = cookie.get(LAST_ACCOUNT)
    return {"user": g.get("user"), "version": __version__, "sign_out": ActionForm(formdata=None),
            "account_param": account, "endpoint": request.endpoint}


def blueprint() -> Blueprint:
    bp = Blueprint("ui", __name__)
    for rule, endpoint, view, methods in ROUTES:
        bp.add_url_rule(rule, endpoint, view, methods=methods)
    bp.before_request(_signed_in)
    bp.context_processor(_context)
    bp.register_error_handler(SatelliteError, _domain_error)
    return bp


def init_app(app: Any) -> None:
    app.register_blueprint(blueprint())
    app.jinja_env.globals.update(VA_LIST_LIMIT=VA_LIST_LIMIT, COUNT_LIMIT=COUNT_LIMIT)
    app.jinja_env.filters.update(when=when, seconds=seconds)
    # CSRF failures are raised before any blueprint handler runs, so they are mapped app-wide.
    app.register_error_handler(CSRFError, _csrf_error)
