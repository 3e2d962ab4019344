"""Sync bundles in plain words, as `satellite sync inspect` and `sync import` show them: every
header field with what it means, every record, and what an import did."""

from __future__ import annotations

from typing import Any

from satellite.cloudsync import classic
from satellite.cloudsync.envelope import Header
from satellite.cloudsync.outbound import RUM_REPORT
from satellite.cloudsync.records import (
    ACCOUNT,
    ACCOUNT_CATEGORY,
    CENTRAL_RESPONSE,
    ENTITLEMENT,
    EVENT,
    REGISTRATION_REQUEST,
    RUM_ACK,
    USAGE_BATCH,
)
from satellite.cloudsync.service import (
    ImportReport,
    LocalView,
    SignatureStatus,
    created_text,
    describe_header,
)
from satellite.licenses.deposit_rules import Placement
from satellite.slup.views import describe_ack, describe_event

_KINDS = {CENTRAL_RESPONSE: "a response from Central",
          USAGE_BATCH: "a usage batch from a satellite to Central",
          REGISTRATION_REQUEST: "a satellite's registration request to Central"}


_EVENT_WORDS = {
    "usage": "a device's usage of licenses",
    "device.registered": "a device registered",
    "device.deregistered": "a device deregistered (its licenses went back to the pool)",
    "reservation.authorized": "a reservation authorized",
    "reservation.returned": "a reservation returned",
    "reservation.removed": "a reservation removed by force",
    "transfer": "licenses transferred between virtual accounts",
    "deposit": "licenses deposited from the partner holding account into an account",
    "classic.transfer": "a classic (PAK) license moved to another virtual account",
}
_FIELD_WORDS = {
    "format": "bundle format version",
    "kind": "what the bundle is",
    "sender": "who wrote it",
    "recipient": "to whom it is addressed",
    "serial": "its number in the sender's sequence of bundles to that recipient",
    "created_at": "when it was written",
    "key_id": "the key that signed it",
    "payload_sha256": "SHA-256 of the compressed payload, so the signature covers every byte",
    "payload_records": "number of records in the payload",
    "batch_id": "this batch's unique id",
    "first_sequence": "first event's sequence number",
    "last_sequence": "last event's sequence number",
    "count": "number of events",
    "acked_through": "events Central had acknowledged when it was written",
    "public_key": "the satellite's public identity key, for Central to certify",
    "version": "the satellite's software version",
    "entitlements": "'snapshot': the records are Central's complete entitlement list",
    "ack_through": "Central has received every event up to this sequence number",
    "certificate": "the satellite certificate Central issued",
    "issuer_certificate": "Central's certificate that issued it",
    "policy": "settings Central sets for this satellite",
    "rum_acks": "number of SLUP devices whose RUM reports this response acknowledges",
    classic.LICENSES_FIELD: "number of classic (PAK) licenses: Central's complete list of them",
    classic.RESULTS_FIELD: "number of Central's answers to classic license conversion requests",
    classic.REQUESTS_FIELD: "number of requests to convert classic licenses to Smart Licensing",
    "account_categories": "number of accounts whose export-control category this response "
                          "states",
}


def _value_text(value: Any) -> str:
    if isinstance(value, str) and "-----BEGIN" in value:
        return value.strip().splitlines()[0] + f" ... ({len(value)} characters of PEM)"
    return str(value)


def record_text(rec: dict[str, Any]) -> str:
    """One record of a bundle's payload in plain words."""
    kind = rec.get("type")
    if (text := classic.describe(rec)) is not None:
        return text
    if kind == ACCOUNT:
        return f"account {rec.get('domain')} ({rec.get('name')}), served by this satellite"
    if kind == EVENT and rec.get("kind") == RUM_REPORT:
        return f"event {rec.get('seq')} at {rec.get('at')}: {describe_event(rec.get('data'))}"
    if kind == RUM_ACK:
        return describe_ack(rec)
    if kind == ACCOUNT_CATEGORY:
        return (f"account {rec.get('account')} is in export-control category "
                f"{rec.get('category')}")
    if kind == EVENT:
        data = rec.get("data") or {}
        details = ", ".join(f"{k}={v}" for k, v in sorted(data.items()))
        words = _EVENT_WORDS.get(str(rec.get("kind")), f"a {rec.get('kind')!r} fact")
        return f"event {rec.get('seq')} at {rec.get('at')}: {words}: {details}"
    if kind != ENTITLEMENT:
        return f"a {kind!r} record"
    text = (f"line {rec['line_id']}: {rec['quantity']} x {rec['tag']}"
            + (f" ({rec['display_name']})" if rec.get("display_name") not in ("", rec["tag"])
               else "")
            + f", {rec['license_type']}, "
            + (f"in partner holding account {rec['holding']} (waits there to be deposited)"
               if rec.get("holding") else f"for account {rec['account']}, "
               + (f"virtual account {rec['va']}" if rec.get("va")
                  else "Default virtual account")))
    if rec.get("start_date") or rec.get("end_date"):
        text += f", from {rec.get('start_date') or '-'} to {rec.get('end_date') or '-'}"
    if rec.get("subscription_id"):
        text += f", subscription {rec['subscription_id']}"
    if rec.get("export_controlled"):
        text += ", export-controlled"
    return text


def header_lines(file: str, header: Header, status: SignatureStatus,
                  local: LocalView | None) -> list[str]:
    """Every part of a bundle's head in plain words: what it is, from whom, to whom, whether
    this satellite would take it, and each header field with what it means."""
    lines = [f"{file} holds {_KINDS.get(header.kind, f'a {header.kind!r} bundle')} "
             f"(bundle format version {header.format})",
             f"  from: {header.sender}",
             f"  to: {header.recipient}"]
    if header.kind == CENTRAL_RESPONSE:
        lines[-1] = f"  to: satellite {header.recipient}"
    if local is not None and header.kind == CENTRAL_RESPONSE:
        lines[-1] += (" (this satellite)" if header.recipient == local.satellite_id
                      else f" (NOT this satellite, which is {local.satellite_id})")
    lines.append(f"  serial: {header.serial}")
    if local is not None and header.kind == CENTRAL_RESPONSE:
        lines[-1] += (f" (newer than the last applied here, {local.last_serial})"
                      if header.serial > local.last_serial
                      else f" (NOT newer than the last applied here, {local.last_serial}: "
                      "import would refuse it)")
    lines.append(f"  created: {created_text(header.created_at)}")
    lines.append("  signature: " + ("NOT VALID: " if status.valid is False else "")
                 + status.detail)
    lines.append(f"  payload: {header.payload_records} records, SHA-256 {header.payload_sha256}")
    lines.append("Every part of the file, in order:")
    lines.append(f"  line 1: SATELLITE-BUNDLE/{header.format}  <- magic and "
                 f"{_FIELD_WORDS['format']}")
    lines.append("  line 2: the header, one line of canonical JSON:")
    for name, value in describe_header(header).items():
        if name != "fields":
            lines.append(f"    {name}: {_value_text(value)}  <- "
                         f"{_FIELD_WORDS.get(name, _FIELD_WORDS['payload_records'])}")
    for name, value in header.fields.items():
        lines.append(f"    fields.{name}: {_value_text(value)}  <- "
                     f"{_FIELD_WORDS.get(name, 'a field of this kind of bundle')}")
    lines.append(f"  line 3: Ed25519 signature over lines 1 and 2 by key {header.key_id}")
    lines.append(f"  the rest: the payload, gzip-compressed JSON lines, "
                 f"{header.payload_records} records:")
    return lines



def placement_text(placement: Placement) -> str:
    """Where a deposit rule sent (or, dry, would send) a new line that named no VA."""
    why = f"by {placement.rule}" if placement.rule else "no deposit rule matched"
    return (f"line {placement.line_id} ({placement.tag}) -> {placement.account}/"
            f"{placement.va}: {why}")


def import_lines(report: ImportReport) -> list[str]:
    """What an import did (or, dry, would do), one line per fact."""
    lines = []
    if report.registered:
        lines.append("it carries this satellite's certificate: registered with Central")
    if report.ack_through is not None:
        lines.append(f"Central acknowledges events through {report.ack_through} "
                     f"({report.newly_acked} newly acknowledged)")
    lines += [f"policy {key} = {value}" for key, value in report.policy.items()]
    if report.rum_acks:
        acks = report.rum_acks
        lines.append(f"ACKs for {acks['devices']} SLUP devices ({acks['reports']} reports); "
                     "write them with `satellite slup acks --va VA --out DIR`"
                     + (f"; {acks['unknown_devices']} for devices not on this satellite"
                        if acks["unknown_devices"] else ""))
    if (done := report.classic_licenses) is not None:
        lines.append(f"classic licenses: {done.added} added, {done.updated} updated, "
                     f"{done.removed} removed; conversions: {done.completed} completed, "
                     f"{done.rejected} rejected")
        lines += done.notes
    categories = report.categories
    lines += [f"export-control category of {change}" for change in categories.changed]
    if categories.unknown:
        lines.append("export-control categories for accounts not on this satellite: "
                     + ", ".join(categories.unknown))
    snapshot = report.snapshot
    if snapshot is None:
        lines.append("it carried no entitlement snapshot")
        return lines
    lines.append(f"entitlement lines: {snapshot.added} added, {snapshot.updated} updated, "
                 f"{snapshot.unchanged} unchanged, {snapshot.removed} removed")
    lines += [f"created virtual account {va}, named by Central" for va in snapshot.created_vas]
    if snapshot.held:
        noun = "line" if snapshot.held == 1 else "lines"
        lines.append(f"held {snapshot.held} {noun} for domains with no Active account (delivered "
                     "when the account is created or activated; `satellite account held`): "
                     + ", ".join(sorted(snapshot.held_accounts)))
    if snapshot.in_holding:
        lines.append(f"holding account: {snapshot.in_holding} lines wait to be deposited "
                     "(`satellite holding list`); they count nowhere until then")
    lines += [placement_text(p) for p in snapshot.placements]
    for va in report.diff.vas:
        lines.append(f"{va.account}/{va.va}: {va.added} lines added, {va.removed} removed, "
                     f"{va.changed} changed")
    for change in report.diff.compliance:
        devices = (f"; used by {', '.join(change.devices)}"
                   + (f" and {change.device_count - len(change.devices)} more"
                      if change.device_count > len(change.devices) else "")
                   if change.devices else "")
        lines.append(f"{change.tag} in {change.account}/{change.va}: {change.before} -> "
                     f"{change.after}{devices}")
    return lines
