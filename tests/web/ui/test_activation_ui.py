"""The web UI shows a Pending account's held lines, activates it, and lists lines held for
domains with no account."""

from __future__ import annotations

import re

from satellite.access import requests
from satellite.actor import Actor
from satellite.cloudsync.entitlements import apply_entitlements
from satellite.cloudsync.records import Entitlement
from satellite.uow import Database
from satellite.users.service import create_user, user_actor
from tests.statements import counting
from tests.web.ui.conftest import Browser

TAG = "regid.2024-01.com.example.router-advantage"


def _lines(db: Database, *lines: tuple[str, str, int]) -> None:
    with db.uow() as uow:
        apply_entitlements(uow, Actor("cli", "setup"), iter([
            Entitlement(line_id=line_id, account=domain, va="Lab", tag=TAG,
                        display_name="Router Advantage", license_type="PERPETUAL",
                        quantity=quantity) for line_id, domain, quantity in lines]))
        uow.commit()


def test_a_pending_account_shows_its_held_lines_until_activated(admin: Browser,
                                                                db: Database) -> None:
    admin.get("/accounts")
    admin.post("/accounts", {"new-name": "Later", "new-domain": "later.example.org",
                             "new-pending": "y"}, status=302)
    _lines(db, ("L1", "later.example.org", 6), ("L2", "far.example.net", 2))
    listing = admin.get("/accounts")
    assert "<td>later.example.org</td><td>Pending</td>" in listing
    page = admin.get("/a/later.example.org/")
    held = page.split('id="held-lines"')[1].split("</section>")[0]
    assert "Activate account" in held and TAG in held and "<td>L1</td>" in held
    assert "far.example.net" not in held
    orphans = admin.get("/held-licenses").split("<tbody>")[1].split("</tbody>")[0]
    assert "far.example.net" in orphans and "later.example.org" not in orphans

    admin.post("/a/later.example.org/activate", status=302)
    page = admin.get("/a/later.example.org/")
    assert 'id="held-lines"' not in page
    assert "Status: <strong>Active</strong>" in page and "approved by user:admin" in page
    licenses = admin.get("/a/later.example.org/licenses")
    assert TAG in licenses


def test_held_lists_issue_as_many_statements_for_many_lines_as_for_few(
        admin: Browser, db: Database) -> None:
    admin.get("/accounts")
    admin.post("/accounts", {"new-name": "Later", "new-domain": "later.example.org",
                             "new-pending": "y"}, status=302)
    counts = []
    for n in (2, 300):
        _lines(db, *[(f"L{i}", "later.example.org" if i % 2 else f"d{i}.example.net", 1)
                     for i in range(n)])
        seen = []
        for path in ("/held-licenses", "/a/later.example.org/"):
            with counting(db.engine) as statements:
                page = admin.get(path)
            seen.append(len(statements))
            assert len(re.findall(r"<td>L\d+</td>", page)) == min(n // 2, 200)
        counts.append(seen)
    assert counts[0] == counts[1]


def test_approvers_see_how_many_lines_wait_for_an_account_asked_for(
        admin: Browser, db: Database) -> None:
    _lines(db, ("L1", "zeta.example.org", 6), ("L2", "zeta.example.org", 1))
    with db.uow() as uow:
        bob = create_user(uow, Actor("cli", "setup"), "bob", "violet-kestrel-42-river")
        requests.request_account(uow, user_actor(bob), "Zeta", "zeta.example.org")
        uow.commit()
    page = admin.get("/accounts")
    row = page.split('id="account-requests"')[1].split("<td>zeta.example.org</td>")[1].split("</tr>")[0]
    assert "Approve" in row
    link = re.search(r'<td class="num"><a href="([^"]+)">2</a></td>', row)
    assert link is not None, row
    # The count leads to the lines themselves.
    held = admin.get(link.group(1))
    assert "Licenses held for Zeta (zeta.example.org)" in held
    assert len(re.findall(r"<td>L\d</td>", held)) == 2 and "<td>6</td>" not in held
    assert '<td class="num">6</td>' in held
    admin.get("/accounts/requests/999/held-licenses", status=404)
