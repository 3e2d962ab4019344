"""The audit trail: search, export and chain verification."""

from __future__ import annotations

from typing import Any

from flask import request

from satellite.accounts import service as accounts
from satellite.audit.models import AuditEvent
from satellite.audit.service import read_events, search_of, verify_chain
from satellite.errors import InvalidInput
from satellite.web.downloads import download, filters_from
from satellite.web.ui.blueprint import ui
from satellite.web.ui.pages import actor, database, reading, render

PAGE_SIZE = 100
SEARCH_FIELDS = ("account", "user", "action", "q", "since", "until")


def _filters() -> dict[str, str]:
    return {name: request.args.get(name, "").strip() for name in SEARCH_FIELDS}


def _events(limit: int) -> tuple[list[AuditEvent], dict[str, str]]:
    filters = _filters()
    before = request.args.get("before", "").strip()
    if before and not before.isdigit():
        raise InvalidInput("before must be an event number", field="before")
    with reading() as uow:
        account_id = (accounts.get_account(uow.session, filters["account"]).id
                      if filters["account"] else None)
        search = search_of(account_id=account_id, user=filters["user"], action=filters["action"],
                           text=filters["q"], since=filters["since"], until=filters["until"])
        events = read_events(uow.session, actor(), search, limit=limit,
                             before_id=int(before) if before else None)
    return events, filters


@ui.route("/audit", endpoint="audit_page", methods=["GET"])
def audit_page() -> Any:
    events, filters = _events(PAGE_SIZE)
    with reading() as uow:
        visible = accounts.list_accounts(uow.session, actor())
    older = events[-1].id if len(events) == PAGE_SIZE else None
    return render("audit.html", events=events, filters=filters, accounts=visible, older=older,
                  chain=None, shown={k: v for k, v in filters.items() if v})


@ui.route("/audit/verify", endpoint="audit_verify", methods=["GET"])
def audit_verify() -> Any:
    with reading() as uow:
        chain = verify_chain(uow.session, actor())
        visible = accounts.list_accounts(uow.session, actor())
    empty = dict.fromkeys(SEARCH_FIELDS, "")
    return render("audit.html", 200 if chain.ok else 409, events=[], filters=empty,
                  accounts=visible, older=None, chain=chain, shown={})


@ui.route("/audit.csv", endpoint="audit_csv", methods=["GET"])
@ui.route("/audit/export.<fmt>", endpoint="audit_export", methods=["GET"])
def audit_export(fmt: str = "csv") -> Any:
    return download(database(), actor(), "audit-log", fmt, filters_from(request.args, None))


@ui.route("/a/<account>/export/<kind>.<fmt>", endpoint="export", methods=["GET"])
def export(account: str, kind: str, fmt: str) -> Any:
    """Any list of an account as CSV or JSON, with the filters of its page."""
    return download(database(), actor(), kind, fmt, filters_from(request.args, account))
