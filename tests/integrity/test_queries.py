"""Integrity reads: standings summed in SQL, events newest first, who may read which file."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.errors import NotFound, PermissionDenied
from app.integrity.queries import (
    count_pending_corrections,
    get_correction_in_scope,
    get_founder_for_integrity,
    get_integrity_standing,
    list_events,
    list_pending_corrections,
    standings_for,
)
from tests.factories import make_founder, make_user
from tests.integrity.factories import make_correction, make_event


def with_points(*points):
    """A Haikou founder whose file holds one correction event per given amount."""
    founder = make_founder(region_code="460100")
    for amount in points:
        make_event(founder, "correction", points=amount, source="officer")
    return founder


@pytest.mark.parametrize(
    ("points", "score", "grade"),
    [
        ((), 100, "B"),
        ((10,), 110, "A"),
        ((5, 4), 109, "B"),
        ((-10,), 90, "B"),
        ((-5, -6), 89, "C"),
        ((-40,), 60, "C"),
        ((-41,), 59, "D"),
        ((30, 30), 150, "A"),
        ((150, 150, -100), 150, "A"),  # the sum is clamped, not each step
        ((-150, -150), 0, "D"),
        ((-150, 60), 10, "D"),
    ],
)
def test_score_and_grade_through_real_events(db_session, points, score, grade):
    founder = with_points(*points)
    standing = get_integrity_standing(founder.id)
    assert (standing.score, standing.grade) == (score, grade)
    assert standings_for([founder.id]) == {founder.id: standing}


def test_standings_for_many_founders_at_once(db_session):
    good, bad, blank = with_points(20), with_points(-50, -15), with_points()
    standings = standings_for([good.id, bad.id, blank.id, good.id])
    assert {fid: (s.score, s.grade) for fid, s in standings.items()} == {
        good.id: (120, "A"),
        bad.id: (35, "D"),
        blank.id: (100, "B"),
    }
    assert standings_for([]) == {}


def test_events_are_listed_newest_first(db_session):
    founder = make_founder()
    older = make_event(founder, occurred_on=date(2026, 3, 1))
    newest = make_event(founder, "paid_late", occurred_on=date(2026, 5, 1))
    middle = make_event(founder, occurred_on=date(2026, 4, 1))
    make_event(make_founder(), occurred_on=date(2026, 6, 1))  # someone else's
    assert [e.id for e in list_events(founder.id)] == [newest.id, middle.id, older.id]


def test_who_may_read_which_file(db_session):
    haikou = make_founder(region_code="460100")
    sanya = make_founder(region_code="460200")
    officer = make_user(role="officer", region_code="460100")
    province_officer = make_user(role="officer", region_code="460000")
    admin = make_user(role="admin", region_code="460000")
    founder_user = make_user(role="founder", region_code="460100", founder_id=haikou.id)
    staff = make_user(role="staff", region_code="460100")
    assert get_founder_for_integrity(officer, haikou.id) is haikou
    assert get_founder_for_integrity(province_officer, sanya.id) is sanya
    assert get_founder_for_integrity(admin, sanya.id) is sanya
    assert get_founder_for_integrity(founder_user, haikou.id) is haikou
    for user, founder_id in ((officer, sanya.id), (founder_user, sanya.id), (officer, 999_999)):
        with pytest.raises(NotFound):
            get_founder_for_integrity(user, founder_id)
    with pytest.raises(PermissionDenied):
        get_founder_for_integrity(staff, haikou.id)


def test_pending_corrections_are_scoped(db_session):
    haikou, sanya = make_founder(region_code="460100"), make_founder(region_code="460200")
    officer = make_user(role="officer", region_code="460100")
    sanya_officer = make_user(role="officer", region_code="460200")
    admin = make_user(role="admin", region_code="460000")
    mine = make_correction(haikou, officer)
    theirs = make_correction(sanya, sanya_officer)
    make_correction(haikou, officer, state="rejected", decided_by_id=admin.id)
    assert list_pending_corrections(officer) == [mine]
    assert list_pending_corrections(sanya_officer) == [theirs]
    assert list_pending_corrections(admin) == [mine, theirs]
    assert list_pending_corrections(admin, sanya.id) == [theirs]
    assert count_pending_corrections(officer) == 1
    assert get_correction_in_scope(officer, mine.id) is mine
    with pytest.raises(NotFound):
        get_correction_in_scope(officer, theirs.id)
    founder_user = make_user(role="founder", region_code="460100", founder_id=haikou.id)
    with pytest.raises(PermissionDenied):
        list_pending_corrections(founder_user)
