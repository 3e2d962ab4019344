"""The audit trail: filters, CSV export and chain verification."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from flask import Response, request

from satellite.accounts import service as accounts
from satellite.audit.models import AuditEvent
from satellite.audit.service import read_events, verify_chain
from satellite.errors import InvalidInput
from satellite.web.ui.pages import actor, reading, render

PAGE_SIZE = 100
CSV_LIMIT = 100_000


def _filters() -> tuple[str, str, int | None]:
    account = request.args.get("account", "").strip()
    action = request.args.get("action", "").strip()
    before = request.args.get("before", "").strip()
    if before and not before.isdigit():
        raise InvalidInput("before must be an event number")
    return account, action, int(before) if before else None


def _events(limit: int) -> tuple[list[AuditEvent], dict[str, str]]:
    account, action, before = _filters()
    with reading() as uow:
        account_id = accounts.get_account(uow.session, account).id if account else None
        events = read_events(uow.session, actor(), account_id=account_id, action=action or None,
                             limit=limit, before_id=before)
    return events, {"account": account, "action": action}


def audit_page() -> Any:
    events, filters = _events(PAGE_SIZE)
    with reading() as uow:
        visible = accounts.list_accounts(uow.session, actor())
    older = events[-1].id if len(events) == PAGE_SIZE else None
    return render("audit.html", events=events, filters=filters, accounts=visible, older=older,
                  chain=None)


def audit_verify() -> Any:
    with reading() as uow:
        chain = verify_chain(uow.session, actor())
        visible = accounts.list_accounts(uow.session, actor())
    return render("audit.html", 200 if chain.ok else 409, events=[], filters={"account": "", "action": ""},
                  accounts=visible, older=None, chain=chain)


def _cell(value: str) -> str:
    # A spreadsheet would run a cell starting with one of these as a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def audit_csv() -> Any:
    events, _ = _events(CSV_LIMIT)

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["id", "at", "actor", "action", "target", "account_id", "details", "hash"])
        for e in events:
            writer.writerow([e.id, e.at.isoformat(), _cell(e.actor), _cell(e.action),
                             _cell(e.target), e.account_id if e.account_id is not None else "",
                             _cell(e.details), e.hash])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    return Response(rows(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
