"""Calendar arithmetic for due dates and billing periods.

Pure standard-library functions.  Working days are Monday to Friday only: national holiday
calendars (and their make-up working weekends) change every year and are not part of SPEC,
so no holiday calendar is applied.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta, timezone

__all__ = [
    "CHINA_TIME",
    "add_months",
    "add_working_days",
    "is_working_day",
    "month_end",
    "today_in_china",
]

# China Standard Time, the clock of every user of the platform (no daylight saving).
CHINA_TIME = timezone(timedelta(hours=8), "CST")


def today_in_china() -> date:
    """The calendar date now in China, for input checks that need "today" outside a service.

    Services and jobs take `as_of` instead, so tests and catch-up runs can move time.
    """
    return datetime.now(CHINA_TIME).date()


_SATURDAY = 5


def month_end(day: date) -> date:
    """Give the last day of the month so periods can be closed without day-count guesswork."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(start: date, months: int) -> date:
    """Shift by calendar months, clamping to month end so 31 January + 1 month stays in February."""
    month_index = start.year * 12 + (start.month - 1) + months
    year, month_zero_based = divmod(month_index, 12)
    first_of_target = date(year, month_zero_based + 1, 1)
    return first_of_target.replace(day=min(start.day, month_end(first_of_target).day))


def is_working_day(day: date) -> bool:
    """Tell Monday-Friday apart from weekends; no holiday calendar (see module docstring)."""
    return day.weekday() < _SATURDAY


def add_working_days(start: date, days: int) -> date:
    """Compute deadlines counted in working days (Mon-Fri, no holidays: not in SPEC, vary yearly).

    Adding 0 returns ``start`` unchanged, even on a weekend; from a Saturday, +1 is Monday.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    if days == 0:
        return start

    # From a weekend, counting forward gives the same result as counting from the Friday before.
    current = start
    while not is_working_day(current):
        current -= timedelta(days=1)

    weeks, remainder = divmod(days, 5)
    current += timedelta(weeks=weeks)
    while remainder:
        current += timedelta(days=1)
        if is_working_day(current):
            remainder -= 1
    return current
