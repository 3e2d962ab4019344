"""Finding 14: webhook and syslog targets on loopback or link-local addresses are refused,
when added and when delivered, unless the settings file allows them."""

from __future__ import annotations

import dataclasses

import pytest

from satellite.actor import Actor
from satellite.alerts import channels
from satellite.alerts.senders import DeliveryFailed, Notice, send
from satellite.config import Settings
from satellite.errors import InvalidInput
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database

LOCAL = ["http://127.0.0.1:8080/api/v1/users", "http://localhost/x", "http://[::1]/x",
         "https://169.254.169.254/latest/meta-data", "http://[fe80::1]/x",
         "http://0.0.0.0:22/", "udp://127.0.0.1:514", "udp://169.254.1.1:514"]


@pytest.mark.parametrize("target", LOCAL)
def test_local_targets_are_refused_unless_allowed(db: Database, settings: Settings,
                                                  target: str) -> None:
    kind = "syslog" if target.startswith("udp") else "webhook"
    sealer = TokenSealer.for_data_dir(settings.data_dir)
    with db.uow() as uow, pytest.raises(InvalidInput, match="alert_allow_local_targets"):
        channels.add_channel(uow, Actor("cli", "t"), sealer, None, "probe", kind, target)
    with db.uow() as uow:
        channels.add_channel(uow, Actor("cli", "t"), sealer, None, "probe", kind, target,
                             allow_local=True)


def test_delivery_checks_again(settings: Settings) -> None:
    notice = Notice(satellite_id="s", delivery_id=None, attempt=1, alert_id=1, key="k",
                    kind="sync_overdue", severity="critical", message="m", account=None,
                    raised_at="2026-03-01T00:00:00+00:00")
    with pytest.raises(DeliveryFailed, match="loopback or link-local"):
        send("webhook", "http://127.0.0.1:9/x", None, notice, settings, 0)
    allowed = dataclasses.replace(settings, alert_allow_local_targets=True)
    with pytest.raises(DeliveryFailed, match=r"webhook http://127\.0\.0\.1:9/x"):
        send("webhook", "http://127.0.0.1:9/x", None, notice, allowed, 0)


def test_site_addresses_and_the_local_syslog_socket_are_taken(db: Database,
                                                              settings: Settings) -> None:
    sealer = TokenSealer.for_data_dir(settings.data_dir)
    with db.uow() as uow:
        channels.add_channel(uow, Actor("cli", "t"), sealer, None, "siem", "syslog",
                             "udp://10.1.2.3:514")
        channels.add_channel(uow, Actor("cli", "t"), sealer, None, "hook", "webhook",
                             "https://192.0.2.10/hooks")
        channels.add_channel(uow, Actor("cli", "t"), sealer, None, "local", "syslog", "/dev/log")
