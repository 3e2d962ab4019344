"""An account with hundreds of VAs: names typed in a box, a tree that fits on a page."""

from __future__ import annotations

from satellite.config import Settings
from satellite.uow import Database
from tests.seed import seed
from tests.web.ui.conftest import Browser


def test_many_vas_are_named_in_a_box_and_the_tree_shows_the_levels_that_fit(
        admin: Browser, db: Database, settings: Settings) -> None:
    seeded = seed(db, settings.data_dir, accounts=1, vas=400, devices=60, reservations=2,
                  audit_events=5)
    account = seeded.accounts[0]
    base = f"/a/{account.domain}"

    html = admin.get(f"{base}/licenses")
    assert '<input id="f-va" name="va"' in html and '<select id="f-va"' not in html
    assert '<input id="target" name="target"' in html
    # A name that is no VA is refused with the reason, and nothing moves.
    status, html = admin.post(f"{base}/licenses/transfer", {
        "source": "Default", "target": "Nowhere", "tag": account.tags[0], "quantity": 1})
    assert status == 404 and "no virtual account named &#39;Nowhere&#39;" in html
    admin.get(f"{base}/devices?va=Nowhere", status=404)
    assert "0 product instances." not in admin.get(f"{base}/devices?va={account.leaf_vas[0]}")

    tree = admin.get(f"{base}/virtual-accounts")
    assert "virtual accounts inside" in tree and "more are inside the ones shown" in tree
    assert account.leaf_vas[0] not in tree
    found = admin.get(f"{base}/virtual-accounts?q={account.leaf_vas[0]}")
    assert f">{account.leaf_vas[0]}</a>" in found
    # A VA's page lists what is inside it.
    site = account.va_names[2]
    inside = admin.get(f"{base}/virtual-accounts/{site}")
    assert "Inside " + site in inside and f"{site}-team-" in inside
