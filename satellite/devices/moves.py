"""Moving a product instance to a virtual account of another account.

What the device consumes moves with it: released from the source pools and counted in the
target pools in the same transaction, so compliance (and its alerts) settles for both
accounts when it commits. The device keeps its ID certificate (it names only the UDI), its
history, its tags and its usage history; each account's audit trail records its side.

A device holding an offline reservation is refused: the reservation's authorization code was
signed for licenses of the source account, so it must be returned there first.
"""

from __future__ import annotations

from typing import Any

from satellite.accounts.service import account_for, va_for
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.cloudsync import outbound
from satellite.devices.models import DEREGISTERED
from satellite.devices.registration import owner_of, udi_label
from satellite.devices.service import checked_device, device_row, transfer_device
from satellite.devices.upstream import usage_facts
from satellite.errors import Conflict
from satellite.labels.devices import follow_device
from satellite.licenses.usage import lock_owners, owner_usage, set_usage
from satellite.reservation.codes import Udi
from satellite.reservation.service import open_reservation
from satellite.uow import UnitOfWork


def move_device(uow: UnitOfWork, actor: Actor, udi: str, to_account: str,
                to_va: str) -> dict[str, Any]:
    """Move a device, and what it consumes, to a VA of any account; within its own account
    this is a transfer. Across accounts it needs the right to manage devices in both VAs and
    to move devices out of and into both accounts.

    Raises NotFound, PermissionDenied, InvalidInput (same VA), Conflict (deregistered, or
    holding an offline reservation).
    """
    session = uow.session
    device, account, va = checked_device(session, actor, udi, "device.manage")
    target_account, target = va_for(session, actor, to_account, to_va, "device.manage")
    if target_account.id == account.id:
        return transfer_device(uow, actor, udi, target.name)
    for ref in (account.domain, target_account.domain):
        account_for(session, actor, ref, "device.transfer_account")
    label = udi_label(device.pid, device.serial)
    if device.status == DEREGISTERED:
        raise Conflict(f"device {label} is deregistered: register it with a token of "
                       f"{target_account.name}/{target.name} instead")
    reserved = open_reservation(session, Udi(device.pid, device.serial))
    if reserved is not None:
        raise Conflict(f"device {label} holds an offline reservation ({reserved.kind}) of "
                       f"account {account.name!r}: return it there before moving the device")
    owner = owner_of(device.id)
    lock_owners(session, [owner])
    usage = {tag: n for (_va, tag), n in owner_usage(session, owner, "in_use").items()}
    set_usage(session, owner, "in_use", {(target.id, tag): n for tag, n in usage.items()})
    device.va_id, device.account_id = target.id, target_account.id
    follow_device(session, device.id, target_account.id)
    now = uow.clock.now()
    # Central hears the usage leave the source account and arrive in the target one.
    facts = (usage_facts(f"{device.pid}:{device.serial}", account.domain, va.name,
                         dict.fromkeys(usage, 0))
             + usage_facts(f"{device.pid}:{device.serial}", target_account.domain,
                           target.name, usage))
    for payload in facts:
        outbound.append(session, outbound.USAGE, payload, now)
    details = {"from_account": account.domain, "from_va": va.name,
               "to_account": target_account.domain, "to_va": target.name, "usage": usage}
    record(uow, actor, "device.move_out", f"device:{label}", account_id=account.id,
           details=details)
    record(uow, actor, "device.move_in", f"device:{label}", account_id=target_account.id,
           details=details)
    return device_row(device, target_account.name, target.name)
