"""Seed a large appliance (accounts, a VA tree, pools, devices): the list-page benchmark
and the statement-count tests use it.

Accounts and tokens go through the services (so the audit chain and sealed secrets are real);
the bulk (VAs, license lines, devices, their consumption, reservations, audit events) goes in
with executemany inserts into the mapped tables, in the shapes the services would write.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import Table, func, insert, select, text

from satellite.accounts.models import VirtualAccount
from satellite.accounts.service import create_account
from satellite.actor import Actor
from satellite.alerts.models import Alert
from satellite.audit.models import AuditEvent, AuditHead
from satellite.audit.service import GENESIS, _digest
from satellite.devices.models import (
    AUTHORIZATION_EXPIRED,
    AUTHORIZED,
    DEREGISTERED,
    OUT_OF_COMPLIANCE,
    REGISTERED,
    Device,
)
from satellite.devices.registration import owner_of
from satellite.labels.models import DeviceLabel, LicenseLabel, ReservationLabel
from satellite.licenses.models import LicenseLine, LicenseUsage, UsageTotal
from satellite.licenses.pools import rebuild_pools
from satellite.reservation.models import RESERVED, RETURNED, Reservation, ReservationLine
from satellite.tokens.secrets import TokenSealer
from satellite.tokens.service import create_token
from satellite.uow import Database

BATCH = 20_000
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ACTOR = Actor("cli", "bench")
REGIONS = ("emea", "amer", "apac", "lab", "fleet", "plant", "gov", "edu", "ship", "core")
PIDS = ("C9300-48P", "C9200L-24T", "ISR4331", "C8300-1N1S", "N9K-C93180YC", "C9500-32C",
        "IE-3400-8P2S", "ASR1001-X")
PRODUCTS = ("network-advantage", "network-essentials", "dna-advantage", "dna-essentials",
            "security", "uc-license", "appx", "throughput-1g", "throughput-10g", "hsec")
# About the size of a real ID certificate, so rows weigh what they would.
FAKE_PEM = "-----BEGIN CERTIFICATE-----\n" + ("MIIB" + "A" * 60 + "\n") * 10 + \
    "-----END CERTIFICATE-----\n"
STATUS_MIX = ((AUTHORIZED, 0.85), (OUT_OF_COMPLIANCE, 0.05), (AUTHORIZATION_EXPIRED, 0.04),
              (REGISTERED, 0.03), (DEREGISTERED, 0.03))


@dataclass
class SeededAccount:
    """What the benchmark needs to know to ask realistic questions of one account."""

    name: str
    domain: str
    va_names: list[str] = field(default_factory=list)
    leaf_vas: list[str] = field(default_factory=list)
    token_va: str = ""
    tags: list[str] = field(default_factory=list)
    devices: int = 0
    sample_udis: list[tuple[str, str]] = field(default_factory=list)
    sample_hostnames: list[str] = field(default_factory=list)
    # Operators' tags (satellite.labels) on its devices, pools and reservations.
    device_labels: list[str] = field(default_factory=list)
    pool_labels: list[str] = field(default_factory=list)
    reservation_labels: list[str] = field(default_factory=list)


@dataclass
class Seeded:
    accounts: list[SeededAccount]
    devices: int
    vas: int
    license_lines: int
    usage_rows: int
    reservations: int
    audit_events: int
    tokens: int
    seconds: float = 0.0


def _batches(rows: Iterable[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _bulk(db: Database, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    for batch in _batches(rows):
        with db.engine.begin() as conn:
            conn.execute(insert(table), batch)
        count += len(batch)
    return count


def _next_id(db: Database, column: Any) -> int:
    with db.engine.connect() as conn:
        return int(conn.scalar(select(func.coalesce(func.max(column), 0))) or 0) + 1


def _va_shape(count: int) -> tuple[int, int, int]:
    """Top-level, second-level and third-level VA counts for an account of `count` VAs
    (its Default VA included): a few regions, sites under them, teams under the sites."""
    rest = max(0, count - 1)
    top = max(1, rest // 250) if rest else 0
    second = min(rest - top, top * 10, max(1, (rest - top) // 2))
    return top, second, rest - top - second


def _seed_vas(db: Database, account_id: int, default_id: int, count: int,
              seeded: SeededAccount, first_id: int) -> tuple[list[tuple[int, str]], int]:
    """Insert the account's tree; returns the VAs that hold devices (id, name) and the next id."""
    top, second, third = _va_shape(count)
    rows: list[dict[str, Any]] = []
    next_id = first_id

    def add(name: str, parent: int | None, depth: int) -> int:
        nonlocal next_id
        rows.append({"id": next_id, "account_id": account_id, "parent_id": parent, "name": name,
                     "description": "", "depth": depth, "is_default": False,
                     "created_at": NOW})
        next_id += 1
        return next_id - 1

    tops = [(add(f"{REGIONS[i % len(REGIONS)]}-{i // len(REGIONS) + 1:02d}", None, 1),
             f"{REGIONS[i % len(REGIONS)]}-{i // len(REGIONS) + 1:02d}") for i in range(top)]
    sites = []
    for i in range(second):
        parent_id, parent_name = tops[i % len(tops)]
        name = f"{parent_name}-site-{i // max(1, len(tops)) + 1:02d}"
        sites.append((add(name, parent_id, 2), name))
    teams = []
    for i in range(third):
        parent_id, parent_name = sites[i % len(sites)]
        name = f"{parent_name}-team-{i // len(sites) + 1:03d}"
        teams.append((add(name, parent_id, 3), name))
    _bulk(db, VirtualAccount.__table__, rows)  # type: ignore[arg-type]
    seeded.va_names = ["Default"] + [r["name"] for r in rows]
    holders = teams or sites or tops or []
    seeded.leaf_vas = [name for _id, name in holders]
    return [(default_id, "Default"), *holders], next_id


def _status(rng: random.Random) -> str:
    roll = rng.random()
    for state, share in STATUS_MIX:
        if roll < share:
            return state
        roll -= share
    return AUTHORIZED


def _seed_devices(db: Database, account_id: int, holders: Sequence[tuple[int, str]], count: int,
                  tags: Sequence[str], first_id: int, seeded: SeededAccount,
                  rng: random.Random) -> tuple[dict[tuple[int, str], int], int, int]:
    """Insert `count` devices spread over the holder VAs, and what each consumes.

    Returns in-use per (VA, tag), the number of usage rows and the next device id."""
    in_use: dict[tuple[int, str], int] = defaultdict(int)
    usage_rows: list[dict[str, Any]] = []
    # Every device carries its site; one in fifty is also a spare.
    label_rows: list[dict[str, Any]] = []
    used: set[str] = set()
    usage_count = 0
    device_id = first_id

    def devices() -> Iterator[dict[str, Any]]:
        nonlocal device_id, usage_count
        for n in range(count):
            va_id, va_name = holders[n % len(holders)]
            pid = PIDS[n % len(PIDS)]
            serial = f"FOC{device_id:09d}"
            hostname = f"{va_name}-sw-{n // len(holders) + 1:04d}"
            state = _status(rng)
            primary = tags[(va_id + n) % len(tags)]
            if n % 997 == 0 and len(seeded.sample_udis) < 200:
                seeded.sample_udis.append((pid, serial))
                seeded.sample_hostnames.append(hostname)
            contact = NOW - timedelta(minutes=rng.randrange(0, 60 * 24 * 100))
            for label in (f"site-{REGIONS[(n // 7) % len(REGIONS)]}",
                          *(("spare",) if n % 50 == 0 else ())):
                label_rows.append({"device_id": device_id, "label": label,
                                   "account_id": account_id, "pid": pid, "serial": serial})
                used.add(label)
            yield {
                "id": device_id, "va_id": va_id, "account_id": account_id, "pid": pid,
                "serial": serial, "vid": "V01", "uuid": "", "hostname": hostname, "product_tag": primary,
                "public_key": device_id.to_bytes(32, "big"), "certificate_pem": FAKE_PEM,
                "certificate_serial": f"{device_id:032x}",
                "certificate_expires_at": NOW + timedelta(days=200),
                "token_id": None, "export_controlled": False, "status": state,
                "first_registered_at": NOW - timedelta(days=300), "registered_at": NOW,
                "registrations": 1, "last_contact_at": contact,
                "authorization_expires_at": None if state == REGISTERED
                else contact + timedelta(days=90),
                "deregistered_at": contact if state == DEREGISTERED else None,
            }
            if state != DEREGISTERED:
                consumed = [primary]
                if n % 10 < 3:
                    consumed.append(tags[(va_id + n + 1) % len(tags)])
                for tag in consumed:
                    in_use[(va_id, tag)] += 1
                    usage_rows.append({"owner": owner_of(device_id), "va_id": va_id, "tag": tag,
                                       "kind": "in_use", "quantity": 1})
            device_id += 1

    for batch in _batches(devices()):
        with db.engine.begin() as conn:
            conn.execute(insert(Device.__table__), batch)  # type: ignore[arg-type]
            conn.execute(insert(LicenseUsage.__table__), usage_rows)  # type: ignore[arg-type]
            conn.execute(insert(DeviceLabel.__table__), label_rows)  # type: ignore[arg-type]
        usage_count += len(usage_rows)
        usage_rows.clear()
        label_rows.clear()
    seeded.devices = count
    seeded.device_labels = sorted(used)
    return in_use, usage_count, device_id


def _seed_pools(db: Database, holders: Sequence[tuple[int, str]], tags: Sequence[str],
                in_use: dict[tuple[int, str], int], rng: random.Random) -> int:
    """License lines for every tag a VA uses, a few VAs short (Out Of Compliance), some TERM
    lines ending soon; and the usage totals the counters read."""
    lines: list[dict[str, Any]] = []
    for va_id, _name in holders:
        for tag in tags:
            used = in_use.get((va_id, tag), 0)
            if not used and rng.random() > 0.1:
                continue
            # Every account has some: its Default VA is short of everything it uses.
            short = va_id == holders[0][0] or rng.random() < 0.05
            quantity = max(0, used - 2) if short else used + rng.randrange(1, 20)
            term = rng.random() < 0.3
            lines.append({
                "va_id": va_id, "tag": tag, "display_name": tag.rsplit(".", 1)[-1],
                "license_type": "TERM" if term else "PERPETUAL", "quantity": quantity,
                "start_date": date(2026, 1, 1) if term else None,
                "end_date": date(2026, 11, 1) + timedelta(days=rng.randrange(10, 700))
                if term else None,
                "subscription_id": f"Sub{va_id:06d}" if term else "", "export_controlled": False,
                "origin_id": f"bench-{va_id}-{tag}"})
    _bulk(db, LicenseLine.__table__, lines)  # type: ignore[arg-type]
    # Each pool is tagged with its line's kind, and one in ten as reviewed.
    _bulk(db, LicenseLabel.__table__, [  # type: ignore[arg-type]
        {"va_id": line["va_id"], "tag": line["tag"], "label": label}
        for n, line in enumerate(lines)
        for label in (line["license_type"].lower(), *(("reviewed",) if n % 10 == 0 else ()))])
    _bulk(db, UsageTotal.__table__, ({"va_id": va_id, "tag": tag, "in_use": n, "reserved": 0}  # type: ignore[arg-type]
                                     for (va_id, tag), n in in_use.items()))
    return len(lines)


def _seed_reservations(db: Database, account_id: int, holders: Sequence[tuple[int, str]],
                       count: int, tags: Sequence[str], first_id: int) -> int:
    rows, lines = [], []
    for i in range(count):
        rid = first_id + i
        va_id = holders[i % len(holders)][0]
        status = RESERVED if i % 5 else RETURNED
        rows.append({"id": rid, "account_id": account_id, "va_id": va_id, "pid": "IR1101-K9",
                     "serial_number": f"FCW{rid:09d}", "kind": "SLR" if i % 3 else "PLR",
                     "status": status, "request_code": f"CB-ZIR1101-K9:FCW{rid:09d}-Abench",
                     "nonce": f"{rid:016x}", "return_commitment": f"{rid:020d}",
                     "chain_index": 10, "chain_value": f"{rid:020x}"[:20], "serial": 1,
                     "confirmed_serial": 1, "authorization_code": "bench" * 20,
                     "issued_at": NOW, "created_at": NOW,
                     "closed_at": None if status == RESERVED else NOW, "close_reason": ""})
        lines.append({"reservation_id": rid, "tag": tags[i % len(tags)], "count": 1, "held": 1,
                      "license_type": "PERPETUAL", "start_date": None, "end_date": None})
    _bulk(db, Reservation.__table__, rows)  # type: ignore[arg-type]
    _bulk(db, ReservationLine.__table__, lines)  # type: ignore[arg-type]
    _bulk(db, ReservationLabel.__table__, [  # type: ignore[arg-type]
        {"reservation_id": first_id + i, "label": f"ship-{i % 7}"} for i in range(count)])
    return count


def _seed_audit(db: Database, count: int, account_ids: Sequence[int]) -> int:
    """Append `count` events to the chain, hashed as the service hashes them."""
    with db.engine.connect() as conn:
        head = conn.execute(select(AuditHead.last_id, AuditHead.last_hash)
                            .where(AuditHead.id == 1)).first()
    last_id, last_hash = (head[0], head[1]) if head else (0, GENESIS)
    actions = ("device.register", "device.transfer", "license.transfer", "token.create",
               "va.create", "user.sign_in", "sync.import")

    def events() -> Iterator[dict[str, Any]]:
        nonlocal last_id, last_hash
        for i in range(count):
            event_id = last_id + 1
            at = NOW - timedelta(seconds=(count - i) * 7)
            action = actions[i % len(actions)]
            account_id = account_ids[i % len(account_ids)]
            target = f"device:PID:C9300-48P,SN:FOC{i:09d}"
            details = '{"bench": true}'
            digest = _digest(last_hash, event_id, at, "cli:bench", action, target, account_id,
                             details)
            yield {"id": event_id, "at": at, "actor": "cli:bench", "action": action,
                   "target": target, "account_id": account_id, "details": details,
                   "prev_hash": last_hash, "hash": digest}
            last_id, last_hash = event_id, digest

    written = _bulk(db, AuditEvent.__table__, events())  # type: ignore[arg-type]
    with db.engine.begin() as conn:
        if head:
            conn.execute(AuditHead.__table__.update().where(AuditHead.id == 1)  # type: ignore[attr-defined]
                         .values(last_id=last_id, last_hash=last_hash))
        else:
            conn.execute(insert(AuditHead.__table__),  # type: ignore[arg-type]
                         [{"id": 1, "last_id": last_id, "last_hash": last_hash}])
    return written


def _seed_alerts(db: Database, account_id: int, tags: Sequence[str], count: int) -> None:
    _bulk(db, Alert.__table__, ({  # type: ignore[arg-type]
        "key": f"out_of_compliance:{account_id}:{i}", "kind": "out_of_compliance",
        "account_id": account_id, "message": f"{tags[i % len(tags)]} is out of compliance",
        "raised_at": NOW - timedelta(hours=i), "updated_at": NOW, "cleared_at": None,
    } for i in range(count)))


def _fix_sequences(db: Database) -> None:
    # Ids were given explicitly: PostgreSQL's sequences must move past them.
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.begin() as conn:
        for table in ("virtual_accounts", "devices", "reservations"):  # fixed names
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))


def seed(db: Database, data_dir: Path, *, accounts: int, vas: int, devices: int,
         reservations: int, audit_events: int, seed_value: int = 7) -> Seeded:
    """Fill a freshly initialised database; sizes are totals across the accounts."""
    rng = random.Random(seed_value)
    sealer = TokenSealer.for_data_dir(data_dir)
    made: list[SeededAccount] = []
    ids: list[tuple[int, int]] = []
    with db.uow() as uow:
        for i in range(accounts):
            name = f"Bench {i + 1}"
            account = create_account(uow, ACTOR, name, f"bench{i + 1}.example.com")
            uow.session.flush()
            default = uow.session.scalar(select(VirtualAccount.id).where(
                VirtualAccount.account_id == account.id, VirtualAccount.is_default))
            assert default is not None
            ids.append((account.id, default))
            made.append(SeededAccount(name, account.domain))
        uow.commit()
    # The first account is the big one: half the VAs and devices; the others share the rest.
    shares = [0.5] + [0.5 / max(1, accounts - 1)] * (accounts - 1) if accounts > 1 else [1.0]
    next_va = _next_id(db, VirtualAccount.id)
    next_device = _next_id(db, Device.id)
    next_reservation = _next_id(db, Reservation.id)
    totals = {"lines": 0, "usage": 0, "reservations": 0}
    for share, (account_id, default_id), seeded in zip(shares, ids, made, strict=True):
        seeded.tags = [f"regid.2024-01.com.example.{p}" for p in PRODUCTS]
        seeded.pool_labels = ["perpetual", "term", "reviewed"]
        seeded.reservation_labels = [f"ship-{i}" for i in range(7)]
        holders, next_va = _seed_vas(db, account_id, default_id, max(1, round(vas * share)),
                                     seeded, next_va)
        in_use, usage, next_device = _seed_devices(db, account_id, holders,
                                                   round(devices * share),
                                                   seeded.tags, next_device, seeded, rng)
        totals["lines"] += _seed_pools(db, holders, seeded.tags, in_use, rng)
        totals["usage"] += usage
        wanted = round(reservations * share)
        totals["reservations"] += _seed_reservations(db, account_id, holders, wanted,
                                                     seeded.tags, next_reservation)
        next_reservation += wanted
        _seed_alerts(db, account_id, seeded.tags, 200)
    _fix_sequences(db)
    # The lines went in on bare connections: their pools' stored quantities are computed here,
    # as the Session hooks would have done for lines written through the services.
    with db.engine.begin() as conn:
        rebuild_pools(conn, db.clock.now().date())
    written = _seed_audit(db, audit_events, [a for a, _d in ids])
    tokens = 0
    with db.uow() as uow:
        for seeded in made:
            seeded.token_va = seeded.leaf_vas[0] if seeded.leaf_vas else "Default"
            for n in range(30):
                create_token(uow, ACTOR, sealer, seeded.domain, seeded.token_va,
                             expires_days=30 + n, max_uses=None if n % 2 else 100,
                             description=f"rollout wave {n + 1}")
                tokens += 1
        uow.commit()
    with db.engine.connect() as conn:
        va_total = conn.scalar(select(func.count()).select_from(VirtualAccount)) or 0
    if db.engine.dialect.name == "postgresql":
        # What autovacuum does after a load this size (statistics, and the visibility map
        # that lets an index answer alone); SQLite gets no statistics, as on an appliance.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return Seeded(made, sum(a.devices for a in made), int(va_total), totals["lines"],
                  totals["usage"], totals["reservations"], written, tokens)


def account_of(seeded: Seeded, domain: str) -> SeededAccount:
    return next(a for a in seeded.accounts if a.domain == domain)


__all__ = ["Seeded", "SeededAccount", "account_of", "seed"]


def account_pages(a: SeededAccount, rng: random.Random) -> dict[str, Callable[[], str]]:
    """Each page of one account an operator reads, as a function giving the next URL to ask
    (filters vary from one request to the next)."""

    def at(path: str, **query: str) -> str:
        return f"/a/{a.domain}/{path}" + (f"?{urlencode(query)}" if query else "")

    def udi() -> tuple[str, str]:
        return rng.choice(a.sample_udis)

    def deep() -> str:
        pid, serial = udi()
        return at("devices", after=f"PID:{pid},SN:{serial}")

    return {
        "dashboard": lambda: at(""),
        "devices: first page": lambda: at("devices"),
        "devices: next page from a random UDI": deep,
        "devices: search by serial": lambda: at("devices", q=udi()[1]),
        "devices: search by UDI": lambda: at("devices", q="PID:{},SN:{}".format(*udi())),
        "devices: search by hostname": lambda: at("devices", q=rng.choice(a.sample_hostnames)),
        "devices: search by tag": lambda: at("devices", q=rng.choice(a.tags)),
        "devices: filter by VA": lambda: at("devices", va=rng.choice(a.leaf_vas)),
        "devices: filter by status": lambda: at("devices", status=rng.choice(
            ["Out Of Compliance", "Authorization Expired", "Authorized"])),
        "devices: VA and status": lambda: at("devices", va=rng.choice(a.leaf_vas),
                                             status="Authorized"),
        "devices: filter by tag": lambda: at("devices", tag=rng.choice(a.device_labels)),
        # The first device of each account is a spare at the first site.
        "devices: two tags": lambda: at("devices", tag=f"spare site-{REGIONS[0]}"),
        "device detail": lambda: at("devices/" + quote("PID:{},SN:{}".format(*udi()))),
        "licenses: account": lambda: at("licenses"),
        "licenses: out of compliance": lambda: at("licenses", status="Out Of Compliance"),
        "licenses: text search": lambda: at("licenses", q="advantage"),
        "licenses: one VA": lambda: at("licenses", va=rng.choice(a.leaf_vas)),
        "licenses: filter by tag": lambda: at("licenses", tag=rng.choice(a.pool_labels)),
        "virtual accounts: tree": lambda: at("virtual-accounts"),
        "virtual account: one VA": lambda: at("virtual-accounts/" + quote(rng.choice(a.leaf_vas))),
        "tokens of a VA": lambda: at("tokens", va=a.token_va),
        "tokens of every VA": lambda: at("tokens"),
        "reservations": lambda: at("reservations"),
        "reservations: filter by tag": lambda: at("reservations",
                                                  tag=rng.choice(a.reservation_labels)),
        "alerts": lambda: at("alerts"),
    }
