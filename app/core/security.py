"""Request-level protections: CSRF for everything but bearer-token API calls, bearer-token
sign-in, and the security headers every response carries."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, request
from werkzeug.wrappers import Response

from app.extensions import csrf

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def safe_next_url(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return None
    return target


def bearer_token_from_request() -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or ""


def authenticate_bearer_token() -> None:
    """On API paths, a bearer token replaces the session; a bad token is a 401 at once."""
    if not request.path.startswith("/api/"):
        return
    raw = bearer_token_from_request()
    if raw is None:
        return
    from app.auth.operations import find_usable_token

    token = find_usable_token(raw)
    if token is None:
        abort(401)
    g.api_token = token
    # Flask-Login keeps the request's user in g._login_user; setting it here signs the
    # request in for this request only, without touching the session cookie.
    g._login_user = token.user


def check_csrf() -> None:
    """Every unsafe request carries a CSRF token, except API calls signed with a bearer
    token or asking for one (those cannot be forged by a browser on another site)."""
    if request.method in SAFE_METHODS or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if g.get("api_token") is not None:
        return
    if request.path == "/api/v1/auth/token" and request.method == "POST":
        return
    csrf.protect()


def add_security_headers(response: Response) -> Response:
    """CSP, nosniff, no framing, no referrer leakage; HSTS in production."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config.get("HSTS_SECONDS"):
        headers.setdefault(
            "Strict-Transport-Security",
            f"max-age={current_app.config['HSTS_SECONDS']}; includeSubDomains",
        )
    if request.path.startswith("/api/") or getattr(g, "no_store", False):
        headers.setdefault("Cache-Control", "no-store")
    return response


def register_security(app: Flask) -> None:
    """Install the bearer sign-in, the CSRF check and the headers, in that order."""
    app.before_request(authenticate_bearer_token)
    app.before_request(check_csrf)
    app.after_request(add_security_headers)
