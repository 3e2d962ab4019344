"""Settings: built-in defaults < TOML file (--config / SATELLITE_CONFIG) < SATELLITE_* environment.

Validated once at start: an unknown key or a bad value raises ConfigError naming the key.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from satellite.errors import ConfigError

ENV_PREFIX = "SATELLITE_"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    # Empty means the embedded SQLite database under the data dir.
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    threads: int = 8
    # The base URL devices are configured with; TLS certificates must cover its host.
    device_url: str = "http://127.0.0.1:8080"
    log_level: str = "INFO"
    log_json: bool = False
    # File holding the passphrase that encrypts private keys at rest (else SATELLITE_KEY_PASSPHRASE,
    # else keys are stored unencrypted with 0600 permissions).
    key_passphrase_file: str = ""
    authorization_valid_days: int = 90
    authorization_renew_days: int = 30
    certificate_days: int = 365
    certificate_renew_days: int = 180
    # Accepted clock skew for signed device messages.
    message_max_age_seconds: int = 300
    central_url: str = ""
    sync_interval_hours: float = 8.0
    sync_overdue_days: int = 30
    # Licenses ending within this many days are announced (alert, dashboard), at 30/60/90 steps.
    expiry_notice_days: int = 90
    # First retry delay after a failed network sync; doubled per failure, capped at the interval.
    sync_retry_seconds: float = 60.0
    # Raise the "Central unreachable" alert after this many failed attempts in a row.
    sync_alert_failures: int = 3
    proxy_url: str = ""
    # Address of the reverse proxy whose X-Forwarded-* headers are believed (empty: none are).
    trusted_proxy: str = ""
    # Web UI: sign out after this many minutes without a request; mark the session cookie
    # Secure (sent over HTTPS only) when operators reach the UI through the TLS proxy.
    session_idle_minutes: int = 30
    # A signed-in session ends this many hours after sign-in, however active it is.
    session_absolute_hours: int = 12
    secure_cookies: bool = False
    # Who may re-register a registered device (replace its key): "va", only a registration
    # token of the device's own VA; "account", a token of any VA of the device's account (the
    # device then moves there). A token of another account never may.
    device_reregister_scope: str = "va"
    # Alert webhooks and syslog servers may point at loopback (127.0.0.0/8, ::1) or link-local
    # (169.254.0.0/16, fe80::/10) addresses only when this is true.
    alert_allow_local_targets: bool = False
    # Who may read GET /metrics: comma-separated networks (default: this machine only).
    metrics_allowed_networks: str = "127.0.0.0/8,::1/128"
    # Days of consumption history kept for the dashboard chart (hourly for the last 8 days,
    # one snapshot a day before that).
    usage_history_days: int = 400
    # Scheduled backups: off while backup_dir is empty. Each is the same encrypted file as
    # `satellite backup`, named satellite-backup-<UTC time>.satbak; the newest backup_keep stay.
    backup_dir: str = ""
    backup_interval_hours: float = 24.0
    backup_keep: int = 7
    # File holding the backup passphrase (the passphrase itself is never a setting).
    backup_passphrase_file: str = ""
    # Scheduled jobs run at other intervals than their own: "age-devices=600,check-alerts=1800"
    # (job name = seconds; the names are on the System page).
    job_intervals: str = ""
    # The site's SMTP relay for email alert channels (empty: email channels cannot deliver).
    alert_smtp_host: str = ""
    alert_smtp_port: int = 25
    alert_smtp_starttls: bool = False
    # Trust this CA file for the relay's STARTTLS certificate (else the system's CAs).
    alert_smtp_ca_file: str = ""
    alert_smtp_username: str = ""
    # File holding the relay password (read at each delivery, never logged).
    alert_smtp_password_file: str = ""
    alert_smtp_from: str = "satellite@localhost"
    # Delivery retries: first after this many seconds, doubled per failure (capped at an hour,
    # with jitter); after alert_max_attempts attempts the delivery is marked failed.
    alert_retry_seconds: float = 30.0
    alert_max_attempts: int = 8
    alert_timeout_seconds: float = 10.0
    # Largest file the web UI and REST API take as an upload (sync bundles, usage files) and
    # largest response from Central `sync import` reads, in MiB (docs/input-limits.md).
    max_upload_mb: int = 64
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # Where each value not left at its default came from: "file PATH", "environment NAME",
    # "command line"; filled by load_settings.
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'satellite.db').resolve()}"


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)
           if f.name not in ("extra", "sources", "data_dir")}


def _coerce(key: str, value: Any, expected: Any) -> Any:
    kind = expected if isinstance(expected, type) else type(expected)
    if kind is bool:
        if isinstance(value, bool):
            return value
        words = ("1", "true", "yes", "on", "0", "false", "no", "off")
        if isinstance(value, str) and value.lower() in words:
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"setting {key}: expected true or false, got {value!r}")
    if kind is int:
        if isinstance(value, bool):
            raise ConfigError(f"setting {key}: expected a whole number, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"setting {key}: expected a whole number, got {value!r}") from None
    if kind is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"setting {key}: expected a number, got {value!r}") from None
    if not isinstance(value, str):
        raise ConfigError(f"setting {key}: expected text, got {value!r}")
    return value


def parse_job_intervals(text: str) -> dict[str, float]:
    """Parse the job_intervals setting. Raises ConfigError naming the bad part."""
    chosen: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        try:
            seconds = float(value) if sep and name.strip() else 0.0
        except ValueError:
            seconds = 0.0
        if not (math.isfinite(seconds) and seconds > 0):
            raise ConfigError(f"setting job_intervals: {part!r} is not JOB=SECONDS "
                              "with a positive number of seconds")
        chosen[name.strip()] = seconds
    return chosen


def _validate(s: Settings) -> None:
    if not 0 < s.port < 65536:
        raise ConfigError(f"setting port: {s.port} is not a TCP port (1-65535)")
    if s.threads < 1:
        raise ConfigError("setting threads: must be at least 1")
    if s.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(
            f"setting log_level: {s.log_level!r} is not DEBUG, INFO, WARNING or ERROR")
    for key in ("device_url", "central_url", "proxy_url"):
        value = getattr(s, key)
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise ConfigError(f"setting {key}: {value!r} is not an http(s) URL")
    if s.database_url and not s.database_url.startswith(("sqlite", "postgresql")):
        raise ConfigError(
            f"setting database_url: {s.database_url!r} is neither sqlite nor postgresql")
    for key in ("authorization_valid_days", "authorization_renew_days", "certificate_days",
                "certificate_renew_days", "message_max_age_seconds", "sync_overdue_days",
                "expiry_notice_days",
                "sync_alert_failures", "session_idle_minutes", "session_absolute_hours",
                "alert_max_attempts", "usage_history_days", "max_upload_mb"):
        if getattr(s, key) < 1:
            raise ConfigError(f"setting {key}: must be at least 1")
    if s.authorization_renew_days >= s.authorization_valid_days:
        raise ConfigError(
            "setting authorization_renew_days: must be less than authorization_valid_days")
    if s.certificate_renew_days >= s.certificate_days:
        raise ConfigError("setting certificate_renew_days: must be less than certificate_days")
    for network in filter(None, (n.strip() for n in s.metrics_allowed_networks.split(","))):
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(f"setting metrics_allowed_networks: {network!r} is not a network") from None
    if s.trusted_proxy:
        try:
            ipaddress.ip_address(s.trusted_proxy)
        except ValueError:
            raise ConfigError(f"setting trusted_proxy: {s.trusted_proxy!r} is not an IP address") from None
    parse_job_intervals(s.job_intervals)
    if s.max_upload_mb > 4096:
        raise ConfigError("setting max_upload_mb: must be at most 4096")
    if s.device_reregister_scope not in ("va", "account"):
        raise ConfigError(f"setting device_reregister_scope: {s.device_reregister_scope!r} is "
                          "not 'va' or 'account'")
    if s.sync_interval_hours <= 0:
        raise ConfigError("setting sync_interval_hours: must be positive")
    if s.sync_retry_seconds <= 0:
        raise ConfigError("setting sync_retry_seconds: must be positive")
    if s.backup_interval_hours <= 0:
        raise ConfigError("setting backup_interval_hours: must be positive")
    if s.backup_keep < 1:
        raise ConfigError("setting backup_keep: must be at least 1")
    if s.backup_dir and not s.backup_passphrase_file:
        raise ConfigError("setting backup_passphrase_file: scheduled backups (backup_dir) need "
                          "a file holding the passphrase")
    for key in ("alert_retry_seconds", "alert_timeout_seconds"):
        if getattr(s, key) <= 0:
            raise ConfigError(f"setting {key}: must be positive")
    if not 0 < s.alert_smtp_port < 65536:
        raise ConfigError(f"setting alert_smtp_port: {s.alert_smtp_port} is not a TCP port (1-65535)")


def load_settings(
    data_dir: str | Path | None = None,
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build validated settings. Raises ConfigError naming the first bad key."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    config_file = config_file or env.get(ENV_PREFIX + "CONFIG")
    if config_file:
        path = Path(config_file)
        try:
            with path.open("rb") as fh:
                from_file = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        for key, value in from_file.items():
            sources[key] = f"file {path}"
            if key == "data_dir":
                values["data_dir"] = value
                continue
            if key not in _FIELDS:
                raise ConfigError(f"config file {path}: unknown setting {key!r}")
            values[key] = _coerce(key, value, _FIELDS[key].default)
    for key, spec in _FIELDS.items():
        env_value = env.get(ENV_PREFIX + key.upper())
        if env_value is not None:
            values[key] = _coerce(ENV_PREFIX + key.upper(), env_value, spec.default)
            sources[key] = f"environment {ENV_PREFIX + key.upper()}"
    for key, value in (overrides or {}).items():
        if key not in _FIELDS:
            raise ConfigError(f"unknown setting {key!r}")
        values[key] = _coerce(key, value, _FIELDS[key].default)
        sources[key] = "command line"
    if data_dir:
        sources["data_dir"] = "--data-dir or SATELLITE_DATA_DIR"
    elif env.get(ENV_PREFIX + "DATA_DIR"):
        sources["data_dir"] = f"environment {ENV_PREFIX}DATA_DIR"
    chosen_dir = data_dir or env.get(ENV_PREFIX + "DATA_DIR") or values.get("data_dir") or "var"
    # Absolute from here on: Flask's send_file (and anything else) reads a relative path against
    # its own root, not the directory the server was started in.
    values["data_dir"] = Path(chosen_dir).absolute()
    settings = Settings(**values, sources=sources)
    _validate(settings)
    return settings
