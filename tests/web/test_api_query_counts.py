"""REST list endpoints send a fixed number of SQL statements, however many rows they answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from satellite.access.apiclients import create_client
from satellite.access.grants import grant
from satellite.access.requests import request_access, request_account
from satellite.accounts.service import create_account, create_va
from satellite.actor import Actor
from satellite.alerts.service import raise_alert
from satellite.config import Settings
from satellite.devices.service import find_device, usage_by_tag
from satellite.tokens.secrets import TokenSealer
from satellite.tokens.service import create_token
from satellite.uow import Database
from satellite.users.service import create_user, user_actor
from tests.seed import SeededAccount, seed
from tests.statements import counting

ROOT_PASSWORD = "amber-lantern-77-harbour"
PEOPLE = 12


@pytest.fixture
def account(db: Database, settings: Settings) -> SeededAccount:
    # One account whose Default VA holds 60 devices (most consuming one or two tags),
    # ten tags of pools, 30 tokens, 200 alerts and 60 audit events.
    return seed(db, settings.data_dir, accounts=1, vas=1, devices=60, reservations=0,
                audit_events=60).accounts[0]


@pytest.fixture
def root(db: Database, actor: Actor, client: FlaskClient, account: SeededAccount,
         make_client: Callable[..., tuple[str, str]]) -> dict[str, str]:
    """Headers of a system administrator (password grant), who may call every list."""
    with db.uow() as uow:
        create_user(uow, actor, "root", ROOT_PASSWORD, system_admin=True)
        uow.commit()
    client_id, secret = make_client(account.name)
    answer = client.post("/oauth/token", json={
        "grant_type": "password", "username": "root", "password": ROOT_PASSWORD,
        "client_id": client_id, "client_secret": secret})
    assert answer.status_code == 200, answer.json
    return {"Authorization": f"Bearer {answer.json['access_token']}"}


def _get(client: FlaskClient, db: Database, url: str,
         headers: dict[str, str]) -> tuple[int, Any]:
    """(statements sent, JSON answer) of one GET."""
    with counting(db.engine) as statements:
        answer = client.get(url, headers=headers)
    assert answer.status_code == 200, (url, answer.json)
    return len(statements), answer.json


def test_a_device_page_of_50_costs_the_statements_of_a_page_of_1(
        client: FlaskClient, db: Database, account: SeededAccount,
        root: dict[str, str]) -> None:
    url = f"/api/v1/accounts/{account.name}/virtual-accounts/Default/devices"
    one, small = _get(client, db, url + "?limit=1", root)
    fifty, big = _get(client, db, url + "?limit=50", root)
    assert len(small["devices"]) == 1 and len(big["devices"]) == 50
    assert small["totalRecords"] == big["totalRecords"] == 60
    assert one == fifty
    # The usage read for the whole page is each device's own.
    with db.reader() as uow:
        for row in big["devices"]:
            sudi = row["sudi"]
            device = find_device(uow.session,
                                 f"PID:{sudi['udiPid']},SN:{sudi['udiSerialNumber']}")
            assert row["licenseUsage"] == [{"license": tag, "quantity": n} for tag, n in
                                           usage_by_tag(uow.session, device.id).items()]
    consuming = [row for row in big["devices"] if row["licenseUsage"]]
    assert consuming and any(len(row["licenseUsage"]) == 2 for row in consuming)


@pytest.mark.parametrize("path, key", [
    ("/accounts/{account}/licenses", "licenses"),
    ("/accounts/{account}/licenses?tag=perpetual", "licenses"),
    ("/accounts/{account}/virtual-accounts/Default/devices?tag=spare&tag=site-emea", "devices"),
    ("/accounts/{account}/virtual-accounts/Default/devices?tag=site-emea", "devices"),
    ("/accounts/{account}/license-subscriptions", "licenseSubscriptions"),
    ("/audit", "events"),
])
def test_other_paged_lists_cost_the_same_for_1_and_50_rows(
        client: FlaskClient, db: Database, account: SeededAccount, root: dict[str, str],
        path: str, key: str) -> None:
    url = "/api/v1" + path.format(account=account.name)
    url += "&" if "?" in url else "?"
    one, small = _get(client, db, url + "limit=1", root)
    many, big = _get(client, db, url + "limit=50", root)
    assert len(small[key]) == 1 and len(big[key]) >= (1 if "spare" in path else 7)
    assert one == many


def _grow(db: Database, actor: Actor, settings: Settings, account: SeededAccount,
          people: range) -> None:
    """Add to everything the unpaged lists show: users with roles and requests, API
    clients, accounts, VAs, tokens, alerts."""
    sealer = TokenSealer.for_data_dir(settings.data_dir)
    with db.uow() as uow:
        for n in people:
            user = create_user(uow, actor, f"user{n:02d}", ROOT_PASSWORD)
            grant(uow, actor, user.username, "account_viewer", account.name)
            asking = user_actor(user)
            request_access(uow, asking, account.name, "account_admin", "please")
            request_account(uow, asking, f"Team {n}", f"team{n}.{account.domain}")
            create_client(uow, actor, account.name, "account_viewer", f"robot {n}")
            create_account(uow, actor, f"Other {n}", f"other{n}.example.org")
            create_va(uow, actor, account.name, f"Lab {n}")
            create_token(uow, actor, sealer, account.name, "Default", description=f"wave {n}")
            raise_alert(uow.session, f"test:{n}", "sync_overdue", f"alert {n}",
                        uow.clock.now(), account_id=None)
        uow.commit()


def test_unpaged_lists_cost_the_same_however_many_rows_they_hold(
        client: FlaskClient, db: Database, actor: Actor, settings: Settings,
        account: SeededAccount, root: dict[str, str]) -> None:
    urls = {key: "/api/v1" + path.format(account=account.name) for key, path in {
        "users": "/users",
        "grants": "/accounts/{account}/users",
        "accessRequests": "/accounts/{account}/access-requests",
        "accountRequests": "/account-requests",
        "apiClients": "/accounts/{account}/api-clients",
        "accounts": "/accounts",
        "virtualAccounts": "/accounts/{account}/virtual-accounts",
        "tokens": "/accounts/{account}/virtual-accounts/Default/tokens",
        "alerts": "/accounts/{account}/alerts",
    }.items()}
    _grow(db, actor, settings, account, range(1))
    before = {key: _get(client, db, url, root) for key, url in urls.items()}
    _grow(db, actor, settings, account, range(1, 1 + PEOPLE))
    after = {key: _get(client, db, url, root) for key, url in urls.items()}
    for key in urls:
        rows_before, rows_after = (len(answer[1][key.replace("grants", "users")])
                                   for answer in (before[key], after[key]))
        assert rows_after >= rows_before + PEOPLE, key
    assert {key: count for key, (count, _) in after.items()} == {
        key: count for key, (count, _) in before.items()}
