"""Property tests: any well-formed report survives import and export byte for byte; any
damaged file is refused with a clear error and changes nothing."""

from __future__ import annotations

import io
import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from satellite.accounts.service import create_va, get_account, get_va
from satellite.actor import Actor
from satellite.cloudsync.models import OutboundEvent
from satellite.devices.models import Device
from satellite.errors import InvalidInput
from satellite.slup.cssm import export_cssm
from satellite.slup.formats import Skipped, json_members, read_usage
from satellite.slup.models import RumReportRow
from satellite.slup.service import import_usage
from satellite.uow import Database
from tests.licenses.helpers import make_account
from tests.slup.files import members, payload, report, usage_file

_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff")
_SPACE = st.sampled_from(["", " ", "\n", "\t", "  \n  "])
_numbers = itertools.count(1)


@st.composite
def report_texts(draw: st.DrawFn, serial: str) -> str:
    """A report as some device might write it: any field order, spacing, escaping."""
    extra = draw(st.dictionaries(st.text(_CHARS, min_size=1, max_size=8),
                                 st.text(_CHARS, max_size=30) | st.integers(), max_size=3))
    body = json.loads(payload("C9300-24T", serial, draw(st.integers(1, 10**12)),
                              draw(st.sampled_from(["regid.a,1.0_x", "regid.b ]]> &amp;"])),
                              [{"start_time": 1, "end_time": draw(st.integers(2, 10**10)),
                                "value": {"type": "COUNT", "value": str(draw(
                                    st.integers(0, 99)))}, "meta": extra}],
                              new_style=draw(st.booleans())))
    body["unknown"] = extra
    ascii_only, indent = draw(st.booleans()), draw(st.sampled_from([None, 0, 2]))
    text = json.dumps(body, ensure_ascii=ascii_only, indent=indent)
    signature = {"sudi": {"udi_pid": "C9300-24T", "udi_serial_number": serial},
                 "signing_type": "builtin", "key": draw(st.text(_CHARS, max_size=10)),
                 "value": draw(st.text("ABCxyz019+/=", max_size=40))}
    members_text = [f'"payload"{draw(_SPACE)}:{draw(_SPACE)}'
                    f"{json.dumps(text, ensure_ascii=draw(st.booleans()))}",
                    f'"signature":{draw(_SPACE)}'
                    f"{json.dumps(signature, ensure_ascii=ascii_only, indent=indent)}"]
    if draw(st.booleans()):
        members_text.reverse()
    sep = draw(_SPACE)
    return "{" + sep + ("," + sep).join(members_text) + sep + "}"


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _document(texts: list[str]) -> bytes:
    return ("<smartLicense>" + "".join(f"<RUMReport>{_cdata(t)}</RUMReport>" for t in texts)
            + "</smartLicense>").encode()


def _va(db: Database, actor: Actor) -> str:
    name = f"V{next(_numbers)}"
    with db.uow() as uow:
        create_va(uow, actor, "Acme", name)
        uow.commit()
    return name


@pytest.fixture
def acme(db: Database, actor: Actor) -> Database:
    make_account(db, actor)
    return db


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_well_formed_report_survives_import_and_export_byte_for_byte(
        acme: Database, actor: Actor, data: st.DataObject) -> None:
    serial = f"FCW{next(_numbers)}"
    texts = data.draw(st.lists(report_texts(serial), min_size=1, max_size=3))
    va = _va(acme, actor)
    with acme.uow() as uow:
        import_usage(uow, actor, "Acme", va, [("u.txt", io.BytesIO(_document(texts)))])
        uow.commit()
    out = io.BytesIO()
    with acme.uow() as uow:
        account = get_account(uow.session, "Acme")
        export_cssm(uow, actor, account, get_va(uow.session, account, va), out)
        uow.commit()
    (device_file,) = [d for n, d in members(out.getvalue()).items() if "/dev_" in n]
    exported = list(read_usage(io.BytesIO(device_file), "dev", Skipped()))
    unique = list(dict.fromkeys(texts))
    ids = [json_members(t) for t in unique]
    by_id: dict[str, Any] = {}
    for original, parsed in zip(unique, ids, strict=True):
        body = json.loads(parsed["payload"][0])
        rid = str(body["asset_identification"].get("report_id", body["meta"].get("report_id")))
        by_id.setdefault(rid, original)
    assert len(exported) == len(by_id)
    for got in exported:
        original = by_id[got.report_id]
        assert got.text == original
        assert got.payload == json_members(original)["payload"][0]
        assert got.signature == json_members(original)["signature"][1]


def _state(db: Database) -> tuple[int, int, int]:
    with db.reader() as uow:
        return tuple(uow.session.scalar(select(func.count()).select_from(table)) or 0
                     for table in (Device, RumReportRow, OutboundEvent))  # type: ignore[return-value]


def _good() -> list[dict[str, Any]]:
    return [json.loads(report("C9300-24T", "FCW1", 1)), json.loads(report("C9300-48P", "X", 2))]


def _set(reports: list[dict[str, Any]], path: tuple[str, ...], value: Any) -> bytes:
    target = reports[1]
    body = json.loads(target["payload"])
    holder = body
    for key in path[:-1]:
        holder = holder[key] if not isinstance(holder, list) else holder[int(key)]
    if value is _MISSING:
        del holder[path[-1]]
    else:
        holder[path[-1]] = value
    target["payload"] = json.dumps(body)
    return usage_file(*(json.dumps(r) for r in reports))


_MISSING = object()
MUTATIONS = st.sampled_from([
    (("asset_identification", "report_id"), _MISSING, "report_id"),
    (("asset_identification", "report_id"), [1], "report_id"),
    (("measurements",), "many", "measurements is not a list"),
    (("measurements", "0", "value", "value"), "lots", "is not a whole number"),
    (("measurements", "0", "end_time"), "yesterday", "end_time is not a time"),
    (("asset_identification", "instance", "sudi", "udi_pid"), 9300, "udi_pid must be"),
    (("asset_identification", "instance", "sudi", "udi_serial_number"), "", "not a valid UDI"),
    (("meta",), ["not", "an", "object"], "meta is not an object"),
    (("meta", "entitlement_tag"), 42, "entitlement tag"),
    (("measurements", "0", "value", "type"), "GAUGE", "is not COUNT"),
])


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["truncated", "field", "signature", "entities", "external"]),
       mutation=MUTATIONS, cut=st.integers(1, 10_000))
def test_damaged_files_are_refused_whole_and_change_nothing(
        acme: Database, actor: Actor, kind: str, mutation: tuple[Any, ...], cut: int) -> None:
    before = _state(acme)
    if kind == "truncated":
        whole = usage_file(*(json.dumps(r) for r in _good()))
        data, expected = whole[:len(whole) - 1 - cut % (len(whole) - 1)], ("bad.txt: ",)
    elif kind == "field":
        path, value, problem = mutation
        data, expected = _set(_good(), path, value), ("bad.txt: report 2", problem)
    elif kind == "signature":
        reports = _good()
        reports[1]["signature"] = "not an object"
        data = usage_file(*(json.dumps(r) for r in reports))
        expected = ("bad.txt: report 2: signature must be an object",)
    elif kind == "external":
        data = (b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b"<smartLicense><RUMReport>&x;</RUMReport></smartLicense>")
        expected = ("bad.txt: not a well-formed, safe XML document",)
    else:
        data = (b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "' + b"a" * (cut % 50)
                + b'"><!ENTITY b "&a;&a;&a;&a;&a;">]><smartLicense>&b;</smartLicense>')
        expected = ("bad.txt: not a well-formed, safe XML document",)
    with acme.uow() as uow, pytest.raises(InvalidInput) as refused:
        import_usage(uow, actor, "Acme", "Lab",
                     [("good.txt", io.BytesIO(usage_file(report("C9300-24T", "FCW7", 1)))),
                      ("bad.txt", io.BytesIO(data))])
    assert refused.value.message.startswith(expected[0])
    assert all(part in refused.value.message for part in expected)
    assert _state(acme) == before
