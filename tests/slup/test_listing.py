"""Lists that show SLUP devices read a fixed number of statements whatever their number."""

from __future__ import annotations

import io

from satellite.actor import Actor
from satellite.devices.service import list_devices, show_device
from satellite.slup.service import import_usage
from satellite.uow import Database
from tests.licenses.helpers import make_account
from tests.slup.files import measurement, report, usage_file
from tests.statements import counting


def _import(db: Database, actor: Actor, devices: int, reports: int) -> None:
    texts = [report("C9300-24T", f"FCW{d}", n, measurements=[measurement(n, n + 10, 1)])
             for d in range(devices) for n in range(1, reports + 1)]
    with db.uow() as uow:
        import_usage(uow, actor, "Acme", "Lab", [("u.txt", io.BytesIO(usage_file(*texts)))])
        uow.commit()


def _statements(db: Database, actor: Actor) -> tuple[int, int]:
    with db.reader() as uow, counting(db.engine) as listed:
        page = list_devices(uow.session, actor, account="Acme", limit=50)
    assert all(row["slup"]["awaiting_ack"] > 0 for row in page.rows)
    with db.reader() as uow, counting(db.engine) as shown:
        assert show_device(uow.session, actor, "PID:C9300-24T,SN:FCW1")["slup"]["reports"]
    return len(listed), len(shown)


def test_device_list_and_page_of_slup_devices_read_a_fixed_number_of_statements(
        db: Database, actor: Actor) -> None:
    make_account(db, actor)
    _import(db, actor, 3, 2)
    small = _statements(db, actor)
    _import(db, actor, 60, 12)
    assert _statements(db, actor) == small
