"""REST API under /api/v1 for users, roles, requests, API clients and the audit trail."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request

from satellite.access import apiclients, grants, requests
from satellite.access.models import AccessRequest, AccountRequest
from satellite.accounts.service import account_for
from satellite.audit.service import SEARCH_ARGS, iter_details, read_events, search_of
from satellite.bootstrap import retire_initial_password
from satellite.clock import utc_text
from satellite.cloudsync.held import held_json
from satellite.errors import PermissionDenied
from satellite.permissions.models import ApiClient
from satellite.uow import UnitOfWork
from satellite.users import service as users
from satellite.users.models import User
from satellite.web.http import (
    ACCOUNT,
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

bp = Blueprint("api_access", __name__, url_prefix="/api/v1")
bp.before_request(authenticate_request)


def _user_json(uow: UnitOfWork, user: User,
               held: list[grants.GrantView] | None = None) -> dict[str, Any]:
    """`held`: the user's roles when already read (a list reads everyone's in one go)."""
    if held is None:
        held = grants.user_grants(uow.session, user.id)
    return {"userName": user.username, "systemAdmin": user.is_system_admin,
            "disabled": user.disabled, "mustChangePassword": user.must_change_password,
            "roles": [{"account": g.account, "virtualAccount": g.virtual_account, "role": g.role}
                      for g in held]}


@bp.get("/users")
def user_list() -> Any:
    def rows(uow: UnitOfWork) -> list[dict[str, Any]]:
        listed = users.list_users(uow.session, actor())
        held = grants.grants_by_user(uow.session, [u.id for u in listed])
        return [_user_json(uow, u, held[u.id]) for u in listed]

    return jsonify(users=read(rows))


@bp.post("/users")
def user_create() -> Any:
    data = body()
    created = write(lambda uow: _user_json(uow, users.create_user(
        uow, actor(), field(data, "userName"), field(data, "password"),
        system_admin=data.get("systemAdmin") is True, must_change_password=True)))
    return jsonify(users=[created])


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
                                            field(data, "newPassword"),
                                            source=request.remote_addr or ""))
    retire_initial_password(current_app.config["SATELLITE_SETTINGS"].data_dir, db())
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
                           "createdAt": utc_text(req.created_at), "decidedBy": req.decided_by}
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
        return jsonify(accessRequests=[made])
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
        return jsonify(accountRequests=[made])
    return jsonify(accountRequests=read(lambda uow: [
        _request_json(r) for r in requests.list_account_requests(uow.session, actor())]))


@bp.post("/account-requests/<int:request_id>/approve", defaults={"approve": True})
@bp.post("/account-requests/<int:request_id>/deny", defaults={"approve": False})
def account_decide(request_id: int, approve: bool) -> Any:
    made = write(lambda uow: _request_json(requests.decide_account(uow, actor(), request_id,
                                                                   approve)))
    return jsonify(accountRequests=[made])


@bp.get("/account-requests/<int:request_id>/held-licenses")
def account_request_held(request_id: int) -> Any:
    """For whoever decides the request: Central's lines held for the domain asked for."""
    limit, offset = page({})

    def load(uow: UnitOfWork) -> dict[str, Any]:
        req, rows, total = requests.requested_lines(uow.session, actor(), request_id, limit,
                                                    offset)
        return {"accountRequest": _request_json(req), "heldLines": [held_json(r) for r in rows],
                "totalCount": total}

    return jsonify(read(load))


def _client_json(client: ApiClient) -> dict[str, Any]:
    return {"clientId": client.client_id, "role": client.role, "description": client.description,
            "createdBy": client.created_by, "createdAt": utc_text(client.created_at),
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

        return jsonify(apiClients=[write(create)])
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
    before = request.args.get("before", type=int)

    def events(uow: UnitOfWork) -> list[dict[str, Any]]:
        account_id = (account_for(uow.session, actor(), ref, "audit.list").id
                      if ref else None)
        search = search_of(account_id=account_id, **{
            name: request.args.get(key) for name, key in SEARCH_ARGS.items()})
        return [{"id": e.id, "at": utc_text(e.at), "actor": e.actor, "action": e.action,
                 "target": e.target, "details": dict(iter_details(e)), "hash": e.hash}
                for e in read_events(uow.session, actor(), search, limit=limit or 1000,
                                     before_id=before)]

    return jsonify(events=read(events))


def init_app(app: Flask) -> None:
    register_api(app, bp)
