"""Small helpers the web adapters share: the database, the request body, the caller, pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, g, request

from satellite.access.apiclients import authenticate
from satellite.actor import Actor
from satellite.errors import InvalidInput, Unauthenticated
from satellite.limits import INT32_MAX, check_text, check_tree, load_json
from satellite.uow import Database, UnitOfWork

T = TypeVar("T")
# On-Prem serves its API under this prefix as well, and automation written for it uses it.
ON_PREM_PREFIX = "/backend"
ON_PREM_SUFFIX = "_backend"
ACCOUNT = "/accounts/<account>"
VA = ACCOUNT + "/virtual-accounts/<va>"
# Any text field of a REST body; a longer one is refused before a service sees it.
MAX_FIELD = 4096


def db() -> Database:
    database: Database = current_app.extensions["satellite.db"]
    return database


def body() -> dict[str, Any]:
    """The request's JSON object or form fields (both are accepted everywhere).

    A GET's body is ignored, as HTTP says it has no meaning there (On-Prem clients send `null`
    with theirs); a JSON `null` is an empty body.
    """
    if request.method in ("GET", "HEAD"):
        return {}
    if request.mimetype == "application/json" or (request.data and not request.form):
        raw = request.get_data(cache=True)
        if not raw.strip():
            return {}
        data = load_json(raw)
        if data is None:  # `null` is valid JSON: an empty body
            return {}
        if not isinstance(data, dict):
            raise InvalidInput("the request body must be a JSON object")
        return data
    return request.form.to_dict()


def check_request_text() -> None:
    """NUL and lone surrogates in the path, the query string or form fields are refused
    before any lookup: no database stores them alike (PostgreSQL refuses NUL)."""
    check_tree(request.view_args or {}, "the URL path")
    check_tree(request.args.to_dict(flat=False), "the query string")
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        check_tree(request.form.to_dict(flat=False), "the form")


def field(data: dict[str, Any], name: str, *, required: bool = True) -> str:
    """A text field of a REST body, bounded (services bound it further where they know more)."""
    return check_text(data.get(name), name, MAX_FIELD, required=required, lines=True)


def authenticate_request() -> None:
    """Set the caller from the bearer token. Raises Unauthenticated."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("this call needs a bearer token (POST /oauth/token to get one)")
    database = db()
    with database.reader() as uow:
        g.actor = authenticate(uow.session, token.strip(), database.clock.now())


def actor() -> Actor:
    found: Actor = g.actor
    return found


def write(fn: Callable[[UnitOfWork], T]) -> T:
    """Run a state change in one transaction, committed when it succeeds."""
    with db().uow() as uow:
        result = fn(uow)
        uow.commit()
        return result


def read(fn: Callable[[UnitOfWork], T]) -> T:
    with db().reader() as uow:
        return fn(uow)


def page(data: dict[str, Any]) -> tuple[int | None, int]:
    """(limit, offset) from the body or query string; limit -1 means everything."""
    def number(name: str, default: int) -> int:
        raw = data.get(name, request.args.get(name, default))
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise InvalidInput(f"{name!r} must be a whole number") from None

    limit, offset = number("limit", 100), number("offset", 0)
    if not 0 <= offset <= INT32_MAX:
        raise InvalidInput(f"offset must be 0 to {INT32_MAX:,}", field="offset")
    if limit == -1:
        return None, offset
    if not 1 <= limit <= INT32_MAX:
        raise InvalidInput(f"limit must be -1 or 1 to {INT32_MAX:,}", field="limit")
    return limit, offset


def register_api(app: Flask, bp: Blueprint) -> None:
    """Serve an API blueprint at its own paths and the same again under /backend (On-Prem's)."""
    app.register_blueprint(bp)
    app.register_blueprint(bp, name=bp.name + ON_PREM_SUFFIX,
                           url_prefix=ON_PREM_PREFIX + (bp.url_prefix or ""))
