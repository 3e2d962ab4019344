"""The appliance's effective settings as an administrator may read them: value, where it came
from, and how to change it. Secrets (passwords inside URLs, the key passphrase) never appear."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.orm import Session

from satellite.actor import Actor
from satellite.central_settings import KEYS, STATE_PREFIX
from satellite.config import ENV_PREFIX, Settings
from satellite.permissions.policy import require
from satellite.state import get_state

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Devices", ("device_url", "authorization_valid_days", "authorization_renew_days",
                 "certificate_days", "certificate_renew_days", "message_max_age_seconds",
                 "device_reregister_scope")),
    ("Central and sync", ("central_url", "proxy_url", "sync_interval_hours", "sync_overdue_days",
                          "sync_retry_seconds", "sync_alert_failures", "expiry_notice_days")),
    ("Server", ("host", "port", "threads", "trusted_proxy", "metrics_allowed_networks",
                "log_level", "log_json", "max_upload_mb")),
    ("Web UI", ("session_idle_minutes", "session_absolute_hours", "secure_cookies")),
    ("Alert delivery", ("alert_smtp_host", "alert_smtp_port", "alert_smtp_starttls",
                        "alert_smtp_ca_file", "alert_smtp_username", "alert_smtp_password_file",
                        "alert_smtp_from", "alert_retry_seconds", "alert_max_attempts",
                        "alert_timeout_seconds", "alert_allow_local_targets")),
    ("Storage", ("data_dir", "database_url", "key_passphrase_file", "usage_history_days")),
    ("Backups", ("backup_dir", "backup_interval_hours", "backup_keep", "backup_passphrase_file")),
    ("Scheduled jobs", ("job_intervals",)),
)
DESCRIPTIONS = {
    "device_url": "the URL devices are configured with; TLS certificates must cover its host",
    "authorization_valid_days": "how long a device's authorization lasts without contact",
    "authorization_renew_days": "devices renew their authorization after this many days",
    "certificate_days": "lifetime of the ID certificates issued to devices",
    "certificate_renew_days": "devices renew their ID certificate after this many days",
    "message_max_age_seconds": "accepted clock skew of signed device messages",
    "central_url": "Central's address for network sync (empty: files carried by hand)",
    "proxy_url": "HTTP(S) proxy for reaching Central",
    "sync_interval_hours": "hours between network syncs",
    "sync_overdue_days": "alert when no sync has succeeded for this many days",
    "expiry_notice_days": "announce licenses ending within this many days (alerts, dashboard)",
    "sync_retry_seconds": "first retry after a failed network sync (doubled per failure)",
    "sync_alert_failures": "failed network syncs in a row before the unreachable alert",
    "host": "address the server listens on (satellite serve --host overrides it)",
    "port": "port the server listens on (satellite serve --port overrides it)",
    "threads": "worker threads of the web server",
    "trusted_proxy": "reverse proxy whose X-Forwarded-* headers are believed",
    "metrics_allowed_networks": "who may read /metrics",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "log_json": "write logs as JSON lines",
    "max_upload_mb": "largest upload (sync files, usage files) and response from Central, MiB",
    "session_idle_minutes": "web sessions end after this many minutes without a request",
    "secure_cookies": "send the session cookie over HTTPS only",
    "session_absolute_hours": "web sessions end this many hours after sign-in, however active",
    "device_reregister_scope": "whose registration token may re-register a registered device: "
                               "va (its own VA) or account (any VA of its account)",
    "alert_allow_local_targets": "alert webhooks and syslog may point at loopback and "
                                 "link-local addresses",
    "data_dir": "where the database, keys and uploads live",
    "database_url": "empty: the embedded SQLite database in the data directory",
    "key_passphrase_file": "file holding the passphrase that encrypts private keys",
    "usage_history_days": "days of consumption history kept for the dashboard chart",
    "alert_smtp_host": "the site's SMTP relay for email alerts (empty: email cannot deliver)",
    "alert_smtp_port": "port of the SMTP relay",
    "alert_smtp_starttls": "use STARTTLS with the relay",
    "alert_smtp_ca_file": "CA file trusted for the relay's certificate (empty: the system's)",
    "alert_smtp_username": "user name at the relay",
    "alert_smtp_password_file": "file holding the relay password (the password is not shown)",
    "alert_smtp_from": "sender address of alert email",
    "alert_retry_seconds": "first retry of a failed alert delivery (doubled per failure)",
    "alert_max_attempts": "attempts before an alert delivery is marked failed",
    "alert_timeout_seconds": "time allowed for one delivery attempt",
    "backup_dir": "where scheduled backups are written (empty: no scheduled backups)",
    "backup_interval_hours": "hours between scheduled backups",
    "backup_keep": "scheduled backups kept; older ones are deleted",
    "backup_passphrase_file": "file holding the backup passphrase (the passphrase is not shown)",
    "job_intervals": "scheduled jobs run at other intervals than their own (JOB=SECONDS,...)",
}


@dataclass(frozen=True)
class SettingRow:
    name: str
    value: str
    source: str
    description: str
    env_name: str


def _masked(value: str) -> str:
    """A URL without the password of its user part."""
    parts = urlsplit(value)
    if parts.password is None:
        return value
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _shown(name: str, settings: Settings) -> str:
    value = settings.effective_database_url if name == "database_url" \
        else getattr(settings, name)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return _masked(text) if name.endswith("_url") else text


def effective_settings(session: Session, actor: Actor,
                       settings: Settings) -> list[tuple[str, list[SettingRow]]]:
    """Every setting by group, with its source; values Central's policy sets say so."""
    require(session, actor, "settings.view")
    groups = []
    for title, names in GROUPS:
        rows = []
        for name in names:
            value = _shown(name, settings)
            source = settings.sources.get(name, "default")
            if name in KEYS:
                policy = get_state(session, STATE_PREFIX + name)
                if policy is not None:
                    source = f"Central's policy (the local value {value} from {source} is not used)"
                    value = policy
            rows.append(SettingRow(name, value, source, DESCRIPTIONS.get(name, ""),
                                   ENV_PREFIX + name.upper()))
        groups.append((title, rows))
    return groups

