"""REST API under /api/v1 for registration tokens, devices, alerts and the sync status.

On-Prem shapes, as existing automation sends them. Thin: the services check who may do what.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request

from satellite.alerts.models import INFO, Alert
from satellite.alerts.service import list_alerts
from satellite.clock import utc_text
from satellite.cloudsync.network import sync_status
from satellite.devices import service as devices
from satellite.devices.moves import move_device
from satellite.devices.udi import check_udi
from satellite.errors import InvalidInput, NotFound
from satellite.tokens import service as tokens
from satellite.tokens.secrets import TokenSealer
from satellite.uow import UnitOfWork
from satellite.web.api_tags import tag_filter
from satellite.web.http import (
    ACCOUNT,
    VA,
    actor,
    authenticate_request,
    body,
    db,
    field,
    page,
    read,
    register_api,
    write,
)

bp = Blueprint("api_devices", __name__, url_prefix="/api/v1")
bp.before_request(authenticate_request)

EXPORT = {"Allowed": True, "Not Allowed": False}


def _sealer() -> TokenSealer:
    return TokenSealer.for_data_dir(current_app.config["SATELLITE_SETTINGS"].data_dir)


def _int(data: dict[str, Any], name: str, default: int | None) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidInput(f"{name!r} must be a whole number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name!r} must be a whole number") from None


def _objects(data: dict[str, Any], *names: str) -> list[dict[str, Any]]:
    value = next((data[n] for n in names if n in data), None)
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise InvalidInput(f"{names[0]!r} must be a non-empty list of objects")
    return value


# Registration tokens

def _token_json(view: tokens.TokenView, now: Any) -> dict[str, Any]:
    return {"token": view.secret, "description": view.description,
            "expirationDate": utc_text(view.expires_at),
            "usesRemaining": None if view.max_uses is None else max(view.max_uses - view.uses, 0),
            "exportControlled": "Allowed" if view.export_controlled else "Not Allowed",
            "createdBy": view.created_by, "createdDate": utc_text(view.created_at),
            "status": view.state(now).upper().replace(" ", "_")}


@bp.get(VA + "/tokens")
def token_list(account: str, va: str) -> Any:
    def rows(uow: UnitOfWork) -> list[dict[str, Any]]:
        now = uow.clock.now()
        return [_token_json(v, now)
                for v in tokens.list_tokens(uow.session, actor(), _sealer(), account, va)]

    return jsonify(tokens=read(rows))


@bp.post(VA + "/tokens")
def token_create(account: str, va: str) -> Any:
    data = body()
    export = data.get("exportControlled", "Not Allowed")
    if export not in EXPORT:
        raise InvalidInput("'exportControlled' is 'Allowed' or 'Not Allowed'")
    days = _int(data, "expiresAfterDays", 30)
    uses = _int(data, "numberofUses", None)
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise InvalidInput("'description' must be a string")

    def create(uow: UnitOfWork) -> dict[str, Any]:
        assert days is not None
        view = tokens.create_token(uow, actor(), _sealer(), account, va, expires_days=days,
                                   max_uses=uses, export_controlled=EXPORT[export],
                                   description=description)
        return _token_json(view, uow.clock.now())

    return jsonify(tokenInfo=write(create))


@bp.post(VA + "/tokens/revoke")
def token_revoke(account: str, va: str) -> Any:
    wanted = body().get("tokens")
    if not isinstance(wanted, list) or not wanted or not all(
            isinstance(t, str) and t.strip() for t in wanted):
        raise InvalidInput("'tokens' must be a non-empty list of token values")

    def revoke(uow: UnitOfWork) -> None:
        for secret in wanted:
            tokens.revoke_token(uow, actor(), account, va, secret)

    write(revoke)
    return jsonify(status="SUCCESS", statusMessage=f"revoked {len(wanted)} token(s)")


# Devices

def _device_json(row: dict[str, Any], usage: dict[str, int]) -> dict[str, Any]:
    return {"hostName": row["hostname"], "productTagName": row["product_tag"],
            "sudi": {"udiPid": row["pid"], "udiSerialNumber": row["sn"],
                     "udiVid": row["vid"], "uuid": row["uuid"]},
            "virtualAccount": row["va"], "status": row["status"].upper(),
            "registrationDate": row["registered_at"], "lastContactDate": row["last_contact_at"],
            "licenseUsage": [{"license": tag, "quantity": n} for tag, n in usage.items()],
            "tags": row["tags"],
            "evaluation": _evaluation_json(row.get("evaluation"))}


def _evaluation_json(shown: dict[str, Any] | None) -> dict[str, Any] | None:
    if shown is None:
        return None
    return {"state": shown["state"], "startedAt": shown["startedAt"], "endsAt": shown["endsAt"],
            "daysLeft": shown["daysLeft"], "text": shown["text"]}


@bp.route(VA + "/devices", methods=["GET", "POST"])
def device_list(account: str, va: str) -> Any:
    """GET with `limit`/`offset` (and `tag`, `evaluation`) in the query, or POST with them in
    the body (On-Prem's form)."""
    data = body()
    limit, offset = page(data)
    tagged = tag_filter(data)
    in_evaluation = data.get("evaluation", request.args.get("evaluation")) or None
    if in_evaluation is not None and not isinstance(in_evaluation, str):
        raise InvalidInput("'evaluation' is 'active' or 'expired'", field="evaluation")

    def rows(uow: UnitOfWork) -> dict[str, Any]:
        found = devices.list_devices(uow.session, actor(), account=account, va=va,
                                     limit=limit, offset=offset, now=uow.clock.now(),
                                     in_evaluation=in_evaluation, tagged=tagged)
        usage = devices.usages_by_tag(uow.session, [r["id"] for r in found.rows])
        return {"totalRecords": found.total, "devices": [
            _device_json(r, usage[r["id"]]) for r in found.rows]}

    return jsonify(read(rows))


def _udi(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    sudi = item.get("sudi")
    if not isinstance(sudi, dict):
        raise InvalidInput("each product instance needs a 'sudi' object")
    udi = check_udi(sudi.get("udiPid"), sudi.get("udiSerialNumber"), sudi.get("udiVid"),
                    sudi.get("uuid"), names=("udiPid", "udiSerialNumber", "udiVid", "uuid"))
    return udi.label(), sudi


def _in_va(uow: UnitOfWork, account: str, va: str, udi: str) -> None:
    """The device must be in the VA the URL names (as the caller may see it)."""
    if devices.show_device(uow.session, actor(), udi)["va"] != va:
        raise NotFound(f"virtual account {va!r} has no device {udi}")


@bp.post(VA + "/devices/transfer")
def device_transfer(account: str, va: str) -> Any:
    """Each product instance to `targetVirtualAccount`, of `targetAccount` when given
    (another account: a move, which needs rights in both accounts)."""
    wanted = _objects(body(), "productInstances")

    def move(uow: UnitOfWork) -> list[dict[str, Any]]:
        done = []
        for item in wanted:
            udi, sudi = _udi(item)
            target = field(item, "targetVirtualAccount")
            to_account = field(item, "targetAccount", required=False)
            _in_va(uow, account, va, udi)
            if to_account:
                row = move_device(uow, actor(), udi, to_account, target)
            else:
                row = devices.transfer_device(uow, actor(), udi, target)
            done.append({"sudi": sudi, "productTagName": row["product_tag"],
                         "virtualAccount": va, "targetVirtualAccount": target,
                         "targetAccount": row["account"], "status": "SUCCESS"})
        return done

    return jsonify(status="SUCCESS", productInstances=write(move))


@bp.post(VA + "/devices/remove")
def device_remove(account: str, va: str) -> Any:
    # Existing clients send the misspelt key; accept both.
    wanted = _objects(body(), "productInstancesRemoveRequests", "productInstacesRemoveRequests")

    def remove(uow: UnitOfWork) -> list[dict[str, Any]]:
        done = []
        for item in wanted:
            udi, sudi = _udi(item)
            _in_va(uow, account, va, udi)
            row = devices.remove_device(uow, actor(), udi)
            done.append({"sudi": sudi, "productTagName": row["product_tag"],
                         "status": "SUCCESS"})
        return done

    return jsonify(status="SUCCESS", productInstances=write(remove))


# Alerts and the sync status

def _alert_json(alert: Alert) -> dict[str, Any]:
    return {"messageType": alert.kind.upper(),
            "severity": "Minor" if alert.severity == INFO else "Major",
            "source": "ACCOUNT" if alert.account_id is not None else "SATELLITE",
            "message": alert.message, "raisedAt": utc_text(alert.raised_at),
            "updatedAt": utc_text(alert.updated_at),
            "clearedAt": (utc_text(alert.cleared_at) or None)}


@bp.route(ACCOUNT + "/alerts", methods=["GET", "POST"])
def alert_list(account: str) -> Any:
    data = body()
    cleared = data.get("includeCleared", request.args.get("includeCleared", False))
    include = cleared is True or str(cleared).lower() == "true"
    rows = read(lambda uow: [_alert_json(a) for a in list_alerts(
        uow.session, actor(), account, include, appliance_wide=True)])
    return jsonify(alerts=rows)


def _status_json(info: dict[str, Any]) -> dict[str, Any]:
    return {"registration": info["registration"], "networkMode": info["network_mode"],
            "centralUrl": info["central_url"], "intervalHours": info["interval_hours"],
            "lastSuccess": info["last_success_at"], "lastExchange": info["last_exchange_at"],
            "lastFailure": info["last_failure_at"],
            "lastFailureReason": info["last_failure_reason"],
            "consecutiveFailures": info["consecutive_failures"], "nextRun": info["next_run_at"],
            "lastImport": info["last_import_at"],
            "lastResponseSerial": info["last_response_serial"],
            "lastSequence": info["last_sequence"], "ackedThrough": info["acked_through"],
            "pendingEvents": info["pending_events"]}


@bp.get("/sync-status")
def sync_status_all() -> Any:
    settings = current_app.config["SATELLITE_SETTINGS"]
    return jsonify(_status_json(sync_status(db(), settings, actor())))


@bp.get(ACCOUNT + "/sync-status")
def sync_status_account(account: str) -> Any:
    settings = current_app.config["SATELLITE_SETTINGS"]
    return jsonify(_status_json(sync_status(db(), settings, actor(), account)))


def init_app(app: Flask) -> None:
    register_api(app, bp)
