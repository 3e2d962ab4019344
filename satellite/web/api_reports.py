"""REST downloads of every list: `GET /api/v1/accounts/{account}/reports/{kind}?format=csv`.

Kinds: licenses, product-instances, usage-history, alerts, reservations, audit-log. The
filters are the list pages' (`va`, `status`, `q`, `tag` (operators' tags, repeatable),
`since`, `until`, `user`, `action`, `cleared`). `/api/v1/reports/{kind}` without an account
spans every account the caller sees.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, request

from satellite.web.downloads import download, filters_from
from satellite.web.http import ACCOUNT, actor, authenticate_request, db, register_api

bp = Blueprint("api_reports", __name__, url_prefix="/api/v1")
bp.before_request(authenticate_request)


@bp.get("/reports/<kind>")
@bp.get(ACCOUNT + "/reports/<kind>")
def report(kind: str, account: str | None = None) -> Any:
    return download(db(), actor(), kind, request.args.get("format", "csv"),
                    filters_from(request.args, account))


def init_app(app: Flask) -> None:
    register_api(app, bp)
