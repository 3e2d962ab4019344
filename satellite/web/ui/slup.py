"""SLUP in the web UI: usage files uploaded on a VA's page, ACK files downloaded per device."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, request, url_for

from satellite.errors import InvalidInput, SatelliteError
from satellite.slup import acks, service
from satellite.web.ui import accounts
from satellite.web.ui.blueprint import ui
from satellite.web.ui.devices import device_of
from satellite.web.ui.feedback import report
from satellite.web.ui.forms import ActionForm
from satellite.web.ui.pages import actor, database


@ui.route("/a/<account>/virtual-accounts/<va>/usage-reports", endpoint="usage_upload", methods=["POST"])
def upload(account: str, va: str) -> Any:
    form = ActionForm()
    if not form.validate_on_submit():
        return accounts.va_page(account, va, {"upload": form}, 400)
    files = [f for f in request.files.getlist("files") if f.filename]
    try:
        if not files:
            raise InvalidInput("choose one or more usage files or offline archives",
                               field="files")
        with database().uow() as uow:
            summary = service.import_usage(uow, actor(), account, va,
                                           [(f.filename or "upload", f.stream) for f in files])
            uow.commit()
    except SatelliteError as exc:
        return accounts.va_page(account, va, {"upload": form}, report(exc, form))
    for line in summary.text().splitlines():
        flash(line, "info")
    return redirect(url_for("ui.va_page", account=account, va=va))


@ui.route("/a/<account>/devices/<path:udi>/ack.txt", endpoint="device_ack", methods=["GET"])
def ack_download(account: str, udi: str) -> Any:
    with database().uow() as uow:
        device_of(uow.session, account, udi)
        label, document = acks.give_ack(uow, actor(), udi)
        uow.commit()
    return Response(document, mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{acks.ack_file_name(label)}"'})
