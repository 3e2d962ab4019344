"""`satellite sync import` and `satellite sync inspect`: files carried to and from Central."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from satellite.cli import CliContext, emit_json, fail, pass_ctx
from satellite.cloudsync.envelope import Header, read_bundle
from satellite.cloudsync.records import CENTRAL_RESPONSE, ENTITLEMENT
from satellite.cloudsync.service import (
    SNAPSHOT,
    LocalView,
    SignatureStatus,
    check_signature,
    created_text,
    describe_header,
    import_bundle,
    local_view,
)
from satellite.errors import SatelliteError, VerificationFailed
from satellite.keystore import open_keystore

_KINDS = {CENTRAL_RESPONSE: "a response from Central"}


@click.group("sync")
def sync() -> None:
    """Signed files exchanged with Central across the air gap."""


@sync.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def sync_import(ctx: CliContext, file: str, as_json: bool) -> None:
    """Verify a response from Central and apply it; refuse it whole if anything is wrong."""
    anchor = open_keystore(ctx.settings).central_key()
    report = import_bundle(ctx.db, anchor, ctx.actor, Path(file))
    header = report.header
    summary = report.snapshot.summary() if report.snapshot else None
    if as_json:
        emit_json({"applied": True, "serial": header.serial, "sender": header.sender,
                   "previous_serial": report.previous_serial, "key_id": report.signer_key_id,
                   "entitlements": summary})
        return
    click.echo(f"Applied response {header.serial} from Central {header.sender} "
               f"(signed by key {report.signer_key_id}, created {created_text(header.created_at)})")
    snapshot = report.snapshot
    if snapshot is None:
        click.echo("  it carried no entitlement snapshot")
        return
    click.echo(f"  entitlement lines: {snapshot.added} added, {snapshot.updated} updated, "
               f"{snapshot.unchanged} unchanged, {snapshot.removed} removed")
    for va in snapshot.created_vas:
        click.echo(f"  created virtual account {va}, named by Central")
    if snapshot.skipped:
        lines = "line" if snapshot.skipped == 1 else "lines"
        click.echo(f"  skipped {snapshot.skipped} {lines} for accounts not on this satellite: "
                   + ", ".join(sorted(snapshot.skipped_accounts)))


def _local(ctx: CliContext) -> LocalView | None:
    """This satellite's id and last serial, if this data dir is an initialised satellite."""
    if not ctx.settings.data_dir.is_dir():
        return None
    try:
        return local_view(ctx.db)
    except (SatelliteError, SQLAlchemyError):
        return None


def _line_text(rec: dict[str, Any]) -> str:
    if rec.get("type") != ENTITLEMENT:
        return f"a {rec.get('type')!r} record"
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
             f"  to: satellite {header.recipient}"]
    if local is not None:
        lines[-1] += (" (this satellite)" if header.recipient == local.satellite_id
                      else f" (NOT this satellite, which is {local.satellite_id})")
    lines.append(f"  serial: {header.serial}")
    if local is not None:
        lines[-1] += (f" (newer than the last applied here, {local.last_serial})"
                      if header.serial > local.last_serial
                      else f" (NOT newer than the last applied here, {local.last_serial}: "
                      "import would refuse it)")
    lines.append(f"  created: {created_text(header.created_at)}")
    if status.valid is False:
        lines.append(f"  signature: NOT VALID: {status.detail}")
    else:
        lines.append(f"  signature: {status.detail}")
    lines.append(f"  payload: {header.payload_records} records, SHA-256 {header.payload_sha256}")
    if header.fields.get("entitlements") == SNAPSHOT:
        lines.append("  it carries Central's complete entitlement snapshot:")
    return lines


@sync.command("inspect")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def sync_inspect(ctx: CliContext, file: str, as_json: bool) -> None:
    """Show what a sync file holds, in plain words, without applying it."""
    anchor = open_keystore(ctx.settings).central_key()
    local = _local(ctx)
    records: list[dict[str, Any]] = []
    problem = None
    with read_bundle(Path(file)) as bundle:
        header = bundle.header
        status = check_signature(bundle, anchor)
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
