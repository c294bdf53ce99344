"""Validation of Chinese identifiers: resident ID numbers, USCC codes and mobile numbers.

Pure standard-library functions.  Each ``parse_*`` function returns a normalised value or
raises :class:`InvalidValue` with a stable machine-readable ``code`` and a plain-English
``message``; each ``is_valid_*`` function is the boolean shortcut.

Standards:

* GB 11643-1999 — 18-character citizen identity number (ISO 7064 MOD 11-2 check character).
* GB 32100-2015 — 18-character unified social credit code (MOD 31 check character).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = [
    "ID_CHECK_CHARS",
    "ID_NUMBER_WEIGHTS",
    "USCC_ALPHABET",
    "USCC_REGISTRATION_AUTHORITIES",
    "USCC_WEIGHTS",
    "IdNumberInfo",
    "InvalidValue",
    "id_number_check_char",
    "is_valid_id_number",
    "is_valid_mobile",
    "is_valid_uscc",
    "parse_id_number",
    "parse_mobile",
    "parse_uscc",
    "uscc_check_char",
]

# GB 11643-1999: weight of position i is 2**(17 - i) mod 11.
ID_NUMBER_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# Indexed by (weighted sum mod 11).
ID_CHECK_CHARS = "10X98765432"
ID_MIN_BIRTH_DATE = date(1900, 1, 1)

# GB 32100-2015: 31 characters (I, O, S, V and Z are excluded); a character's value is its index.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Weight of position i is 3**i mod 31.
USCC_WEIGHTS: tuple[int, ...] = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_REGISTRATION_AUTHORITIES = "123456789AGNY"

_ID_BODY_RE = re.compile(r"\d{17}[\dX]")
_USCC_CHARS = frozenset(USCC_ALPHABET)
_MOBILE_RE = re.compile(r"1[3-9]\d{9}")
_MOBILE_SEPARATORS_RE = re.compile(r"[ \-]")


class InvalidValue(ValueError):
    """Raised so callers can map a rejected identifier to a field error by ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"InvalidValue(code={self.code!r}, message={self.message!r})"


@dataclass(frozen=True)
class IdNumberInfo:
    """Facts encoded in an ID number, so callers need not slice the string themselves."""

    id_number: str
    birth_date: date
    sex: str
    region_prefix: str


def id_number_check_char(first17: str) -> str:
    """Compute the check character so ID numbers can be verified or generated (MOD 11-2)."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("first17 must be exactly 17 ASCII digits")
    total = sum(int(char) * weight for char, weight in zip(first17, ID_NUMBER_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def parse_id_number(value: str, *, as_of: date | None = None) -> IdNumberInfo:
    """Normalise and validate an ID number so only well-formed ones enter the system."""
    id_number = value.strip().upper()
    if len(id_number) != 18:
        raise InvalidValue("length", "ID number must be 18 characters")
    if not id_number.isascii() or not _ID_BODY_RE.fullmatch(id_number):
        raise InvalidValue(
            "format", "ID number must be 17 digits followed by a digit or the letter X"
        )
    if id_number[0] == "0":
        raise InvalidValue("format", "ID number must not start with 0")

    digits = id_number[6:14]
    try:
        birth_date = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise InvalidValue("birth_date", "ID number contains an invalid birth date") from None
    if birth_date < ID_MIN_BIRTH_DATE:
        raise InvalidValue("birth_date", "ID number birth date must not be before 1900-01-01")
    if as_of is not None and birth_date > as_of:
        raise InvalidValue("birth_date", "ID number birth date must not be in the future")

    if id_number_check_char(id_number[:17]) != id_number[17]:
        raise InvalidValue("checksum", "ID number check character is wrong")

    sex = "male" if int(id_number[16]) % 2 == 1 else "female"
    return IdNumberInfo(
        id_number=id_number,
        birth_date=birth_date,
        sex=sex,
        region_prefix=id_number[:6],
    )


def is_valid_id_number(value: str) -> bool:
    """Answer yes/no where the reason for rejection is not needed."""
    try:
        parse_id_number(value)
    except InvalidValue:
        return False
    return True


def uscc_check_char(first17: str) -> str:
    """Compute the check character so USCCs can be verified or generated (MOD 31)."""
    if len(first17) != 17 or not set(first17) <= _USCC_CHARS:
        raise ValueError("first17 must be exactly 17 characters from the USCC alphabet")
    total = sum(
        USCC_ALPHABET.index(char) * weight
        for char, weight in zip(first17, USCC_WEIGHTS, strict=True)
    )
    return USCC_ALPHABET[(31 - total % 31) % 31]


def parse_uscc(value: str) -> str:
    """Normalise and validate a unified social credit code so only real-looking ones are stored."""
    code = value.strip().upper()
    if len(code) != 18:
        raise InvalidValue("length", "Unified social credit code must be 18 characters")
    if not set(code) <= _USCC_CHARS:
        raise InvalidValue(
            "format",
            "Unified social credit code may only contain digits and letters other than "
            "I, O, S, V and Z",
        )
    if code[0] not in USCC_REGISTRATION_AUTHORITIES:
        raise InvalidValue(
            "format", "Unified social credit code has an unknown registration authority"
        )
    if not code[2:8].isdigit():
        raise InvalidValue(
            "format", "Unified social credit code characters 3-8 must be a 6-digit region code"
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise InvalidValue("checksum", "Unified social credit code check character is wrong")
    return code


def is_valid_uscc(value: str) -> bool:
    """Answer yes/no where the reason for rejection is not needed."""
    try:
        parse_uscc(value)
    except InvalidValue:
        return False
    return True


def parse_mobile(value: str) -> str:
    """Reduce the many ways people type a mainland mobile number to its 11 canonical digits."""
    number = _MOBILE_SEPARATORS_RE.sub("", value.strip())
    if number.startswith("+86"):
        number = number[3:]
    elif number.startswith("86") and len(number) == 13:
        number = number[2:]
    if len(number) != 11 or not number.isascii() or not number.isdigit():
        raise InvalidValue("format", "Mobile number must be 11 digits")
    if not _MOBILE_RE.fullmatch(number):
        raise InvalidValue("format", "Mobile number must start with 13 to 19")
    return number


def is_valid_mobile(value: str) -> bool:
    """Answer yes/no where the reason for rejection is not needed."""
    try:
        parse_mobile(value)
    except InvalidValue:
        return False
    return True


def contains_nul(value: object) -> bool:
    """True for text with a NUL character: no real input has one, PostgreSQL cannot store it."""
    return isinstance(value, str) and "\x00" in value
