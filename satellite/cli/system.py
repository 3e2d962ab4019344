"""`satellite init`, `status` and `serve`."""

from __future__ import annotations

from pathlib import Path

import click

from satellite.bootstrap import initialise, status
from satellite.cli import CliContext, emit_json, fail, pass_ctx
from satellite.errors import StorageUnavailable
from satellite.keystore import read_central_key_file
from satellite.storage import probe


def _read_secret_file(path: str, what: str) -> str:
    try:
        value = Path(path).read_text().strip()
    except OSError as exc:
        fail(f"cannot read {what} file {path}: {exc.strerror}")
    if not value:
        fail(f"{what} file {path} is empty")
    return value


@click.command("init")
@click.option("--central-key", type=click.Path(dir_okay=False),
              help="Central's public key (trust anchor).")
@click.option("--admin-password-file", type=click.Path(dir_okay=False),
              help="Password for the first administrator (else a random one is generated).")
@pass_ctx
def init_cmd(ctx: CliContext, central_key: str | None, admin_password_file: str | None) -> None:
    """Initialise or upgrade the data dir; idempotent, never destroys data."""
    password = (_read_secret_file(admin_password_file, "admin password")
                if admin_password_file else None)
    anchor = read_central_key_file(central_key) if central_key else None
    report = initialise(ctx.settings, ctx.raw_db, ctx.actor, admin_password=password,
                        central_key=anchor)
    verb = "Initialised" if report.created else "Checked"
    click.echo(f"{verb} satellite {report.satellite_id} in {ctx.settings.data_dir}")
    for note in report.notes:
        click.echo(f"  {note}")
    if report.admin_password_file:
        click.echo(f"  the password for 'admin' is in {report.admin_password_file} "
                   "(readable by you only); "
                   "change it after the first sign-in")


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def status_cmd(ctx: CliContext, as_json: bool) -> None:
    """Show the satellite's id, version, registration state and counts."""
    info = status(ctx.settings, ctx.db)
    if as_json:
        emit_json(info)
        return
    for key, value in info.items():
        if key == "warnings":
            continue
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for k, v in value.items():
                click.echo(f"  {k}: {v}")
        else:
            click.echo(f"{key}: {value}")
    warnings = info["warnings"]
    for warning in warnings if isinstance(warnings, list) else []:
        click.echo(f"warning: {warning}")


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default from settings).")
@click.option("--port", default=None, type=int, help="Port to listen on (default from settings).")
@pass_ctx
def serve_cmd(ctx: CliContext, host: str | None, port: int | None) -> None:
    """Serve the web UI, REST API and device protocol, and run scheduled jobs."""
    from satellite.logs import configure_logging
    from satellite.server import serve

    configure_logging(ctx.settings)
    # A data dir that cannot be written is named before anything else fails on it.
    problem = probe(ctx.settings.data_dir) if ctx.settings.data_dir.is_dir() else None
    if problem is not None and ctx.settings.effective_database_url.startswith("sqlite"):
        raise StorageUnavailable(f"cannot serve: the data dir holds the database and {problem}")
    _ = ctx.db  # refuse to serve an uninitialised data dir, with the usual one-line error
    if problem is not None:
        click.echo(f"satellite: warning: {problem}: keys and certificates Central sends cannot "
                   "be recorded", err=True)
    serve(ctx.settings, host or ctx.settings.host, port if port is not None else ctx.settings.port)


COMMANDS = [init_cmd, status_cmd, serve_cmd]
