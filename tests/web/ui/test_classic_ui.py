"""The Classic Licenses page: PAKs per account and VA, the convert and transfer forms (CSRF),
conversion requests; a fixed number of statements however many PAKs."""

from __future__ import annotations

import re

from sqlalchemy import select

from satellite.accounts.models import Account
from satellite.accounts.service import find_va
from satellite.licenses.classic_models import ClassicLicense
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
