"""The holding account (lines waiting to be deposited) and an account's deposit rules."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate it

from satellite.accounts import service as accounts
from satellite.cloudsync.holding import deposit, deposit_targets, list_holding
from satellite.errors import SatelliteError
from satellite.licenses.deposit_rules import add_rule, list_rules, move_rule, remove_rule
from satellite.web.ui.blueprint import ui
from satellite.web.ui.feedback import report, then_back
from satellite.web.ui.forms import ActionForm, DepositForm, DepositRuleForm, RuleMoveForm
from satellite.web.ui.pages import actor, database, offer_vas, reading, render


@ui.route("/holding", endpoint="holding_page", methods=["GET"])
def holding_page(form: DepositForm | None = None, line: str | None = None,
                 status: int = 200) -> Any:
    with reading() as uow:
        lines = list_holding(uow.session, actor())
        targets = [SelectChoice(a.domain, a.name) for a in deposit_targets(uow.session, actor())]
    forms = {}
    for row in lines:
        chosen = form if form is not None and row["lineId"] == line else DepositForm(formdata=None)
        chosen.account.choices = targets
        forms[row["lineId"]] = chosen
    return render("holding.html", status, lines=lines, forms=forms, targets=targets)


@ui.route("/holding/<line>/deposit", endpoint="holding_deposit", methods=["POST"])
def holding_deposit(line: str) -> Any:
    form = DepositForm()
    with reading() as uow:
        form.account.choices = [SelectChoice(a.domain, a.name)
                                for a in deposit_targets(uow.session, actor())]
    if not form.validate_on_submit():
        return holding_page(form, line, 400)
    try:
        with database().uow() as uow:
            done = deposit(uow, actor(), line, form.account.data or "", form.va.data or "",
                           form.quantity.data)
            uow.commit()
    except SatelliteError as exc:
        return holding_page(form, line, report(exc, form, fields={"line": "quantity"}))
    flash(f"Deposited {done['quantity']} x {done['license']} into {done['account']} / "
          f"{done['virtualAccount']} ({done['left']} left in the holding account).", "info")
    return redirect(url_for("ui.holding_page"))


@ui.route("/a/<account>/deposit-rules", endpoint="deposit_rules_page", methods=["GET", "POST"])
def deposit_rules_page(account: str) -> Any:
    form = DepositRuleForm()
    with reading() as uow:
        acct, rules = list_rules(uow.session, actor(), account)
        _, vas = accounts.va_entries(uow.session, actor(), account)
    offer_vas(form.va, vas)
    status = 200
    if form.validate_on_submit():
        try:
            with database().uow() as uow:
                add_rule(uow, actor(), account, form.match.data or "", form.pattern.data or "",
                         form.va.data or "", form.position.data)
                uow.commit()
            flash("Deposit rule added.", "info")
            return redirect(url_for("ui.deposit_rules_page", account=account))
        except SatelliteError as exc:
            status = report(exc, form, fields={"virtual_account": "va"})
    elif form.errors:
        status = 400
    return render("deposit_rules.html", status, account=acct, rules=rules, form=form,
                  move=RuleMoveForm(formdata=None), remove=ActionForm(formdata=None))


@ui.route("/a/<account>/deposit-rules/<int:rule_id>/remove", endpoint="deposit_rule_remove",
          methods=["POST"])
def deposit_rule_remove(account: str, rule_id: int) -> Any:
    back = url_for("ui.deposit_rules_page", account=account)
    if not ActionForm().validate_on_submit():
        flash("The form expired: try again.", "error")
        return redirect(back)

    def run() -> str:
        with database().uow() as uow:
            remove_rule(uow, actor(), account, rule_id)
            uow.commit()
        return f"Deposit rule {rule_id} removed; the lines it placed stay where they are."

    return then_back(run, back)


@ui.route("/a/<account>/deposit-rules/<int:rule_id>/move", endpoint="deposit_rule_move",
          methods=["POST"])
def deposit_rule_move(account: str, rule_id: int) -> Any:
    back = url_for("ui.deposit_rules_page", account=account)
    form = RuleMoveForm()
    if not form.validate_on_submit():
        flash("Choose a position from 1.", "error")
        return redirect(back)

    def run() -> str:
        with database().uow() as uow:
            row = move_rule(uow, actor(), account, rule_id, form.position.data or 1)
            uow.commit()
        return f"Deposit rule {rule_id} is now at position {row['position']}."

    return then_back(run, back)
