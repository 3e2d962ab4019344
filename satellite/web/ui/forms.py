"""The UI's forms: what each field accepts, checked before any service is called."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # stubs predate it
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from satellite.permissions.policy import ACCOUNT_ROLES, ROLES


class SignInForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired(), Length(max=150)],
                           render_kw={"autocomplete": "username", "autofocus": True})
    password = PasswordField("Password", validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField("New password", validators=[DataRequired()],
                        render_kw={"autocomplete": "new-password"})
    repeat = PasswordField("New password again", validators=[
        DataRequired(), EqualTo("new", message="the two new passwords differ")],
        render_kw={"autocomplete": "new-password"})


class ActionForm(FlaskForm):
    """A button that changes state and needs nothing but the CSRF token."""


class ExportCategoryForm(FlaskForm):
    category = SelectField("Export-control category", choices=[
        SelectChoice("A", "A (unrestricted)"), SelectChoice("B", "B"),
        SelectChoice("C", "C (no export-controlled functionality)"),
        SelectChoice("D", "D (no export-controlled functionality)")], validate_choice=True)


class AccountForm(FlaskForm):
    name = StringField("Account name", validators=[DataRequired(), Length(max=200)])
    domain = StringField("Domain identifier", validators=[DataRequired(), Length(max=253)],
                         description="e.g. abc.xyz.com")
    pending = BooleanField("Pending", description="its lines are held until it is activated")


class VaCreateForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    parent = SelectField("Inside", choices=[], validate_choice=True)
    description = StringField("Description", validators=[Length(max=500)])


class VaRenameForm(FlaskForm):
    new_name = StringField("New name", validators=[DataRequired(), Length(max=200)])


class VaMoveForm(FlaskForm):
    parent = SelectField("Move inside", choices=[], validate_choice=True)


class TransferForm(FlaskForm):
    source = SelectField("From virtual account", choices=[], validate_choice=True)
    target = SelectField("To virtual account", choices=[], validate_choice=True)
    tag = StringField("License tag", validators=[DataRequired(), Length(max=200)])
    quantity = IntegerField("Quantity", validators=[InputRequired(), NumberRange(min=1)])


class ClassicTransferForm(FlaskForm):
    license = SelectField("Classic license", choices=[], validate_choice=True)
    target = SelectField("To virtual account", choices=[], validate_choice=True)


class ClassicConvertForm(FlaskForm):
    license = SelectField("Classic license", choices=[], validate_choice=True)
    quantity = IntegerField("Quantity", validators=[InputRequired(), NumberRange(min=1)])
    target = SelectField("Into virtual account", choices=[], validate_choice=True)


def parse_license_lines(text: str) -> dict[str, int]:
    """`TAG=N` per line (or comma-separated) into counts. Raises ValueError with a message."""
    found: dict[str, int] = {}
    for raw in text.replace(",", "\n").splitlines():
        item = raw.strip()
        if not item:
            continue
        tag, sep, count = item.partition("=")
        tag, count = tag.strip(), count.strip()
        if not sep or not tag or not count.isdigit():
            raise ValueError(f"{item!r} is not TAG=COUNT")
        if tag in found:
            raise ValueError(f"{tag!r} is named twice")
        found[tag] = int(count)
    return found


def _license_lines(form: Any, field: Any) -> None:
    try:
        parse_license_lines(field.data or "")
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class ReservationForm(FlaskForm):
    va = SelectField("Virtual account", choices=[], validate_choice=True)
    request_code = TextAreaField("Request code from the device", validators=[DataRequired()],
                                 render_kw={"rows": 3, "spellcheck": "false",
                                            "autocomplete": "off", "data-code-letter": "R"})
    kind = RadioField("Reservation", choices=[SelectChoice("SLR", "Specific (SLR): the licenses below"),
                                              SelectChoice("PLR", "Permanent (PLR): everything")],
                      default="SLR")
    licenses = TextAreaField("Licenses (one TAG=COUNT per line)",
                             validators=[_license_lines], render_kw={"rows": 3})

    def validate_licenses(self, field: Any) -> None:
        if self.kind.data == "SLR" and not parse_license_lines(field.data or ""):
            raise ValidationError("a specific reservation needs at least one TAG=COUNT")


class ReservationUpdateForm(FlaskForm):
    licenses = TextAreaField("New licenses (one TAG=COUNT per line)",
                             validators=[DataRequired(), _license_lines], render_kw={"rows": 3})


class CodeForm(FlaskForm):
    code = TextAreaField("Code", validators=[DataRequired()],
                         render_kw={"rows": 2, "spellcheck": "false", "autocomplete": "off"})


class RemoveForm(FlaskForm):
    reason = StringField("Reason (recorded in the audit log)",
                         validators=[DataRequired(), Length(max=500)])


class BundleForm(FlaskForm):
    bundle = FileField("Sync file", validators=[FileRequired("choose a file")])


class ApplyForm(FlaskForm):
    upload = HiddenField(validators=[DataRequired()])


class UserForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired(), Length(max=150)])
    password = PasswordField("Initial password", validators=[DataRequired()],
                             render_kw={"autocomplete": "new-password"},
                             description="the user must change it at first sign-in")
    system_admin = BooleanField("System administrator")


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired()],
                             render_kw={"autocomplete": "new-password"})


class GrantForm(FlaskForm):
    username = StringField("User name", validators=[DataRequired(), Length(max=150)])
    role = SelectField("Role", choices=[SelectChoice(r, r.replace("_", " ")) for r in ROLES
                                        if r != "system_admin"])
    va = SelectField("Virtual account (VA roles only)", choices=[], validate_choice=True)


class AccessRequestForm(FlaskForm):
    account = StringField("Account (name or domain identifier)",
                          validators=[DataRequired(), Length(max=253)])
    role = SelectField("Role", choices=[SelectChoice(r, r.replace("_", " ")) for r in ACCOUNT_ROLES])
    note = StringField("Note for the account's administrators", validators=[Length(max=500)])


class AccountRequestForm(FlaskForm):
    name = StringField("Account name", validators=[DataRequired(), Length(max=200)])
    domain = StringField("Domain identifier", validators=[DataRequired(), Length(max=253)],
                         description="e.g. abc.xyz.com")
    note = StringField("Note for whoever decides", validators=[Length(max=500)])


class ApiClientForm(FlaskForm):
    role = SelectField("Role", choices=[SelectChoice(r, r.replace("_", " ")) for r in ACCOUNT_ROLES])
    description = StringField("Description", validators=[Length(max=500)])


class DeviceTransferForm(FlaskForm):
    target = SelectField("Move to virtual account", choices=[], validate_choice=True)


class TokenForm(FlaskForm):
    va = SelectField("Virtual account", choices=[], validate_choice=True)
    description = StringField("Description", validators=[Length(max=500)])
    expires_days = IntegerField("Expires after (days)", default=30,
                                validators=[InputRequired(), NumberRange(min=1, max=3650)])
    max_uses = IntegerField("Maximum uses (empty: unlimited)",
                            validators=[Optional(), NumberRange(min=1)])
    export_controlled = BooleanField("Allow export-controlled functionality")


class ChannelForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    kind = SelectField("Kind", choices=[SelectChoice(k, k) for k in ("email", "webhook",
                                                                    "syslog")])
    target = StringField("Target", validators=[DataRequired(), Length(max=1000)],
                         description="email: addresses, comma-separated; webhook: http(s) URL; "
                                     "syslog: udp://HOST:PORT or /dev/log")
    min_severity = SelectField("Deliver from severity", default="warning")
    dedupe_hours = IntegerField("Same alert at most once per (hours)", default=24,
                                validators=[InputRequired(), NumberRange(min=0, max=720)])


class ReservationModeForm(FlaskForm):
    mode = SelectField("Reservations allowed", choices=[
        SelectChoice("none", "none"), SelectChoice("specific", "specific (SLR)"),
        SelectChoice("permanent", "permanent (PLR)"), SelectChoice("both", "both")])


class AccountTransferForm(FlaskForm):
    source = SelectField("From virtual account", choices=[], validate_choice=True)
    to_account = SelectField("To account", choices=[], validate_choice=True)
    target = StringField("To its virtual account", validators=[DataRequired(), Length(max=200)])
    tag = StringField("License tag", validators=[DataRequired(), Length(max=200)])
    quantity = IntegerField("Quantity", validators=[InputRequired(), NumberRange(min=1)])


class DepositRuleForm(FlaskForm):
    match = SelectField("Match on", choices=[SelectChoice("tag", "License tag"),
                                 SelectChoice("name", "Display name")],
                        validate_choice=True)
    pattern = StringField("Pattern", validators=[DataRequired(), Length(max=255)],
                          description="exact, or a glob: regid.2024-01.com.example.*")
    va = SelectField("Virtual account", choices=[], validate_choice=True)
    position = IntegerField("Position", validators=[Optional(), NumberRange(min=1)],
                            description="1 is tried first; empty: last")


class RuleMoveForm(FlaskForm):
    position = IntegerField("Position", validators=[InputRequired(), NumberRange(min=1)])


class DepositForm(FlaskForm):
    account = SelectField("Account", choices=[], validate_choice=True)
    va = StringField("Virtual account", validators=[DataRequired(), Length(max=200)],
                     default="Default")
    quantity = IntegerField("Quantity", validators=[Optional(), NumberRange(min=1)],
                            description="empty: all that is left")


class TagForm(FlaskForm):
    tags = StringField("Tags", validators=[DataRequired(), Length(max=1400)],
                       description="Words of letters, digits and . _ : / + -, separated by "
                                   "spaces; they help find things and never restrict access.")


class LicenseTagForm(TagForm):
    va = SelectField("Virtual account", choices=[], validate_choice=True)
    license = StringField("License tag", validators=[DataRequired(), Length(max=255)])


class DeviceMoveForm(FlaskForm):
    to_account = SelectField("To account", choices=[], validate_choice=True)
    target = StringField("Its virtual account", validators=[DataRequired(), Length(max=200)])
