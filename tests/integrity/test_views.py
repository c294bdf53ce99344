"""Integrity pages through the client: the officer's file, the queue, points, the founder's."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.core.dates import today_in_china
from app.extensions import db
from app.founders.models import Founder
from app.integrity.models import IntegrityCorrection, IntegrityEvent, IntegrityPoints
from tests.factories import make_founder, make_user
from tests.integrity.factories import make_correction, make_event

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


def committed(*objects):
    ids = [obj.id for obj in objects]
    db.session.commit()
    return ids


def yesterday():
    return (today_in_china() - timedelta(days=1)).isoformat()


@pytest.fixture
def haikou_founder(db_session):
    """A Haikou founder with an on-time payment (+1), a late one (-5) and a correction
    proposed by another officer (+5); their id."""
    founder = make_founder(region_code="460100", name="林小梅")
    make_event(founder, "paid_on_time", occurred_on=date(2026, 4, 1))
    make_event(founder, "paid_late", occurred_on=date(2026, 5, 2), note="第 2 期逾期 3 天")
    make_correction(
        founder, make_user(role="officer", region_code="460100"), points=5, reason="银行记账错误"
    )
    return committed(founder)[0]


@pytest.mark.parametrize("headers", [EN, ZH])
def test_officer_pages_render_in_both_languages(client, login_as, haikou_founder, headers):
    login_as("officer", "460100")
    for url in (
        f"/integrity/founders/{haikou_founder}",
        "/integrity/corrections",
        "/integrity/corrections?state=approved",
        "/integrity/corrections?state=nonsense",
        "/integrity/points",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        assert ('<html lang="zh-CN">' in response.get_data(as_text=True)) == (headers is ZH)


def test_the_officers_file_page(client, login_as, haikou_founder):
    login_as("officer", "460100")
    html = client.get(f"/integrity/founders/{haikou_founder}", headers=EN).get_data(as_text=True)
    assert "林小梅" in html
    assert 'data-testid="integrity-grade">B<' in html
    assert "Score 96" in html
    assert html.count('data-testid="event"') == 2
    assert "第 2 期逾期 3 天" in html
    assert "Installment paid late" in html
    assert 'data-testid="pending-correction"' in html
    assert "银行记账错误" in html
    assert 'data-testid="event-form"' in html
    assert 'data-testid="correction-form"' in html


def test_admins_read_files_without_the_forms(client, login_as, haikou_founder):
    login_as("admin", "460000")
    html = client.get(f"/integrity/founders/{haikou_founder}", headers=EN).get_data(as_text=True)
    assert "Score 96" in html
    assert 'data-testid="event-form"' not in html
    assert 'data-testid="correction-form"' not in html


def test_staff_founders_and_other_areas_are_kept_out(client, login_as, haikou_founder):
    login_as("staff", "460100")
    assert client.get(f"/integrity/founders/{haikou_founder}").status_code == 403
    assert client.get("/integrity/corrections").status_code == 403
    assert client.get("/integrity/points").status_code == 403


def test_another_areas_officer_gets_404(client, login_as, haikou_founder):
    login_as("officer", "460200")
    assert client.get(f"/integrity/founders/{haikou_founder}").status_code == 404


def test_an_officer_records_an_event_on_the_page(client, login_as, haikou_founder):
    officer = login_as("officer", "460100")
    response = client.post(
        f"/integrity/founders/{haikou_founder}/events",
        data={"kind": "integrity_education", "occurred_on": yesterday(), "note": "诚信讲座"},
        headers=EN,
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/integrity/founders/{haikou_founder}")
    event = db.session.scalar(
        select(IntegrityEvent).where(IntegrityEvent.kind == "integrity_education")
    )
    assert (event.points, event.note, event.recorded_by_id) == (5, "诚信讲座", officer.id)


def test_a_bad_event_form_shows_its_errors(client, login_as, haikou_founder):
    login_as("officer", "460100")
    future = (today_in_china() + timedelta(days=3)).isoformat()
    response = client.post(
        f"/integrity/founders/{haikou_founder}/events",
        data={"kind": "false_information", "occurred_on": future, "note": ""},
        headers=EN,
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "This field is required." in html
    response = client.post(
        f"/integrity/founders/{haikou_founder}/events",
        data={"kind": "false_information", "occurred_on": future, "note": "伪造"},
        headers=EN,
    )
    assert response.status_code == 422
    assert "cannot be in the future" in response.get_data(as_text=True)
    response = client.post(
        f"/integrity/founders/{haikou_founder}/events",
        data={"kind": "paid_on_time", "occurred_on": yesterday(), "note": "x"},
        headers=EN,
    )
    assert response.status_code == 422
    assert "Officers record integrity education" in response.get_data(as_text=True)
    assert (
        db.session.scalar(select(IntegrityEvent).where(IntegrityEvent.source == "officer")) is None
    )


def test_propose_then_approve_on_the_pages(client, login_as, haikou_founder):
    proposer = login_as("officer", "460100")
    [late] = db.session.scalars(select(IntegrityEvent.id).where(IntegrityEvent.kind == "paid_late"))
    response = client.post(
        f"/integrity/founders/{haikou_founder}/corrections",
        data={"points": "5", "note": "实际按时还款", "corrects_event_id": str(late)},
        headers=EN,
    )
    assert response.status_code == 302
    correction = db.session.scalar(
        select(IntegrityCorrection).where(IntegrityCorrection.proposed_by_id == proposer.id)
    )
    assert (correction.points, correction.corrects_event_id) == (5, late)
    correction_id = correction.id

    html = client.get("/integrity/corrections", headers=EN).get_data(as_text=True)
    assert html.count('data-testid="correction-row"') == 2
    assert html.count('data-testid="own-proposal"') == 1  # theirs: disabled, with a note
    assert html.count('data-testid="approve"') == 1  # the fixture's, by someone else
    response = client.post(f"/integrity/corrections/{correction_id}/approve", headers=EN)
    assert response.status_code == 302
    # The proposer's approval was refused.
    assert db.session.get(IntegrityCorrection, correction_id).state == "pending"

    client.post("/logout")
    approver = login_as("officer", "460100")
    response = client.post(
        f"/integrity/corrections/{correction_id}/approve", data={"note": "核实"}, headers=EN
    )
    assert response.status_code == 302
    correction = db.session.get(IntegrityCorrection, correction_id)
    assert (correction.state, correction.decided_by_id) == ("approved", approver.id)
    html = client.get(f"/integrity/founders/{haikou_founder}", headers=EN).get_data(as_text=True)
    assert "Score 101" in html


def test_reject_on_the_page_needs_a_reason(client, login_as, haikou_founder):
    login_as("officer", "460100")
    [correction_id] = db.session.scalars(select(IntegrityCorrection.id))
    client.post(f"/integrity/corrections/{correction_id}/reject", data={"note": ""})
    assert db.session.get(IntegrityCorrection, correction_id).state == "pending"
    response = client.post(
        f"/integrity/corrections/{correction_id}/reject", data={"note": "证据不足"}
    )
    assert response.status_code == 302
    correction = db.session.get(IntegrityCorrection, correction_id)
    assert (correction.state, correction.decision_note) == ("rejected", "证据不足")


def test_a_bad_correction_form_shows_its_errors(client, login_as, haikou_founder):
    login_as("officer", "460100")
    response = client.post(
        f"/integrity/founders/{haikou_founder}/corrections",
        data={"points": "0", "note": "x", "corrects_event_id": "999999"},
        headers=EN,
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "A correction cannot be 0 points." in html
    assert "Choose an event of this founder" in html


def test_the_admin_adjusts_points_on_the_page(client, login_as, db_session):
    login_as("admin", "460000")
    html = client.get("/integrity/points", headers=EN).get_data(as_text=True)
    assert html.count('data-testid="points-form"') == 10
    response = client.post("/integrity/points/paid_on_time", data={"points": "2"}, headers=EN)
    assert response.status_code == 302
    assert db.session.get(IntegrityPoints, "paid_on_time").points == 2
    response = client.post("/integrity/points/paid_on_time", data={"points": "999"}, headers=EN)
    assert response.status_code == 422
    assert "Number must be between -150 and 150." in response.get_data(as_text=True)
    assert client.post("/integrity/points/correction", data={"points": "2"}).status_code == 404


def test_officers_see_the_points_without_forms(client, login_as, db_session):
    login_as("officer", "460100")
    html = client.get("/integrity/points", headers=EN).get_data(as_text=True)
    assert 'data-testid="points-form"' not in html
    assert html.count('data-testid="points-row"') == 10
    assert client.post("/integrity/points/paid_on_time", data={"points": "2"}).status_code == 403


@pytest.mark.parametrize("headers", [EN, ZH])
def test_the_founder_reads_their_own_file_on_a_phone(client, login_as, haikou_founder, headers):
    login_as("founder", "460100", founder_id=haikou_founder)
    response = client.get("/integrity/me", headers=headers)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'class="founder-portal' in html
    assert html.count('data-testid="my-event"') == 2
    assert "第 2 期逾期 3 天" in html
    assert "银行记账错误" not in html  # a pending proposal is not part of the file
    if headers is EN:
        assert "Score 96" in html
        assert "You paid an installment in full, but 1 to 30 days late." in html
    assert client.get(f"/integrity/founders/{haikou_founder}").status_code == 403


def test_the_founder_record_links_to_the_integrity_file(client, login_as, haikou_founder):
    login_as("founder", "460100", founder_id=haikou_founder)
    assert 'data-testid="my-integrity-link"' in client.get("/me").get_data(as_text=True)


def test_the_founder_page_links_officers_to_the_file(client, login_as, haikou_founder):
    login_as("officer", "460100")
    html = client.get(f"/founders/{haikou_founder}").get_data(as_text=True)
    assert f'href="/integrity/founders/{haikou_founder}"' in html
    assert 'data-testid="integrity-grade">B<' in html


def test_the_founder_page_shows_staff_no_file_link(client, login_as, haikou_founder):
    login_as("staff", "460100")
    html = client.get(f"/founders/{haikou_founder}").get_data(as_text=True)
    assert 'data-testid="integrity-file-link"' not in html


def test_a_founder_without_events_stands_at_100(client, login_as, db_session):
    [founder_id] = committed(make_founder(region_code="460100"))
    login_as("founder", "460100", founder_id=founder_id)
    html = client.get("/integrity/me", headers=EN).get_data(as_text=True)
    assert "Score 100" in html
    assert db.session.get(Founder, founder_id) is not None
