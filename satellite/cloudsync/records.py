"""Records carried in bundle payloads, with the checks both ends agree on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from satellite.accounts.export_control import RECORD as CATEGORY_RECORD
from satellite.errors import InvalidInput
from satellite.licenses.models import LICENSE_TYPES
from satellite.limits import check_text

# Header kind of what Central sends back; its `fields` say what it carries.
CENTRAL_RESPONSE = "central-response"
# Header kinds of what a satellite sends.
REGISTRATION_REQUEST = "registration-request"
USAGE_BATCH = "usage-batch"
# Record types.
ENTITLEMENT = "entitlement"
ACCOUNT = "account"
EVENT = "event"
# An ACK of a SLUP device's RUM reports, in a response (satellite.slup).
RUM_ACK = "rum_ack"
# Classic (PAK) licenses (satellite.cloudsync.classic): Central lists them and answers
# conversion requests in a response; a usage batch carries the requests.
CLASSIC_LICENSE = "classic_license"
CLASSIC_RESULT = "classic_result"
CLASSIC_CONVERSION = "classic_conversion"
# Central's word on an account's export-control category (accounts.export_control), in a
# response; optional: a response without it leaves every category as it is.
ACCOUNT_CATEGORY = CATEGORY_RECORD
# Records a response may carry beside its entitlement lines, applied by their own domains.
SIDE_RECORDS = (RUM_ACK, ACCOUNT_CATEGORY, CLASSIC_LICENSE, CLASSIC_RESULT)
# Recipient named by a satellite that has not heard from Central yet.
ANY_CENTRAL = "central"
_ENTITLEMENT_KEYS = {"type", "line_id", "account", "va", "tag", "display_name", "license_type",
                     "quantity", "start_date", "end_date", "subscription_id", "export_controlled"}
# Present only on a line of a partner holding account (bundles from before it still read).
HOLDING_KEY = "holding"


# A line's quantity; a pool adds its lines up, and must stay a 32-bit number on every engine.
MAX_QUANTITY = 10_000_000
# License dates that can be true: none before 1970, none past 2999.
FIRST_DATE, LAST_DATE = date(1970, 1, 1), date(2999, 12, 31)


def _date(value: object, name: str, where: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 10:
        raise InvalidInput(f"{where}: {name} is not a date (YYYY-MM-DD)", field=name)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{where}: {name} {value!r} is not a date (YYYY-MM-DD)",
                           field=name) from None


def _bounded(where: str, name: str, value: object, limit: int, required: bool = True) -> None:
    try:
        check_text(value, name, limit, required=required)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc.message}", field=name) from None


@dataclass(frozen=True)
class Entitlement:
    """One order line of Central's entitlement snapshot."""

    line_id: str
    account: str  # the account's domain identifier
    va: str | None  # the VA the order names, else the account's Default VA
    tag: str
    display_name: str
    license_type: str
    quantity: int
    start_date: date | None = None
    end_date: date | None = None
    subscription_id: str = ""
    export_controlled: bool = False
    # The partner holding account's identifier when the line sits there, for the site to
    # deposit into an account of its choice (satellite.cloudsync.holding); else None.
    holding: str | None = None

    def __post_init__(self) -> None:
        _bounded("an entitlement", "line_id", self.line_id, 64)
        where = f"entitlement line {self.line_id}"
        _bounded(where, "account", self.account, 253)
        _bounded(where, "va", self.va, 200, required=False)
        _bounded(where, "tag", self.tag, 255)
        _bounded(where, "display_name", self.display_name, 255, required=False)
        _bounded(where, "subscription_id", self.subscription_id, 100, required=False)
        _bounded(where, HOLDING_KEY, self.holding, 253, required=False)
        if self.holding is not None and not self.holding.strip():
            raise InvalidInput(f"{where}: the holding account's identifier is empty")
        if not self.account or not self.tag or len(self.tag) > 255:
            raise InvalidInput(
                f"{where}: the account and a tag of at most 255 characters are needed")
        if self.va is not None and not self.va.strip():
            raise InvalidInput(f"{where}: the virtual account name is empty")
        if self.license_type not in LICENSE_TYPES:
            raise InvalidInput(f"{where}: type {self.license_type!r} is not one of "
                               f"{', '.join(LICENSE_TYPES)}")
        if type(self.quantity) is not int or not 0 <= self.quantity <= MAX_QUANTITY:
            raise InvalidInput(f"{where}: quantity must be a whole number from 0 to "
                               f"{MAX_QUANTITY:,}", field="quantity")
        for name, day in (("start_date", self.start_date), ("end_date", self.end_date)):
            if day is not None and not FIRST_DATE <= day <= LAST_DATE:
                raise InvalidInput(f"{where}: {name} {day} cannot be a license date "
                                   f"({FIRST_DATE} to {LAST_DATE})", field=name)
        if self.license_type == "TERM" and (self.start_date is None or self.end_date is None):
            raise InvalidInput(f"{where}: a TERM license needs a start and an end date")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise InvalidInput(f"{where}: the end date is before the start date")

    def to_record(self) -> dict[str, Any]:
        record = {
            "type": ENTITLEMENT, "line_id": self.line_id, "account": self.account, "va": self.va,
            "tag": self.tag, "display_name": self.display_name,
            "license_type": self.license_type, "quantity": self.quantity,
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "subscription_id": self.subscription_id, "export_controlled": self.export_controlled,
        }
        if self.holding is not None:
            record[HOLDING_KEY] = self.holding
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any], number: int) -> Entitlement:
        """Raises InvalidInput naming the record when it is not a well-formed entitlement."""
        where = f"record {number}"
        if set(record) - {HOLDING_KEY} != _ENTITLEMENT_KEYS:
            raise InvalidInput(f"{where}: an entitlement has the fields "
                               f"{', '.join(sorted(_ENTITLEMENT_KEYS))} (and {HOLDING_KEY} "
                               "for a line of a holding account)")
        holding = record.get(HOLDING_KEY)
        text = ("line_id", "account", "tag", "display_name", "license_type", "subscription_id")
        if (any(not isinstance(record[k], str) for k in text)
                or not isinstance(record["va"], str | None)
                or not isinstance(record["export_controlled"], bool)
                or not isinstance(holding, str | None)):
            raise InvalidInput(f"{where}: an entitlement field has the wrong type")
        return cls(
            line_id=record["line_id"], account=record["account"], va=record["va"],
            tag=record["tag"], display_name=record["display_name"],
            license_type=record["license_type"], quantity=record["quantity"],
            start_date=_date(record["start_date"], "start_date", where),
            end_date=_date(record["end_date"], "end_date", where),
            subscription_id=record["subscription_id"],
            export_controlled=record["export_controlled"], holding=holding,
        )
