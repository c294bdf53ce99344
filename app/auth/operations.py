"""Accounts: creating and changing users, signing in with throttling, API tokens."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from app.auth.models import ApiToken, LoginThrottle, User
from app.auth.passwords import burn_verification_time, hash_password, needs_rehash, verify_password
from app.core.audit import changed_fields, record_audit, snapshot
from app.core.db import MAX_ID, utcnow
from app.core.errors import Conflict, TooManyAttempts, ValidationFailed
from app.core.permissions import Role
from app.core.validators import contains_nul
from app.extensions import db
from app.founders.models import Founder
from app.regions.queries import get_region

logger = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
# A well-formed address: something, one @, a domain with a dot; no spaces (RFC 5321 caps
# an address at 254 characters). Deliverability is the mail server's business.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
EMAIL_MAX_LENGTH = 254
# ASVS 4.0 2.1.1: at least 12 characters; 2.1.2: at least 64 allowed.
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
# Failures older than this are forgotten when the next one is counted.
FAILURE_MEMORY = timedelta(hours=1)
# update_user's "leave the e-mail address as it is".
KEEP = object()


# Validation ---------------------------------------------------------------------------
def is_well_formed_email(value: str | None) -> bool:
    """Whether `value` looks like an e-mail address (name@example.com)."""
    return bool(
        value
        and len(value) <= EMAIL_MAX_LENGTH
        and not contains_nul(value)
        and EMAIL_PATTERN.match(value)
    )


def normalise_email(value: str | None) -> str | None:
    """Trimmed address, or None for an empty one."""
    value = (value or "").strip()
    return value or None


def _email_errors(email: str | None) -> dict[str, list[str]]:
    if email is not None and not is_well_formed_email(email):
        return {"email": [_("Enter an e-mail address like name@example.com.")]}
    return {}


def normalise_username(username: str | None) -> str:
    """Usernames are case-insensitive: stored and compared in lower case.

    NUL characters are dropped: no username has one and PostgreSQL cannot compare them.
    """
    return (username or "").replace("\x00", "").strip().lower()


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list of passwords every guesser tries first, in lower case."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def password_errors(password: str | None, *, username: str | None = None) -> list[str]:
    """Why a new password is unacceptable (empty list when it is fine): its length, a few
    repeated characters, the account's username inside it, or a well-known password."""
    password = password or ""
    if len(password) < PASSWORD_MIN_LENGTH:
        return [_("Use at least %(n)s characters.", n=PASSWORD_MIN_LENGTH)]
    if len(password) > PASSWORD_MAX_LENGTH:
        return [_("Use at most %(n)s characters.", n=PASSWORD_MAX_LENGTH)]
    if len(set(password)) < 4:
        return [_("Use a password that is not just a few repeated characters.")]
    name = normalise_username(username)
    if len(name) >= 3 and name in password.lower():
        return [_("Use a password that does not contain the username.")]
    if password.lower() in common_passwords():
        return [_("This password is on the list of the most common passwords; choose another.")]
    return []


def _account_errors(
    *, role: str, region_code: str, founder_id: int | None, user_id: int | None = None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if role not in {r.value for r in Role}:
        errors["role"] = [_("Choose one of the roles.")]
    if get_region(region_code) is None:
        errors["region_code"] = [_("Unknown region.")]
    if founder_id is not None and role != Role.FOUNDER:
        errors["founder_id"] = [_("Only founder accounts are linked to a founder.")]
    elif role == Role.FOUNDER:
        errors.update(_founder_link_errors(founder_id, region_code, user_id))
    return errors


def _founder_link_errors(
    founder_id: int | None, region_code: str, user_id: int | None
) -> dict[str, list[str]]:
    """A founder account points at an existing founder of its own region, one account each."""
    if founder_id is None:
        return {"founder_id": [_("A founder account must be linked to a founder.")]}
    if not 1 <= founder_id <= MAX_ID:
        return {"founder_id": [_("Enter a valid founder id.")]}
    founder_region = db.session.scalar(select(Founder.region_code).where(Founder.id == founder_id))
    if founder_region is None:
        return {"founder_id": [_("No founder has this id.")]}
    if founder_region != region_code:
        return {"region_code": [_("A founder account belongs to the founder's region.")]}
    taken_by = db.session.scalar(select(User.id).where(User.founder_id == founder_id))
    if taken_by is not None and taken_by != user_id:
        return {"founder_id": [_("This founder already has an account.")]}
    return {}


# Users --------------------------------------------------------------------------------
def create_user(
    actor: Any,
    *,
    username: str,
    password: str,
    role: str,
    region_code: str,
    founder_id: int | None = None,
    display_name: str = "",
    email: str | None = None,
) -> User:
    """Add an account; the username is unique regardless of case."""
    username = normalise_username(username)
    email = normalise_email(email)
    errors = _account_errors(role=role, region_code=region_code, founder_id=founder_id)
    errors.update(_email_errors(email))
    if not USERNAME_PATTERN.match(username):
        errors["username"] = [
            _("3 to 64 characters: lower-case letters, digits, dot, dash or underscore.")
        ]
    if problems := password_errors(password, username=username):
        errors["password"] = problems
    if len(display_name or "") > 100 or contains_nul(display_name):
        errors["display_name"] = [_("Use at most %(n)s characters.", n=100)]
    if errors:
        raise ValidationFailed(errors)
    existing = get_user_by_username(username)
    if existing is not None:
        raise Conflict(_("The username %(name)s is taken.", name=username), id=existing.id)
    user = User(
        username=username,
        display_name=(display_name or "").strip(),
        password_hash=hash_password(password),
        role=role,
        region_code=region_code,
        founder_id=founder_id,
        email=email,
        active=True,
        session_version=1,
        # Someone else chose this password: the user replaces it at first sign-in. Accounts
        # made without an acting user (the CLI, the demo seed) are the operator's own.
        must_change_password=actor is not None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        # Someone else took the name between our check and our insert.
        existing = get_user_by_username(username)
        raise Conflict(
            _("The username %(name)s is taken.", name=username),
            id=existing.id if existing else None,
        ) from None
    record_audit(actor, "user.create", user, None, snapshot(user))
    return user


def update_user(
    actor: Any,
    user: User,
    *,
    display_name: str,
    role: str,
    region_code: str,
    founder_id: int | None,
    active: bool,
    email: str | object | None = KEEP,
) -> User:
    """Change an account's role, region, link, e-mail or status; deactivation ends its
    sessions. Callers that leave `email` out keep the account's address."""
    errors = _account_errors(
        role=role, region_code=region_code, founder_id=founder_id, user_id=user.id
    )
    new_email = user.email if email is KEEP else normalise_email(email)  # type: ignore[arg-type]
    errors.update(_email_errors(new_email))
    if len(display_name or "") > 100 or contains_nul(display_name):
        errors["display_name"] = [_("Use at most %(n)s characters.", n=100)]
    if getattr(actor, "id", None) == user.id:
        if not active:
            errors["active"] = [_("You cannot deactivate your own account.")]
        if role != user.role:
            errors["role"] = [_("You cannot change your own role.")]
    if errors:
        raise ValidationFailed(errors)
    before = snapshot(user)
    user.display_name = (display_name or "").strip()
    user.role = role
    user.region_code = region_code
    user.founder_id = founder_id
    user.email = new_email
    was_active, user.active = user.active, active
    if was_active and not active:
        _end_all_access(user)
    db.session.flush()
    db.session.refresh(user, ["region"])
    after = snapshot(user)
    record_audit(actor, "user.update", user, before, changed_fields(before, after))
    return user


def reset_password(actor: Any, user: User, new_password: str) -> None:
    """An administrator sets a new password; the user's sessions and tokens end, and the
    user must choose their own password at the next sign-in."""
    if problems := password_errors(new_password, username=user.username):
        raise ValidationFailed({"password": problems})
    _set_password(user, new_password)
    user.must_change_password = getattr(actor, "id", None) != user.id
    db.session.flush()
    record_audit(
        actor,
        "user.password_reset",
        user,
        None,
        {"sessions_ended": True, "must_change_password": user.must_change_password},
    )


def change_own_password(
    user: User, current_password: str, new_password: str, *, ip_address: str | None = None
) -> None:
    """The user changes their own password; every session and token of theirs ends.

    The current password is a sign-in in all but name, so it is counted and locked like
    one (`authenticate`): a stolen session cannot guess the password at full speed. The
    attempt is counted even when this raises ValidationFailed, so the caller commits then
    too (TooManyAttempts: nothing to keep).
    """
    now = _now()
    allowances = _throttle_allowances(user.username, ip_address)
    failures, wait = _count_attempt(allowances, now)
    if wait:
        logger.warning("password change refused user=%s ip=%r locked", user.id, ip_address)
        raise TooManyAttempts(
            _("Too many wrong passwords. Try again in %(n)s minutes.", n=max(1, (wait + 59) // 60)),
            retry_after_seconds=wait,
        )
    errors: dict[str, list[str]] = {}
    if verify_password(user.password_hash, current_password or ""):
        _forgive_attempt(allowances)
    else:
        _lock_keys_over_allowance(allowances, failures, now)
        logger.warning("password change refused user=%s ip=%r wrong current", user.id, ip_address)
        errors["current_password"] = [_("The current password is not correct.")]
    if problems := password_errors(new_password, username=user.username):
        errors["new_password"] = problems
    elif new_password == current_password:
        errors["new_password"] = [_("Choose a password different from the current one.")]
    if errors:
        raise ValidationFailed(errors)
    _set_password(user, new_password)
    user.must_change_password = False
    db.session.flush()
    record_audit(user, "user.password_change", user, None, {"sessions_ended": True})


def must_change_password_message() -> str:
    """What a user whose password someone else set is told when they try anything else."""
    return _(
        "Your password was set by someone else and must be changed before you go on: "
        "sign in on the website and choose your own under Change password."
    )


def set_preferred_locale(user: User, locale: str) -> None:
    """Remember the interface language the user chose, on every device they use."""
    if user.locale == locale:
        return
    before = {"locale": user.locale}
    user.locale = locale
    db.session.flush()
    record_audit(user, "user.locale", user, before, {"locale": locale})


def sign_out_everywhere(user: User) -> None:
    """Logout: end every session of this user, on every device, and their API tokens
    (SPEC §4: logout ends every session of the user; D5)."""
    _end_all_access(user)
    logger.info("signed out everywhere user=%s", user.id)


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = _now()
    _end_all_access(user)


def _end_all_access(user: User) -> None:
    user.session_version = User.session_version + 1
    # A user has a handful of tokens; loading them keeps the session's copies current.
    open_tokens = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    for token in db.session.scalars(open_tokens):
        token.revoked_at = _now()
    db.session.flush()
    db.session.refresh(user, ["session_version"])


def get_user_by_username(username: str) -> User | None:
    """The account with this username (case-insensitive), or None."""
    return db.session.scalar(select(User).where(User.username == normalise_username(username)))


# Signing in ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SignInResult:
    """The outcome of a sign-in attempt; the caller commits it either way."""

    user: User | None
    retry_after_seconds: int = 0

    @property
    def is_locked(self) -> bool:
        return self.retry_after_seconds > 0


def authenticate(username: str, password: str, *, ip_address: str | None) -> SignInResult:
    """Check a username and password, counting attempts in the database.

    The attempt is counted as a failure before the password is checked and forgiven on
    success; on PostgreSQL the counting upsert holds the counter rows until the request
    commits, so parallel guesses queue up instead of slipping past the limit. Unknown
    usernames and wrong passwords fail alike, take the same time and are counted alike.
    """
    now = _now()
    name = normalise_username(username)[:64]
    allowances = _throttle_allowances(name, ip_address)
    failures, wait = _count_attempt(allowances, now)
    if wait:
        logger.warning("sign-in refused name=%r ip=%r locked", name, ip_address)
        return SignInResult(None, retry_after_seconds=wait)
    user = get_user_by_username(name) if name else None
    if user is None:
        burn_verification_time(password or "")
        ok = False
    else:
        ok = verify_password(user.password_hash, password or "") and user.is_active
    if not ok:
        _lock_keys_over_allowance(allowances, failures, now)
        # %r: a name is whatever was typed; repr escapes newlines, so it cannot forge lines.
        logger.warning("sign-in refused name=%r ip=%r", name, ip_address)
        return SignInResult(None)
    _forgive_attempt(allowances)
    logger.info("sign-in ok user=%s ip=%r", user.id, ip_address)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    db.session.flush()
    return SignInResult(user)


def _throttle_allowances(name: str, ip_address: str | None) -> dict[str, int]:
    """Throttle keys of one attempt, each with its free failures per FAILURE_MEMORY.

    The (user, address) pair stops one attacker quickly; the username alone stops a guess
    spread over many addresses; the address alone stops spraying many usernames. A
    username is locked for everyone only after many failures, so a prankster cannot keep
    a colleague out with a handful of bad passwords.
    """
    config = current_app.config
    allowances = {f"user:{name}": config["LOGIN_USER_FREE_FAILURES"]}
    if ip_address:
        allowances = {
            f"pair:{name}@{ip_address}": config["LOGIN_FREE_FAILURES"],
            **allowances,
            f"ip:{ip_address}": config["LOGIN_IP_FREE_FAILURES"],
        }
    return allowances


def _count_attempt(allowances: dict[str, int], now: datetime) -> tuple[dict[str, int], int]:
    """Add one failure to every key (an atomic upsert each); return the counts and, if a
    key is locked, the seconds to wait. Keys are always taken in the same order, so two
    attempts never wait on each other's rows."""
    forgotten = now - FAILURE_MEMORY
    # Keep the table small: rows whose failures are forgotten and whose lock has passed go.
    db.session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failed_at < forgotten,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
        )
    )
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    failures: dict[str, int] = {}
    wait = 0.0
    for key in allowances:
        stmt = (
            insert(LoginThrottle)
            .values(key=key, failures=1, last_failed_at=now)
            .on_conflict_do_update(
                index_elements=[LoginThrottle.key],
                set_={
                    "failures": case(
                        (LoginThrottle.last_failed_at < forgotten, 1),
                        else_=LoginThrottle.failures + 1,
                    ),
                    "last_failed_at": now,
                },
            )
            .returning(LoginThrottle.failures, LoginThrottle.locked_until)
        )
        failures[key], locked_until = db.session.execute(stmt).one()
        if locked_until is not None and locked_until > now:
            wait = max(wait, (locked_until - now).total_seconds())
    return failures, int(wait) + 1 if wait else 0


def _lock_keys_over_allowance(
    allowances: dict[str, int], failures: dict[str, int], now: datetime
) -> None:
    """After a failed check, lock each key past its allowance; each lock doubles the last."""
    config = current_app.config
    for key, free in allowances.items():
        if failures[key] <= free:
            continue
        doublings = min(failures[key] - free - 1, 16)
        seconds = min(
            config["LOGIN_LOCK_BASE_SECONDS"] * 2**doublings, config["LOGIN_LOCK_MAX_SECONDS"]
        )
        db.session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == key)
            .values(locked_until=now + timedelta(seconds=seconds))
        )


def _forgive_attempt(allowances: dict[str, int]) -> None:
    """A successful sign-in clears the user's counters and takes back the address's count."""
    keys = list(allowances)
    personal = [key for key in keys if not key.startswith("ip:")]
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(personal)))
    db.session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key.in_([k for k in keys if k.startswith("ip:")]))
        .where(LoginThrottle.failures > 0)
        .values(failures=LoginThrottle.failures - 1)
    )


# API tokens ---------------------------------------------------------------------------
def _token_digest(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


def issue_api_token(user: User) -> tuple[str, ApiToken]:
    """A new bearer token for `user`; the raw value is returned once and never stored."""
    raw = secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        token_hash=_token_digest(raw),
        expires_at=_now() + timedelta(hours=current_app.config["API_TOKEN_HOURS"]),
    )
    db.session.add(token)
    db.session.flush()
    logger.info("API token issued user=%s token=%s", user.id, token.id)
    return raw, token


def find_usable_token(raw_token: str) -> ApiToken | None:
    """The unrevoked, unexpired token matching `raw_token` whose user is active, or None."""
    if not raw_token or len(raw_token) > 200:
        return None
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _token_digest(raw_token))
    )
    if token is None or not token.is_usable(_now()):
        return None
    return token


def revoke_api_token(token: ApiToken) -> None:
    """End a token now; later requests with it get 401."""
    token.revoked_at = _now()
    db.session.flush()
    logger.info("API token revoked user=%s token=%s", token.user_id, token.id)


def _now() -> datetime:
    return utcnow()
