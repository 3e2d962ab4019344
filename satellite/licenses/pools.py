"""Stored pool quantities: the sum of a pool's license lines, kept in the same transaction as
every change to its lines, so counters read one row per pool instead of grouping lines.

A pool's row (license_usage_totals, one per VA and tag) holds, beside the usage sums:
`quantity` (its lines active on the day it was computed), `lines` (how many lines it has),
`export_controlled` (whether any is) and the window [quantity_from, quantity_until) of days on
which no line starts or ends, so that the stored quantity is right for any day in it (NULL
bounds are open). Counters use the stored quantity on days inside the window and sum the lines
only for the few pools whose window a date has left; an hourly job refreshes those.

Every ORM write of a LicenseLine (add, change, delete, and `update`/`delete` statements run
through a Session) refreshes its pools at flush, here; code that writes lines on a bare
connection calls `refresh_pools` or `rebuild_pools` itself.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    delete,
    event,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, sessionmaker

from satellite.clock import SystemClock
from satellite.db import in_chunks, pairs_in
from satellite.licenses import compliance
from satellite.licenses.models import SEARCH_SEPARATOR, LicenseLine, TagSearch, UsageTotal

if TYPE_CHECKING:
    from satellite.config import Settings
    from satellite.uow import Database

PoolKey = tuple[int, str]
"""(va_id, tag)"""

LineTerms = tuple[str, int, date | None, date | None, bool]
"""(license_type, quantity, start_date, end_date, export_controlled) of one line"""

_LINE_TERMS = select(LicenseLine.va_id, LicenseLine.tag, LicenseLine.license_type,
                     LicenseLine.quantity, LicenseLine.start_date, LicenseLine.end_date,
                     LicenseLine.export_controlled)


@dataclass(frozen=True)
class PoolSummary:
    quantity: int
    lines: int
    export_controlled: bool
    quantity_from: date | None
    quantity_until: date | None


def line_active(license_type: str, start: date | None, end: date | None, on: date) -> bool:
    """Whether a line counts on `on`: PERPETUAL always, others within their dates.

    The same rule as counters.active_on, for lines already in memory.
    """
    return license_type == "PERPETUAL" or (
        (start is None or start <= on) and (end is None or end >= on))


def summarize(lines: Iterable[LineTerms], on: date) -> PoolSummary:
    """A pool's stored values computed from its lines on `on`, with the widest window around
    `on` in which no line starts or ends."""
    quantity = count = 0
    export = False
    since: date | None = None
    until: date | None = None
    for license_type, line_quantity, start, end, export_controlled in lines:
        count += 1
        export = export or export_controlled
        if line_active(license_type, start, end, on):
            quantity += line_quantity
        if license_type == "PERPETUAL":
            continue
        # A dated line changes the sum the day it starts and the day after it ends.
        for change in (start, None if end is None or end == date.max else end + timedelta(1)):
            if change is None:
                continue
            if change <= on:
                since = change if since is None or change > since else since
            elif until is None or change < until:
                until = change
    return PoolSummary(quantity, count, export, since, until)


def refresh_pools(session: Session | Connection, keys: Collection[PoolKey],
                  on: date | None = None, *, tags: Collection[str] | None = None) -> None:
    """Recompute the stored quantity of these pools from their lines, and the search words of
    `tags` (by default the pools' tags), in the caller's transaction. Call it after writing
    lines on a bare connection; Session writes call it themselves at flush.
    """
    tags = {tag for _va, tag in keys} if tags is None else tags
    if not keys and not tags:
        return
    connection = session.connection() if isinstance(session, Session) else session
    refresh_tags(connection, tags)
    if not keys:
        return
    on = on or _today(session)
    for chunk in in_chunks(sorted(set(keys))):
        # Lock the pool rows (creating missing ones) in key order before reading the lines:
        # a concurrent writer of the same pool then waits, and its read sees our lines.
        _lock(connection, chunk)
        found: dict[PoolKey, list[LineTerms]] = {key: [] for key in chunk}
        for key, lines in grouped(connection.execute(
                _LINE_TERMS.where(lines_of(chunk)).order_by(LicenseLine.va_id, LicenseLine.tag))):
            if key in found:
                found[key] = lines
        _store(connection, ((key, summarize(lines, on)) for key, lines in found.items()))
    compliance.pools_changed(session, keys)


def lock_pools(session: Session, keys: Collection[PoolKey]) -> None:
    """Lock these pools' rows (creating missing ones) in key order, in the caller's transaction.

    Every writer that reads a pool's lines or counters to decide what to write (a transfer, a
    reservation) calls this before that read. On PostgreSQL a row lock on the lines themselves
    is not enough: it does not cover lines another transaction inserts and commits while we
    wait, so the writer would decide on a partial view. Locking the pool rows makes concurrent
    writers of a pool queue, and each one's read, made after its turn comes, sees every line
    committed before it. Line writers first announce themselves on the lines table, so that a
    snapshot import (lock_all_lines) never meets them halfway.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("LOCK TABLE license_lines IN ROW EXCLUSIVE MODE"))
    for chunk in in_chunks(sorted(set(keys))):
        _lock(connection, chunk)


def lock_all_lines(session: Session) -> None:
    """Hold off every other writer of license lines until the caller's transaction ends: for
    writers that cannot name their pools in advance (Central's complete snapshot).

    On SQLite every writer already holds the one write lock. Readers are never held off.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("LOCK TABLE license_lines IN EXCLUSIVE MODE"))


def lines_of(keys: Collection[PoolKey]) -> ColumnElement[bool]:
    """SQL condition: the line is in one of these pools' VAs and of one of their tags, a
    superset of their lines that the caller narrows to the pairs (see db.pairs_in)."""
    return pairs_in(LicenseLine.va_id, LicenseLine.tag, keys)


def tag_words(names: Iterable[str]) -> str:
    """A tag's search words: each distinct display name of its lines."""
    return SEARCH_SEPARATOR.join(sorted(set(names)))


def refresh_tags(connection: Connection, tags: Collection[str]) -> None:
    """Recompute the search words of these tags from their lines (a tag without lines has none)."""
    for chunk in in_chunks(sorted(set(tags))):
        # As for pools: lock the rows (creating missing ones) before reading the lines.
        connection.execute(
            _insert(connection)(TagSearch).on_conflict_do_update(
                index_elements=[TagSearch.tag], set_={"words": TagSearch.words}),
            [{"tag": tag, "words": ""} for tag in chunk])
        texts = _tag_texts(connection, chunk)
        gone = [tag for tag in chunk if tag not in texts]
        if gone:
            connection.execute(delete(TagSearch).where(TagSearch.tag.in_(gone)))
        if texts:
            connection.execute(
                update(TagSearch).where(TagSearch.tag == bindparam("k_tag"))
                .values(words=bindparam("words")),
                [{"k_tag": tag, "words": tag_words(names)} for tag, names in texts.items()])


def rebuild_pools(connection: Connection, on: date) -> int:
    """Recompute every pool's stored quantity from all lines (bulk loads, repairs).

    Returns how many pools have lines.
    """
    # Pools whose lines are gone are reset first; the rest are written from one ordered scan.
    connection.execute(update(UsageTotal).where(UsageTotal.lines != 0).values(
        quantity=0, lines=0, export_controlled=False, quantity_from=None, quantity_until=None))
    connection.execute(delete(TagSearch))
    texts = _tag_texts(connection)
    if texts:
        connection.execute(insert(TagSearch), [
            {"tag": tag, "words": tag_words(names)} for tag, names in sorted(texts.items())])
    written = 0
    batch: list[tuple[PoolKey, PoolSummary]] = []
    for key, lines in grouped(connection.execute(
            _LINE_TERMS.order_by(LicenseLine.va_id, LicenseLine.tag)
            .execution_options(yield_per=5000))):
        batch.append((key, summarize(lines, on)))
        if len(batch) >= 5000:
            written += _upsert(connection, batch)
            batch = []
    return written + _upsert(connection, batch)


def refresh_stale(session: Session, on: date) -> int:
    """Refresh the pools whose stored quantity does not hold on `on` (a line started or ended
    since); returns how many. The hourly job runs this so that reads stay one row per pool.
    """
    keys = [(va_id, tag) for va_id, tag in session.execute(
        select(UsageTotal.va_id, UsageTotal.tag).where(UsageTotal.lines != 0, ~covers(on)))]
    refresh_pools(session, keys, on)
    return len(keys)


def refresh_pools_job(db: Database, _settings: Settings) -> None:
    """Hourly: refresh the pools a day boundary has put out of date (cheap when none has)."""
    with db.uow() as uow:
        refresh_stale(uow.session, uow.clock.now().date())
        uow.commit()


def covers(on: Any) -> Any:
    """SQL condition: the pool's stored quantity holds on `on`."""
    return (or_(UsageTotal.quantity_from.is_(None), UsageTotal.quantity_from <= on)
            & or_(UsageTotal.quantity_until.is_(None), UsageTotal.quantity_until > on))


def drifted_pools(session: Session) -> list[PoolKey]:
    """Pools whose stored values disagree with their lines (empty unless a writer skipped the
    refresh); for tests and checks."""
    lines = dict(grouped(session.execute(
        _LINE_TERMS.order_by(LicenseLine.va_id, LicenseLine.tag))))
    stored = {(row.va_id, row.tag): row for row in session.execute(
        select(UsageTotal.va_id, UsageTotal.tag, UsageTotal.quantity, UsageTotal.lines,
               UsageTotal.export_controlled, UsageTotal.quantity_from,
               UsageTotal.quantity_until))}
    drifted = []
    for key in sorted(set(lines) | set(stored)):
        row = stored.get(key)
        if row is None:
            drifted.append(key)
            continue
        # The stored window must be one on which the lines' sum is constant and equal to it.
        on = row.quantity_from or (row.quantity_until - timedelta(1) if row.quantity_until
                                   else date(2000, 1, 1))
        want = summarize(lines.get(key, []), on)
        if (row.quantity, row.lines, bool(row.export_controlled)) != (
                want.quantity, want.lines, want.export_controlled) or not (
                _within(want.quantity_from, row.quantity_from, lower=True)
                and _within(want.quantity_until, row.quantity_until, lower=False)):
            drifted.append(key)
    return drifted


def drifted_tags(session: Session) -> list[str]:
    """Tags whose stored search words disagree with their lines; for tests and checks."""
    want = {tag: tag_words(names) for tag, names in _tag_texts(session.connection()).items()}
    have = {tag: words for tag, words in session.execute(select(TagSearch.tag, TagSearch.words))}
    return sorted(tag for tag in set(want) | set(have) if want.get(tag) != have.get(tag))


def _within(true: date | None, stored: date | None, *, lower: bool) -> bool:
    """Whether the stored bound lies inside the true one (a narrower window is still right)."""
    if true is None:
        return True
    if stored is None:
        return False
    return stored >= true if lower else stored <= true


def _tag_texts(connection: Connection,
               tags: Collection[str] | None = None) -> dict[str, list[str]]:
    """Each tag's distinct display names of its lines; all tags by default."""
    query = select(LicenseLine.tag, LicenseLine.display_name)
    if tags is not None:
        query = query.where(LicenseLine.tag.in_(list(tags)))
    texts: dict[str, list[str]] = {}
    for tag, name in connection.execute(query.distinct()):
        texts.setdefault(tag, []).append(name)
    return texts


def grouped(rows: Iterable[Any]) -> Iterator[tuple[PoolKey, list[LineTerms]]]:
    """Rows of (va_id, tag, *LineTerms) ordered by pool, as each pool's key and lines."""
    key: PoolKey | None = None
    lines: list[LineTerms] = []
    for va_id, tag, license_type, quantity, start, end, export in rows:
        if (va_id, tag) != key:
            if key is not None:
                yield key, lines
            key, lines = (va_id, tag), []
        lines.append((license_type, quantity, start, end, bool(export)))
    if key is not None:
        yield key, lines


def _insert(connection: Connection) -> Any:
    return (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)


def _lock(connection: Connection, keys: list[PoolKey]) -> None:
    # Statements take their rows as executemany parameters: one cached statement, sent in
    # batches, instead of a new statement of every size to compile.
    connection.execute(
        _insert(connection)(UsageTotal).on_conflict_do_update(
            index_elements=[UsageTotal.va_id, UsageTotal.tag],
            set_={"lines": UsageTotal.lines}),
        [{"va_id": va_id, "tag": tag, "in_use": 0, "reserved": 0} for va_id, tag in keys])


def _values(key: PoolKey, pool: PoolSummary) -> dict[str, Any]:
    return {"k_va_id": key[0], "k_tag": key[1], "quantity": pool.quantity, "lines": pool.lines,
            "export_controlled": pool.export_controlled, "quantity_from": pool.quantity_from,
            "quantity_until": pool.quantity_until}


def _store(connection: Connection, pools: Iterable[tuple[PoolKey, PoolSummary]]) -> None:
    rows = [_values(key, pool) for key, pool in pools]
    if rows:
        connection.execute(
            update(UsageTotal)
            .where(UsageTotal.va_id == bindparam("k_va_id"), UsageTotal.tag == bindparam("k_tag"))
            .values(quantity=bindparam("quantity"), lines=bindparam("lines"),
                    export_controlled=bindparam("export_controlled"),
                    quantity_from=bindparam("quantity_from"),
                    quantity_until=bindparam("quantity_until"))
            .execution_options(synchronize_session=False), rows)


def _upsert(connection: Connection, pools: list[tuple[PoolKey, PoolSummary]]) -> int:
    if not pools:
        return 0
    stmt: Any = _insert(connection)(UsageTotal)
    connection.execute(stmt.on_conflict_do_update(
        index_elements=[UsageTotal.va_id, UsageTotal.tag],
        set_={name: getattr(stmt.excluded, name) for name in (
            "quantity", "lines", "export_controlled", "quantity_from", "quantity_until")}), [
        {"va_id": va_id, "tag": tag, "in_use": 0, "reserved": 0, "quantity": p.quantity,
         "lines": p.lines, "export_controlled": p.export_controlled,
         "quantity_from": p.quantity_from, "quantity_until": p.quantity_until}
        for (va_id, tag), p in pools])
    return len(pools)


def _today(session: Session | Connection) -> date:
    clock = session.info.get("clock") if isinstance(session, Session) else None
    return (clock or SystemClock()).now().date()


# Session hooks: every ORM write of lines, whatever code makes it, refreshes its pools.

def _key_changes(obj: LicenseLine) -> set[PoolKey]:
    keys = {(obj.va_id, obj.tag)}
    state = inspect(obj)
    olds = {name: state.attrs[name].history.deleted for name in ("va_id", "tag")}
    if olds["va_id"] or olds["tag"]:
        keys.add((olds["va_id"][0] if olds["va_id"] else obj.va_id,
                  olds["tag"][0] if olds["tag"] else obj.tag))
    return keys


def _texts_changed(obj: LicenseLine) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes()
               for name in ("tag", "display_name"))


def bind_pool_hooks(factory: sessionmaker[Any]) -> None:
    """Keep pool quantities current in every session `factory` makes: lines written through
    the session refresh their pools in the same flush, and bulk inserts are refused.

    Bound where the database is opened (bootstrap.database), never globally at import.
    """
    event.listen(factory, "after_flush", _after_flush)
    event.listen(factory, "do_orm_execute", _on_statement)


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    keys: set[PoolKey] = set()
    tags: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, LicenseLine):
            changed = _key_changes(obj)
            keys |= changed
            # A tag's search words change only with its lines' names, not with quantities.
            if obj not in session.dirty or _texts_changed(obj):
                tags |= {tag for _va, tag in changed}
    refresh_pools(session, keys, tags=tags)


def _on_statement(state: ORMExecuteState) -> Any:
    """`update`/`delete` statements on lines run through a Session refresh their pools too."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return None
    mapper = state.bind_mapper
    if mapper is None or mapper.class_ is not LicenseLine:
        return None
    if state.is_insert:
        raise RuntimeError("insert license lines with session.add (pools are kept at flush) "
                           "or on a connection followed by refresh_pools")
    where = state.statement.whereclause  # type: ignore[attr-defined]
    before = select(LicenseLine.id, LicenseLine.va_id, LicenseLine.tag)
    rows = state.session.execute(before if where is None else before.where(where)).all()
    result = state.invoke_statement()
    keys = {(va_id, tag) for _id, va_id, tag in rows}
    if state.is_update and rows:
        for ids in in_chunks([row[0] for row in rows]):
            keys |= {(va_id, tag) for va_id, tag in state.session.execute(
                select(LicenseLine.va_id, LicenseLine.tag).where(LicenseLine.id.in_(ids)))}
    refresh_pools(state.session, keys)
    return result
