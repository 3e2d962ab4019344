"""Device lists at scale: pages by UDI that cover every device once, bounded counts, search."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from satellite.accounts.models import Account, VirtualAccount
from satellite.actor import Actor
from satellite.config import Settings
from satellite.db import IN_LIST_CHUNK
from satellite.devices.models import Device
from satellite.devices.registration import owner_of
from satellite.devices.service import list_devices, usages_by_tag
from satellite.errors import InvalidInput
from satellite.licenses.models import LicenseUsage
from satellite.uow import Database
from tests.seed import Seeded, seed


@pytest.fixture
def seeded(db: Database, settings: Settings) -> Seeded:
    return seed(db, settings.data_dir, accounts=2, vas=24, devices=230, reservations=4,
                audit_events=10)


def test_pages_from_a_udi_cover_every_device_once_in_udi_order(
        db: Database, actor: Actor, seeded: Seeded) -> None:
    domain = seeded.accounts[0].domain
    with db.reader() as uow:
        s = uow.session
        expected = sorted(s.execute(
            select(Device.pid, Device.serial)
            .join(VirtualAccount, VirtualAccount.id == Device.va_id)
            .join(Account, Account.id == VirtualAccount.account_id)
            .where(Account.domain == domain)).all())
        seen: list[tuple[str, str]] = []
        pages = [list_devices(s, actor, account=domain, limit=40)]
        while pages[-1].after:
            pages.append(list_devices(s, actor, account=domain, limit=40, after=pages[-1].after))
        for page in pages:
            seen.extend((r["pid"], r["sn"]) for r in page.rows)
        assert seen == [tuple(r) for r in expected] and len(pages) == 3 and pages[0].total == 115
        assert pages[0].before is None and pages[-1].after is None
        # Previous from the last page gives the page before it, in the same order.
        back = list_devices(s, actor, account=domain, limit=40, before=pages[-1].before)
        assert [r["udi"] for r in back.rows] == [r["udi"] for r in pages[-2].rows]
        with pytest.raises(InvalidInput, match="not a UDI"):
            list_devices(s, actor, account=domain, after="nonsense")


def test_counts_stop_at_the_limit_and_say_so(db: Database, actor: Actor, seeded: Seeded) -> None:
    domain = seeded.accounts[0].domain
    with db.reader() as uow:
        bounded = list_devices(uow.session, actor, account=domain, limit=5, count_limit=100)
        exact = list_devices(uow.session, actor, account=domain, limit=5, count_limit=1000)
    assert (bounded.total, bounded.bounded) == (100, True)
    assert (exact.total, exact.bounded) == (115, False)


def test_search_takes_a_udi_serial_pid_tag_or_the_start_of_a_hostname(
        db: Database, actor: Actor, seeded: Seeded) -> None:
    account = seeded.accounts[0]
    pid, serial = account.sample_udis[0]
    hostname = account.sample_hostnames[0]

    def found(text: str) -> list[dict[str, object]]:
        with db.reader() as uow:
            return list_devices(uow.session, actor, account=account.domain, search=text,
                                limit=500).rows

    assert [r["sn"] for r in found(serial)] == [serial]
    assert [r["sn"] for r in found(f"PID:{pid},SN:{serial}")] == [serial]
    assert {r["pid"] for r in found(pid)} == {pid} and len(found(pid)) > 1
    tagged = found(account.tags[0])
    assert tagged and {r["product_tag"] for r in tagged} == {account.tags[0]}
    assert [r["hostname"] for r in found(hostname)] == [hostname]
    prefix = hostname.rsplit("-", 1)[0]
    assert all(str(r["hostname"]).startswith(prefix) for r in found(prefix))
    assert len(found(prefix)) > 1 and found("no-such-host") == []


def test_the_usage_of_many_devices_read_at_once_is_each_ones_own(
        db: Database, seeded: Seeded) -> None:
    with db.reader() as uow:
        s = uow.session
        ids = list(s.scalars(select(Device.id).order_by(Device.id)))
        expected: dict[int, dict[str, int]] = {device_id: {} for device_id in ids}
        owners = {owner_of(device_id): device_id for device_id in ids}
        for owner, tag, n in s.execute(select(LicenseUsage.owner, LicenseUsage.tag,
                                              LicenseUsage.quantity)
                                       .where(LicenseUsage.kind == "in_use")):
            if owner in owners:
                expected[owners[owner]][tag] = n
        # More than one chunk (ids no device has fill it up), and a page of 3.
        missing = range(10**6, 10**6 + 400)
        assert len(ids) + len(missing) > IN_LIST_CHUNK
        assert usages_by_tag(s, [*ids, *missing]) == {**expected, **{i: {} for i in missing}}
        assert usages_by_tag(s, ids[:3]) == {i: expected[i] for i in ids[:3]}
        assert any(len(usage) == 2 for usage in expected.values())
