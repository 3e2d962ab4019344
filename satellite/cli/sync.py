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
from satellite.cloudsync.envelope import read_bundle
from satellite.cloudsync.export import Progress, export_batch
from satellite.cloudsync.network import run_sync, sync_status
from satellite.cloudsync.schemas import header_lines, import_lines, record_text
from satellite.cloudsync.service import (
    LocalView,
    created_text,
    describe_header,
    import_bundle,
    local_view,
)
from satellite.cloudsync.trust import bundle_signature
from satellite.errors import SatelliteError, VerificationFailed
from satellite.keystore import open_keystore

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
                   "changes": report.diff.to_json(), "warnings": list(report.warnings),
                   "placements": [p.to_json() for p in report.snapshot.placements]
                   if report.snapshot else []})
        return
    verb = "Would apply" if dry_run else "Applied"
    if dry_run:
        click.echo("Dry run: nothing was changed.")
    click.echo(f"{verb} response {header.serial} from Central {header.sender} "
               f"(signed by key {report.signer_key_id}, created {created_text(header.created_at)})")
    for line in import_lines(report):
        click.echo("  " + line)
    for warning in report.warnings:
        click.echo(f"  warning: {warning}")


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
    for line in import_lines(report):
        click.echo("  " + line)


def _local(ctx: CliContext) -> LocalView | None:
    """This satellite's id and last serial, if this data dir is an initialised satellite."""
    if not ctx.settings.data_dir.is_dir():
        return None
    try:
        return local_view(ctx.db)
    except (SatelliteError, SQLAlchemyError):
        return None


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
            for line in header_lines(file, header, status, local):
                click.echo(line)
        try:
            for rec in bundle.records():
                if as_json:
                    records.append(rec)
                else:
                    click.echo("    " + record_text(rec))
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
