"""Reports as HTTP downloads, for the web UI and the REST API alike: streamed, never built whole."""

from __future__ import annotations

from flask import Response
from werkzeug.datastructures import MultiDict

from satellite.actor import Actor
from satellite.errors import InvalidInput
from satellite.labels.filters import typed
from satellite.reports.exports import Filters, export
from satellite.reports.formats import FORMATS, MEDIA_TYPES, csv_stream, json_stream
from satellite.uow import Database


def filters_from(args: MultiDict[str, str], account: str | None) -> Filters:
    """The filters of a list page or an API call, by the names its query string uses. Tags:
    `tag`, repeated or holding several words (separated by spaces or commas)."""
    def text(name: str) -> str | None:
        return (args.get(name) or "").strip() or None

    tags = tuple(word for given in args.getlist("tag") for word in typed(given))
    return Filters(account=account or text("account"), va=text("va"), status=text("status"),
                   text=text("q"), user=text("user"), action=text("action"),
                   since=text("since"), until=text("until"), tags=tags,
                   cleared=args.get("cleared") in ("1", "true"))


def download(db: Database, actor: Actor, kind: str, fmt: str, filters: Filters) -> Response:
    """A streamed attachment of one report. Raises what export() raises, before streaming."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format {fmt!r} is not one of {', '.join(FORMATS)}", field="format")
    report = export(db, actor, kind, filters)
    stem = f"{kind}-{filters.account}" if filters.account else kind
    body = (csv_stream(report.columns, report.rows) if fmt == "csv"
            else json_stream(report.name, report.rows))
    return Response(body, content_type=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition":
                             f'attachment; filename="{_safe(stem)}.{fmt}"'})


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
