"""Test data builders. They use the real operations, so rules and audit apply."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from app.auth import operations as auth_operations
from app.auth.models import User
from app.core.validators import id_number_check_char
from app.extensions import db
from app.founders.models import Founder

DEFAULT_PASSWORD = "correct horse battery staple"
DEFAULT_AS_OF = date(2026, 11, 22)
_sequence = itertools.count(1)


def make_id_number(
    *, region_prefix: str = "460100", birth_date: date = date(1990, 5, 17), sex: str = "male"
) -> str:
    """A valid, unique GB 11643 ID number (serial from a counter, check character computed)."""
    number = next(_sequence)
    sequence = (number % 500) * 2 + (1 if sex == "male" else 0)  # odd 17th digit: male
    # Step the birth date back a day every 500 numbers, so numbers never repeat.
    born = date.fromordinal(birth_date.toordinal() - number // 500)
    first17 = f"{region_prefix}{born:%Y%m%d}{sequence:03d}"
    return first17 + id_number_check_char(first17)


def make_phone() -> str:
    """A valid, distinct mainland mobile number."""
    return f"139{next(_sequence):08d}"


def make_founder(*, region_code: str = "460100", **fields: Any) -> Founder:
    """A founder inserted directly (flushed, not committed), valid on every rule."""
    sex = fields.pop("sex", "male")
    id_number = fields.pop("id_number", None) or make_id_number(sex=sex)
    info_birth = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    values: dict[str, Any] = {
        "name": "张伟",
        "id_number": id_number,
        "id_number_last4": id_number[-4:],
        "birth_date": info_birth,
        "sex": "male" if int(id_number[16]) % 2 else "female",
        "phone": make_phone(),
        "region_code": region_code,
        "target_group": "laid_off",
        "education": "high_school",
        "has_reemployment_certificate": False,
        "registered_on": date(2026, 1, 5),
    }
    values.update(fields)
    founder = Founder(**values)
    db.session.add(founder)
    db.session.flush()
    return founder


def make_user(
    *,
    role: str = "staff",
    region_code: str = "460100",
    username: str | None = None,
    password: str = DEFAULT_PASSWORD,
    **fields: Any,
) -> User:
    """A new account (flushed, not committed) with a unique username.

    A founder account without a founder_id gets a new founder of its own region.
    """
    if role == "founder" and fields.get("founder_id") is None:
        fields["founder_id"] = make_founder(region_code=region_code).id
    return auth_operations.create_user(
        None,
        username=username or f"{role}{next(_sequence)}.{region_code}",
        password=password,
        role=role,
        region_code=region_code,
        **fields,
    )
