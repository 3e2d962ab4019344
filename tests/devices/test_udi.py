"""The one UDI rule (satellite.devices.udi) on its own; entry points are tested where they live."""

from __future__ import annotations

import pytest

from satellite.devices.udi import MAX_PID, Udi, check_udi
from satellite.errors import InvalidInput


def test_a_plain_udi_passes_unchanged() -> None:
    assert check_udi("ISR4451-X/K9", "FOC1234X0AB", "V01", "") == Udi("ISR4451-X/K9", "FOC1234X0AB",
                                                                        "V01", "")
    assert check_udi("C9300-24T", "S1").label() == "PID:C9300-24T,SN:S1"


@pytest.mark.parametrize(("pid", "sn", "field"), [
    ("", "S1", "pid"), ("P", "", "sn"), (" ", "S1", "pid"), ("A:B", "S1", "pid"),
    ("P", "S:2", "sn"), ("P,Q", "S1", "pid"), ("P", "S 1", "sn"), ("P\n", "S1", "pid"),
    ("P", "S\r\nforged", "sn"), ("Pé", "S1", "pid"), ("P\x00", "S1", "pid"),
    ("P\ud800", "S1", "pid"), ("P" * (MAX_PID + 1), "S1", "pid"), (None, "S1", "pid"),
    (12, "S1", "pid"), ("P", ["S"], "sn"),
])
def test_what_the_rule_refuses_names_the_field(pid: object, sn: object, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_udi(pid, sn)
    assert refused.value.field == field
    assert "\n" not in refused.value.message and "\r" not in refused.value.message


def test_the_caller_names_the_fields() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_udi("P", "", names=("udiPid", "udiSerialNumber", "udiVid", "uuid"))
    assert refused.value.field == "udiSerialNumber"
    assert "udiSerialNumber is required" in refused.value.message


def test_optional_parts_are_bounded_too() -> None:
    with pytest.raises(InvalidInput, match="vid"):
        check_udi("P", "S", "V" * 17)
    with pytest.raises(InvalidInput, match="uuid"):
        check_udi("P", "S", "", "u u")
