"""List pages issue a fixed number of SQL statements, however many rows they show (no N+1)."""

from __future__ import annotations

import random

import pytest
from flask import Flask

from satellite.access.grants import add_grant
from satellite.accounts.service import find_va
from satellite.actor import Actor
from satellite.config import Settings
from satellite.permissions.policy import VA_USER
from satellite.uow import Database
from satellite.users.service import create_user
from tests.seed import Seeded, account_pages, seed
from tests.statements import counting
from tests.web.ui.conftest import Browser

# Generous for the busiest page (dashboard: counters, expiring lines, devices by status,
# alerts, sync status); what matters is that it does not grow with the rows.
MOST = 40


@pytest.fixture
def seeded(db: Database, settings: Settings) -> Seeded:
    # Five accounts: the first holds half of everything, the last an eighth, so its pages show
    # fewer rows (25 devices against a full page of 50, 6 VAs against 25, fewer pools).
    return seed(db, settings.data_dir, accounts=5, vas=50, devices=200, reservations=40,
                audit_events=50)


def _statements_per_page(browser: Browser, db: Database, seeded: Seeded,
                         which: int) -> dict[str, int]:
    counts = {}
    for name, url in account_pages(seeded.accounts[which], random.Random(3)).items():
        path = url()
        with counting(db.engine) as statements:
            browser.get(path)
        counts[name] = len(statements)
    return counts


def test_pages_of_a_large_and_a_small_account_issue_the_same_statements(
        admin: Browser, db: Database, seeded: Seeded) -> None:
    big = _statements_per_page(admin, db, seeded, 0)
    small = _statements_per_page(admin, db, seeded, -1)
    assert big == small
    assert max(big.values()) <= MOST, big
    # The device list really differs in size between the two.
    first = admin.get(f"/a/{seeded.accounts[0].domain}/devices")
    assert first.count('href="/a/bench1.example.com/devices/PID:') == 50 and "Next</a>" in first
    last = admin.get(f"/a/{seeded.accounts[-1].domain}/devices")
    assert "25 product instances." in last and "Next</a>" not in last


def test_a_user_granted_one_va_issues_as_few_statements_as_with_many(
        app: Flask, db: Database, seeded: Seeded, actor: Actor) -> None:
    # Permission checks per VA offered on a page would cost one query per VA.
    with db.uow() as uow:
        user = create_user(uow, actor, "operator", "blue kettle on the night shift")
        for account in (seeded.accounts[0], seeded.accounts[-1]):
            acct, va = find_va(uow.session, account.domain, account.leaf_vas[0])
            add_grant(uow, actor, user, VA_USER, acct, va)
        uow.commit()
    operator = Browser(app.test_client())
    operator.sign_in("operator", "blue kettle on the night shift")
    counts = []
    for account in (seeded.accounts[0], seeded.accounts[-1]):
        per_page = {}
        for path in ("devices", "devices?evaluation=active", "licenses", "reservations",
                     "virtual-accounts",
                     f"virtual-accounts/{account.leaf_vas[0]}",
                     f"tokens?va={account.leaf_vas[0]}", "tokens"):
            with counting(db.engine) as statements:
                operator.get(f"/a/{account.domain}/{path}")
            per_page[path.replace(account.leaf_vas[0], "VA")] = len(statements)
        counts.append(per_page)
    assert counts[0] == counts[1]
    assert max(counts[0].values()) <= MOST, counts[0]


def test_the_users_page_costs_the_same_with_one_user_as_with_many(
        admin: Browser, db: Database, actor: Actor) -> None:
    def statements() -> int:
        with counting(db.engine) as sent:
            admin.get("/users")
        return len(sent)

    alone = statements()
    with db.uow() as uow:
        for n in range(12):
            user = create_user(uow, actor, f"operator{n}", "blue kettle on the night shift")
            acct, va = find_va(uow.session, "acme.example.com", "Lab")
            add_grant(uow, actor, user, VA_USER, acct, va)
        uow.commit()
    many = statements()
    assert admin.get("/users").count("operator") >= 12
    assert many == alone
