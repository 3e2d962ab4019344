"""The holding account page and an account's deposit rules page, through the test client."""

from __future__ import annotations

import re

import pytest

from satellite.access.grants import grant
from satellite.actor import Actor
from satellite.cloudsync.entitlements import apply_entitlements
from satellite.cloudsync.holding import deposit
from satellite.cloudsync.records import Entitlement
from satellite.licenses.deposit_rules import add_rule
from satellite.uow import Database
from satellite.users.service import create_user
from tests.statements import counting
from tests.web.ui.conftest import Browser

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SETUP = Actor("cli", "setup")
TAG = "regid.2024-01.com.example.router-advantage"
RULES = "/a/acme.example.com/deposit-rules"


def _hold(db: Database, quantity: int = 6) -> None:
    with db.uow() as uow:
        apply_entitlements(uow, SETUP, iter([Entitlement(
            line_id="H1", account="partner.example.com", va=None, tag=TAG,
            display_name="Router Advantage", license_type="PERPETUAL", quantity=quantity,
            holding="partner.example.com")]))
        uow.commit()


def test_an_administrator_deposits_part_of_a_holding_line(admin: Browser, db: Database) -> None:
    _hold(db)
    page = admin.get("/holding")
    assert "H1" in page and "partner.example.com" in page
    admin.post("/holding/H1/deposit", {"account": "acme.example.com", "va": "Lab",
                                       "quantity": "9"}, status=409)
    admin.get("/holding")
    admin.post("/holding/H1/deposit", {"account": "acme.example.com", "va": "Lab",
                                       "quantity": "2"}, status=302)
    page = admin.get("/holding")
    assert "Deposited 2 x" in page and "(4 left in the holding account)" in page
    licenses = admin.get("/a/acme.example.com/licenses")
    assert TAG in licenses


def test_a_user_without_an_account_to_administer_sees_no_holding_account(
        browser: Browser, db: Database) -> None:
    with db.uow() as uow:
        create_user(uow, SETUP, "vera", "a long enough password 1")
        grant(uow, SETUP, "vera", "account_viewer", "acme.example.com")
        uow.commit()
    _hold(db)
    browser.sign_in("vera", "a long enough password 1")
    assert "H1" not in browser.get("/holding", status=403)
    assert "Deposit rules" not in browser.get("/a/acme.example.com/")
    browser.get(RULES, status=403)


def test_rules_are_added_moved_and_removed_on_the_account_page(admin: Browser) -> None:
    assert "Deposit rules" in admin.get("/a/acme.example.com/")
    admin.get(RULES)
    admin.post(RULES, {"match": "tag", "pattern": "regid.*", "va": "Lab"}, status=302)
    admin.get(RULES)
    admin.post(RULES, {"match": "name", "pattern": "router*", "va": "Default"}, status=302)
    page = admin.get(RULES)
    ids = [int(i) for i in re.findall(r'id="rule-(\d+)"', page)]
    assert len(ids) == 2
    admin.post(f"{RULES}/{ids[1]}/move", {"position": "1"}, status=302)
    page = admin.get(RULES)
    assert [int(i) for i in re.findall(r'id="rule-(\d+)"', page)] == [ids[1], ids[0]]
    admin.post(f"{RULES}/{ids[0]}/remove", status=302)
    page = admin.get(RULES)
    assert re.findall(r'id="rule-(\d+)"', page) == [str(ids[1])]
    assert "removed" in page
    status, html = admin.post(RULES, {"match": "tag", "pattern": "", "va": "Lab"})
    assert status == 400 and "required" in html.lower()


def test_the_holding_and_rules_pages_issue_the_same_statements_for_few_and_many_rows(
        admin: Browser, db: Database) -> None:
    def statements(path: str) -> int:
        with counting(db.engine) as sent:
            admin.get(path)
        return len(sent)

    def hold(count: int) -> None:
        with db.uow() as uow:
            apply_entitlements(uow, SETUP, iter([Entitlement(
                line_id=f"H{n}", account="partner.example.com", va=None, tag=f"{TAG}-{n}",
                display_name="", license_type="PERPETUAL", quantity=5,
                holding="partner.example.com") for n in range(count)]))
            uow.commit()

    def rules(count: int) -> None:
        with db.uow() as uow:
            for n in range(count):
                add_rule(uow, SETUP, "acme.example.com", "tag", f"regid.{n}.*", "Lab")
            uow.commit()

    hold(2)
    rules(2)
    few = (statements("/holding"), statements(RULES))
    hold(40)
    with db.uow() as uow:
        deposit(uow, SETUP, "H7", "acme.example.com", "Lab", 2)
        uow.commit()
    rules(20)
    assert (statements("/holding"), statements(RULES)) == few
