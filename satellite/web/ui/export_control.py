"""An account's export-control category on its page: shown to all, changed by system admins."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for

from satellite.accounts import export_control
from satellite.accounts.models import Account
from satellite.errors import InvalidInput
from satellite.web.ui.blueprint import ui
from satellite.web.ui.forms import ExportCategoryForm
from satellite.web.ui.pages import actor, database


def category_form(account: Account) -> ExportCategoryForm:
    form = ExportCategoryForm(formdata=None)
    form.category.data = account.export_category
    return form


@ui.route("/a/<account>/export-category", endpoint="export_category", methods=["POST"])
def set_export_category(account: str) -> Any:
    """A refusal (not a system administrator, a bad value) is the error page with its status."""
    form = ExportCategoryForm()
    if not form.validate_on_submit():
        raise InvalidInput("The export-control category was not changed: " + (
            "; ".join(e for errors in form.errors.values() for e in errors)
            or "the form had expired"))
    with database().uow() as uow:
        changed = export_control.set_category(uow, actor(), account, form.category.data or "")
        uow.commit()
        flash(f"Account {changed.name} is now in export-control category "
              f"{changed.export_category}.", "info")
    return redirect(url_for("ui.dashboard", account=account))
