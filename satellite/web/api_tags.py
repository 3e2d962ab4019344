"""REST: operators' tags on license pools, product instances and reservations.

`GET .../tags` lists an item's tags; `POST .../tags` with `{"tags": [...]}` adds them and
`POST .../tags/remove` with `{"tags": [...]}` takes them off; each answers the item's tags.
Lists narrow to tagged items with the `tag` query parameter (repeatable) or a `tags` body list.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify, request

from satellite.errors import InvalidInput
from satellite.labels.service import Item, add_labels, item_labels, remove_labels
from satellite.uow import UnitOfWork
from satellite.web.http import ACCOUNT, VA, actor, authenticate_request, body, read, register_api, write

bp = Blueprint("api_tags", __name__, url_prefix="/api/v1")
bp.before_request(authenticate_request)

LICENSE = VA + "/licenses/<license>/tags"
DEVICE = ACCOUNT + "/devices/<udi>/tags"
RESERVATION = ACCOUNT + "/reservations/<udi>/tags"


def tag_filter(data: dict[str, Any]) -> list[str]:
    """The tags a list is narrowed to: the body's `tags`, or the query's (repeated) `tag`."""
    tags = data.get("tags") or request.args.getlist("tag")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidInput("'tags' must be a list of tags", field="tags")
    return tags


def _words() -> list[Any]:
    tags = body().get("tags")
    if not isinstance(tags, list) or not tags:
        raise InvalidInput("'tags' must be a non-empty list of tags", field="tags")
    return tags


def _answer(item: Item, method: str, remove: bool = False) -> Any:
    if method == "GET":
        tags = read(lambda uow: item_labels(uow.session, actor(), item))
    else:
        words = _words()

        def change(uow: UnitOfWork) -> list[str]:
            return (remove_labels if remove else add_labels)(uow, actor(), item, words)

        tags = write(change)
    return jsonify(tags=tags)


@bp.route(LICENSE, methods=["GET", "POST"])
def license_tags(account: str, va: str, license: str) -> Any:
    return _answer(Item("license", account=account, va=va, license=license), request.method)


@bp.post(LICENSE + "/remove")
def license_untag(account: str, va: str, license: str) -> Any:
    return _answer(Item("license", account=account, va=va, license=license), "POST", True)


@bp.route(DEVICE, methods=["GET", "POST"])
def device_tags(account: str, udi: str) -> Any:
    return _answer(Item("device", udi=udi, account=account), request.method)


@bp.post(DEVICE + "/remove")
def device_untag(account: str, udi: str) -> Any:
    return _answer(Item("device", udi=udi, account=account), "POST", True)


@bp.route(RESERVATION, methods=["GET", "POST"])
def reservation_tags(account: str, udi: str) -> Any:
    return _answer(Item("reservation", udi=udi, account=account), request.method)


@bp.post(RESERVATION + "/remove")
def reservation_untag(account: str, udi: str) -> Any:
    return _answer(Item("reservation", udi=udi, account=account), "POST", True)


def init_app(app: Flask) -> None:
    register_api(app, bp)
