"""Each list page offers its rows as CSV and JSON downloads with its filters; the audit log
page searches by user, action, target text and days."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from satellite.actor import Actor
from satellite.audit.service import record
from satellite.clock import FixedClock
from satellite.uow import Database
from tests.web.ui.conftest import Browser

ACME = "acme.example.com"


def test_each_list_page_links_its_downloads_with_its_filters(admin: Browser) -> None:
    html = admin.get(f"/a/{ACME}/devices?status=Authorized&q=sw&tag=rack-4+core")
    assert f"/a/{ACME}/export/product-instances.csv?" in html
    assert "status=Authorized" in html and "q=sw" in html
    assert "tag=rack-4+core" in html.split("export/product-instances.csv?")[1].split('"')[0]
    licenses = admin.get(f"/a/{ACME}/licenses?tag=edge")
    assert f"/a/{ACME}/export/licenses.json" in licenses
    assert "tag=edge" in licenses.split("export/licenses.json?")[1].split('"')[0]
    assert f"/a/{ACME}/export/alerts.csv" in admin.get(f"/a/{ACME}/alerts")
    reservations = admin.get(f"/a/{ACME}/reservations?tag=ship-7")
    assert "tag=ship-7" in reservations.split("export/reservations.csv?")[1].split('"')[0]


def test_downloads_are_attachments_in_the_asked_format(admin: Browser, db: Database) -> None:
    with db.uow() as uow:
        record(uow, Actor("user", "admin"), "license.transfer", "=cmd|' /C calc'!A0")
        uow.commit()
    answer = admin.client.get("/audit/export.csv?action=license.")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [r["target"] for r in rows] == ["'=cmd|' /C calc'!A0"]
    answer = admin.client.get(f"/a/{ACME}/export/product-instances.json")
    assert answer.status_code == 200 and answer.json == {"product-instances": []}
    assert admin.client.get(f"/a/{ACME}/export/licenses.xls").status_code == 400
    assert admin.client.get(f"/a/{ACME}/export/secrets.csv").status_code == 400
    assert admin.client.get("/a/nowhere.example.com/export/licenses.csv").status_code == 404


def test_the_audit_log_searches_by_user_action_target_and_days(
        admin: Browser, db: Database, clock: FixedClock) -> None:
    now = clock.now()
    with db.uow() as uow:
        clock.set(now - timedelta(days=3))  # (going forward would end the signed-in session)
        record(uow, Actor("user", "alice"), "license.transfer", "Lab to Plant")
        clock.set(now)
        record(uow, Actor("user", "bob"), "device.remove", "PID:X,SN:9")
        uow.commit()
    html = admin.get("/audit?user=alice")
    assert "Lab to Plant" in html and "PID:X,SN:9" not in html
    html = admin.get("/audit?q=pid:x")
    assert "PID:X,SN:9" in html and "Lab to Plant" not in html
    day = clock.now().date()
    html = admin.get(f"/audit?until={(day - timedelta(days=1)).isoformat()}&action=license")
    assert "Lab to Plant" in html and "PID:X,SN:9" not in html
    assert 'value="license"' in html  # the form keeps what was asked
    assert "/audit/export.csv?" in html and "action=license" in html
    admin.get("/audit?since=tomorrow", status=400)
    exported = admin.client.get("/audit/export.json?user=bob").get_data(as_text=True)
    assert [e["target"] for e in json.loads(exported)["audit-log"]] == ["PID:X,SN:9"]
