"""Reads of the founder register: the scoped, filtered list and one founder's record."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import Select, func, select

from app.auth.models import User
from app.businesses.models import Business
from app.core.errors import NotFound
from app.core.pagination import MAX_PER_PAGE, PageRequest
from app.core.permissions import scoped
from app.extensions import db
from app.founders.models import Founder, FounderImport
from app.training.queries import training_status_clause

DIGITS = re.compile(r"[0-9]+")
LAST4 = re.compile(r"[0-9]{3}[0-9Xx]|[0-9]{4}")
PHONE_LENGTH = 11
# The register page counts this many pages past the one shown, not every match: an exact
# COUNT over a province's million founders costs 0.4 s a view; beyond the look-ahead the
# page says "more than N" and links the pages it knows of.
COUNT_AHEAD_PAGES = 10


@dataclass(frozen=True)
class FounderFilters:
    """What the list, the API and the export filter by; every field optional."""

    q: str | None = None
    region_code: str | None = None
    target_group: str | None = None
    training_status: str | None = None
    has_business: str | None = None
    has_loan: str | None = None
    registered_from: date | None = None
    registered_to: date | None = None

    @classmethod
    def from_form(cls, form: Any) -> FounderFilters:
        """Read the filter form's cleaned values (empty boxes mean "any")."""
        return cls(**{name: form[name].data or None for name in cls.__dataclass_fields__})


def is_last4_query(q: str | None) -> bool:
    """Whether the search box holds the last four characters of an ID number (audited and
    capped: last4_search)."""
    return bool(q) and LAST4.fullmatch(q) is not None and len(q) != PHONE_LENGTH


def _search_clause(q: str):
    """Search: 11 digits is a phone number, 4 characters of digits (or ending in X) are the
    last four of an ID number, other digits the start of a phone number, anything else the
    start of a name. Each form uses an index (ranges, not LIKE '%…%')."""
    if DIGITS.fullmatch(q) and len(q) == PHONE_LENGTH:
        return Founder.phone == q
    if is_last4_query(q):
        return Founder.id_number_last4 == q.upper()
    if DIGITS.fullmatch(q):
        # Phones are 11 digits: a prefix is the range from its lowest to its highest
        # completion. Equal-length digit strings sort alike under every collation; an end
        # of q + ":" does not (ICU and glibc collations ignore the punctuation).
        return Founder.phone.between(q.ljust(PHONE_LENGTH, "0"), q.ljust(PHONE_LENGTH, "9"))
    return (Founder.name >= q) & (Founder.name < q + "\U0010ffff")


def list_founders_stmt(user: Any, filters: FounderFilters = FounderFilters()) -> Select:
    """Founders in the user's scope matching `filters`, newest registration first."""
    stmt = scoped(
        select(Founder), user, region_column=Founder.region_code, founder_column=Founder.id
    )
    if filters.q:
        stmt = stmt.where(_search_clause(filters.q))
    if filters.region_code:
        stmt = stmt.where(Founder.region_code == filters.region_code)
    if filters.target_group:
        stmt = stmt.where(Founder.target_group == filters.target_group)
    if filters.training_status:
        stmt = stmt.where(training_status_clause(filters.training_status, Founder.id))
    if filters.has_business:
        owns = select(Business.id).where(Business.founder_id == Founder.id).exists()
        stmt = stmt.where(owns if filters.has_business == "yes" else ~owns)
    if filters.has_loan:
        # A loan the bank paid out, whatever became of it since (D33), kept on the founder
        # with partial indexes of borrowers by registration (D52).
        borrowed = Founder.borrower_since.is_not(None)
        stmt = stmt.where(borrowed if filters.has_loan == "yes" else ~borrowed)
    if filters.registered_from:
        stmt = stmt.where(Founder.registered_on >= filters.registered_from)
    if filters.registered_to:
        stmt = stmt.where(Founder.registered_on <= filters.registered_to)
    return stmt.order_by(Founder.registered_on.desc(), Founder.id.desc())


class CountedAheadPagination(SelectPagination):
    """A page of founders whose total is exact only within `COUNT_AHEAD_PAGES` of it.

    The count walks the page's own order (same plan, just further) and stops at the
    look-ahead; `is_total_capped` tells the page to say "more than `total`".
    """

    is_total_capped = False

    def _query_count(self) -> int:
        stmt = self._query_args["select"]
        # This page, the look-ahead, and one row to tell whether more follow.
        limit = self._query_offset + self.per_page * (1 + COUNT_AHEAD_PAGES) + 1
        ahead = stmt.with_only_columns(Founder.id).limit(limit).subquery()
        counted = self._query_args["session"].scalar(select(func.count()).select_from(ahead))
        self.is_total_capped = counted == limit
        return counted - 1 if self.is_total_capped else counted


def page_of_founders(stmt: Select, page_request: PageRequest) -> CountedAheadPagination:
    """One page of the register with a total counted only a few pages ahead."""
    return CountedAheadPagination(
        select=stmt,
        session=db.session(),
        page=page_request.page,
        per_page=page_request.per_page,
        max_per_page=MAX_PER_PAGE,
        error_out=False,
        count=True,
    )


def get_founder_in_scope(user: Any, founder_id: int) -> Founder:
    """The founder if the user may see them; 404 otherwise (absent and out of scope look alike)."""
    stmt = scoped(
        select(Founder).where(Founder.id == founder_id),
        user,
        region_column=Founder.region_code,
        founder_column=Founder.id,
    )
    founder = db.session.scalar(stmt)
    if founder is None:
        raise NotFound(_("No such founder in your area."))
    return founder


def get_founder(founder_id: int) -> Founder | None:
    """The founder with this id, whatever the scope (for internal checks only)."""
    return db.session.get(Founder, founder_id)


def get_account_of_founder(founder_id: int) -> User | None:
    """The founder's own sign-in account, if staff have created one."""
    return db.session.scalar(select(User).where(User.founder_id == founder_id))


def get_import_of_user(user: Any, import_id: int) -> FounderImport:
    """One of the user's own imports (its report names people): 404 for anyone else's."""
    founder_import = db.session.scalar(
        select(FounderImport).where(
            FounderImport.id == import_id, FounderImport.actor_id == getattr(user, "id", None)
        )
    )
    if founder_import is None:
        raise NotFound(_("No such import of yours."))
    return founder_import
