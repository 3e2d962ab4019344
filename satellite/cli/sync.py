"""`satellite sync import` and `satellite sync inspect`: files carried to and from Central."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from satellite.cli import CliContext, emit_json, fail, pass_ctx
from satellite.cloudsync.central_registration import write_request
from satellite.cloudsync.envelope import Header, read_bundle
from satellite.cloudsync.export import Progress, export_batch
from satellite.cloudsync.network import run_sync, sync_status
from satellite.cloudsync.outbound import RUM_REPORT
from satellite.cloudsync.records import (
    ACCOUNT,
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
    import_bundle,
    local_view,
)
from satellite.cloudsync.trust import bundle_signature
from satellite.errors import SatelliteError, VerificationFailed
from satellite.keystore import open_keystore
from satellite.slup.views import describe_ack, describe_event

_KINDS = {CENTRAL_RESPONSE: "a response from Central",
          USAGE_BATCH: "a usage batch from a satellite to Central",
          REGISTRATION_REQUEST: "a satellite's registration request to Central"}
_PROGRESS_MIN = 10000


@click.group("sync")
def sync() -> None:
    """Signed files exchanged with Central across the air gap."""


@contextmanager
def _progress(length: int, label: str) -> Iterator[Progress | None]:
    """A progress bar on long runs, only when a person watches a terminal."""
    if length < _PROGRESS_MIN or not sys.stdout.isatty():
        yield None
        return
    with click.progressbar(length=length, label=label) as bar:
        yield bar.update


@sync.command("register")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write.")
@pass_ctx
def sync_register(ctx: CliContext, out: str) -> None:
    """Write the signed registration request to carry to Central."""
    header = write_request(ctx.db, open_keystore(ctx.settings), Path(out), ctx.actor)
    click.echo(f"wrote registration request {header.serial} for satellite {header.sender} "
               f"(key {header.key_id}, {header.payload_records} accounts) to {out}")
    click.echo("  carry it to Central, then `satellite sync import` Central's answer")


@sync.command("export")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def sync_export(ctx: CliContext, out: str, as_json: bool) -> None:
    """Write every event Central has not acknowledged yet into a signed usage batch."""
    pending = sync_status(ctx.db, ctx.settings, ctx.actor)["pending_events"]
    with _progress(pending, "exporting") as progress:
        report = export_batch(ctx.db, open_keystore(ctx.settings), ctx.actor, Path(out), progress)
    header = report.header
    if as_json:
        emit_json({"file": out, "header": describe_header(header)})
        return
    span = (f"events {report.first_sequence}-{report.last_sequence}" if report.count
            else "no events (Central has acknowledged everything)")
    click.echo(f"wrote usage batch {header.serial} ({report.batch_id}) to {out}: "
               f"{report.count} records, {span}")
    click.echo(f"  review it with `satellite sync inspect {out}` before it leaves the site")


@sync.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what would change; apply nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def sync_import(ctx: CliContext, file: str, dry_run: bool, as_json: bool) -> None:
    """Verify a response from Central and apply it; refuse it whole if anything is wrong."""
    with read_bundle(Path(file)) as bundle:
        length = bundle.header.payload_records
    with _progress(length, "importing") as progress:
        report = import_bundle(ctx.db, open_keystore(ctx.settings), ctx.actor, Path(file),
                               dry_run=dry_run, progress=progress,
                               overdue_days=ctx.settings.sync_overdue_days,
                               expiry_days=ctx.settings.expiry_notice_days,
                               max_bytes=ctx.settings.max_upload_mb << 20)
    header = report.header
    summary = report.snapshot.summary() if report.snapshot else None
    if as_json:
        emit_json({"applied": not dry_run, "dry_run": dry_run, "serial": header.serial,
                   "sender": header.sender, "previous_serial": report.previous_serial,
                   "key_id": report.signer_key_id, "entitlements": summary,
                   "ack_through": report.ack_through, "newly_acked": report.newly_acked,
                   "registered": report.registered, "policy": report.policy,
                   "changes": report.diff.to_json(), "warnings": list(report.warnings)})
        return
    verb = "Would apply" if dry_run else "Applied"
    if dry_run:
        click.echo("Dry run: nothing was changed.")
    click.echo(f"{verb} response {header.serial} from Central {header.sender} "
               f"(signed by key {report.signer_key_id}, created {created_text(header.created_at)})")
    for line in _import_lines(report):
        click.echo("  " + line)
    for warning in report.warnings:
        click.echo(f"  warning: {warning}")


def _import_lines(report: ImportReport) -> list[str]:
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
    snapshot = report.snapshot
    if snapshot is None:
        lines.append("it carried no entitlement snapshot")
        return lines
    lines.append(f"entitlement lines: {snapshot.added} added, {snapshot.updated} updated, "
                 f"{snapshot.unchanged} unchanged, {snapshot.removed} removed")
    lines += [f"created virtual account {va}, named by Central" for va in snapshot.created_vas]
    if snapshot.skipped:
        noun = "line" if snapshot.skipped == 1 else "lines"
        lines.append(f"skipped {snapshot.skipped} {noun} for accounts not on this satellite: "
                     + ", ".join(sorted(snapshot.skipped_accounts)))
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


@sync.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def sync_status_cmd(ctx: CliContext, as_json: bool) -> None:
    """Registration, last success and failure (and why), pending events, next run."""
    info = sync_status(ctx.db, ctx.settings, ctx.actor)
    if as_json:
        emit_json(info)
        return
    registration = info["registration"]
    click.echo(f"registration: {registration}" + {
        "unregistered": " (run `satellite sync register --out FILE`, carry it to Central, "
                        "import the answer)",
        "pending": " (request written; import Central's answer to complete it)"}.get(
            str(registration), ""))
    click.echo("network mode: " + (f"on, Central at {info['central_url']}"
                                   + (f" through proxy {info['proxy_url']}"
                                      if info["proxy_url"] else "")
                                   + f", every {info['interval_hours']} hours"
                                   if info["network_mode"] else "off (file sync only)"))
    click.echo(f"last success: {info['last_success_at'] or 'never'}")
    failure = info["last_failure_at"]
    click.echo(f"last failure: {failure}: {info['last_failure_reason']}" if failure
               else "last failure: none")
    if info["consecutive_failures"]:
        click.echo(f"failures in a row: {info['consecutive_failures']}")
    click.echo(f"last response applied: {info['last_response_serial'] or 'none'} "
               f"(at {info['last_import_at'] or 'never'})")
    click.echo(f"pending events: {info['pending_events']} (logged through "
               f"{info['last_sequence']}, acknowledged through {info['acked_through']})")
    if info["network_mode"]:
        click.echo(f"next run: {info['next_run_at'] or 'at the first scheduler tick of serve'}")


@sync.command("now")
@click.option("--attempts", default=3, show_default=True, type=click.IntRange(1, 20),
              help="Tries before giving up, with exponential backoff and jitter between them.")
@pass_ctx
def sync_now(ctx: CliContext, attempts: int) -> None:
    """Sync with Central over the network now (register if needed, send, apply the answer)."""
    outcome = run_sync(ctx.db, ctx.settings, open_keystore(ctx.settings), ctx.actor,
                       attempts=attempts)
    if outcome.registered_now:
        click.echo("registered with Central")
    report = outcome.response
    click.echo(f"sent {outcome.sent} events; applied response {report.header.serial}")
    for line in _import_lines(report):
        click.echo("  " + line)


def _local(ctx: CliContext) -> LocalView | None:
    """This satellite's id and last serial, if this data dir is an initialised satellite."""
    if not ctx.settings.data_dir.is_dir():
        return None
    try:
        return local_view(ctx.db)
    except (SatelliteError, SQLAlchemyError):
        return None


_EVENT_WORDS = {
    "usage": "a device's usage of licenses",
    "device.registered": "a device registered",
    "device.deregistered": "a device deregistered (its licenses went back to the pool)",
    "reservation.authorized": "a reservation authorized",
    "reservation.returned": "a reservation returned",
    "reservation.removed": "a reservation removed by force",
    "transfer": "licenses transferred between virtual accounts",
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
}


def _value_text(value: Any) -> str:
    if isinstance(value, str) and "-----BEGIN" in value:
        return value.strip().splitlines()[0] + f" ... ({len(value)} characters of PEM)"
    return str(value)


def _line_text(rec: dict[str, Any]) -> str:
    kind = rec.get("type")
    if kind == ACCOUNT:
        return f"account {rec.get('domain')} ({rec.get('name')}), served by this satellite"
    if kind == EVENT and rec.get("kind") == RUM_REPORT:
        return f"event {rec.get('seq')} at {rec.get('at')}: {describe_event(rec.get('data'))}"
    if kind == RUM_ACK:
        return describe_ack(rec)
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
            + f", {rec['license_type']}, for account {rec['account']}, "
            + (f"virtual account {rec['va']}" if rec.get("va") else "Default virtual account"))
    if rec.get("start_date") or rec.get("end_date"):
        text += f", from {rec.get('start_date') or '-'} to {rec.get('end_date') or '-'}"
    if rec.get("subscription_id"):
        text += f", subscription {rec['subscription_id']}"
    if rec.get("export_controlled"):
        text += ", export-controlled"
    return text


def _header_lines(file: str, header: Header, status: SignatureStatus,
                  local: LocalView | None) -> list[str]:
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


@sync.command("inspect")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def sync_inspect(ctx: CliContext, file: str, as_json: bool) -> None:
    """Show every part of a sync file in plain words, without applying it."""
    local = _local(ctx)
    records: list[dict[str, Any]] = []
    problem = None
    with read_bundle(Path(file)) as bundle:
        header = bundle.header
        status = bundle_signature(bundle, open_keystore(ctx.settings), local)
        if not as_json:
            for line in _header_lines(file, header, status, local):
                click.echo(line)
        try:
            for rec in bundle.records():
                if as_json:
                    records.append(rec)
                else:
                    click.echo("    " + _line_text(rec))
        except VerificationFailed as exc:
            problem = exc.message
    if as_json:
        emit_json({"file": file, "header": describe_header(header),
                   "signature": {"valid": status.valid, "detail": status.detail},
                   "this_satellite": local.satellite_id if local else None,
                   "last_applied_serial": local.last_serial if local else None,
                   "records": records, "problem": problem})
    if status.valid is False or problem:
        fail(problem or f"the signature is not valid: {status.detail}",
             VerificationFailed.exit_code)


COMMANDS = [sync]
