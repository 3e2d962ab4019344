"""Central's state: one SQLite file (stdlib sqlite3) in its directory."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from satellite.errors import ConfigError

DB_FILE = "central.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS central (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entitlements (
    line_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    va TEXT,
    tag TEXT NOT NULL,
    display_name TEXT NOT NULL,
    license_type TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    start_date TEXT,
    end_date TEXT,
    subscription_id TEXT NOT NULL,
    export_controlled INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
-- Lines of a partner holding account: the holding account's identifier per line.
CREATE TABLE IF NOT EXISTS entitlement_holding (
    line_id TEXT PRIMARY KEY,
    holding TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS account_categories (
    account TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS satellites (
    satellite_id TEXT PRIMARY KEY,
    last_serial INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS registrations (
    satellite_id TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    key_id TEXT NOT NULL,
    version TEXT NOT NULL,
    accounts TEXT NOT NULL,
    certificate TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    acked_through INTEGER NOT NULL DEFAULT 0,
    last_batch_serial INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
    satellite_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (satellite_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS usage (
    satellite_id TEXT NOT NULL,
    device TEXT NOT NULL,
    tag TEXT NOT NULL,
    account TEXT NOT NULL,
    va TEXT,
    count INTEGER NOT NULL,
    at TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (satellite_id, device, tag)
);
CREATE TABLE IF NOT EXISTS ingests (
    id INTEGER PRIMARY KEY,
    satellite_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    serial INTEGER NOT NULL,
    summary TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rum_reports (
    satellite_id TEXT NOT NULL,
    device TEXT NOT NULL,
    report_id TEXT NOT NULL,
    account TEXT NOT NULL,
    va TEXT,
    tag TEXT NOT NULL,
    report TEXT NOT NULL,
    received_at TEXT NOT NULL,
    ack_serial INTEGER,
    PRIMARY KEY (satellite_id, device, report_id)
);
CREATE TABLE IF NOT EXISTS rum_usage (
    satellite_id TEXT NOT NULL,
    device TEXT NOT NULL,
    tag TEXT NOT NULL,
    account TEXT NOT NULL,
    va TEXT,
    count INTEGER NOT NULL,
    end_time INTEGER NOT NULL,
    PRIMARY KEY (satellite_id, device, tag)
);
CREATE TABLE IF NOT EXISTS classic_licenses (
    account TEXT NOT NULL,
    pak TEXT NOT NULL,
    sku TEXT NOT NULL,
    tag TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    converted INTEGER NOT NULL DEFAULT 0,
    va TEXT,
    device TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    PRIMARY KEY (account, pak, sku)
);
CREATE TABLE IF NOT EXISTS classic_conversions (
    request_id TEXT PRIMARY KEY,
    satellite_id TEXT NOT NULL,
    account TEXT NOT NULL,
    va TEXT NOT NULL,
    pak TEXT NOT NULL,
    sku TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    origin TEXT NOT NULL,
    device TEXT NOT NULL,
    status TEXT NOT NULL,
    line_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    received_at TEXT NOT NULL
);
"""


def create(directory: Path) -> None:
    with closing(sqlite3.connect(directory / DB_FILE)) as conn:
        conn.executescript(_SCHEMA)
        conn.commit()


@contextmanager
def transaction(directory: Path) -> Iterator[sqlite3.Connection]:
    """A connection inside one write transaction: committed on success, else rolled back."""
    path = directory / DB_FILE
    if not path.exists():
        raise ConfigError(f"{directory} is not a central directory: run `satellite-central init`")
    with closing(sqlite3.connect(path, isolation_level=None, timeout=30)) as conn:
        conn.row_factory = sqlite3.Row
        # Directories made by an older version get the newer tables here.
        conn.executescript(_SCHEMA)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
