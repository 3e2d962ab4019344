"""Offline reservations: authorize a request code, then update, confirm, return or remove."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, flash, redirect, request, url_for

from satellite.accounts import service as accounts
from satellite.cloudsync.central_registration import satellite_certificate
from satellite.config import Settings
from satellite.errors import InvalidInput, SatelliteError
from satellite.keystore import Keystore, open_keystore
from satellite.labels.filters import typed
from satellite.labels.pages import reservation_labels
from satellite.reservation import codes, files, service
from satellite.reservation.models import RESERVED
from satellite.reservation.signer import CodeSigner, code_signer
from satellite.web.ui.blueprint import ui
from satellite.web.ui.feedback import report, then_back
from satellite.web.ui.forms import (
    CodeForm,
    RemoveForm,
    ReservationForm,
    ReservationModeForm,
    ReservationUpdateForm,
    TagForm,
    parse_license_lines,
)
from satellite.web.ui.pages import (
    VA_LIST_LIMIT,
    actor,
    change,
    database,
    offer_vas,
    reading,
    render,
)
from satellite.web.ui.session import allowed, allowed_anywhere, allowed_vas

PAGE_SIZE = 100


def page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        raise InvalidInput("page must be a whole number") from None


def _keystore() -> Keystore:
    settings: Settings = current_app.config["SATELLITE_SETTINGS"]
    return open_keystore(settings)


def _signer() -> CodeSigner:
    return code_signer(database(), _keystore())


@ui.route("/a/<account>/reservations", endpoint="reservations_page", methods=["GET"])
def reservations_page(account: str, form: ReservationForm | None = None,
                      returning: CodeForm | None = None, status: int = 200) -> Any:
    with reading() as uow:
        s, who = uow.session, actor()
        # Only offered (the service checks the name): enough to know whether to list them.
        acct, vas = accounts.va_entries(s, who, account, VA_LIST_LIMIT + 1)
        page = page_number()
        tagged = typed(request.args.get("tag"))
        rows = service.list_reservations(s, who, acct.id, limit=PAGE_SIZE + 1,
                                         offset=(page - 1) * PAGE_SIZE, tagged=tagged)
        more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
        names = accounts.va_names(s, acct.id, {r.va_id for r in rows})
        tags = reservation_labels(s, [r.id for r in rows])
        may_manage = allowed_anywhere(s, who, "reservation.manage", acct.id)
        offered = allowed_vas(s, who, "reservation.manage", acct.id, vas)
        may_set_mode = allowed(s, who, "account.update", account_id=acct.id)
    form = form or ReservationForm(formdata=None)
    offer_vas(form.va, vas if len(vas) > VA_LIST_LIMIT else offered)
    return render("reservations.html", status, account=acct, rows=rows, names=names, form=form,
                  returning=returning or CodeForm(formdata=None, prefix="ret"),
                  may_manage=may_manage, udi_of=service.udi_of, page=page, more=more,
                  tags=tags, query={"tag": " ".join(tagged)} if tagged else {},
                  may_set_mode=may_set_mode,
                  mode=ReservationModeForm(formdata=None, prefix="mode",
                                           mode=acct.reservation_mode))


@ui.route("/a/<account>/reservations/mode", endpoint="reservation_mode", methods=["POST"])
def set_mode(account: str) -> Any:
    """The account's reservation setting: none, specific (SLR), permanent (PLR) or both."""
    form = ReservationModeForm(prefix="mode")
    if not form.validate_on_submit():
        return reservations_page(account, status=400)

    def save() -> str:
        changed = change(lambda uow: accounts.set_reservation_mode(uow, actor(), account,
                                                                   form.mode.data or ""))
        return f"Reservations for {changed.name}: {changed.reservation_mode}."

    return then_back(save, url_for("ui.reservations_page", account=account))


@ui.route("/a/<account>/reservations/authorize", endpoint="authorize", methods=["POST"])
def authorize(account: str) -> Any:
    form = ReservationForm()
    with reading() as uow:
        _, vas = accounts.va_entries(uow.session, actor(), account)
    offer_vas(form.va, vas)
    if not form.validate_on_submit():
        return reservations_page(account, form, status=400)
    wanted = None if form.kind.data == "PLR" else parse_license_lines(form.licenses.data or "")
    try:
        signer = _signer()
        with database().uow() as uow:
            issued = service.authorize(uow, actor(), account, form.va.data or "",
                                       form.request_code.data or "", wanted, signer)
            udi = str(service.udi_of(issued.reservation))
            uow.commit()
    except SatelliteError as exc:
        return reservations_page(account, form, status=report(exc, form))
    flash(f"Reservation authorized for {udi}: give the device the authorization code below.",
          "info")
    return redirect(url_for("ui.reservation_page", account=account, udi=udi))


@ui.route("/a/<account>/reservations/<udi>", endpoint="reservation_page", methods=["GET"])
def reservation_page(account: str, udi: str, forms: dict[str, Any] | None = None,
                     status: int = 200) -> Any:
    with reading() as uow:
        s, who = uow.session, actor()
        acct = accounts.account_for(s, who, account, "reservation.view")
        r = service.show(s, who, udi)
        lines = service.lines(s, r)
        va_name = accounts.va_names(s, acct.id, {r.va_id}).get(r.va_id, "")
        may_manage = r.status == RESERVED and allowed(
            s, who, "reservation.manage", account_id=r.account_id, va_id=r.va_id)
        may_remove = r.status == RESERVED and allowed(s, who, "reservation.remove")
        may_tag = allowed(s, who, "reservation.manage", account_id=r.account_id, va_id=r.va_id)
        tags = reservation_labels(s, [r.id])[r.id]
    forms = forms or {}
    current = ", ".join(f"{ln.tag}={ln.count}" for ln in lines if ln.count)
    return render(
        "reservation.html", status, account=acct, r=r, lines=lines, va_name=va_name,
        udi=str(service.udi_of(r)), may_manage=may_manage, may_remove=may_remove,
        tags=tags, may_tag=may_tag, tagging=TagForm(formdata=None),
        awaiting=r.status == RESERVED and service.awaiting_confirmation(r),
        update=forms.get("update") or ReservationUpdateForm(
            formdata=None, licenses=current.replace(", ", "\n")),
        confirm=forms.get("confirm") or CodeForm(formdata=None, prefix="conf"),
        remove=forms.get("remove") or RemoveForm(formdata=None))


@ui.route("/a/<account>/reservations/<udi>/update", endpoint="reservation_update", methods=["POST"])
def update(account: str, udi: str) -> Any:
    form = ReservationUpdateForm()
    if not form.validate_on_submit():
        return reservation_page(account, udi, {"update": form}, 400)
    try:
        signer = _signer()
        with database().uow() as uow:
            service.update(uow, actor(), udi, parse_license_lines(form.licenses.data or ""),
                           signer)
            uow.commit()
    except SatelliteError as exc:
        return reservation_page(account, udi, {"update": form}, report(exc, form, "licenses"))
    flash("A new authorization code is issued: install it on the device, then enter the "
          "device's confirmation code.", "info")
    return redirect(url_for("ui.reservation_page", account=account, udi=udi))


@ui.route("/a/<account>/reservations/<udi>/confirm", endpoint="reservation_confirm", methods=["POST"])
def confirm(account: str, udi: str) -> Any:
    form = CodeForm(prefix="conf")
    if not form.validate_on_submit():
        return reservation_page(account, udi, {"confirm": form}, 400)
    try:
        with database().uow() as uow:
            r = service.confirm(uow, actor(), udi, form.code.data or "")
            uow.commit()
            serial = r.confirmed_serial
    except SatelliteError as exc:
        return reservation_page(account, udi, {"confirm": form}, report(exc, form, "code"))
    flash(f"Confirmed serial {serial}.", "info")
    return redirect(url_for("ui.reservation_page", account=account, udi=udi))


@ui.route("/a/<account>/reservations/return", endpoint="reservation_return", methods=["POST"])
def return_code(account: str) -> Any:
    form = CodeForm(prefix="ret")
    if not form.validate_on_submit():
        return reservations_page(account, returning=form, status=400)
    try:
        with database().uow() as uow:
            r = service.return_reservation(uow, actor(), form.code.data or "")
            udi = str(service.udi_of(r))
            uow.commit()
    except SatelliteError as exc:
        return reservations_page(account, returning=form, status=report(exc, form, "code"))
    flash(f"The reservation of {udi} is returned; its licenses are back in the pool.", "info")
    return redirect(url_for("ui.reservations_page", account=account))


@ui.route("/a/<account>/reservations/<udi>/remove", endpoint="reservation_remove", methods=["POST"])
def remove(account: str, udi: str) -> Any:
    form = RemoveForm()
    if not form.validate_on_submit():
        return reservation_page(account, udi, {"remove": form}, 400)
    try:
        with database().uow() as uow:
            service.remove(uow, actor(), udi, form.reason.data or "")
            uow.commit()
    except SatelliteError as exc:
        return reservation_page(account, udi, {"remove": form}, report(exc, form, "reason"))
    flash(f"The reservation of {udi} is removed.", "info")
    return redirect(url_for("ui.reservation_page", account=account, udi=udi))


@ui.route("/a/<account>/reservations/<udi>/authorization.json", endpoint="reservation_download",
          methods=["GET"])
def download(account: str, udi: str) -> Any:
    with reading() as uow:
        accounts.account_for(uow.session, actor(), account, "reservation.view")
        r = service.show(uow.session, actor(), udi)
        code = r.authorization_code
        the_udi = service.udi_of(r)
        certificate = satellite_certificate(uow.session, _keystore())
    key_id = codes.AuthorizationCode.decode(code).key_id
    body = files.authorization_file(code, the_udi, key_id, certificate)
    name = f"authorization-{the_udi.pid}-{the_udi.sn}.json".replace("/", "_")
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@ui.route("/a/<account>/reservations/satellite-chain.pem", endpoint="reservation_chain", methods=["GET"])
def chain(account: str) -> Any:
    """The certificate chain devices verify authorization codes with, as a PEM file."""
    with reading() as uow:
        accounts.account_for(uow.session, actor(), account, "reservation.view")
        now = uow.clock.now()
    try:
        body = _signer().chain(now)
    except SatelliteError as exc:
        flash(exc.message, "error")
        return redirect(url_for("ui.reservations_page", account=account))
    return Response(body, mimetype="application/x-pem-file",
                    headers={"Content-Disposition": 'attachment; filename="satellite-chain.pem"'})
