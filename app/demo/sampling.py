"""Weighted random draws, fast enough to call a few million times in one seed run."""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from random import Random
from typing import Generic, TypeVar

T = TypeVar("T")


class Weighted(Generic[T]):
    """A fixed set of values with relative weights; `draw` picks one in O(log n).

    `random.choices` rebuilds its cumulative weights on every call unless given them; this
    keeps them once, which matters when a million founders each draw a dozen values.
    """

    __slots__ = ("_cumulative", "_total", "values")

    def __init__(self, pairs: Iterable[tuple[T, float]]) -> None:
        pairs = [(value, weight) for value, weight in pairs if weight > 0]
        if not pairs:
            raise ValueError("at least one value needs a positive weight")
        self.values: tuple[T, ...] = tuple(value for value, _ in pairs)
        self._cumulative = list(itertools.accumulate(weight for _, weight in pairs))
        self._total = self._cumulative[-1]

    def draw(self, rng: Random) -> T:
        """One value, chosen with probability proportional to its weight."""
        index = bisect_right(self._cumulative, rng.random() * self._total)
        return self.values[min(index, len(self.values) - 1)]

    def share(self, value: T) -> float:
        """The probability of drawing `value` (0 when it is not among the values)."""
        previous = 0.0
        for candidate, cumulative in zip(self.values, self._cumulative, strict=True):
            if candidate == value:
                return (cumulative - previous) / self._total
            previous = cumulative
        return 0.0


def triangular_int(rng: Random, low: int, mode: int, high: int) -> int:
    """A whole number in [low, high], most often near `mode`."""
    return min(high, max(low, round(rng.triangular(low, high, mode))))


def spread_dates(
    rng: Random, first: date, last: date, count: int, weight_of: Callable[[date], float]
) -> list[date]:
    """`count` dates in [first, last], in order, each day as likely as `weight_of(day)` says."""
    days = [date.fromordinal(ordinal) for ordinal in range(first.toordinal(), last.toordinal() + 1)]
    cumulative = list(itertools.accumulate(weight_of(day) for day in days))
    drawn = rng.choices(days, cum_weights=cumulative, k=count)
    drawn.sort()
    return drawn


def pick(rng: Random, values: Sequence[T]) -> T:
    """One of `values`, uniformly."""
    return values[int(rng.random() * len(values))]
