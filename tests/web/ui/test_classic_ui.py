"""The Classic Licenses page: PAKs per account and VA, the convert and transfer forms (CSRF),
conversion requests; a fixed number of statements however many PAKs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from satellite.accounts.models import Account
from satellite.accounts.service import find_va
from satellite.cloudsync.classic import ClassicRecord
from satellite.cloudsync.envelope import write_bundle
from satellite.cloudsync.records import CENTRAL_RESPONSE
from satellite.cloudsync.service import SNAPSHOT
from satellite.config import Settings
from satellite.crypto import keys
from satellite.crypto.signing import Signer
from satellite.keystore import open_keystore, parse_central_key
from satellite.licenses.classic_models import ClassicLicense
from satellite.state import get_state
from satellite.uow import Database
from tests.statements import counting
from tests.web.ui.conftest import Browser

ACME = "/a/acme.example.com"
SMART = "regid.2024-01.com.example.router-security"


def _paks(db: Database, count: int, start: int = 0) -> None:
    # Test data: in production classic licenses arrive only from Central.
    with db.uow() as uow:
        account_id = uow.session.scalar(select(Account.id).where(
            Account.domain == "acme.example.com"))
        lab = find_va(uow.session, "acme.example.com", "Lab")[1]
        assert account_id is not None
        for n in range(start, start + count):
            uow.session.add(ClassicLicense(
                account_id=account_id, va_id=lab.id if n % 2 else None, pak=f"PAK-{n:03d}",
                sku="L-SEC-K9", tag=SMART, quantity=4, converted=0, device_udi="",
                imported_at=uow.clock.now()))
        uow.commit()


def _choice(html: str, pak: str) -> str:
    found = re.search(r'<option value="(\d+)">' + re.escape(pak), html)
    assert found, pak
    return found.group(1)


def test_convert_and_transfer_from_the_classic_licenses_page(admin: Browser,
                                                             db: Database) -> None:
    _paks(db, 2)
    html = admin.get(f"{ACME}/classic")
    assert "PAK-000" in html and "(no virtual account)" in html and "Classic Licenses" in html
    pak0 = _choice(html, "PAK-000")
    status, page = admin.post(f"{ACME}/classic/convert", {
        "c-license": pak0, "c-quantity": "5", "c-target": ""})
    assert status == 409 and "4 left to convert" in page
    admin.post(f"{ACME}/classic/convert", {"c-license": pak0, "c-quantity": "3",
                                           "c-target": "Lab"}, status=302)
    html = admin.get(f"{ACME}/classic")
    assert ">Pending</span>" in html and "Conversion of 3 x PAK PAK-000" in html
    admin.post(f"{ACME}/classic/transfer", {"t-license": pak0, "t-target": "Lab"}, status=302)
    assert "PAK-000" in admin.get(f"{ACME}/classic?va=Lab")
    assert "PAK-000" not in admin.get(f"{ACME}/classic?va=Default")
    # Without the form's CSRF token nothing is done.
    admin.token = "forged"
    status, _ = admin.post(f"{ACME}/classic/convert", {"c-license": pak0, "c-quantity": "1",
                                                       "c-target": ""})
    assert status == 400
    html = admin.get(f"{ACME}/classic")
    assert html.count(">Pending</span>") == 1


def test_the_page_issues_the_same_statements_for_few_and_many_paks(admin: Browser,
                                                                   db: Database) -> None:
    _paks(db, 2)
    admin.get(f"{ACME}/classic")
    with counting(db.engine) as few:
        admin.get(f"{ACME}/classic")
    _paks(db, 60, start=2)
    with counting(db.engine) as many:
        html = admin.get(f"{ACME}/classic")
    assert "PAK-061" in html
    assert len(few) == len(many)


def test_the_sync_page_previews_and_applies_classic_licenses_from_central(
        admin: Browser, db: Database, settings: Settings, tmp_path: Path) -> None:
    central = keys.generate_private_key()
    open_keystore(settings).record_central_key(parse_central_key(
        keys.public_key_to_pem(keys.public_key_of(central)), "test"))
    with db.reader() as uow:
        satellite_id = get_state(uow.session, "satellite_id") or ""
    path = tmp_path / "response.bundle"
    record = ClassicRecord("acme.example.com", "PAK-9", "L-SEC-K9", SMART, 2, 0, "Lab", "")
    write_bundle(path, kind=CENTRAL_RESPONSE, sender="central-test", recipient=satellite_id,
                 serial=1, created_at=datetime(2026, 3, 1, tzinfo=UTC), signer=Signer(central),
                 records=[record.to_record()],
                 fields={"entitlements": SNAPSHOT, "classic_licenses": 1})
    admin.get("/sync")
    with path.open("rb") as f:
        status, html = admin.post("/sync/preview", {"imp-csrf_token": admin.token,
                                                    "imp-bundle": (f, "response.bundle")},
                                  content_type="multipart/form-data")
    assert status == 200 and "Classic licenses: 1 added, 0 updated, 0 removed" in html
    assert "PAK-9" not in admin.get(f"{ACME}/classic")
    upload = re.search(r'name="upload" type="hidden" value="([0-9a-f]+)"', html)
    assert upload
    admin.post("/sync/apply", {"upload": upload.group(1)}, status=302)
    assert "PAK-9" in admin.get(f"{ACME}/classic?va=Lab")
