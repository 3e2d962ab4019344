"""Alert channels of an account: add, send a test, remove; and what was delivered."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, url_for
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate it

from satellite.accounts import service as accounts
from satellite.alerts import channels
from satellite.alerts.delivery import send_test
from satellite.alerts.models import SEVERITIES
from satellite.errors import SatelliteError
from satellite.tokens.secrets import TokenSealer
from satellite.web.ui.blueprint import ui
from satellite.web.ui.feedback import report, then_back
from satellite.web.ui.forms import ActionForm, ChannelForm
from satellite.web.ui.pages import actor, change, database, reading, render

DELIVERIES_SHOWN = 50


@ui.route("/a/<account>/alerts/channels", endpoint="channels_page", methods=["GET"])
def channels_page(account: str, form: ChannelForm | None = None, status: int = 200,
                  secret: str | None = None) -> Any:
    with reading() as uow:
        s, who = uow.session, actor()
        acct = accounts.account_for(s, who, account, "account.view")
        listed = channels.list_channels(s, who, acct.domain)
        # Both refuse those who may not manage the account's channels (account admins may).
        deliveries = channels.list_deliveries(s, who, acct.domain, limit=DELIVERIES_SHOWN)
    form = form or ChannelForm(formdata=None)
    form.min_severity.choices = [SelectChoice(s, s) for s in SEVERITIES]
    return render("channels.html", status, account=acct, channels=listed,
                  deliveries=deliveries, form=form, action=ActionForm(formdata=None),
                  secret=secret)


@ui.route("/a/<account>/alerts/channels/add", endpoint="channel_add", methods=["POST"])
def add(account: str) -> Any:
    form = ChannelForm()
    form.min_severity.choices = [SelectChoice(s, s) for s in SEVERITIES]
    if not form.validate_on_submit():
        return channels_page(account, form, 400)
    settings = current_app.config["SATELLITE_SETTINGS"]
    sealer = TokenSealer.for_data_dir(settings.data_dir)
    try:
        with database().uow() as uow:
            view = channels.add_channel(uow, actor(), sealer, account, form.name.data or "",
                                        form.kind.data or "", form.target.data or "",
                                        min_severity=form.min_severity.data or "warning",
                                        dedupe_hours=form.dedupe_hours.data or 0,
                                        allow_local=settings.alert_allow_local_targets)
            uow.commit()
    except SatelliteError as exc:
        return channels_page(account, form, report(exc, form))
    flash(f"Added {view.kind} channel {view.name!r}.", "info")
    if view.secret:
        # The webhook's signing key is shown once, on this answer only.
        return channels_page(account, None, 200, secret=view.secret)
    return redirect(url_for("ui.channels_page", account=account))


@ui.route("/a/<account>/alerts/channels/<name>/test", endpoint="channel_test", methods=["POST"])
def test(account: str, name: str) -> Any:
    if not ActionForm().validate_on_submit():
        return channels_page(account, None, 400)

    def send() -> str:
        send_test(database(), current_app.config["SATELLITE_SETTINGS"], actor(), account, name)
        return f"Test alert sent through {name!r}."

    return then_back(send, url_for("ui.channels_page", account=account))


@ui.route("/a/<account>/alerts/channels/<name>/remove", endpoint="channel_remove", methods=["POST"])
def remove(account: str, name: str) -> Any:
    if not ActionForm().validate_on_submit():
        return channels_page(account, None, 400)

    def drop() -> str:
        change(lambda uow: channels.remove_channel(uow, actor(), account, name))
        return f"Removed channel {name!r} and its queued deliveries."

    return then_back(drop, url_for("ui.channels_page", account=account))
