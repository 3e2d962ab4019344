"""Alerts of an account: open ones first, cleared ones on request."""

from __future__ import annotations

from typing import Any

from flask import request

from satellite.accounts import service as accounts
from satellite.alerts.service import list_alerts
from satellite.web.ui.pages import actor, reading, render


def alerts_page(account: str) -> Any:
    cleared = request.args.get("cleared") == "1"
    with reading() as uow:
        acct = accounts.account_for(uow.session, actor(), account, "account.view")
        shown = list_alerts(uow.session, acct.domain, include_cleared=cleared)
    return render("alerts.html", account=acct, alerts=shown, cleared=cleared)
