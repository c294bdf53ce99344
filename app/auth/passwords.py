"""Password hashing with Argon2id at OWASP strength (cost read from the app config)."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST_KIB"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    """An Argon2id hash (salted, with its parameters) to store instead of the password."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; never raises for a wrong or malformed hash."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the stored hash was made with weaker parameters than configured now."""
    return _hasher().check_needs_rehash(password_hash)


@lru_cache(maxsize=4)
def _decoy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    return hasher.hash("decoy password that no account has")


def burn_verification_time(password: str) -> None:
    """Spend the time of one verification, so unknown usernames answer as slowly as known."""
    config = current_app.config
    decoy = _decoy_hash(
        config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST_KIB"], config["ARGON2_PARALLELISM"]
    )
    verify_password(decoy, password)
