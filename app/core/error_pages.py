"""How errors reach people: JSON bodies on the API, flashes and error pages elsewhere."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.core.api import json_response
from app.core.errors import DomainError, NotFound, PermissionDenied, TooManyAttempts
from app.core.permissions import is_api_request
from app.core.security import safe_next_url
from app.extensions import db

log = logging.getLogger(__name__)

PAGE_TEMPLATES = {403: "errors/403.html", 404: "errors/404.html", 500: "errors/500.html"}


def _http_message(status: int, default: str) -> str:
    messages = {
        400: _("The request could not be understood."),
        401: _("Please sign in."),
        403: _("You do not have permission to do this."),
        404: _("Not found."),
        405: _("This method is not allowed here."),
        413: _("The upload is too large."),
        415: _("Unsupported content type."),
        429: _("Too many attempts; please wait and try again."),
        500: _("Something went wrong on our side. The error has been logged."),
    }
    return messages.get(status, default)


def handle_domain_error(error: DomainError) -> Any:
    """Roll back; answer JSON on the API. On pages, a refused form goes back to where it
    came from with the message flashed; a page that cannot be shown (absent, out of
    scope, forbidden, or any refused GET) is an error page with the status."""
    db.session.rollback()
    if is_api_request():
        response = json_response(error.to_json(), error.status_code)
        if isinstance(error, TooManyAttempts):
            response.headers["Retry-After"] = str(error.retry_after_seconds)
        return response
    if isinstance(error, NotFound | PermissionDenied) or request.method in ("GET", "HEAD"):
        return _error_page(error.status_code, error.message)
    flash(error.message, "danger")
    return redirect(_same_site_referrer() or url_for("main.dashboard"))


def handle_csrf_error(error: CSRFError) -> Any:
    """An expired or missing form token: on pages, say so and let the user try again."""
    if is_api_request():
        return json_response({"error": _("The CSRF token is missing or invalid.")}, 400)
    flash(_("The form had expired. Please try again."), "warning")
    return redirect(_same_site_referrer() or url_for("main.dashboard"))


def _same_site_referrer() -> str | None:
    """The page the user came from, if it is on this site (never an open redirect)."""
    if not request.referrer:
        return None
    parts = urlsplit(request.referrer)
    if parts.netloc != request.host:
        return None
    return safe_next_url((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))


def _error_page(status: int, message: str) -> Any:
    template = PAGE_TEMPLATES.get(status, "errors/generic.html")
    return render_template(template, status=status, message=message), status


def handle_http_error(error: HTTPException) -> Any:
    """Standard HTTP errors in the format of the part of the site that raised them."""
    status = error.code or 500
    if status >= 500:
        db.session.rollback()
    if is_api_request():
        message = _http_message(status, error.description or "")
        response = json_response({"error": message}, status)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        if valid_methods := getattr(error, "valid_methods", None):
            response.headers["Allow"] = ", ".join(valid_methods)
        return response
    return _error_page(status, _http_message(status, error.description or ""))


def handle_unexpected_error(error: Exception) -> Any:
    """Log the traceback, roll back, and show a 500 without internals."""
    log.error("Unhandled error on %s %s", request.method, request.path, exc_info=error)
    db.session.rollback()
    if is_api_request():
        return json_response({"error": _http_message(500, "")}, 500)
    return render_template("errors/500.html", status=500, message=_http_message(500, "")), 500


def register_error_handlers(app: Flask) -> None:
    """Map domain errors, HTTP errors and crashes to answers."""
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    if not app.testing:
        app.register_error_handler(Exception, handle_unexpected_error)
