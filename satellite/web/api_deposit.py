"""REST API for the partner holding account and for deposit rules. Thin: parse the request,
call a service as the bearer token's actor, shape the answer."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify

from satellite.cloudsync.holding import deposit, list_holding
from satellite.licenses.deposit_rules import add_rule, list_rules, move_rule, remove_rule
from satellite.limits import INT32_MAX, check_int
from satellite.web.http import (
    ACCOUNT,
    actor,
    authenticate_request,
    body,
    field,
    read,
    register_api,
    write,
)

bp = Blueprint("api_deposit", __name__, url_prefix="/api/v1")
bp.before_request(authenticate_request)
RULES = ACCOUNT + "/deposit-rules"


def _number(data: dict[str, Any], name: str, *, required: bool) -> int | None:
    value = data.get(name)
    if value is None and not required:
        return None
    return check_int(value, name, 1, INT32_MAX)


@bp.get("/holding-lines")
def holding_list() -> Any:
    rows = read(lambda uow: list_holding(uow.session, actor()))
    return jsonify(holdingLines=rows, totalRecords=len(rows))


@bp.post("/holding-lines/<line>/deposit")
def holding_deposit(line: str) -> Any:
    data = body()
    account, va = field(data, "account"), field(data, "virtualAccount")
    quantity = _number(data, "quantity", required=False)
    return jsonify(write(lambda uow: deposit(uow, actor(), line, account, va, quantity)))


@bp.get(RULES)
def rule_list(account: str) -> Any:
    def run(uow: Any) -> dict[str, Any]:
        found, rows = list_rules(uow.session, actor(), account)
        return {"account": found.domain, "depositRules": rows}

    return jsonify(read(run))


@bp.post(RULES)
def rule_add(account: str) -> Any:
    data = body()
    match, pattern = field(data, "match"), field(data, "pattern")
    va = field(data, "virtualAccount")
    position = _number(data, "position", required=False)
    return jsonify(write(lambda uow: add_rule(uow, actor(), account, match, pattern, va,
                                              position)))


@bp.delete(RULES + "/<int:rule_id>")
def rule_remove(account: str, rule_id: int) -> Any:
    write(lambda uow: remove_rule(uow, actor(), account, rule_id))
    return jsonify(status="SUCCESS", statusMessage=f"deposit rule {rule_id} removed")


@bp.post(RULES + "/<int:rule_id>/move")
def rule_move(account: str, rule_id: int) -> Any:
    position = _number(body(), "position", required=True)
    assert position is not None
    return jsonify(write(lambda uow: move_rule(uow, actor(), account, rule_id, position)))


def init_app(app: Flask) -> None:
    register_api(app, bp)
