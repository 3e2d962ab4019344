"""`satellite alert channel ...`, `satellite alert deliveries|deliver|retry` end to end in-process."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from satellite.alerts.service import raise_alert
from satellite.uow import Database
from tests.alerts.sinks import free_port, http_sink
from tests.conftest import CliResult

ACME = "acme.example.com"


def _raise(db: Database) -> None:
    with db.uow() as uow:
        acme = uow.session.execute(
            text("SELECT id FROM accounts WHERE domain = :d"),
            {"d": ACME}).scalar_one()
        raise_alert(uow.session, "out_of_compliance:1:tag", "out_of_compliance",
                    "tag in acme.example.com/Default is Out Of Compliance", uow.clock.now(), acme)
        uow.commit()


def test_channel_lifecycle_and_a_signed_test_alert(cli: Callable[..., CliResult],
                                                   db: Database) -> None:
    assert cli("account", "create", "Acme", "--domain", ACME).code == 0
    with http_sink(statuses=[200, 503]) as sink:
        added = cli("alert", "channel", "add", "collector", "--kind", "webhook",
                    "--target", sink.url, "--account", ACME, "--min-severity", "info")
        assert added.code == 0, added.err
        assert added.out.startswith(f"added webhook channel 'collector' for {ACME}: {sink.url}")
        key = added.out.split("webhook signing key (shown once): ")[1].strip()
        assert len(key) >= 32

        listed = cli("alert", "channel", "list", "--json")
        [channel] = json.loads(listed.out)["channels"]
        assert channel["account"] == ACME and channel["signed"] is True
        assert channel["min_severity"] == "info" and channel["dedupe_hours"] == 24
        assert key not in listed.out + cli("alert", "channel", "list").out

        tested = cli("alert", "channel", "test", "collector", "--account", ACME)
        assert (tested.code, tested.out) == (0, "test alert sent through channel 'collector'\n")
        [request] = sink.requests
        stamp = request.headers["X-Satellite-Timestamp"].encode()
        mac = hmac.new(key.encode(), stamp + b"." + request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Satellite-Signature"] == f"sha256={mac}"
        assert request.json()["alert"]["kind"] == "test"

        failed = cli("alert", "channel", "test", "collector", "--account", ACME)
        assert failed.code == 1 and failed.err == (
            f"satellite: error: alert channel 'collector': webhook {sink.url} answered HTTP 503\n")

    audit = cli("audit", "list", "--json")
    actions = [e["action"] for e in json.loads(audit.out)["events"]]
    assert actions.count("alert.channel_test") == 2 and "alert.channel_add" in actions
    assert key not in audit.out

    taken = cli("alert", "channel", "add", "collector", "--kind", "syslog", "--target",
                "/dev/log", "--account", ACME)
    assert taken.code == 4 and taken.err.count("\n") == 1 and "exists already" in taken.err
    assert cli("alert", "channel", "remove", "collector", "--account", ACME).code == 0
    assert cli("alert", "channel", "list").out == "no alert channels\n"
    gone = cli("alert", "channel", "test", "collector", "--account", ACME)
    assert gone.code == 3 and gone.err == (
        f"satellite: error: no alert channel 'collector' for account {ACME}\n")


def test_bad_input_is_one_line_on_stderr(cli: Callable[..., CliResult], db: Database,
                                         tmp_path: Path) -> None:
    assert cli("account", "create", "Acme", "--domain", ACME).code == 0
    bad_url = cli("alert", "channel", "add", "x", "--kind", "webhook", "--target", "ftp://x/y")
    assert bad_url.code == 2 and bad_url.err == (
        "satellite: error: webhook target 'ftp://x/y' is not an http(s) URL\n")
    short = tmp_path / "short"
    short.write_text("too-short\n")
    weak = cli("alert", "channel", "add", "x", "--kind", "webhook", "--target", "http://h/",
               "--secret-file", str(short))
    assert weak.code == 2 and "at least 16 characters" in weak.err
    missing = cli("alert", "channel", "add", "x", "--kind", "webhook", "--target", "http://h/",
                  "--secret-file", str(tmp_path / "nope"))
    assert missing.code == 2 and missing.err.startswith("satellite: error: cannot read")
    unknown = cli("alert", "channel", "add", "x", "--kind", "email", "--target", "a@b.example",
                  "--account", "nowhere.example.com")
    assert unknown.code == 3 and unknown.err.count("\n") == 1
    assert cli("alert", "retry", "42").code == 3
    assert cli("alert", "channel", "list").out == "no alert channels\n"


def test_only_account_admins_manage_an_accounts_channels(cli: Callable[..., CliResult],
                                                         db: Database) -> None:
    assert cli("account", "create", "Acme", "--domain", ACME).code == 0
    assert cli("user", "create", "ann").code == 0
    assert cli("user", "create", "bob").code == 0
    assert cli("user", "grant", "ann", "account_admin", "--account", "Acme").code == 0
    assert cli("user", "grant", "bob", "account_user", "--account", "Acme").code == 0
    add = ("alert", "channel", "add", "ops", "--kind", "email", "--target", "ops@acme.example")
    assert cli("--as-user", "ann", *add, "--account", ACME).code == 0
    refused = cli("--as-user", "bob", *add, "--account", ACME)
    assert refused.code == 5 and "manage alert delivery channels" in refused.err
    appliance = cli("--as-user", "ann", *add)
    assert appliance.code == 5 and "only a system administrator" in appliance.err
    assert cli("--as-user", "bob", "alert", "deliveries", "--account", ACME).code == 5


def test_deliveries_are_listed_retried_and_delivered_from_the_cli(
        cli: Callable[..., CliResult], db: Database) -> None:
    assert cli("account", "create", "Acme", "--domain", ACME).code == 0
    dead = f"http://127.0.0.1:{free_port()}/hook"
    assert cli("alert", "channel", "add", "hook", "--kind", "webhook", "--target", dead,
               "--account", ACME).code == 0
    _raise(db)
    assert cli("alert", "deliver").out == "sent 0, will retry 1, failed 0\n"
    listed = cli("alert", "deliveries", "--account", ACME)
    assert listed.out.startswith("     1 pending  hook (webhook) warning out_of_compliance:1:tag: "
                                 "1 attempt(s), next attempt ")
    assert f"last error: webhook {dead}: ConnectionError" in listed.out
    [row] = json.loads(cli("alert", "deliveries", "--json").out)["deliveries"]
    assert (row["state"], row["attempts"], row["channel"]) == ("pending", 1, "hook")
    pending = cli("alert", "retry", "1")
    assert pending.code == 4 and "is pending, not failed" in pending.err
    assert cli("alert", "list").out.split("  ", 1)[1].startswith(
        "warning  out_of_compliance: tag in acme.example.com/Default")
