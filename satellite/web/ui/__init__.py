"""The operator's web UI: server-rendered pages over the same services as the CLI and API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, flash, g, redirect, request, url_for
from flask import session as cookie
from flask_wtf.csrf import CSRFError

from satellite import __version__
from satellite.errors import SatelliteError

# Importing the page modules routes their views on the blueprint (`@ui.route`).
from satellite.web.ui import (  # noqa: F401
    accounts,
    activation,
    admin,
    alerts,
    audit,
    auth,
    channels,
    classic,
    deposits,
    devices,
    export_control,
    licenses,
    requests,
    reservations,
    slup,
    sync,
    tags,
    tokens,
)
from satellite.web.ui import session as web_session
from satellite.web.ui.blueprint import ui
from satellite.web.ui.forms import ActionForm
from satellite.web.ui.pages import COUNT_LIMIT, VA_LIST_LIMIT, database, render, seconds, when

# The session key remembering the account last viewed (for the navigation of other pages).
LAST_ACCOUNT = "account"
# Pages reachable without signing in.
PUBLIC = frozenset({"ui.sign_in"})
# Pages a user who must change their password may still reach.
BEFORE_PASSWORD_CHANGE = frozenset({"ui.password", "ui.sign_out"})

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


# Every request of the UI: signed in (or a public page), the same navigation, domain errors
# as a page. Registered once, when this package is imported; the page modules imported above
# have routed their views on the blueprint by then.
ui.before_request(_signed_in)
ui.context_processor(_context)
ui.register_error_handler(SatelliteError, _domain_error)


def init_app(app: Any) -> None:
    app.register_blueprint(ui)
    app.jinja_env.globals.update(VA_LIST_LIMIT=VA_LIST_LIMIT, COUNT_LIMIT=COUNT_LIMIT)
    app.jinja_env.filters.update(when=when, seconds=seconds)
    # CSRF failures are raised before any blueprint handler runs, so they are mapped app-wide.
    app.register_error_handler(CSRFError, _csrf_error)
