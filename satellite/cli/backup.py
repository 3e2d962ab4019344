"""`satellite backup` and `satellite restore`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from satellite.cli import CliContext, emit_json, fail, pass_ctx
from satellite.clock import SystemClock


def _passphrase(path: str | None) -> str:
    if path is None:
        value = os.environ.get("SATELLITE_BACKUP_PASSPHRASE", "")
        if not value:
            fail("give the backup passphrase with --passphrase-file FILE (or SATELLITE_BACKUP_PASSPHRASE)")
        return value
    from satellite.backup.service import read_passphrase

    return read_passphrase(Path(path))


_PASSPHRASE = click.option("--passphrase-file", type=click.Path(dir_okay=False), default=None,
                           help="File holding the passphrase (else $SATELLITE_BACKUP_PASSPHRASE).")


@click.command("backup")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The backup file to write.")
@_PASSPHRASE
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
@pass_ctx
def backup_cmd(ctx: CliContext, out: str, passphrase_file: str | None, as_json: bool) -> None:
    """Write an encrypted backup (database, keys, certificates, settings); safe while serving."""
    from satellite.backup.service import backup

    config = Path(ctx.config_file) if ctx.config_file else None
    report = backup(ctx.settings, Path(out), _passphrase(passphrase_file), SystemClock(), ctx.actor, config)
    if as_json:
        emit_json(report.manifest)
        return
    manifest = report.manifest
    click.echo(f"Wrote backup {report.path} of satellite {manifest['satellite_id']}")
    click.echo(f"  schema {', '.join(manifest['schema_revision'])}, {len(manifest['files'])} files, "
               f"taken {manifest['created_at']}")
    click.echo("  keep the passphrase apart from the file: the satellite's private keys are inside")


@click.command("restore")
@click.argument("source", type=click.Path(dir_okay=False))
@_PASSPHRASE
@pass_ctx
def restore_cmd(ctx: CliContext, source: str, passphrase_file: str | None) -> None:
    """Restore a backup into an empty data dir (checked in full before anything is written)."""
    from satellite.backup.service import restore

    report = restore(ctx.settings, Path(source), _passphrase(passphrase_file), SystemClock(), ctx.actor)
    click.echo(f"Restored satellite {report.satellite_id} into {ctx.settings.data_dir} "
               f"(backup taken {report.backup_created_at})")
    if report.from_revision != report.to_revision:
        click.echo(f"  migrated schema {', '.join(report.from_revision)} -> {', '.join(report.to_revision)}")
    for note in report.notes:
        click.echo(f"  note: {note}")


COMMANDS = [backup_cmd, restore_cmd]
