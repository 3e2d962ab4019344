"""Offline reservations on the satellite: authorize, update, confirm, return, remove.

One service for the CLI, the UI and the API. Pool consumption goes through
licenses.usage (kind "reserved"); availability comes from licenses.counters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from satellite.accounts import export_control
from satellite.accounts.models import Account, VirtualAccount
from satellite.accounts.service import require_active, va_for
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.cloudsync import outbound
from satellite.devices.models import DEREGISTERED, Device
from satellite.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    VerificationFailed,
    about,
)
from satellite.labels.filters import reservations_with, wanted
from satellite.licenses import usage
from satellite.licenses.counters import active_on, tag_pools, va_counters
from satellite.licenses.models import LicenseLine
from satellite.licenses.pools import lock_pools
from satellite.limits import MAX_NOTE, check_text
from satellite.permissions.policy import require, visible_va_ids
from satellite.reservation import codes
from satellite.reservation.checksum import normalise
from satellite.reservation.codes import PLR, SLR, Udi
from satellite.reservation.models import (
    REMOVED,
    RESERVED,
    RETURNED,
    Reservation,
    ReservationLine,
)
from satellite.reservation.signer import CodeSigner
from satellite.uow import UnitOfWork

MODES = {SLR: ("specific", "both"), PLR: ("permanent", "both")}
FAR_FUTURE = date.max


@dataclass(frozen=True)
class Issued:
    reservation: Reservation
    code: str
    entitlements: tuple[codes.Entitlement, ...]
    chain: bytes  # the certificate chain a device verifies the code's key with


def owner(reservation: Reservation) -> str:
    return f"reservation:{reservation.id}"


def udi_of(reservation: Reservation) -> Udi:
    return Udi(reservation.pid, reservation.serial_number)


def open_reservation(session: Session, udi: Udi) -> Reservation | None:
    """The UDI's open reservation, if any (the devices service asks this before registering)."""
    return session.scalar(select(Reservation).where(
        Reservation.pid == udi.pid, Reservation.serial_number == udi.sn,
        Reservation.status == RESERVED))


def get_open(session: Session, udi_text: str) -> Reservation:
    udi = Udi.parse(udi_text)
    found = open_reservation(session, udi)
    if found is None:
        raise NotFound(f"UDI {udi} has no open reservation")
    return found


def latest(session: Session, udi_text: str) -> Reservation:
    """The UDI's open reservation, else its most recent closed one."""
    udi = Udi.parse(udi_text)
    found = session.scalar(select(Reservation).where(
        Reservation.pid == udi.pid, Reservation.serial_number == udi.sn)
        .order_by(Reservation.status != RESERVED, Reservation.id.desc()).limit(1))
    if found is None:
        raise NotFound(f"UDI {udi} has never had a reservation")
    return found


def show(session: Session, actor: Actor, udi_text: str) -> Reservation:
    """A UDI's latest reservation, if the actor may see its VA. Raises NotFound."""
    reservation = latest(session, udi_text)
    require(session, actor, "reservation.view", account_id=reservation.account_id,
            va_id=reservation.va_id, not_found=f"UDI {udi_text} has no reservation")
    return reservation


def lines(session: Session, reservation: Reservation) -> list[ReservationLine]:
    return list(session.scalars(select(ReservationLine).where(
        ReservationLine.reservation_id == reservation.id).order_by(ReservationLine.id)))


def list_reservations(session: Session, actor: Actor, account_id: int | None = None,
                      status: str | None = None, *, limit: int | None = None,
                      offset: int = 0, tagged: Sequence[str] = ()) -> list[Reservation]:
    """Reservations of one account (or all, for system administrators) the actor may see,
    oldest first (a page of them with `limit` and `offset`), those carrying every operator
    tag of `tagged` only when given."""
    require(session, actor, "reservation.view", account_id=account_id)
    query = select(Reservation).order_by(Reservation.id)
    if account_id is not None:
        query = query.where(Reservation.account_id == account_id)
        visible = visible_va_ids(session, actor, "reservation.view", account_id)
        if visible is not None:
            query = query.where(Reservation.va_id.in_(visible))
    if status is not None:
        query = query.where(Reservation.status == status)
    query = query.where(*reservations_with(wanted(tagged)))
    return list(session.scalars(query.limit(limit).offset(offset)))


def _check_enabled(account: Account, kind: str) -> None:
    if account.reservation_mode not in MODES[kind]:
        what = "specific (SLR)" if kind == SLR else "permanent (PLR)"
        raise PermissionDenied(
            f"{what} reservation is not enabled for account {account.name!r} (its reservation "
            f"setting is {account.reservation_mode!r}; see `satellite account set --reservation`)")


def _check_counts(licenses: Mapping[str, int]) -> dict[str, int]:
    if not licenses:
        raise InvalidInput("give at least one license as TAG=COUNT", field="licenses")
    for tag, count in licenses.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidInput(f"the count for {tag!r} must be a whole number of at least 1",
                               field="licenses")
    return dict(licenses)


def _check_export(session: Session, account: Account, va: VirtualAccount,
                  wanted: Mapping[str, int] | None, on: date) -> None:
    """A reservation of an account whose category forbids export control holds none of it."""
    if export_control.allows_export(account.export_category):
        return
    pools = tag_pools(session, va.id, on, sorted(wanted or {}))
    export_control.check_reservation(account, wanted is None,
                                     [tag for tag, pool in pools.items() if pool.export_controlled])


def _term_key(line: LicenseLine) -> date:
    return FAR_FUTURE if line.license_type == "PERPETUAL" or line.end_date is None else line.end_date


def _held_by(session: Session, reservation: Reservation | None, on: date) -> dict[str, int]:
    if reservation is None:
        return {}
    held: dict[str, int] = {}
    for line in lines(session, reservation):
        if _active(line, on):
            held[line.tag] = held.get(line.tag, 0) + line.held
    return held


def _active(line: ReservationLine, on: date) -> bool:
    return line.license_type == "PERPETUAL" or (
        (line.start_date is None or line.start_date <= on)
        and (line.end_date is None or line.end_date >= on))


def _allocate(session: Session, va: VirtualAccount, wanted: Mapping[str, int],
              reservation: Reservation | None, on: date) -> dict[str, list[codes.Entitlement]]:
    """Pool lines for each tag, longest-term first. Raises Conflict naming every shortfall."""
    # Concurrent reservations and transfers of these pools wait here, so the free counts read
    # below stay true until this transaction commits.
    lock_pools(session, [(va.id, tag) for tag in wanted])
    counters = va_counters(session, va.id, on, tags=list(wanted))
    held = _held_by(session, reservation, on)
    shortfalls = []
    for tag, count in sorted(wanted.items()):
        available = counters[tag].available + held.get(tag, 0)
        if count > available:
            shortfalls.append(f"{tag}: {count - available} missing ({count} requested, "
                              f"{max(available, 0)} available)")
    if shortfalls:
        raise Conflict(f"not enough licenses in virtual account {va.name!r}: "
                       + "; ".join(shortfalls), field="licenses")
    chosen: dict[str, list[codes.Entitlement]] = {}
    for tag, count in wanted.items():
        pool = list(session.scalars(select(LicenseLine).where(
            LicenseLine.va_id == va.id, LicenseLine.tag == tag, active_on(on))))
        # Other consumers are counted against the shortest-lived lines, so a reservation,
        # which may last as long as its lines do, gets the longest-lived ones.
        others = counters[tag].in_use + counters[tag].reserved - held.get(tag, 0)
        free = {}
        for line in sorted(pool, key=lambda ln: (_term_key(ln), ln.id)):
            taken = min(others, line.quantity)
            others -= taken
            free[line.id] = line.quantity - taken
        merged: dict[tuple[str, date | None, date | None], int] = {}
        for line in sorted(pool, key=lambda ln: (_term_key(ln), -ln.id), reverse=True):
            take = min(count, free[line.id])
            if take <= 0:
                continue
            count -= take
            dates = (None, None) if line.license_type == "PERPETUAL" else (line.start_date,
                                                                            line.end_date)
            key = (line.license_type, *dates)
            merged[key] = merged.get(key, 0) + take
        chosen[tag] = [codes.Entitlement(tag, n, kind, start, end)
                       for (kind, start, end), n in merged.items()]
    return chosen


def _sync_usage(session: Session, reservation: Reservation, on: date) -> None:
    """Make the pool hold what the reservation's lines hold on `on` (TERM lines end)."""
    if reservation.status != RESERVED:
        usage.release(session, owner(reservation))
        return
    held = _held_by(session, reservation, on)
    usage.set_usage(session, owner(reservation), "reserved",
                    {(reservation.va_id, tag): n for tag, n in held.items()})


def _entitlements(session: Session, reservation: Reservation) -> tuple[codes.Entitlement, ...]:
    return tuple(codes.Entitlement(ln.tag, ln.count, ln.license_type, ln.start_date, ln.end_date)
                 for ln in lines(session, reservation) if ln.count > 0)


def _issue(uow: UnitOfWork, reservation: Reservation, signer: CodeSigner) -> Issued:
    entitlements = _entitlements(uow.session, reservation)
    now = uow.clock.now().replace(microsecond=0)
    chain = signer.chain(now)
    code = codes.AuthorizationCode(
        reservation.kind, reservation.serial, now, bytes.fromhex(reservation.nonce),
        udi_of(reservation), entitlements, "00" * codes.KEY_ID_BYTES).sign(signer.signer).encode()
    reservation.authorization_code = code
    reservation.issued_at = now
    return Issued(reservation, code, entitlements, chain)


def authorize(uow: UnitOfWork, actor: Actor, account_ref: str, va_name: str, request_code: str,
              licenses: Mapping[str, int] | None, signer: CodeSigner) -> Issued:
    """Reserve for a device's request code: SLR with `licenses`, PLR when it is None.

    Raises VerificationFailed (mistyped request code), PermissionDenied (not enabled),
    Conflict (satellite not certified by Central, UDI already reserved, shortfall), NotFound.
    """
    session = uow.session
    with about("request_code"):
        request = codes.RequestCode.decode(request_code)
    account, va = va_for(session, actor, account_ref, va_name, "reservation.manage")
    require_active(account, "reservations")
    kind = PLR if licenses is None else SLR
    _check_enabled(account, kind)
    signer.chain(uow.clock.now())
    wanted = {} if licenses is None else _check_counts(licenses)
    _check_export(session, account, va, None if licenses is None else wanted,
                  uow.clock.now().date())
    registered = session.scalar(select(Device.status).where(
        Device.pid == request.udi.pid, Device.serial == request.udi.sn, Device.status != DEREGISTERED))
    if registered is not None:
        raise Conflict(f"UDI {request.udi} is registered over the network ({registered}); "
                       "deregister it before reserving licenses for it")
    existing = open_reservation(session, request.udi)
    if existing is not None:
        raise Conflict(f"UDI {request.udi} already holds a reservation ({existing.kind}, serial "
                       f"{existing.serial}); update or return it, or show it to get its code again")
    used = session.scalar(select(Reservation).where(
        Reservation.return_commitment == request.return_commitment.hex()))
    if used is not None:
        raise Conflict(f"this request code was already used for a reservation of UDI {request.udi} "
                       f"(now {used.status.lower()}); make a new request on the device",
                       field="request_code")
    on = uow.clock.now().date()
    chosen = _allocate(session, va, wanted, None, on)
    now = uow.clock.now()
    reservation = Reservation(
        account_id=account.id, va_id=va.id, pid=request.udi.pid, serial_number=request.udi.sn,
        kind=kind, status=RESERVED, request_code=normalise(request_code),
        nonce=request.nonce.hex(), return_commitment=request.return_commitment.hex(),
        chain_index=codes.CHAIN_LENGTH, chain_value=request.chain_anchor.hex(), serial=1,
        confirmed_serial=1, authorization_code="", issued_at=now, created_at=now, close_reason="")
    session.add(reservation)
    try:
        session.flush()
    except IntegrityError:
        # Another request reserved for this UDI, or used this code, after our checks above.
        raise Conflict(f"UDI {request.udi} was just reserved by another request (or this request "
                       "code was used); show the reservation to get its code",
                       field="request_code") from None
    for entitlements in chosen.values():
        for e in entitlements:
            session.add(ReservationLine(reservation_id=reservation.id, tag=e.tag, count=e.count,
                                        held=e.count, license_type=e.license_type,
                                        start_date=e.start, end_date=e.end))
    session.flush()
    _sync_usage(session, reservation, on)
    issued = _issue(uow, reservation, signer)
    record(uow, actor, "reservation.authorize", f"reservation:{request.udi}", account_id=account.id,
           details={"kind": kind, "va": va.name, "serial": 1, "licenses": wanted})
    outbound.append(session, outbound.RESERVATION_AUTHORIZED, {
        "account": account.domain, "va": va.name, "udi": str(request.udi), "kind": kind,
        "serial": 1, "licenses": wanted}, now)
    return issued


def update(uow: UnitOfWork, actor: Actor, udi_text: str, licenses: Mapping[str, int],
           signer: CodeSigner) -> Issued:
    """A new authorization code with a higher serial. Increases are reserved at once;
    decreases are released only by the device's confirmation code.
    """
    session = uow.session
    reservation = _manageable(session, actor, get_open(session, udi_text))
    if reservation.kind == PLR:
        raise InvalidInput(f"UDI {udi_of(reservation)} holds a permanent reservation (PLR), "
                           "which unlocks everything and has no counts to update")
    account = session.get(Account, reservation.account_id)
    va = session.get(VirtualAccount, reservation.va_id)
    assert account is not None and va is not None
    _check_enabled(account, SLR)
    signer.chain(uow.clock.now())
    if reservation.serial >= codes.MAX_SERIAL:
        raise Conflict(f"UDI {udi_of(reservation)} has used all {codes.MAX_SERIAL} serials of its "
                       "request; return it and reserve again from a new request code")
    wanted = _check_counts(licenses)
    on = uow.clock.now().date()
    _check_export(session, account, va, wanted, on)
    chosen = _allocate(session, va, wanted, reservation, on)
    held = _held_by(session, reservation, on)
    current = lines(session, reservation)
    for tag in set(held) | set(chosen) | {ln.tag for ln in current}:
        old = [ln for ln in current if ln.tag == tag]
        new = chosen.get(tag, [])
        decrease = sum(e.count for e in new) < held.get(tag, 0)
        for ln in old:
            if decrease and ln.held > 0:
                ln.count = 0  # keeps holding its licenses until the device confirms
            else:
                session.delete(ln)
        for e in new:
            session.add(ReservationLine(reservation_id=reservation.id, tag=tag, count=e.count,
                                        held=0 if decrease else e.count,
                                        license_type=e.license_type, start_date=e.start,
                                        end_date=e.end))
    reservation.serial += 1
    session.flush()
    _sync_usage(session, reservation, on)
    issued = _issue(uow, reservation, signer)
    record(uow, actor, "reservation.update", f"reservation:{udi_of(reservation)}",
           account_id=account.id, details={"serial": reservation.serial, "licenses": wanted,
                                           "before": held})
    outbound.append(session, outbound.RESERVATION_AUTHORIZED, {
        "account": account.domain, "va": va.name, "udi": str(udi_of(reservation)),
        "kind": reservation.kind, "serial": reservation.serial, "licenses": wanted},
        uow.clock.now())
    return issued


def _manageable(session: Session, actor: Actor, reservation: Reservation) -> Reservation:
    require(session, actor, "reservation.manage", account_id=reservation.account_id,
            va_id=reservation.va_id, not_found=f"UDI {udi_of(reservation)} has no open reservation")
    return reservation


def awaiting_confirmation(reservation: Reservation) -> bool:
    return reservation.confirmed_serial < reservation.serial


def confirm(uow: UnitOfWork, actor: Actor, udi_text: str, code: str) -> Reservation:
    """Accept the device's confirmation of the current serial; release what it gave up."""
    session = uow.session
    reservation = _manageable(session, actor, get_open(session, udi_text))
    parsed = codes.ConfirmationCode.decode(code)
    udi = udi_of(reservation)
    if not awaiting_confirmation(reservation):
        raise Conflict(f"UDI {udi} has no update awaiting confirmation (serial "
                       f"{reservation.serial} is confirmed)")
    if parsed.serial != reservation.serial:
        raise VerificationFailed(
            f"this confirmation code is for serial {parsed.serial}, but UDI {udi} waits for the "
            f"confirmation of serial {reservation.serial}: install the latest code on the device")
    index = codes.confirmation_index(parsed.serial)
    nonce = bytes.fromhex(reservation.nonce)
    if codes.chain_forward(nonce, index, parsed.value, reservation.chain_index - index).hex() \
            != reservation.chain_value:
        raise VerificationFailed(f"this confirmation code was not made by the device {udi}")
    reservation.chain_index, reservation.chain_value = index, parsed.value.hex()
    reservation.confirmed_serial = parsed.serial
    for ln in lines(session, reservation):
        if ln.count == 0:
            session.delete(ln)
        else:
            ln.held = ln.count
    session.flush()
    _sync_usage(session, reservation, uow.clock.now().date())
    record(uow, actor, "reservation.confirm", f"reservation:{udi}",
           account_id=reservation.account_id, details={"serial": parsed.serial})
    return reservation


def return_reservation(uow: UnitOfWork, actor: Actor, code: str) -> Reservation:
    """Close the reservation whose device made this return code; its licenses go back."""
    session = uow.session
    parsed = codes.ReturnCode.decode(code)
    commitment = codes.return_commitment(parsed.value).hex()
    reservation = session.scalar(select(Reservation).where(
        Reservation.return_commitment == commitment))
    if reservation is not None and reservation.status != RESERVED:
        raise Conflict(f"the reservation of UDI {udi_of(reservation)} this return code closes was "
                       f"already closed ({reservation.status.lower()})")
    if reservation is not None:
        _manageable(session, actor, reservation)
        return _close(uow, actor, reservation, RETURNED, "returned by the device",
                      "reservation.return")
    raise VerificationFailed("no open reservation matches this return code: it was made by "
                             "another device, for a reservation already closed, or mistyped")


def remove(uow: UnitOfWork, actor: Actor, udi_text: str, reason: str) -> Reservation:
    """Force-remove a reservation whose device can never return it (failed, RMA'd)."""
    require(uow.session, actor, "reservation.remove")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("a forced removal needs a reason (--reason TEXT)", field="reason")
    check_text(reason, "reason", MAX_NOTE, lines=True)
    reservation = get_open(uow.session, udi_text)
    return _close(uow, actor, reservation, REMOVED, reason, "reservation.remove")


def _close(uow: UnitOfWork, actor: Actor, reservation: Reservation, status: str, reason: str,
           action: str) -> Reservation:
    held = _held_by(uow.session, reservation, uow.clock.now().date())
    reservation.status = status
    reservation.closed_at = uow.clock.now()
    reservation.close_reason = reason
    _sync_usage(uow.session, reservation, uow.clock.now().date())
    record(uow, actor, action, f"reservation:{udi_of(reservation)}",
           account_id=reservation.account_id,
           details={"kind": reservation.kind, "released": held, "reason": reason})
    account = uow.session.get(Account, reservation.account_id)
    # The operator's reason stays on site: only licensing facts go to Central.
    outbound.append(uow.session, outbound.RESERVATION_RETURNED if status == RETURNED
                    else outbound.RESERVATION_REMOVED, {
                        "account": account.domain if account else None,
                        "udi": str(udi_of(reservation)), "kind": reservation.kind,
                        "released": held}, reservation.closed_at)
    return reservation


def release_ended_terms(uow: UnitOfWork) -> int:
    """Stop reserving TERM lines past their end date. Returns how many reservations changed."""
    session = uow.session
    on = uow.clock.now().date()
    ended = session.scalars(
        select(Reservation).join(ReservationLine, ReservationLine.reservation_id == Reservation.id)
        .where(Reservation.status == RESERVED, ReservationLine.end_date < on,
               ReservationLine.license_type != "PERPETUAL").distinct())
    changed = 0
    for reservation in ended:
        before = usage.owner_usage(session, owner(reservation), "reserved")
        _sync_usage(session, reservation, on)
        if usage.owner_usage(session, owner(reservation), "reserved") != before:
            changed += 1
    return changed
