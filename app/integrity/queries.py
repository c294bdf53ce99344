"""Reads of a founder's integrity standing for answers, pages and loan checks."""

from __future__ import annotations

from app.integrity.scoring import IntegrityStanding, standing_from_points


def get_integrity_standing(founder_id: int) -> IntegrityStanding:
    """The founder's score and grade: 100 plus their events' points (SPEC §10).

    The append-only event file is written by loans, repayments and officers (the loans
    feature); until a founder has events their points total 0, so score 100, grade B.
    """
    points_total = 0  # no integrity event table exists yet: see docs/decisions.md D25
    return standing_from_points(points_total)
