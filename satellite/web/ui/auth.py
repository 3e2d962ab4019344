"""Sign-in, sign-out and password change."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, flash, g, redirect, request, url_for

from satellite.bootstrap import retire_initial_password
from satellite.errors import SatelliteError
from satellite.users.service import change_password, login
from satellite.web.ui import session as web_session
from satellite.web.ui.blueprint import ui
from satellite.web.ui.feedback import report
from satellite.web.ui.forms import ActionForm, PasswordForm, SignInForm
from satellite.web.ui.pages import database, render


@ui.route("/sign-in", endpoint="sign_in", methods=["GET", "POST"])
def sign_in() -> Any:
    form = SignInForm()
    if form.validate_on_submit():
        db = database()
        try:
            with db.uow() as uow:
                user = login(uow, form.username.data or "", form.password.data or "",
                             source=f"web {request.remote_addr or '-'}")
                web_session.start(uow.session, user, db.clock.now(), _lifetime())
                uow.commit()
        except SatelliteError as exc:
            form.password.data = ""
            return render("sign_in.html", report(exc, form), form=form)
        return redirect(url_for("ui.home"))
    return render("sign_in.html", 400 if form.errors else 200, form=form)


def _lifetime() -> timedelta:
    lifetime: timedelta = current_app.config["PERMANENT_SESSION_LIFETIME"]
    return lifetime


@ui.route("/sign-out", endpoint="sign_out", methods=["POST"])
def sign_out() -> Any:
    form = ActionForm()
    if form.validate_on_submit():
        web_session.end(database())
        flash("You are signed out.", "info")
    return redirect(url_for("ui.sign_in"))


@ui.route("/password", endpoint="password", methods=["GET", "POST"])
def password() -> Any:
    form = PasswordForm()
    if form.validate_on_submit():
        db = database()
        try:
            with db.uow() as uow:
                user = change_password(uow, g.user.username, form.current.data or "",
                                       form.new.data or "",
                                       source=f"web {request.remote_addr or '-'}")
                web_session.start(uow.session, user, db.clock.now(), _lifetime())
                uow.commit()
            retire_initial_password(current_app.config["SATELLITE_SETTINGS"].data_dir, db)
        except SatelliteError as exc:
            field = "current" if exc.http_status in (401, 429) else "new"
            return render("password.html", report(exc, form, field), form=form)
        flash("Your password is changed; other sessions are signed out.", "info")
        return redirect(url_for("ui.home"))
    return render("password.html", 400 if form.errors else 200, form=form)
