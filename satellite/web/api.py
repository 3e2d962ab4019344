"""The management REST API under /api/v1, in the shapes On-Prem automation already sends.

Thin: parse the request, call a service as the bearer token's actor, shape the answer.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request

from satellite.access import apiclients, grants, requests
from satellite.access.models import AccessRequest, AccountRequest, ApiClient
from satellite.accounts import service as accounts
from satellite.accounts.schemas import account_json, va_json
from satellite.audit.service import iter_details, read_events
from satellite.errors import InvalidInput, PermissionDenied
from satellite.keystore import open_keystore
from satellite.licenses.schemas import page_json
from satellite.licenses.service import list_licenses, list_subscriptions
from satellite.licenses.transfers import transfer
from satellite.reservation import service as reservations
from satellite.uow import UnitOfWork
from satellite.users import service as users
from satellite.users.models import User
from satellite.web.http import actor, authenticate_request, body, field, page, read, write

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(authenticate_request)
ACCOUNT = "/accounts/<account>"
VA = ACCOUNT + "/virtual-accounts/<va>"


def _list(data: dict[str, Any], name: str) -> list[Any]:
    value = data.get(name)
    if not isinstance(value, list) or not value:
        raise InvalidInput(f"{name!r} must be a non-empty list")
    return value


def _quantity(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} must be a whole number")
    return value


# Accounts and virtual accounts

@bp.get("/accounts")
@bp.post("/upstream_satellites/accounts")
def account_list() -> Any:
    rows = read(lambda uow: [account_json(a) for a in accounts.list_accounts(uow.session, actor())])
    return jsonify(accounts=rows)


@bp.post("/accounts")
def account_create() -> Any:
    data = body()
    created = write(lambda uow: account_json(accounts.create_account(
        uow, actor(), field(data, "name"), field(data, "domain"))))
    return jsonify(accounts=[created]), 201


def _vas(uow: UnitOfWork, account: str) -> list[dict[str, Any]]:
    acc, vas = accounts.list_vas(uow.session, actor(), account)
    names = accounts.va_names(uow.session, acc.id)
    return [va_json(v, names) for v in vas]


@bp.route(ACCOUNT + "/virtual-accounts", methods=["GET", "POST"])
def va_list_or_create(account: str) -> Any:
    data = body()
    if "name" not in data:
        return jsonify(virtualAccounts=read(lambda uow: _vas(uow, account)))

    def create(uow: UnitOfWork) -> dict[str, Any]:
        va = accounts.create_va(uow, actor(), account, field(data, "name"),
                                parent=field(data, "parent", required=False) or None,
                                description=field(data, "description", required=False))
        return va_json(va, accounts.va_names(uow.session, va.account_id))

    return jsonify(virtualAccounts=[write(create)]), 201


@bp.post(VA + "/delete")
def va_delete(account: str, va: str) -> Any:
    write(lambda uow: accounts.delete_va(uow, actor(), account, va))
    return jsonify(status="SUCCESS", statusMessage=f"deleted virtual account {va}")


# Licenses

@bp.route(ACCOUNT + "/licenses", methods=["GET", "POST"])
def license_list(account: str) -> Any:
    data = body()
    limit, offset = page(data)
    names = data.get("virtualAccounts") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidInput("'virtualAccounts' must be a list of names")
    on = current_app.extensions["satellite.db"].clock.now().date()
    result = read(lambda uow: page_json(list_licenses(
        uow.session, actor(), on, account, va_names=names, limit=limit, offset=offset)))
    return jsonify(result)


@bp.route(ACCOUNT + "/license-subscriptions", methods=["GET", "POST"])
def subscription_list(account: str) -> Any:
    data = body()
    limit, offset = page(data)
    names = data.get("virtualAccounts") or []
    if not isinstance(names, list):
        raise InvalidInput("'virtualAccounts' must be a list of names")
    on = current_app.extensions["satellite.db"].clock.now().date()

    def rows(uow: UnitOfWork) -> dict[str, Any]:
        total, subs = list_subscriptions(uow.session, actor(), on, account, va_names=names,
                                         limit=limit, offset=offset)
        return {"totalRecords": total, "licenseSubscriptions": [{
            "license": s.line.tag, "virtualAccount": s.virtual_account,
            "licenseType": s.line.license_type, "quantity": s.line.quantity,
            "startDate": s.line.start_date.isoformat() if s.line.start_date else None,
            "endDate": s.line.end_date.isoformat() if s.line.end_date else None,
            "subscriptionId": s.line.subscription_id,
            "status": "ACTIVE" if s.active else "INACTIVE"} for s in subs]}

    return jsonify(read(rows))


@bp.post(VA + "/licenses/transfer")
def license_transfer(account: str, va: str) -> Any:
    wanted = _list(body(), "licenses")

    def move(uow: UnitOfWork) -> list[dict[str, Any]]:
        done = []
        for item in wanted:
            if not isinstance(item, dict):
                raise InvalidInput("each entry of 'licenses' is an object")
            t = transfer(uow, actor(), account, va, field(item, "targetVirtualAccount"),
                         field(item, "license"), _quantity(item.get("quantity"), "quantity"))
            done.append({"license": t.tag, "quantity": t.quantity, "virtualAccount": va,
                         "targetVirtualAccount": item["targetVirtualAccount"],
                         "available": t.source_after.available})
        return done

    return jsonify(status="SUCCESS", licenses=write(move))


@bp.post(VA + "/reserve-licenses")
def reserve(account: str, va: str) -> Any:
    wanted = _list(body(), "reservationRequests")
    signer = open_keystore(current_app.config["SATELLITE_SETTINGS"]).identity_key()

    def authorize(uow: UnitOfWork) -> list[dict[str, Any]]:
        codes = []
        for item in wanted:
            if not isinstance(item, dict):
                raise InvalidInput("each reservation request is an object")
            kind = item.get("reservationType", "SPECIFIC")
            if kind not in ("SPECIFIC", "UNIVERSAL"):
                raise InvalidInput("reservationType is SPECIFIC or UNIVERSAL")
            licenses = None
            if kind == "SPECIFIC":
                licenses = {field(ln, "entitlementTag"): _quantity(ln.get("quantity"), "quantity")
                            for ln in _list(item, "licenses") if isinstance(ln, dict)}
            code = field(item, "reservationCode")
            issued = reservations.authorize(uow, actor(), account, va, code, licenses, signer)
            codes.append({"authorizationCode": issued.code, "reservationCode": code,
                          "status": "SUCCESS"})
        return codes

    return jsonify(status="SUCCESS", authorizationCodes=write(authorize))


# Users, grants, requests, API clients and the audit trail

def _user_json(uow: UnitOfWork, user: User) -> dict[str, Any]:
    return {"userName": user.username, "systemAdmin": user.is_system_admin,
            "disabled": user.disabled, "mustChangePassword": user.must_change_password,
            "roles": [{"account": g.account, "virtualAccount": g.virtual_account, "role": g.role}
                      for g in grants.user_grants(uow.session, user.id)]}


@bp.get("/users")
def user_list() -> Any:
    return jsonify(users=read(lambda uow: [_user_json(uow, u)
                                           for u in users.list_users(uow.session, actor())]))


@bp.post("/users")
def user_create() -> Any:
    data = body()
    created = write(lambda uow: _user_json(uow, users.create_user(
        uow, actor(), field(data, "userName"), field(data, "password"),
        system_admin=data.get("systemAdmin") is True, must_change_password=True)))
    return jsonify(users=[created]), 201


@bp.post("/users/<username>/disable", defaults={"action": "disable"})
@bp.post("/users/<username>/enable", defaults={"action": "enable"})
@bp.post("/users/<username>/reset-password", defaults={"action": "reset-password"})
def user_change(username: str, action: str) -> Any:
    data = body()

    def change(uow: UnitOfWork) -> dict[str, Any]:
        if action in ("disable", "enable"):
            user = users.set_disabled(uow, actor(), username, action == "disable")
        else:
            user = users.reset_password(uow, actor(), username, field(data, "password"))
        return _user_json(uow, user)

    return jsonify(users=[write(change)])


@bp.post("/me/password")
def password_change() -> Any:
    data = body()
    me = actor()
    if me.user_id is None:
        raise PermissionDenied("only a user (password grant) has a password to change")
    write(lambda uow: users.change_password(uow, me.name, field(data, "oldPassword"),
                                            field(data, "newPassword")))
    return jsonify(status="SUCCESS")


@bp.get("/me")
def whoami() -> Any:
    me = actor()
    return jsonify(kind=me.kind, name=me.name, systemAdmin=me.is_system_admin)


@bp.route(ACCOUNT + "/users", methods=["GET", "POST"])
def grant_list_or_add(account: str) -> Any:
    data = body()
    if "userName" in data:
        write(lambda uow: grants.grant(uow, actor(), field(data, "userName"), field(data, "role"),
                                       account, field(data, "virtualAccount", required=False)
                                       or None))
    rows = read(lambda uow: grants.list_grants(uow.session, actor(), account))
    return jsonify(users=[{"userName": g.username, "role": g.role,
                           "virtualAccount": g.virtual_account} for g in rows])


@bp.post(ACCOUNT + "/users/revoke")
def grant_revoke(account: str) -> Any:
    data = body()
    write(lambda uow: grants.revoke(uow, actor(), field(data, "userName"), field(data, "role"),
                                    account, field(data, "virtualAccount", required=False)
                                    or None))
    return jsonify(status="SUCCESS")


def _request_json(req: AccessRequest | AccountRequest) -> dict[str, Any]:
    out: dict[str, Any] = {"id": req.id, "status": req.status, "note": req.note,
                           "createdAt": req.created_at.isoformat(), "decidedBy": req.decided_by}
    if isinstance(req, AccessRequest):
        out["role"] = req.role
    else:
        out.update(name=req.name, domain=req.domain)
    return out


@bp.route(ACCOUNT + "/access-requests", methods=["GET", "POST"])
def access_requests(account: str) -> Any:
    data = body()
    if "role" in data:
        made = write(lambda uow: _request_json(requests.request_access(
            uow, actor(), account, field(data, "role"), field(data, "note", required=False))))
        return jsonify(accessRequests=[made]), 201
    return jsonify(accessRequests=read(lambda uow: [
        _request_json(r) for r in requests.list_access_requests(uow.session, actor(), account)]))


@bp.post("/access-requests/<int:request_id>/approve", defaults={"approve": True})
@bp.post("/access-requests/<int:request_id>/deny", defaults={"approve": False})
def access_decide(request_id: int, approve: bool) -> Any:
    made = write(lambda uow: _request_json(requests.decide_access(uow, actor(), request_id,
                                                                  approve)))
    return jsonify(accessRequests=[made])


@bp.route("/account-requests", methods=["GET", "POST"])
def account_requests() -> Any:
    data = body()
    if "domain" in data:
        made = write(lambda uow: _request_json(requests.request_account(
            uow, actor(), field(data, "name"), field(data, "domain"),
            field(data, "note", required=False))))
        return jsonify(accountRequests=[made]), 201
    return jsonify(accountRequests=read(lambda uow: [
        _request_json(r) for r in requests.list_account_requests(uow.session, actor())]))


@bp.post("/account-requests/<int:request_id>/approve", defaults={"approve": True})
@bp.post("/account-requests/<int:request_id>/deny", defaults={"approve": False})
def account_decide(request_id: int, approve: bool) -> Any:
    made = write(lambda uow: _request_json(requests.decide_account(uow, actor(), request_id,
                                                                   approve)))
    return jsonify(accountRequests=[made])


def _client_json(client: ApiClient) -> dict[str, Any]:
    return {"clientId": client.client_id, "role": client.role, "description": client.description,
            "createdBy": client.created_by, "createdAt": client.created_at.isoformat(),
            "revoked": client.revoked_at is not None}


@bp.route(ACCOUNT + "/api-clients", methods=["GET", "POST"])
def api_clients(account: str) -> Any:
    data = body()
    if "role" in data:
        def create(uow: UnitOfWork) -> dict[str, Any]:
            client, secret = apiclients.create_client(
                uow, actor(), account, field(data, "role", required=False) or "account_admin",
                field(data, "description", required=False))
            return {**_client_json(client), "clientSecret": secret}

        return jsonify(apiClients=[write(create)]), 201
    return jsonify(apiClients=read(lambda uow: [
        _client_json(c) for c in apiclients.list_clients(uow.session, actor(), account)]))


@bp.post(ACCOUNT + "/api-clients/<client_id>/revoke")
def api_client_revoke(account: str, client_id: str) -> Any:
    return jsonify(apiClients=[write(lambda uow: _client_json(
        apiclients.revoke_client(uow, actor(), account, client_id)))])


@bp.get("/audit")
def audit_list() -> Any:
    limit, _ = page({})
    ref = request.args.get("account") or None
    action = request.args.get("action") or None
    before = request.args.get("before", type=int)

    def events(uow: UnitOfWork) -> list[dict[str, Any]]:
        account_id = (accounts.account_for(uow.session, actor(), ref, "audit.list").id
                      if ref else None)
        return [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                 "target": e.target, "details": dict(iter_details(e)), "hash": e.hash}
                for e in read_events(uow.session, actor(), account_id=account_id, action=action,
                                     limit=limit or 1000, before_id=before)]

    return jsonify(events=read(events))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
