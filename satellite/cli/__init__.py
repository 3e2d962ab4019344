"""The `satellite` command: a thin adapter over the services.

Every command exits non-zero with one line on stderr for bad input.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from typing import Any, NoReturn

import click
from sqlalchemy.exc import DBAPIError, OperationalError

from satellite.actor import Actor
from satellite.bootstrap import open_database, require_initialised
from satellite.config import Settings, load_settings
from satellite.errors import PermissionDenied, SatelliteError, StorageUnavailable
from satellite.limits import check_tree, printable
from satellite.storage import storage_cause
from satellite.uow import Database


@dataclass
class CliContext:
    data_dir: str | None
    config_file: str | None
    as_user: str | None = None
    _settings: Settings | None = None
    _db: Database | None = None
    _actor: Actor | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(data_dir=self.data_dir, config_file=self.config_file)
        return self._settings

    @property
    def raw_db(self) -> Database:
        """The database, initialised or not (for `init`)."""
        if self._db is None:
            self._db = open_database(self.settings)
        return self._db

    @property
    def db(self) -> Database:
        """The database of an initialised appliance."""
        db = self.raw_db
        require_initialised(db)
        return db

    @property
    def actor(self) -> Actor:
        """The console operator (a system administrator), or the user named by --as-user."""
        if self._actor is None:
            if self.as_user is None:
                self._actor = Actor.local_operator()
            else:
                from satellite.users.service import get_user, user_actor

                with self.db.reader() as uow:
                    user = get_user(uow.session, self.as_user)
                    if user.disabled:
                        raise PermissionDenied(f"user {self.as_user!r} is disabled")
                    # The console checks what the user's roles allow, password change or not.
                    self._actor = replace(user_actor(user), password_change_due=False)
        return self._actor

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


pass_ctx = click.make_pass_decorator(CliContext)


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


def columns(*values: object) -> str:
    """One tab-separated console line; control characters inside values are escaped, so
    no value (a hostname, an audit target) can forge a line or a column."""
    return "\t".join(printable(str(value)) for value in values)


def fail(message: str, code: int = 2) -> NoReturn:
    raise click.exceptions.Exit(_print_error(message, code))


def _print_error(message: str, code: int) -> int:
    # One line, whatever the message quotes.
    click.echo(f"satellite: error: {printable(message)}", err=True)
    return code


@click.group()
@click.option("--data-dir", envvar="SATELLITE_DATA_DIR", default=None, metavar="DIR",
              help="Data directory (default: $SATELLITE_DATA_DIR, then ./var).")
@click.option("--config", "config_file", envvar="SATELLITE_CONFIG", default=None, metavar="FILE",
              help="Settings file (TOML); see config/satellite.toml.")
@click.option("--as-user", default=None, metavar="USER",
              help="Act with this user's rights instead of as the console administrator.")
@click.version_option(package_name="satellite")
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None, config_file: str | None,
        as_user: str | None) -> None:
    """Satellite: on-premises license manager."""
    ctx.obj = CliContext(data_dir, config_file, as_user)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from satellite.cli import (
        access,
        accounts,
        alerts,
        audit,
        backup,
        classic,
        clock,
        deposit,
        devices,
        licenses,
        reports,
        reservation,
        slup,
        sync,
        system,
        tags,
        tls,
        tokens,
    )

    for module in (system, accounts, licenses, audit, sync, reservation, tls, backup, tokens,
                   devices, alerts, access, clock, reports, slup, deposit, classic, tags):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    try:
        # Bytes that are not UTF-8 arrive as lone surrogates, which no database stores.
        check_tree(sys.argv[1:] if argv is None else argv, "the command line")
        # Outside standalone mode click returns an Exit's code (e.g. from fail()) instead of
        # raising it; anything else a command returns is not an exit code.
        result = cli.main(args=argv, prog_name="satellite", standalone_mode=False)
    except SatelliteError as exc:
        sys.exit(_print_error(exc.message, exc.exit_code))
    except (DBAPIError, OSError) as exc:
        # A full disk, a read-only data dir, a database that cannot be reached: one line.
        cause = storage_cause(exc)
        if cause is not None:
            sys.exit(_print_error(f"storage unavailable: {cause}", StorageUnavailable.exit_code))
        if isinstance(exc, OperationalError):
            first = str(getattr(exc, "orig", exc)).strip().splitlines()[:1]
            sys.exit(_print_error(f"cannot use the database: {first[0] if first else exc}",
                                  StorageUnavailable.exit_code))
        raise
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(_print_error("aborted", 1))
    except click.ClickException as exc:
        sys.exit(_print_error(exc.format_message(), exc.exit_code))
    sys.exit(result if isinstance(result, int) else 0)
