"""Reading page and per_page, with messages naming the field."""

from __future__ import annotations

import pytest

from app.core.errors import ValidationFailed
from app.core.pagination import (
    MAX_PER_PAGE,
    PageRequest,
    read_page_request,
    read_page_request_or_first,
)


def test_defaults_and_values(app):
    with app.test_request_context():
        assert read_page_request({}) == PageRequest(1, 20)
        assert read_page_request({"page": "3", "per_page": "200"}) == PageRequest(3, 200)


@pytest.mark.parametrize(
    "args",
    [{"page": "0"}, {"page": "-1"}, {"page": "x"}, {"per_page": str(MAX_PER_PAGE + 1)}],
)
def test_bad_values_name_the_field(app, args):
    with app.test_request_context(), pytest.raises(ValidationFailed) as caught:
        read_page_request(args)
    assert set(caught.value.errors) == set(args)


def test_pages_fall_back_to_the_first_page(app):
    with app.test_request_context():
        assert read_page_request_or_first({"page": "junk"}) == PageRequest(1, 20)
