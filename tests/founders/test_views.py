"""The founder register's pages, through the client: list, register, detail, reveal,
edit, founder accounts and the founder's own /me page."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.founders.models import Founder
from tests.factories import DEFAULT_PASSWORD, make_id_number, make_user
from tests.founders.helpers import (
    HAIKOU,
    HAINAN,
    SANYA,
    audit_entries,
    count_founders_and_audit,
    enroll,
    id_number_born,
    saved_founder,
    with_wrong_check_char,
)

EN = {"Accept-Language": "en"}
NEW_PASSWORD = "a founder's own password"


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def register_form(**overrides) -> dict[str, str]:
    """The register form as a browser posts it (the certificate box ticked)."""
    return {
        "name": "陈静",
        "id_number": id_number_born(date(1994, 8, 8), sex="female"),
        "phone": "13698765432",
        "region_code": HAIKOU,
        "target_group": "returning_migrant",
        "education": "",
        "has_reemployment_certificate": "y",
        "registered_on": "2026-03-02",
    } | overrides


def csrf_token_in(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def founder_ids_on(html: str) -> list[int]:
    """Founder ids linked from the list, in order."""
    return [int(found) for found in re.findall(r'href="/founders/(\d+)"', html)]


# The list --------------------------------------------------------------------------------
def test_list_shows_founders_in_scope_with_masked_ids(client, login_as):
    login_as("staff", HAIKOU)
    haikou = saved_founder(name="张伟", registered_on=date(2026, 2, 1))
    newer = saved_founder(name="李娜", registered_on=date(2026, 3, 1))
    sanya = saved_founder(name="王五", region_code=SANYA)
    html = page(client.get("/founders"))
    assert founder_ids_on(html) == [newer.id, haikou.id]
    assert haikou.id_number_masked in html
    for founder in (haikou, newer, sanya):
        assert founder.id_number not in html
    assert "王五" not in html


def test_list_search_and_filters(client, login_as):
    login_as("staff", HAINAN)
    zhang = saved_founder(name="张伟", phone="13812345678", target_group="veteran")
    li = saved_founder(name="李娜", region_code=SANYA, registered_on=date(2025, 5, 5))
    x = saved_founder(name="赵六")
    assert founder_ids_on(page(client.get("/founders?q=张"))) == [zhang.id]
    assert founder_ids_on(page(client.get("/founders?q=13812345678"))) == [zhang.id]
    assert founder_ids_on(page(client.get("/founders?q=1381234"))) == [zhang.id]
    assert founder_ids_on(page(client.get(f"/founders?q={x.id_number[-4:]}"))) == [x.id]
    assert founder_ids_on(page(client.get("/founders?target_group=veteran"))) == [zhang.id]
    assert founder_ids_on(page(client.get(f"/founders?region_code={SANYA}"))) == [li.id]
    assert founder_ids_on(page(client.get("/founders?registered_to=2025-12-31"))) == [li.id]
    not_enrolled = page(client.get("/founders?training_status=not_enrolled"))
    assert set(founder_ids_on(not_enrolled)) == {zhang.id, li.id, x.id}


def test_list_with_bad_filters_says_so_and_shows_everyone(client, login_as):
    login_as("staff", HAIKOU)
    founder = saved_founder()
    html = page(
        client.get("/founders?registered_from=2026-03-01&registered_to=2026-02-01", headers=EN)
    )
    assert "The end date is before the start date." in html
    assert founder_ids_on(html) == [founder.id]


def test_list_paginates(client, login_as):
    login_as("staff", HAIKOU)
    founders = [saved_founder(registered_on=date(2026, 1, day)) for day in range(1, 24)]
    first = founder_ids_on(page(client.get("/founders")))
    second = founder_ids_on(page(client.get("/founders?page=2")))
    assert len(first) == 20
    assert first + second == [founder.id for founder in reversed(founders)]
    assert founder_ids_on(page(client.get("/founders?page=zero"))) == first


@pytest.mark.parametrize(("role", "region"), [("officer", HAIKOU), ("admin", HAINAN)])
def test_officers_and_admins_read_the_list(client, login_as, role, region):
    login_as(role, region)
    founder = saved_founder()
    html = page(client.get("/founders"))
    assert founder_ids_on(html) == [founder.id]
    assert 'data-testid="new-founder"' not in html


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/founders")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


# Registering ----------------------------------------------------------------------------
def test_register_redirects_to_the_new_founder(client, login_as):
    staff = login_as("staff", HAIKOU)
    form = register_form()
    response = client.post("/founders/new", data=form)
    assert response.status_code == 302
    founder = db.session.scalar(select(Founder).where(Founder.id_number == form["id_number"]))
    assert response.headers["Location"] == f"/founders/{founder.id}"
    assert (founder.name, founder.birth_date, founder.sex) == ("陈静", date(1994, 8, 8), "female")
    assert founder.has_reemployment_certificate is True
    assert founder.education is None
    [entry] = audit_entries("founder.create", founder.id)
    assert entry.actor_id == staff.id
    html = page(client.get(response.headers["Location"]))
    assert "陈静" in html


def test_register_form_offers_only_regions_in_scope(client, login_as):
    login_as("staff", HAIKOU)
    html = page(client.get("/founders/new"))
    assert f'value="{HAIKOU}"' in html
    assert f'value="{SANYA}"' not in html


def test_register_with_bad_values_shows_the_errors_and_writes_nothing(client, login_as):
    login_as("staff", HAIKOU)
    before = count_founders_and_audit()
    response = client.post(
        "/founders/new",
        data=register_form(
            id_number=with_wrong_check_char(make_id_number()),
            phone="1369876543",
            region_code=SANYA,
        ),
        headers=EN,
    )
    html = page(response)
    assert "This ID number&#39;s check character is wrong" in html
    assert "Enter an 11-digit mainland mobile number starting with 1." in html
    assert count_founders_and_audit() == before
    # The region is checked by the operation, once the form's own checks pass.
    html = page(client.post("/founders/new", data=register_form(region_code=SANYA), headers=EN))
    assert "Unknown region, or a region outside your area." in html
    assert count_founders_and_audit() == before


def test_register_a_future_date_is_refused(client, login_as):
    login_as("staff", HAIKOU)
    before = count_founders_and_audit()
    html = page(client.post("/founders/new", data=register_form(registered_on="2099-01-01")))
    assert 'data-testid="duplicate"' not in html
    assert count_founders_and_audit() == before


def test_register_a_duplicate_links_to_the_existing_founder(client, login_as):
    login_as("staff", HAIKOU)
    existing = saved_founder()
    before = count_founders_and_audit()
    html = page(
        client.post("/founders/new", data=register_form(id_number=existing.id_number), headers=EN)
    )
    assert 'data-testid="duplicate"' in html
    assert f'href="/founders/{existing.id}"' in html
    assert "A founder with this ID number is already registered" in html
    assert count_founders_and_audit() == before


def test_register_a_duplicate_from_another_region_names_its_id(client, login_as):
    login_as("staff", HAIKOU)
    sanya = saved_founder(region_code=SANYA)
    html = page(client.post("/founders/new", data=register_form(id_number=sanya.id_number)))
    assert f'href="/founders/{sanya.id}"' in html
    assert client.get(f"/founders/{sanya.id}").status_code == 404


# The detail page ------------------------------------------------------------------------
def test_detail_shows_masked_id_and_the_journey(client, login_as):
    login_as("staff", HAIKOU)
    founder = saved_founder(registered_on=date(2026, 1, 5))
    html = page(client.get(f"/founders/{founder.id}", headers=EN))
    assert founder.id_number_masked in html
    assert founder.id_number not in html
    assert 'data-testid="journey"' in html
    assert "Registered · 2026-01-05" in html
    assert "Next milestone: Passed entrepreneurship training" in html
    assert 'data-testid="reveal-id"' in html
    assert 'data-testid="integrity-grade">B<' in html


def test_detail_journey_and_trainings_follow_the_enrollments(client, login_as):
    login_as("staff", HAIKOU)
    founder = saved_founder()
    enroll(db.session.get(Founder, founder.id), course_code="SYB", result="passed")
    enroll(db.session.get(Founder, founder.id), course_code="IYB")
    db.session.commit()
    html = page(client.get(f"/founders/{founder.id}", headers=EN))
    assert "Passed entrepreneurship training · 2026-04-10" in html
    assert "Next milestone: Adopted a library project" in html
    assert "Start Your Business" in html  # the course name in the page's language
    assert "CERT-" in html


@pytest.mark.parametrize(("role", "region"), [("staff", HAIKOU), ("officer", HAIKOU)])
def test_staff_and_officers_in_scope_reveal_the_full_number(client, login_as, role, region):
    user = login_as(role, region)
    founder = saved_founder()
    html = page(client.post(f"/founders/{founder.id}/id-number"))
    assert f'data-testid="full-id-number">{founder.id_number}<' in html
    [entry] = audit_entries("founder.view_id_number", founder.id)
    assert entry.actor_id == user.id
    again = page(client.get(f"/founders/{founder.id}"))
    assert founder.id_number not in again


def test_province_staff_reveal_a_city_founder(client, login_as):
    login_as("staff", HAINAN)
    founder = saved_founder(region_code=SANYA)
    html = page(client.post(f"/founders/{founder.id}/id-number"))
    assert founder.id_number in html


def test_admins_may_not_reveal(client, login_as):
    login_as("admin", HAINAN)
    founder = saved_founder()
    html = page(client.get(f"/founders/{founder.id}"))
    assert 'data-testid="reveal-id"' not in html
    before = count_founders_and_audit()
    response = client.post(f"/founders/{founder.id}/id-number")
    assert response.status_code == 403
    assert founder.id_number not in response.get_data(as_text=True)
    assert count_founders_and_audit() == before


def test_founders_may_not_reveal_even_their_own(client, login_as):
    user = login_as("founder", HAIKOU)
    before = count_founders_and_audit()
    response = client.post(f"/founders/{user.founder_id}/id-number")
    assert response.status_code == 403
    assert count_founders_and_audit() == before


# Out of scope ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("get", "/edit"),
        ("post", "/edit"),
        ("post", "/id-number"),
        ("get", "/account"),
        ("post", "/account"),
    ],
)
@pytest.mark.parametrize("role", ["staff", "officer"])
def test_haikou_users_get_404_for_a_sanya_founder(client, login_as, method, suffix, role):
    login_as(role, HAIKOU)
    sanya = saved_founder(region_code=SANYA)
    before = count_founders_and_audit()
    response = getattr(client, method)(
        f"/founders/{sanya.id}{suffix}",
        data={"name": "改名", "username": "taken.over", "password": NEW_PASSWORD},
    )
    expected = 403 if role == "officer" and suffix in ("/edit", "/account") else 404
    assert response.status_code == expected
    assert sanya.id_number not in response.get_data(as_text=True)
    assert count_founders_and_audit() == before


@pytest.mark.parametrize("suffix", ["", "/edit", "/account"])
def test_missing_founders_are_404(client, login_as, suffix):
    login_as("staff", HAIKOU)
    assert client.get(f"/founders/999999999{suffix}").status_code == 404


# Editing --------------------------------------------------------------------------------
def test_edit_shows_the_record_and_saves_changes(client, login_as):
    staff = login_as("staff", HAIKOU)
    founder = saved_founder(name="张伟", education="high_school")
    html = page(client.get(f"/founders/{founder.id}/edit"))
    assert 'value="张伟"' in html
    form = {
        "name": "张伟",
        "id_number": founder.id_number,
        "phone": "13511112222",
        "region_code": HAIKOU,
        "target_group": founder.target_group,
        "education": "high_school",
        "registered_on": founder.registered_on.isoformat(),
    }
    response = client.post(f"/founders/{founder.id}/edit", data=form)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/founders/{founder.id}"
    stored = db.session.get(Founder, founder.id)
    assert stored.phone == "13511112222"
    assert stored.registered_on == founder.registered_on
    [entry] = audit_entries("founder.update", founder.id)
    assert entry.actor_id == staff.id
    assert set(entry.after) == {"phone"}


def test_edit_to_a_duplicate_id_number_shows_an_error(client, login_as):
    login_as("staff", HAIKOU)
    founder = saved_founder()
    other = saved_founder()
    form = {
        "name": founder.name,
        "id_number": other.id_number,
        "phone": founder.phone,
        "region_code": HAIKOU,
        "target_group": founder.target_group,
        "registered_on": founder.registered_on.isoformat(),
    }
    before = count_founders_and_audit()
    html = page(client.post(f"/founders/{founder.id}/edit", data=form, headers=EN))
    assert "A founder with this ID number is already registered" in html
    assert count_founders_and_audit() == before
    assert db.session.get(Founder, founder.id).id_number == founder.id_number


@pytest.mark.parametrize(("role", "region"), [("officer", HAIKOU), ("admin", HAINAN)])
def test_only_staff_register_and_edit(client, login_as, role, region):
    login_as(role, region)
    founder = saved_founder()
    assert client.get("/founders/new").status_code == 403
    assert client.post("/founders/new", data=register_form()).status_code == 403
    assert client.get(f"/founders/{founder.id}/edit").status_code == 403
    assert client.get(f"/founders/{founder.id}/account").status_code == 403


# Founder accounts and the founder's own page --------------------------------------------
def test_staff_create_an_account_and_the_founder_signs_in(client, login_as):
    login_as("staff", HAIKOU)
    founder = saved_founder(name="刘洋")
    enroll(db.session.get(Founder, founder.id), course_code="SYB", result="passed")
    db.session.commit()
    assert "刘洋" in page(client.get(f"/founders/{founder.id}/account"))
    response = client.post(
        f"/founders/{founder.id}/account",
        data={"username": "Liu.Yang", "password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/founders/{founder.id}"
    account = db.session.scalar(select(User).where(User.founder_id == founder.id))
    assert (account.username, account.role, account.region_code) == (
        "liu.yang",
        "founder",
        HAIKOU,
    )
    assert "liu.yang" in page(client.get(f"/founders/{founder.id}"))
    again = client.get(f"/founders/{founder.id}/account")
    assert again.status_code == 302

    assert client.post("/logout").status_code == 302
    signed_in = client.post("/login", data={"username": "liu.yang", "password": NEW_PASSWORD})
    assert signed_in.status_code == 302
    # Staff chose the password: the founder replaces it first (D49), then signs in again.
    assert signed_in.headers["Location"] == "/account/password"
    own = NEW_PASSWORD + " of my own"
    changed = client.post(
        "/account/password",
        data={"current_password": NEW_PASSWORD, "new_password": own, "confirm": own},
    )
    assert changed.status_code == 302
    client.post("/login", data={"username": "liu.yang", "password": own})
    dashboard = client.get("/")
    assert dashboard.status_code == 302
    assert dashboard.headers["Location"] == "/me"
    html = page(client.get("/me", headers=EN))
    assert founder.id_number_masked in html
    assert founder.id_number not in html
    assert "刘洋" in html
    assert 'data-testid="my-training"' in html
    assert "CERT-" in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "founder-portal" in html
    assert "<table" not in html  # cards, readable on a phone without sideways scrolling


def test_account_form_errors_are_shown(client, login_as):
    login_as("staff", HAIKOU)
    founder = saved_founder()
    before = count_founders_and_audit()
    html = page(
        client.post(
            f"/founders/{founder.id}/account",
            data={"username": "x", "password": "short"},
            headers=EN,
        )
    )
    assert "is-invalid" in html
    assert count_founders_and_audit() == before
    assert db.session.scalar(select(User).where(User.founder_id == founder.id)) is None


def test_account_with_a_taken_username_is_refused(client, login_as):
    staff = login_as("staff", HAIKOU)
    founder = saved_founder()
    html = page(
        client.post(
            f"/founders/{founder.id}/account",
            data={"username": staff.username, "password": NEW_PASSWORD},
            headers=EN,
        )
    )
    assert "is taken" in html
    assert db.session.scalar(select(User).where(User.founder_id == founder.id)) is None


def test_me_shows_only_the_founders_own_record(client, login_as):
    user = login_as("founder", HAIKOU)
    own = db.session.get(Founder, user.founder_id)
    masked, full = own.id_number_masked, own.id_number
    html = page(client.get("/me", headers=EN))
    assert masked in html
    assert full not in html
    assert "No trainings yet." in html


def test_a_founder_cannot_use_the_staff_pages(client, login_as):
    user = login_as("founder", HAIKOU)
    other = saved_founder()
    assert client.get("/founders").status_code == 403
    assert client.get("/founders/new").status_code == 403
    assert client.get(f"/founders/{other.id}").status_code in (403, 404)
    assert client.get(f"/founders/{user.founder_id}").status_code in (403, 404)
    assert client.get(f"/founders/{other.id}/edit").status_code == 403
    assert client.get(f"/founders/{other.id}/account").status_code == 403


def test_staff_have_no_me_page(client, login_as):
    login_as("staff", HAIKOU)
    assert client.get("/me").status_code == 403


def test_a_passed_skills_course_is_not_entrepreneurship_training(client, login_as):
    login_as("staff", HAIKOU)
    founder = saved_founder()
    enroll(db.session.get(Founder, founder.id), course_code="T-WELD", result="passed")
    db.session.commit()
    html = page(client.get(f"/founders/{founder.id}", headers=EN))
    assert "Next milestone: Passed entrepreneurship training" in html


def test_the_reveal_button_works_with_csrf_and_refuses_without(csrf_client):
    username = make_user(role="staff", region_code=HAIKOU).username
    founder = saved_founder()
    login_page = csrf_client.get("/login").get_data(as_text=True)
    csrf_client.post(
        "/login",
        data={
            "username": username,
            "password": DEFAULT_PASSWORD,
            "csrf_token": csrf_token_in(login_page),
        },
    )
    detail = page(csrf_client.get(f"/founders/{founder.id}"))
    refused = csrf_client.post(f"/founders/{founder.id}/id-number")
    assert refused.status_code == 302
    assert audit_entries("founder.view_id_number", founder.id) == []
    shown = page(
        csrf_client.post(
            f"/founders/{founder.id}/id-number", data={"csrf_token": csrf_token_in(detail)}
        )
    )
    assert founder.id_number in shown
    assert len(audit_entries("founder.view_id_number", founder.id)) == 1


def test_the_edit_form_shows_no_full_id_number_unaudited(client, login_as):
    login_as("staff", HAIKOU)
    founder = saved_founder()
    html = page(client.get(f"/founders/{founder.id}/edit"))
    audited = audit_entries("founder.view_id_number", founder.id)
    assert founder.id_number not in html or audited
