"""Alert delivery through real local receivers: an SMTP relay, an HTTP collector, syslog."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from satellite.actor import Actor
from satellite.alerts import channels
from satellite.alerts.delivery import deliver_due, send_test
from satellite.alerts.models import CENTRAL_UNREACHABLE, POOL_SHORT, AlertDelivery
from satellite.alerts.senders import DeliveryFailed
from satellite.alerts.service import clear_alert, raise_alert
from satellite.audit.service import list_events, verify
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.errors import InvalidInput
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from satellite.web import create_app
from tests.alerts.sinks import free_port, http_sink, smtp_sink, udp_sink

KEY = "out_of_compliance:7:regid.2024-01.com.example.router-advantage"
SECRET = "webhook-signing-key-0123456789"


def _channel(db: Database, settings: Settings, account: str | None, name: str, kind: str,
             target: str, **options: object) -> channels.ChannelView:
    with db.uow() as uow:
        view = channels.add_channel(uow, Actor("cli", "tester"),
                                    TokenSealer.for_data_dir(settings.data_dir), account, name,
                                    kind, target, allow_local=True,
                                    **options)  # type: ignore[arg-type]
        uow.commit()
        return view


def _raise(db: Database, account_id: int | None, key: str = KEY, kind: str = POOL_SHORT,
           message: str = "router-advantage in acme.example.com/Default is Out Of Compliance"
           ) -> None:
    with db.uow() as uow:
        raise_alert(uow.session, key, kind, message, uow.clock.now(), account_id)
        uow.commit()


def _deliveries(db: Database) -> list[AlertDelivery]:
    with db.reader() as uow:
        rows = list(uow.session.query(AlertDelivery).order_by(AlertDelivery.id))
        uow.session.expunge_all()
        return rows


def _actions(db: Database, prefix: str) -> list[dict[str, object]]:
    with db.reader() as uow:
        return [json.loads(e.details) | {"target": e.target, "account_id": e.account_id}
                for e in reversed(list_events(uow.session, action=prefix))]


def test_webhook_is_retried_with_backoff_then_delivered_signed(
        db: Database, settings: Settings, clock: FixedClock, acme: int,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with http_sink(statuses=[500]) as sink:
        _channel(db, settings, "acme.example.com", "collector", "webhook", sink.url,
                 secret=SECRET)
        _raise(db, acme)
        [queued] = _deliveries(db)
        assert (queued.state, queued.attempts, queued.next_attempt_at) == ("pending", 0, clock.now())

        # The collector answers 500: the delivery waits retry_seconds * [0.5, 1) (here 15 s).
        assert deliver_due(db, settings, rng=lambda: 0.0).retrying == 1
        [row] = _deliveries(db)
        assert (row.state, row.attempts) == ("pending", 1)
        assert row.last_error == f"webhook {sink.url} answered HTTP 500"
        assert row.next_attempt_at == clock.now() + timedelta(seconds=15)
        assert deliver_due(db, settings, rng=lambda: 0.0).retrying == 0
        assert len(sink.requests) == 1

        clock.advance(timedelta(seconds=15))
        assert deliver_due(db, settings, rng=lambda: 0.0).sent == 1
        assert deliver_due(db, settings).sent == 0
    [row] = _deliveries(db)
    assert (row.state, row.attempts, row.last_error) == ("sent", 2, "")

    first, second = sink.requests
    assert second.path == "/hooks/satellite"
    payload = second.json()
    assert payload["alert"] == {
        "id": payload["alert"]["id"], "key": KEY, "kind": "out_of_compliance",
        "severity": "warning", "account": "acme.example.com",
        "message": "router-advantage in acme.example.com/Default is Out Of Compliance",
        "raised_at": "2026-03-01T12:00:00+00:00"}
    assert (first.json()["attempt"], payload["attempt"]) == (1, 2)
    assert first.headers["X-Satellite-Delivery"] == second.headers["X-Satellite-Delivery"] \
        == str(row.id) == str(payload["delivery_id"])
    stamp = second.headers["X-Satellite-Timestamp"]
    assert stamp == str(int(clock.now().timestamp()))
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + second.body, hashlib.sha256)
    assert second.headers["X-Satellite-Signature"] == "sha256=" + expected.hexdigest()

    [event] = _actions(db, "alert.delivered")
    assert event["target"] == "alert-channel:collector" and event["account_id"] == acme
    assert event["attempts"] == 2 and event["alert_key"] == KEY
    assert "delivery 1 to channel collector failed (attempt 1" in caplog.text
    assert SECRET not in caplog.text
    with db.reader() as uow:
        assert SECRET not in json.dumps([e.details for e in list_events(uow.session)])
        assert verify(uow.session).ok


def test_a_delivery_that_keeps_failing_is_marked_failed_audited_counted_and_retryable(
        db: Database, settings: Settings, clock: FixedClock, acme: int) -> None:
    settings = dataclasses.replace(settings, alert_max_attempts=3)
    dead = f"http://127.0.0.1:{free_port()}/hook"
    _channel(db, settings, "acme.example.com", "dead", "webhook", dead)
    _raise(db, acme)
    outcomes = []
    for _ in range(3):
        run = deliver_due(db, settings, rng=lambda: 0.999)
        outcomes.append((run.sent, run.retrying, run.failed))
        clock.advance(timedelta(hours=1))
    assert outcomes == [(0, 1, 0), (0, 1, 0), (0, 0, 1)]
    [row] = _deliveries(db)
    assert (row.state, row.attempts) == ("failed", 3)
    assert row.last_error == f"webhook {dead}: ConnectionError"
    [event] = _actions(db, "alert.delivery_failed")
    assert event["attempts"] == 3 and event["error"] == row.last_error

    body = create_app(settings, db).test_client().get(
        "/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True)
    assert 'satellite_alert_deliveries{state="failed"} 1.0' in body
    assert 'satellite_alert_deliveries{state="pending"} 0.0' in body

    with db.reader() as uow:
        [view] = channels.list_deliveries(uow.session, Actor.local_operator(),
                                          "acme.example.com", state="failed")
    assert view.channel == "dead" and view.attempts == 3
    with db.uow() as uow:
        channels.retry_delivery(uow, Actor.local_operator(), row.id)
        uow.commit()
    assert [(r.state, r.attempts) for r in _deliveries(db)] == [("pending", 0)]
    assert len(_actions(db, "alert.delivery_retry")) == 1


def test_email_reaches_the_relay_with_subject_and_body(
        db: Database, settings: Settings, acme: int) -> None:
    with smtp_sink() as relay:
        settings = dataclasses.replace(settings, alert_smtp_host="127.0.0.1",
                                       alert_smtp_port=relay.port,
                                       alert_smtp_from="satellite@plant.example")
        _channel(db, settings, "acme.example.com", "ops", "email",
                 "ops@plant.example, Night Shift <night@plant.example>")
        _raise(db, acme)
        assert deliver_due(db, settings).sent == 1
    [mail] = relay.mails
    assert mail.sender == "satellite@plant.example"
    assert mail.recipients == ["ops@plant.example", "night@plant.example"]
    assert mail.message["Subject"] == (
        "[Satellite warning] out_of_compliance (acme.example.com): router-advantage in "
        "acme.example.com/Default is Out Of Compliance")
    body = mail.message.get_payload(decode=True).decode()
    assert "Severity:  warning" in body and f"Alert key: {KEY}" in body
    assert "Delivery:  1 (attempt 1)" in body


def test_email_over_starttls_logs_in_and_never_logs_the_password(
        db: Database, settings: Settings, acme: int, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    password = "relay-password-never-logged"
    (tmp_path / "smtp.pw").write_text(password + "\n")
    with smtp_sink(cert_dir=tmp_path, user="satellite", password=password) as relay:
        settings = dataclasses.replace(
            settings, alert_smtp_host="127.0.0.1", alert_smtp_port=relay.port,
            alert_smtp_starttls=True, alert_smtp_ca_file=str(tmp_path / "relay.crt"),
            alert_smtp_username="satellite", alert_smtp_password_file=str(tmp_path / "smtp.pw"))
        _channel(db, settings, None, "noc", "email", "noc@plant.example", min_severity="info")
        send_test(db, settings, Actor("cli", "tester"), None, "noc")
        [mail] = relay.mails
        assert mail.authenticated_as == "satellite"
        assert mail.message["Subject"].startswith("[Satellite info] test (appliance):")

        (tmp_path / "smtp.pw").write_text("wrong-password-also-secret\n")
        with pytest.raises(DeliveryFailed) as refused:
            send_test(db, settings, Actor("cli", "tester"), None, "noc")
    assert str(refused.value).startswith(
        f"alert channel 'noc': SMTP relay 127.0.0.1:{relay.port} answered 535")
    assert relay.logins[-1] == ("satellite", "wrong-password-also-secret")
    tests = _actions(db, "alert.channel_test")
    assert [t["ok"] for t in tests] == [True, False]
    logged = caplog.text + json.dumps(tests)
    assert password not in logged and "wrong-password-also-secret" not in logged


def test_syslog_over_udp_carries_facility_severity_and_message(
        db: Database, settings: Settings, acme: int) -> None:
    with udp_sink() as sock:
        port = sock.getsockname()[1]
        _channel(db, settings, None, "siem", "syslog",
                 f"udp://127.0.0.1:{port}?facility=local0", min_severity="info")
        _raise(db, None, CENTRAL_UNREACHABLE, CENTRAL_UNREACHABLE,
               "Central could not be reached in the last 3 attempts: timeout")
        assert deliver_due(db, settings).sent == 1
        datagram = sock.recv(4096).decode()
    # local0 (16) * 8 + warning (4)
    assert datagram.startswith("<132>satellite: [warning] central_unreachable appliance: "
                               "Central could not be reached in the last 3 attempts: timeout")


def test_a_repeat_within_the_window_is_counted_not_sent(
        db: Database, settings: Settings, clock: FixedClock, acme: int) -> None:
    with http_sink() as sink:
        _channel(db, settings, "acme.example.com", "hook", "webhook", sink.url, dedupe_hours=6)
        _raise(db, acme)
        deliver_due(db, settings)
        clock.advance(timedelta(hours=1))
        _raise(db, acme, message="still Out Of Compliance")  # refreshed while open
        with db.uow() as uow:
            clear_alert(uow.session, KEY, clock.now())
            uow.commit()
        clock.advance(timedelta(hours=1))
        _raise(db, acme)  # cleared, then back within the window
        assert deliver_due(db, settings).sent == 0
        assert [(r.state, r.repeats) for r in _deliveries(db)] == [("sent", 2)]

        clock.advance(timedelta(hours=4, seconds=1))
        _raise(db, acme, message="Out Of Compliance for six hours")  # past the window
        assert deliver_due(db, settings).sent == 1
    assert [r.json()["alert"]["message"] for r in sink.requests][-1] == \
        "Out Of Compliance for six hours"
    assert len(sink.requests) == 2


def test_channels_take_their_account_and_severity_only(
        db: Database, settings: Settings, acme: int, actor: Actor) -> None:
    from satellite.accounts import service

    with db.uow() as uow:
        other = service.create_account(uow, actor, "Other", "other.example.com").id
        uow.commit()
    url = "http://127.0.0.1:9/unused"
    _channel(db, settings, "acme.example.com", "acme-warn", "webhook", url)
    _channel(db, settings, "acme.example.com", "acme-critical", "webhook", url,
             min_severity="critical")
    _channel(db, settings, "other.example.com", "other", "webhook", url, min_severity="info")
    _channel(db, settings, None, "everything", "webhook", url, min_severity="info")
    _raise(db, acme)
    _raise(db, other, key="expiring", kind="entitlement_expiring", message="expires soon")
    _raise(db, None, key="sync_overdue", kind="sync_overdue", message="no sync for 31 days")
    with db.reader() as uow:
        names = {c.id: c.name for c in channels.list_channels(
            uow.session, Actor.local_operator(), None)}
    got = sorted((r.alert_key, names[r.channel_id]) for r in _deliveries(db))
    assert got == sorted([(KEY, "acme-warn"), (KEY, "everything"), ("expiring", "everything"),
                          ("expiring", "other"), ("sync_overdue", "everything")])


def test_queueing_is_part_of_the_transaction_that_raises(
        db: Database, settings: Settings, acme: int) -> None:
    _channel(db, settings, "acme.example.com", "hook", "webhook", "http://127.0.0.1:9/x")
    with db.uow() as uow:
        raise_alert(uow.session, KEY, POOL_SHORT, "m", uow.clock.now(), acme)
        assert uow.session.query(AlertDelivery).count() == 1
        # no commit: the raising rolls back, and so does its delivery
    assert _deliveries(db) == []


@pytest.mark.parametrize(("kind", "target", "problem"), [
    ("email", "not-an-address", "is not a comma-separated list of addresses"),
    ("email", "a@b.example\r\nBcc: x@y.example", "must be one line"),
    ("webhook", "ftp://collector/x", "is not an http(s) URL"),
    ("syslog", "tcp://siem:514", "is neither udp://HOST:PORT nor a socket path"),
    ("syslog", "udp://siem:514?facility=bogus", "facility 'bogus' is unknown"),
    ("pager", "x", "unknown channel kind"),
])
def test_bad_targets_are_refused_with_the_reason(db: Database, settings: Settings, acme: int,
                                                 kind: str, target: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem.replace("(", r"\(").replace(")", r"\)")):
        _channel(db, settings, "acme.example.com", "bad", kind, target)
    with db.reader() as uow:
        assert channels.list_channels(uow.session, Actor.local_operator(), None) == []


@pytest.mark.sqlite_only
def test_syslog_to_a_local_socket_and_a_missing_one(
        db: Database, settings: Settings, acme: int, tmp_path: Path) -> None:
    import socket

    path = tmp_path / "log"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(10)
        _channel(db, settings, "acme.example.com", "local", "syslog", str(path))
        send_test(db, settings, Actor("cli", "tester"), "acme.example.com", "local")
        # user (1) * 8 + info (6): a test comes at the channel's floor, info by default
        assert sock.recv(4096).decode().startswith(
            "<14>satellite: [info] test acme.example.com: Test of alert channel 'local'")
    _channel(db, settings, "acme.example.com", "gone", "syslog", str(tmp_path / "nothing"))
    with pytest.raises(DeliveryFailed, match=r"syslog .*/nothing: No such file or directory"):
        send_test(db, settings, Actor("cli", "tester"), "acme.example.com", "gone")


def test_the_scheduler_runs_the_delivery_job(db: Database, settings: Settings, acme: int) -> None:
    from satellite.scheduler import all_jobs, job_runs, run_job

    [job] = [j for j in all_jobs(settings) if j.name == "deliver-alerts"]
    with http_sink() as sink:
        _channel(db, settings, "acme.example.com", "hook", "webhook", sink.url)
        _raise(db, acme)
        run_job(job, db, settings)
    assert len(sink.requests) == 1 and "X-Satellite-Signature" in sink.requests[0].headers
    assert [(r.name, r.last_outcome) for r in job_runs(db)] == [("deliver-alerts", "ok")]
