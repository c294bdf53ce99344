"""Request-level protections: CSRF for everything but bearer-token API calls, and the
security headers every response carries."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, g, request
from flask_login import current_user
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
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None  # a header value cannot hold control characters (and urlsplit drops them)
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return None
    return target


def check_csrf() -> None:
    """Every unsafe request carries a CSRF token, except API calls signed with a bearer
    token or asking for one (those cannot be forged by a browser on another site)."""
    if request.method in SAFE_METHODS or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if request.path.startswith("/api/"):
        if g.get("api_token") is not None:
            return  # signed with a bearer token, which a browser never adds by itself
        if request.path == "/api/v1/auth/token" and request.method == "POST":
            return  # asking for a token with a password
        if not current_user.is_authenticated:
            return  # nobody is signed in: the endpoint answers 401, nothing to forge
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
    # Nothing a signed-in person sees may stay in a shared computer's cache after sign-out;
    # static files (same for everyone) stay cacheable.
    # A download (an export of founders, a claim) is personal data too: send_file's own
    # "no-cache" still lets the browser keep the file, so it is replaced. Other responses
    # may choose a private cache themselves (the dashboard's charts: figures, no names).
    is_static = (request.endpoint or "").endswith("static")
    if request.path.startswith("/api/") or (not is_static and current_user.is_authenticated):
        if response.headers.get("Content-Disposition", "").startswith("attachment"):
            headers["Cache-Control"] = "no-store"
        else:
            headers.setdefault("Cache-Control", "no-store")
    return response


def register_security(app: Flask) -> None:
    """Install the CSRF check and the security headers.

    Bearer-token sign-in (app.auth.bearer) is registered before this, so the CSRF check
    knows whether the request is signed with a token.
    """
    app.before_request(check_csrf)
    app.after_request(add_security_headers)
