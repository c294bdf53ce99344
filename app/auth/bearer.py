"""Bearer-token sign-in for the JSON API: a token replaces the session for one request."""

from __future__ import annotations

from flask import abort, g, request

from app.auth.operations import find_usable_token


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
    token = find_usable_token(raw)
    if token is None:
        abort(401)
    g.api_token = token
    # Flask-Login keeps the request's user in g._login_user; setting it here signs the
    # request in for this request only, without touching the session cookie.
    g._login_user = token.user
