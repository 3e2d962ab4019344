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

# Blueprints authenticated per request by a bearer token or a device signature.
CSRF_EXEMPT_BLUEPRINTS = frozenset({"api", "api_access", "api_accounts", "oauth", "device_api"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SESSION_COOKIE = "satellite_session"
# Inline scripts and styles are refused: everything comes from /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
# A signed-in session ends after this long, however active it is.
ABSOLUTE_LIFETIME = timedelta(hours=12)


def init_app(app: Flask, settings: Settings, secret: bytes) -> None:
    app.secret_key = secret
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=ABSOLUTE_LIFETIME,
        SATELLITE_IDLE_TIMEOUT=timedelta(minutes=settings.session_idle_minutes),
        # Checked in _csrf below, so that exempt blueprints can be named before they exist.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session it belongs to
        WTF_CSRF_SSL_STRICT=settings.secure_cookies,
        MAX_CONTENT_LENGTH=256 * 1024 * 1024,
    )
    csrf = CSRFProtect(app)

    @app.before_request
    def _csrf() -> None:
        if request.method in STATE_CHANGING and request.blueprint not in CSRF_EXEMPT_BLUEPRINTS:
            csrf.protect()

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if response.mimetype == "text/html":
            # Pages show account data: never keep them in a shared or back-button cache.
            headers.setdefault("Cache-Control", "no-store")
        return response
