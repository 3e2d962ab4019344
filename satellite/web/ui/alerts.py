"""Alerts of an account: open ones first, cleared ones on request."""

from __future__ import annotations

from typing import Any

from flask import request

from satellite.accounts import service as accounts
from satellite.alerts.channels import delivery_states
from satellite.alerts.service import list_alerts
from satellite.permissions.policy import visible_va_ids
from satellite.web.ui.blueprint import ui
from satellite.web.ui.pages import actor, reading, render
from satellite.web.ui.session import allowed


@ui.route("/a/<account>/alerts", endpoint="alerts_page", methods=["GET"])
def alerts_page(account: str) -> Any:
    cleared = request.args.get("cleared") == "1"
    with reading() as uow:
        acct = accounts.account_for(uow.session, actor(), account, "account.view")
        # Alerts speak of any VA of the account: they go to those who may see all of it.
        whole = visible_va_ids(uow.session, actor(), "va.view", acct.id) is None
        shown = list_alerts(uow.session, actor(), acct.domain, include_cleared=cleared) if whole else []
        deliveries = delivery_states(uow.session, [a.id for a in shown], acct.id)
        may_manage = allowed(uow.session, actor(), "alert.manage", account_id=acct.id)
    return render("alerts.html", account=acct, alerts=shown, cleared=cleared,
                  whole=whole, deliveries=deliveries, may_manage=may_manage)
