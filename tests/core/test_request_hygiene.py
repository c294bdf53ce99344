"""Inputs that would reach a driver or a header as something they cannot hold."""

from __future__ import annotations

import pytest

from app.core.security import safe_next_url


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "\\ud800"}',
        b'{"\\udfff": 1}',
        b'{"founder_id": 1, "note": ["ok", "\\ud83d"]}',
    ],
)
def test_a_lone_surrogate_in_json_is_a_bad_request(api_as, body):
    staff = api_as("staff", "460100")
    for path in ("/api/v1/businesses", "/api/v1/incubation/bases", "/api/v1/institutions"):
        response = staff.post(path, data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (path, response.get_data(as_text=True))


def test_a_paired_surrogate_is_just_an_emoji(api_as):
    staff = api_as("staff", "460100")
    response = staff.post(
        "/api/v1/incubation/bases",
        data='{"name": "\\ud83c\\udf34 椰林基地", "region_code": "460100", "kind": "park", '
        '"units": 5}'.encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["name"] == "🌴 椰林基地"


@pytest.mark.parametrize(
    "target",
    ["/businesses\r\nSet-Cookie: x=1", "/a\nb", "/a\tb", "/a\x7fb", "//evil.example", "https://x"],
)
def test_next_urls_with_control_characters_or_other_sites_are_refused(target):
    assert safe_next_url(target) is None


def test_a_plain_next_url_is_kept():
    assert safe_next_url("/businesses/reports?state=queried") == "/businesses/reports?state=queried"
