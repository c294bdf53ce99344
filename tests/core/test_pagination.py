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


def test_links_never_carry_a_whole_id_number(app):
    from app.core.pagination import link_args

    args = {"q": "46010019900517001X", "region_code": "460100", "_anchor": "x", "page": "2"}
    assert link_args(args) == {"region_code": "460100", "page": "2"}
    assert link_args({"q": "0017"}) == {"q": "0017"}  # the last four are a fine search


def test_the_current_page_link_keeps_only_safe_arguments(app):
    from app.core.pagination import current_page_link

    with app.test_request_context("/founders?q=46010019900517001X&target_group=veteran"):
        assert current_page_link() == "/founders?target_group=veteran"
    with app.test_request_context("/businesses"):
        assert current_page_link() == "/businesses"
