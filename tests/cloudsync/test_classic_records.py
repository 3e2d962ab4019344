"""Classic license records in bundles: what both ends agree on, and responses without them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from satellite.actor import Actor
from satellite.cloudsync.classic import (
    ClassicRecord,
    ConversionRequest,
    ConversionResult,
    device_key,
)
from satellite.cloudsync.records import MAX_QUANTITY
from satellite.cloudsync.service import import_bundle
from satellite.config import Settings
from satellite.errors import InvalidInput
from satellite.keystore import open_keystore
from satellite.licenses.classic_models import ClassicLicense
from satellite.uow import Database
from tests.cloudsync.conftest import ResponseWriter

WORD = st.text(st.sampled_from("ABCDEFGHJK0123456789-."), min_size=1, max_size=20)
CLASSIC = {"type": "classic_license", "account": "abc.xyz.com", "pak": "P1", "sku": "S1",
           "tag": "regid.t", "quantity": 3, "converted": 0, "va": None, "device": ""}


@given(pak=WORD, sku=WORD, quantity=st.integers(1, MAX_QUANTITY), data=st.data(),
       va=st.none() | WORD, device=st.sampled_from(["", "C9300:FOC1"]))
def test_a_classic_record_reads_back_as_written(pak: str, sku: str, quantity: int,
                                                data: st.DataObject, va: str | None,
                                                device: str) -> None:
    item = ClassicRecord("abc.xyz.com", pak, sku, "regid.t", quantity,
                         data.draw(st.integers(0, quantity)), va, device)
    assert ClassicRecord.from_record(item.to_record(), 1) == item


def test_requests_and_results_read_back_as_written() -> None:
    request = ConversionRequest("a" * 32, "abc.xyz.com", "Lab", "P", "S", 2, "device",
                                "PID:X,SN:Y", "2026-03-01T12:00:00+00:00")
    assert ConversionRequest.from_record(request.to_record(), 1) == request
    result = ConversionResult("a" * 32, "rejected", "", "why")
    assert ConversionResult.from_record(result.to_record(), 1) == result


@pytest.mark.parametrize("change, message", [
    ({"converted": 4}, "converted is more than the quantity"),
    ({"quantity": 0}, "quantity must be a whole number from 1"),
    ({"quantity": True}, "quantity must be a whole number"),
    ({"pak": ""}, "pak"),
    ({"extra": 1}, "has the fields"),
])
def test_a_malformed_classic_record_is_refused_naming_it(change: dict[str, object],
                                                         message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as refused:
        ClassicRecord.from_record({**CLASSIC, **change}, 7)
    assert "record 7" in refused.value.message


def test_both_ways_of_writing_a_udi_name_one_device() -> None:
    assert device_key("PID:C9300-24T,SN:FOC1") == device_key("C9300-24T:FOC1")
    assert device_key("PID:A,SN:B") != device_key("A:C")


def test_a_response_without_classic_records_leaves_classic_licenses_as_they_are(
        abc: Database, settings: Settings, response: ResponseWriter) -> None:
    keystore, actor = open_keystore(settings), Actor("cli", "tester")
    listed = response([CLASSIC], serial=1,
                      fields={"entitlements": "snapshot", "classic_licenses": 1})
    assert import_bundle(abc, keystore, actor, listed).classic_licenses is not None
    older = response([], serial=2)  # as Central wrote them before classic licenses
    assert import_bundle(abc, keystore, actor, older).classic_licenses is None
    with abc.reader() as uow:
        assert uow.session.scalar(select(func.count()).select_from(ClassicLicense)) == 1
    emptied = response([], serial=3, fields={"entitlements": "snapshot", "classic_licenses": 0})
    report = import_bundle(abc, keystore, actor, emptied).classic_licenses
    assert report is not None and report.removed == 1
