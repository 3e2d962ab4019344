from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from satellite.cloudsync.records import Entitlement
from satellite.errors import InvalidInput


def entitlement(**changes: Any) -> dict[str, Any]:
    record = Entitlement(line_id="L1", account="abc.xyz.com", va="Lab", tag="regid.x",
                         display_name="Router", license_type="TERM", quantity=10,
                         start_date=date(2026, 1, 1), end_date=date(2026, 12, 31),
                         subscription_id="SUB-1", export_controlled=True).to_record()
    record.update(changes)
    return record


def test_round_trip() -> None:
    record = entitlement()
    assert record["type"] == "entitlement"
    assert record["start_date"] == "2026-01-01"
    assert Entitlement.from_record(record, 1).to_record() == record


@pytest.mark.parametrize(("changes", "message"), [
    ({"license_type": "FOREVER"}, "is not one of PERPETUAL, TERM, DEMO"),
    ({"quantity": -1}, "from 0 to 10,000,000"),
    ({"quantity": 2**31}, "from 0 to 10,000,000"),
    ({"quantity": 2**63}, "from 0 to 10,000,000"),
    ({"tag": "regid.\ud800"}, "tag holds a lone surrogate"),
    ({"tag": "regid.\x00"}, "tag holds the control character U\\+0000"),
    ({"display_name": "x\nforged"}, "display_name holds the control character U\\+000A"),
    ({"tag": "t" * 256}, "tag is longer than 255"),
    ({"subscription_id": "s" * 101}, "subscription_id is longer than 100"),
    ({"start_date": "0001-01-01"}, "cannot be a license date"),
    ({"end_date": "9999-12-31"}, "cannot be a license date"),
    ({"quantity": 2.5}, "whole number"),
    ({"start_date": None}, "TERM license needs a start and an end date"),
    ({"end_date": "2025-01-01"}, "end date is before the start date"),
    ({"end_date": "31/12/2026"}, "is not a date"),
    ({"va": 5}, "wrong type"),
    ({"va": " "}, "virtual account name is empty"),
    ({"extra": 1}, "an entitlement has the fields"),
    ({"line_id": ""}, "line_id is required"),
])
def test_malformed_entitlements_are_refused_naming_the_record(changes: dict[str, Any],
                                                               message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Entitlement.from_record(entitlement(**changes), 3)
