"""Browser-facing protections shared by every page: cookies, CSRF, security headers.

The REST API (bearer tokens) and the device protocol (signed messages) carry no cookies, so
their blueprints are exempt from CSRF checks by name; every other state-changing request must
carry the token of the session that rendered its form.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFProtect

from satellite.config import Settings
from satellite.web.http import ON_PREM_SUFFIX

# Blueprints authenticated per request by a bearer token or a device signature.
# Callers of these authenticate every request themselves (bearer tokens, device signatures) and
# never with the session cookie, so a forged cross-site request carries nothing to ride on.
CSRF_EXEMPT_BLUEPRINTS = frozenset({"oauth", "oauth" + ON_PREM_SUFFIX, "device_api"})
CSRF_EXEMPT_PREFIX = "api_"


def csrf_exempt(blueprint: str | None) -> bool:
    return blueprint is not None and (blueprint in CSRF_EXEMPT_BLUEPRINTS
                                      or blueprint.startswith(CSRF_EXEMPT_PREFIX))
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SESSION_COOKIE = "satellite_session"
# Inline scripts and styles are refused: everything comes from /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def security_headers(mimetype: str | None) -> tuple[tuple[str, str], ...]:
    """The headers every answer carries (unless it set its own)."""
    if mimetype == "text/html":
        # Pages show account data: never keep them in a shared or back-button cache.
        return (*SECURITY_HEADERS, ("Cache-Control", "no-store"))
    return SECURITY_HEADERS


def init_app(app: Flask, settings: Settings, secret: bytes) -> None:
    app.secret_key = secret
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        # A signed-in session ends this long after sign-in, however active (users.sessions).
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_absolute_hours),
        SESSION_REFRESH_EACH_REQUEST=False,
        SATELLITE_IDLE_TIMEOUT=timedelta(minutes=settings.session_idle_minutes),
        # Checked in _csrf below, so that exempt blueprints can be named before they exist.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session it belongs to
        WTF_CSRF_SSL_STRICT=settings.secure_cookies,
        # Per-route limits are enforced before this (bodylimits.py); this is the backstop.
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024,
    )
    csrf = CSRFProtect(app)

    @app.before_request
    def _csrf() -> None:
        if request.method in STATE_CHANGING and not csrf_exempt(request.blueprint):
            csrf.protect()

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        for name, value in security_headers(response.mimetype):
            headers.setdefault(name, value)
        return response
