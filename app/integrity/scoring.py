"""Integrity score and grade from the sum of a founder's event points (SPEC §10).

Pure arithmetic, so every page, answer and loan check grades a founder the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE_SCORE = 100
MIN_SCORE = 0
MAX_SCORE = 150


@dataclass(frozen=True)
class IntegrityStanding:
    """A founder's score (0..150) and grade (A..D)."""

    score: int
    grade: str

    def as_json(self) -> dict[str, object]:
        """The `integrity` object of founder answers (SPEC §14)."""
        return {"score": self.score, "grade": self.grade}


def score_from_points(points_total: int) -> int:
    """100 plus the events' points, kept within 0..150."""
    return max(MIN_SCORE, min(MAX_SCORE, BASE_SCORE + points_total))


def grade_for(score: int) -> str:
    """A >= 110, B 90..109, C 60..89, D below 60."""
    if score >= 110:
        return "A"
    if score >= 90:
        return "B"
    if score >= 60:
        return "C"
    return "D"


def standing_from_points(points_total: int) -> IntegrityStanding:
    """Score and grade for a founder whose events add up to `points_total`."""
    score = score_from_points(points_total)
    return IntegrityStanding(score=score, grade=grade_for(score))
