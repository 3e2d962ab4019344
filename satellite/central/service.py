"""Central's operations: its root key, entitlement lines, and signed responses to satellites."""

from __future__ import annotations

import os
import re
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain
from pathlib import Path
from typing import Any

from satellite.accounts.export_control import CategoryRecord, clean_category
from satellite.accounts.service import normalise_domain
from satellite.central import classic, rum, store
from satellite.central.ingest import ca_certificate
from satellite.central_settings import KEYS, STATE_PREFIX
from satellite.cloudsync.classic import LICENSES_FIELD, RESULTS_FIELD
from satellite.cloudsync.envelope import Header, write_bundle
from satellite.cloudsync.records import CENTRAL_RESPONSE, Entitlement
from satellite.cloudsync.service import SNAPSHOT
from satellite.crypto import keys
from satellite.crypto.signing import Signer
from satellite.errors import InvalidInput, NotFound

KEY_FILE = "central.key"
PUB_FILE = "central.pub"
PASSPHRASE_ENV = "SATELLITE_CENTRAL_PASSPHRASE"  # noqa: S105 (the variable's name, not a secret)
_LINES = ("SELECT e.*, h.holding FROM entitlements e "
          "LEFT JOIN entitlement_holding h ON h.line_id = e.line_id")
_SATELLITE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")


@dataclass(frozen=True)
class CentralInfo:
    central_id: str
    key_id: str
    public_key_file: Path


def _passphrase(env: Mapping[str, str] | None) -> bytes | None:
    value = (os.environ if env is None else env).get(PASSPHRASE_ENV, "")
    return value.encode() if value else None


def init_central(directory: Path, now: datetime) -> tuple[CentralInfo, bool]:
    """Create the root key, the public key file and the state; keep whatever exists.

    Returns the central's description and whether anything was created.
    """
    directory.mkdir(parents=True, exist_ok=True)
    created = False
    if not (directory / KEY_FILE).exists():
        root = keys.generate_private_key()
        keys.save_private_key(directory / KEY_FILE, root, _passphrase(None))
        created = True
    if not (directory / PUB_FILE).exists():
        root = keys.load_private_key(directory / KEY_FILE, _passphrase(None))
        keys.save_public_key(directory / PUB_FILE, keys.public_key_of(root))
    store.create(directory)
    with store.transaction(directory) as conn:
        if conn.execute("SELECT value FROM central WHERE key = 'central_id'").fetchone() is None:
            conn.execute("INSERT INTO central VALUES ('central_id', ?)", (str(uuid.uuid4()),))
            conn.execute("INSERT INTO central VALUES ('created_at', ?)", (now.isoformat(),))
            created = True
    return describe(directory), created


def describe(directory: Path) -> CentralInfo:
    with store.transaction(directory) as conn:
        row = conn.execute("SELECT value FROM central WHERE key = 'central_id'").fetchone()
    public = keys.load_public_key(directory / PUB_FILE)
    return CentralInfo(row["value"], keys.key_id(public), directory / PUB_FILE)


def entitle(directory: Path, now: datetime, *, account: str | None, va: str | None, tag: str,
            quantity: int, license_type: str, start_date: date | None = None,
            end_date: date | None = None, display_name: str = "", subscription_id: str = "",
            export_controlled: bool = False, holding: str | None = None) -> Entitlement:
    """Record a new entitlement line with a generated line id. Raises InvalidInput.

    With `holding` (a partner holding account's identifier) the line sits in that holding
    account; `account` then names the holding account's owner at Central (default: itself).
    """
    holding = normalise_domain(holding) if holding is not None else None
    line = Entitlement(
        line_id=uuid.uuid4().hex, account=normalise_domain(account or holding or ""),
        va=va.strip() if va is not None else None, tag=tag.strip(),
        display_name=display_name or tag.strip(), license_type=license_type.upper(),
        quantity=quantity, start_date=start_date, end_date=end_date,
        subscription_id=subscription_id, export_controlled=export_controlled, holding=holding,
    )
    if quantity < 1:
        raise InvalidInput("an entitlement needs a quantity of at least 1")
    with store.transaction(directory) as conn:
        conn.execute(
            "INSERT INTO entitlements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (line.line_id, line.account, line.va, line.tag, line.display_name, line.license_type,
             line.quantity, _iso(line.start_date), _iso(line.end_date), line.subscription_id,
             int(line.export_controlled), now.isoformat()))
        if line.holding is not None:
            conn.execute("INSERT INTO entitlement_holding VALUES (?, ?)",
                         (line.line_id, line.holding))
    return line


def set_quantity(directory: Path, line_id: str, quantity: int) -> Entitlement:
    """Change a line's quantity (an order amended). Raises NotFound or InvalidInput."""
    if quantity < 0:
        raise InvalidInput("a quantity cannot be negative")
    with store.transaction(directory) as conn:
        if conn.execute("UPDATE entitlements SET quantity = ? WHERE line_id = ?",
                        (quantity, line_id)).rowcount == 0:
            raise NotFound(f"no entitlement line {line_id}")
        row = conn.execute(_LINES + " WHERE e.line_id = ?", (line_id,)).fetchone()
    return _from_row(row)


def unentitle(directory: Path, line_id: str) -> None:
    """Remove an entitlement line (a cancelled order). Raises NotFound."""
    with store.transaction(directory) as conn:
        conn.execute("DELETE FROM entitlement_holding WHERE line_id = ?", (line_id,))
        if conn.execute("DELETE FROM entitlements WHERE line_id = ?", (line_id,)).rowcount == 0:
            raise NotFound(f"no entitlement line {line_id}")


def list_entitlements(directory: Path) -> list[Entitlement]:
    with store.transaction(directory) as conn:
        rows = conn.execute(_LINES + " ORDER BY e.account, e.created_at, e.line_id")
        return [_from_row(row) for row in rows]


def respond(directory: Path, satellite_id: str, out: Path, now: datetime,
            env: Mapping[str, str] | None = None) -> Header:
    """Write a signed response for one satellite carrying the full entitlement snapshot.

    Each response gets the next serial for that satellite; the serial is kept only if the
    file was written completely.
    """
    if not _SATELLITE_ID.match(satellite_id or ""):
        raise InvalidInput(
            f"{satellite_id!r} is not a satellite id (see `satellite status --json`)")
    root = load_root(directory, env)
    with store.transaction(directory) as conn:
        central_id = conn.execute(
            "SELECT value FROM central WHERE key = 'central_id'").fetchone()[0]
        row = conn.execute("SELECT last_serial FROM satellites WHERE satellite_id = ?",
                           (satellite_id,)).fetchone()
        serial = (row[0] if row else 0) + 1
        conn.execute("INSERT INTO satellites VALUES (?, ?) ON CONFLICT (satellite_id) "
                     "DO UPDATE SET last_serial = excluded.last_serial", (satellite_id, serial))
        fields: dict[str, Any] = {"entitlements": SNAPSHOT}
        registration = conn.execute(
            "SELECT certificate, acked_through FROM registrations WHERE satellite_id = ?",
            (satellite_id,)).fetchone()
        if registration is not None:
            fields["ack_through"] = registration["acked_through"]
            fields["certificate"] = registration["certificate"]
            fields["issuer_certificate"] = ca_certificate(
                directory, root, central_id, now).decode("ascii")
        policy = {row["key"].removeprefix(STATE_PREFIX): float(row["value"]) for row in
                  conn.execute("SELECT key, value FROM central WHERE key LIKE 'policy.%'")}
        if policy:
            fields["policy"] = {k: int(v) if v.is_integer() else v for k, v in policy.items()}
        categories = [CategoryRecord(row["account"], row["category"]).to_record() for row in
                      conn.execute("SELECT account, category FROM account_categories "
                                   "ORDER BY account")]
        if categories:
            fields["account_categories"] = len(categories)
        pending = conn.execute("SELECT count(DISTINCT device) FROM rum_reports WHERE "
                               "satellite_id = ? AND ack_serial IS NULL",
                               (satellite_id,)).fetchone()[0]
        if pending:
            fields["rum_acks"] = pending
        classic_licenses, classic_results = classic.counts(conn, satellite_id)
        if classic_licenses or classic_results:
            fields[LICENSES_FIELD] = classic_licenses
            fields[RESULTS_FIELD] = classic_results
        records = chain(_snapshot(conn), classic.records(conn, satellite_id),
                        rum.acks(conn, satellite_id, central_id, root, serial, now), categories)
        return write_bundle(
            out, kind=CENTRAL_RESPONSE, sender=central_id, recipient=satellite_id, serial=serial,
            created_at=now, signer=Signer(root), records=records, fields=fields)


def set_category(directory: Path, account: str, category: str, now: datetime) -> CategoryRecord:
    """Record an account's export-control category; every later response states it.

    Raises InvalidInput."""
    line = CategoryRecord(normalise_domain(account), clean_category(category, "category"))
    with store.transaction(directory) as conn:
        conn.execute("INSERT INTO account_categories VALUES (?, ?, ?) ON CONFLICT (account) "
                     "DO UPDATE SET category = excluded.category, changed_at = excluded.changed_at",
                     (line.account, line.category, now.isoformat()))
    return line


def list_categories(directory: Path) -> list[CategoryRecord]:
    with store.transaction(directory) as conn:
        return [CategoryRecord(row["account"], row["category"]) for row in conn.execute(
            "SELECT account, category FROM account_categories ORDER BY account")]


def set_policy(directory: Path, values: Mapping[str, float]) -> dict[str, float]:
    """Record policy values sent with every later response. Raises InvalidInput."""
    with store.transaction(directory) as conn:
        for key, value in values.items():
            if key not in KEYS or value <= 0:
                raise InvalidInput(f"policy {key} must be one of {', '.join(KEYS)} "
                                   "with a positive value")
            conn.execute("INSERT INTO central VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                         "value = excluded.value", (STATE_PREFIX + key, str(value)))
    return dict(values)


def load_root(directory: Path, env: Mapping[str, str] | None = None) -> keys.PrivateKey:
    return keys.load_private_key(directory / KEY_FILE, _passphrase(env))


def _snapshot(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    for row in conn.execute(_LINES + " ORDER BY e.line_id"):
        yield _from_row(row).to_record()


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _from_row(row: sqlite3.Row) -> Entitlement:
    return Entitlement(
        line_id=row["line_id"], account=row["account"], va=row["va"], tag=row["tag"],
        display_name=row["display_name"], license_type=row["license_type"],
        quantity=row["quantity"],
        start_date=date.fromisoformat(row["start_date"]) if row["start_date"] else None,
        end_date=date.fromisoformat(row["end_date"]) if row["end_date"] else None,
        subscription_id=row["subscription_id"], export_controlled=bool(row["export_controlled"]),
        holding=row["holding"],
    )
