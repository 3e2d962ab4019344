"""Registration tokens of a VA: create (expiry, uses, export control), list with copy, revoke."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, request, url_for

from satellite.accounts import service as accounts
from satellite.accounts.models import DEFAULT_VA
from satellite.accounts.service import VaEntry
from satellite.errors import NotFound, SatelliteError
from satellite.tokens import service as tokens
from satellite.tokens.secrets import TokenSealer
from satellite.web.ui.blueprint import ui
from satellite.web.ui.feedback import report
from satellite.web.ui.forms import ActionForm, TokenForm
from satellite.web.ui.pages import VA_LIST_LIMIT, actor, database, offer_vas, reading, render
from satellite.web.ui.session import allowed, allowed_anywhere

TOKEN_PAGE = 1000


def _sealer() -> TokenSealer:
    return TokenSealer.for_data_dir(current_app.config["SATELLITE_SETTINGS"].data_dir)


def _first_choice(s: Any, who: Any, domain: str, vas: list[VaEntry]) -> str:
    """The VA a new token is for unless one is chosen: Default when the user may manage its
    tokens, else the first VA listed."""
    try:
        return accounts.va_for(s, who, domain, DEFAULT_VA, "token.manage")[1].name
    except SatelliteError:
        return vas[0].name if vas else ""


@ui.route("/a/<account>/tokens", endpoint="tokens_page", methods=["GET"])
def tokens_page(account: str, form: TokenForm | None = None, status: int = 200) -> Any:
    """The tokens of one VA (`?va=`), or of every VA the user may see tokens of."""
    with reading() as uow:
        s, who = uow.session, actor()
        # Only offered: enough to know whether to list them (the VA in view is looked up).
        acct, vas = accounts.va_entries(s, who, account, VA_LIST_LIMIT + 1)
        posted = form.va.data if form is not None and form.va.data else None
        chosen = posted or request.args.get("va") or ""
        listed: list[tokens.TokenView] = []
        manageable: set[int] | None = set()
        more = False
        if chosen:
            try:
                the_va = accounts.va_for(s, who, acct.domain, chosen, "token.view")[1]
            except NotFound:
                if posted:  # a name typed in the form is reported next to it
                    the_va = None
                else:
                    raise NotFound(f"no virtual account {chosen!r} in {acct.name}") from None
            if the_va is not None:
                listed = tokens.list_tokens(s, who, _sealer(), acct.domain, chosen)
                if allowed(s, who, "token.manage", account_id=acct.id, va_id=the_va.id):
                    manageable = {the_va.id}
        else:
            found = tokens.list_account_tokens(s, who, _sealer(), acct.domain, TOKEN_PAGE)
            listed, manageable, more = found.tokens, found.manageable, found.more
        may_create = allowed_anywhere(s, who, "token.manage", acct.id)
        default_va = chosen or _first_choice(s, who, acct.domain, vas)
        now = uow.clock.now()
    form = form or TokenForm(formdata=None, va=default_va)
    offer_vas(form.va, vas)
    return render("tokens.html", status, account=acct, vas=vas, chosen=chosen, tokens=listed,
                  now=now, form=form, revoke=ActionForm(formdata=None), more=more,
                  manageable=manageable, may_create=may_create)


@ui.route("/a/<account>/tokens/create", endpoint="token_create", methods=["POST"])
def create(account: str) -> Any:
    form = TokenForm()
    with reading() as uow:
        _, vas = accounts.va_entries(uow.session, actor(), account)
    offer_vas(form.va, vas)
    if not form.validate_on_submit():
        return tokens_page(account, form, 400)
    try:
        with database().uow() as uow:
            made = tokens.create_token(
                uow, actor(), _sealer(), account, form.va.data or "",
                expires_days=form.expires_days.data or 0, max_uses=form.max_uses.data,
                export_controlled=bool(form.export_controlled.data),
                description=form.description.data or "")
            uow.commit()
    except SatelliteError as exc:
        return tokens_page(account, form, report(exc, form))
    flash(f"Created token {made.id} for {made.va}; it expires on "
          f"{made.expires_at:%Y-%m-%d}.", "info")
    return redirect(url_for("ui.tokens_page", account=account, va=made.va))


@ui.route("/a/<account>/tokens/<va>/<int:token_id>/revoke", endpoint="token_revoke", methods=["POST"])
def revoke(account: str, va: str, token_id: int) -> Any:
    form = ActionForm()
    if not form.validate_on_submit():
        return tokens_page(account, None, 400)
    with reading() as uow:
        acct, vas = accounts.va_entries(uow.session, actor(), account)
    if va not in {v.name for v in vas}:
        raise NotFound(f"no virtual account {va!r} in {acct.name}")
    try:
        with database().uow() as uow:
            tokens.revoke_token(uow, actor(), account, va, token_id)
            uow.commit()
    except SatelliteError as exc:
        report(exc)
        return redirect(url_for("ui.tokens_page", account=account, va=va))
    flash(f"Revoked token {token_id}: no device registers with it again.", "info")
    return redirect(url_for("ui.tokens_page", account=account, va=va))
