"""Opening and initialising an appliance's data dir and database."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, select

from satellite import __version__
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.clock import Clock
from satellite.cloudsync import LAST_SERIAL_KEY
from satellite.cloudsync.outbound import pending_count
from satellite.config import Settings
from satellite.db import head_revisions, make_engine, migrate, schema_revision
from satellite.errors import ConfigError, InvalidInput
from satellite.keystore import CentralKey, open_keystore
from satellite.state import get_state, set_state
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from satellite.users.passwords import generate_password
from satellite.users.service import count_users, create_user

_REGISTRATION_NOTES = {
    "unregistered": "not registered with Central: run `satellite sync register --out FILE`, "
                    "carry the file to Central and import its answer",
    "pending": "registration requested; import Central's answer to complete it",
    "registered": "registered with Central",
}
ADMIN_PASSWORD_FILE = "initial-admin-password"  # noqa: S105 (a file name, not a password)


def database(engine: Engine, clock: Clock | None = None) -> Database:
    """The appliance's handle on `engine`, with the domain's session rules bound to it."""
    from satellite.licenses.pools import bind_pool_hooks

    return Database(engine, clock, session_hooks=(bind_pool_hooks,))


def open_database(settings: Settings, clock: Clock | None = None) -> Database:
    return database(make_engine(settings.effective_database_url), clock)


def require_initialised(db: Database) -> str:
    """Return the satellite id. Raises ConfigError when `satellite init` has not been run."""
    if schema_revision(db.engine) != head_revisions():
        raise ConfigError(
            "this data dir is not initialised or needs migrating: run `satellite init`")
    with db.reader() as uow:
        satellite_id = get_state(uow.session, "satellite_id")
    if satellite_id is None:
        raise ConfigError("this data dir is not initialised: run `satellite init`")
    return satellite_id


def write_secret_file(path: Path, content: str) -> None:
    """Create a file readable by its owner only (the mode is set before anything is written)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(content)
    os.chmod(path, 0o600)


def retire_initial_password(data_dir: Path, db: Database) -> bool:
    """Remove the first admin password's file once the admin has chosen their own password
    (it then opens nothing, but a readable password file invites reuse). Returns whether it
    removed the file."""
    from satellite.users.models import User

    path = data_dir / ADMIN_PASSWORD_FILE
    if not path.exists():
        return False
    with db.reader() as uow:
        must_change = uow.session.scalar(select(User.must_change_password).where(
            User.username == "admin"))
    if must_change:
        return False
    path.unlink(missing_ok=True)
    return True


@dataclass
class InitReport:
    satellite_id: str
    created: bool
    admin_password_file: Path | None = None
    notes: list[str] = field(default_factory=list)


def initialise(settings: Settings, db: Database, actor: Actor,
               admin_password: str | None = None,
               central_key: CentralKey | None = None) -> InitReport:
    """Create or upgrade the appliance in the data dir; never destroys data.

    Creates missing keys and records `central_key` as the trust anchor.
    Raises Conflict (before changing anything) if a different anchor is recorded, ConfigError
    if other nodes serve this PostgreSQL database with other keys than this data dir's.
    """
    from satellite import nodekeys

    keystore = open_keystore(settings)
    if central_key is not None:
        keystore.check_central_key(central_key)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.data_dir, 0o700)
    migrate(db.engine)
    report = InitReport(satellite_id="", created=False)
    with db.uow() as uow:
        satellite_id = get_state(uow.session, "satellite_id")
        if satellite_id is None:
            satellite_id = str(uuid.uuid4())
            set_state(uow.session, "satellite_id", satellite_id)
            set_state(uow.session, "created_at", uow.clock.now().isoformat())
            report.created = True
        report.satellite_id = satellite_id
        several_nodes = db.engine.dialect.name == "postgresql"
        if several_nodes and not report.created:
            nodekeys.check_before_init(uow.session, keystore)
        if count_users(uow.session) == 0:
            generated = admin_password is None
            password = admin_password if admin_password is not None else generate_password()
            try:
                create_user(uow, actor, "admin", password, system_admin=True,
                            must_change_password=generated)
            except InvalidInput as exc:
                raise InvalidInput(f"initial admin password: {exc.message}") from None
            if generated:
                path = settings.data_dir / ADMIN_PASSWORD_FILE
                write_secret_file(path, password + "\n")
                report.admin_password_file = path
            report.notes.append("created the first system administrator, user 'admin'")
        created_keys = keystore.ensure_keys(satellite_id, uow.clock.now())
        keystore.session_secret()
        # Created now, not at the first token, so that copying keys/ to another node carries it.
        TokenSealer.for_data_dir(settings.data_dir)
        if created_keys:
            record(uow, actor, "keys.create", f"satellite:{satellite_id}",
                   details={"identity_key_id": keystore.identity_key_id(), "created": created_keys})
            report.notes.extend(created_keys)
        if central_key is not None and keystore.record_central_key(central_key):
            record(uow, actor, "trust.central_key", f"satellite:{satellite_id}",
                   details={"central_key_id": central_key.key_id})
            report.notes.append(f"recorded Central's key {central_key.key_id} as the trust anchor")
        if several_nodes:
            nodekeys.record(uow.session, keystore)
        uow.commit()
    retire_initial_password(settings.data_dir, db)
    return report


def status(settings: Settings, db: Database) -> dict[str, object]:
    from satellite.accounts.models import Account, VirtualAccount
    from satellite.licenses.models import LicenseLine
    from satellite.proxy_tls import warnings as tls_warnings
    from satellite.users.models import User

    satellite_id = require_initialised(db)
    keystore = open_keystore(settings)
    with db.reader() as uow:
        s = uow.session

        def count(model: type) -> int:
            return s.scalar(select(func.count()).select_from(model)) or 0

        return {
            "satellite_id": satellite_id,
            "version": __version__,
            "registration": get_state(s, "registration_state", "unregistered"),
            "registration_note": _REGISTRATION_NOTES.get(
                get_state(s, "registration_state", "unregistered") or ""),
            "database": db.engine.dialect.name,
            "schema_revision": ",".join(schema_revision(db.engine)),
            "data_dir": str(settings.data_dir.resolve()),
            "keys": keystore.describe(),
            "sync": {"last_response_serial": get_state(s, LAST_SERIAL_KEY),
                     "pending_events": pending_count(s)},
            "counts": {
                "accounts": count(Account),
                "virtual_accounts": count(VirtualAccount),
                "license_lines": count(LicenseLine),
                "users": count(User),
            },
            "warnings": tls_warnings(settings, uow.clock.now()),
        }
