"""The two quarterly claim reports of the guarantee programme (SPEC §9), as .xlsx.

- The interest-subsidy claim: per loan, the subsidy of the installments paid on time in
  the quarter — fully paid (`paid_off_on`) within the quarter, on or before their due day,
  the subsidy not lost, and a subsidy to claim. An installment that owes the borrower
  nothing counts as paid on its due day (see `loans.allocation`), so a fully subsidised
  interest-only month is claimed in the quarter it falls due.
- The compensation claim list: the fund's compensation entries dated in the quarter, each
  with its loan and borrower.

Each is one set-based query over the loans in the user's area (the loan's region); the
sheets carry a title row naming the area and the quarter, a totals row, masked ID numbers
only, and every text cell escaped against formula injection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select

from app.core.audit import record_audit
from app.core.dates import CHINA_TIME
from app.core.errors import ValidationFailed
from app.core.permissions import Role
from app.core.spreadsheets import escape_formula, workbook_bytes
from app.extensions import db
from app.founders.models import Founder, mask_id_number
from app.loans.models import FundEntry, FundEntryKind, Loan, LoanInstallment
from app.loans.queries import scoped_loans
from app.regions.models import Region

ZERO = Decimal("0.00")
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
RATIO_FORMAT = "0.00%"
SUBSIDY_CLAIM = "subsidy-claim"
COMPENSATION_CLAIM = "compensation-claim"


@dataclass(frozen=True)
class Quarter:
    """A calendar quarter: Q1 is January to March."""

    year: int
    quarter: int

    @property
    def starts_on(self) -> date:
        """The quarter's first day."""
        return date(self.year, 3 * self.quarter - 2, 1)

    @property
    def ends_on(self) -> date:
        """The quarter's last day."""
        if self.quarter == 4:
            return date(self.year, 12, 31)
        return date(self.year, 3 * self.quarter + 1, 1) - timedelta(days=1)

    @property
    def code(self) -> str:
        """2026Q1, as in file names."""
        return f"{self.year}Q{self.quarter}"

    @property
    def label(self) -> str:
        """The quarter for people, e.g. "2026 Q1"."""
        return _("%(year)s Q%(quarter)s", year=self.year, quarter=self.quarter)

    @classmethod
    def containing(cls, day: date) -> Quarter:
        """The quarter `day` falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    def previous(self) -> Quarter:
        """The quarter before this one."""
        if self.quarter == 1:
            return Quarter(self.year - 1, 4)
        return Quarter(self.year, self.quarter - 1)


def claim_quarter(year: Any, quarter: Any, *, as_of: date) -> Quarter:
    """The quarter asked for, checked: a whole year, 1–4, and already begun on `as_of`."""
    errors: dict[str, list[str]] = {}
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        errors["year"] = [_("Enter a year between %(min)s and %(max)s.", min=2000, max=2100)]
    if quarter not in (1, 2, 3, 4) or isinstance(quarter, bool):
        errors["quarter"] = [_("Choose a quarter from 1 to 4.")]
    if errors:
        raise ValidationFailed(errors)
    period = Quarter(year, quarter)
    if period.starts_on > as_of:
        raise ValidationFailed.single(
            "quarter", _("%(quarter)s has not begun yet.", quarter=period.label)
        )
    return period


@dataclass(frozen=True)
class SubsidyClaimRow:
    """One loan of the interest-subsidy claim."""

    loan_id: int
    founder_name: str
    id_number_masked: str
    region_code: str
    region_name: str
    bank_reference: str
    disbursed_on: date | None
    amount: Decimal
    installments: int
    subsidy: Decimal


@dataclass(frozen=True)
class CompensationClaimRow:
    """One compensation of the compensation claim list."""

    loan_id: int
    founder_name: str
    id_number_masked: str
    region_code: str
    region_name: str
    bank_reference: str
    disbursed_on: date | None
    amount: Decimal
    defaulted_on: date | None
    outstanding_principal: Decimal
    guarantee_ratio: Decimal
    compensated_on: date
    compensated_amount: Decimal
    reference: str


def _region_name(name: str, name_en: str | None) -> str:
    """The region's name in the interface language (as Region.display_name)."""
    locale = get_locale()
    return name_en if locale is not None and locale.language == "en" and name_en else name


def _loan_columns() -> tuple[Any, ...]:
    """The loan, borrower and region columns both claims start with (rows 0–8)."""
    return (
        Loan.id,
        Founder.name,
        Founder.id_number,
        Loan.region_code,
        Region.name,
        Region.name_en,
        Loan.bank_reference,
        Loan.disbursed_on,
        Loan.amount,
    )


def subsidy_claim_rows(user: Any, year: int, quarter: int) -> list[SubsidyClaimRow]:
    """Per loan in the user's area: the installments paid on time in the quarter and their
    subsidy (one GROUP BY query)."""
    period = Quarter(year, quarter)
    installments = func.count(LoanInstallment.id)
    subsidy = func.sum(LoanInstallment.subsidy)
    stmt = scoped_loans(
        select(*_loan_columns(), installments, subsidy)
        .join(LoanInstallment, LoanInstallment.loan_id == Loan.id)
        .join(Founder, Founder.id == Loan.founder_id)
        .join(Region, Region.code == Loan.region_code)
        .where(
            LoanInstallment.paid_off_on.between(period.starts_on, period.ends_on),
            LoanInstallment.paid_off_on <= LoanInstallment.due_on,
            LoanInstallment.subsidy_lost.is_(False),
            LoanInstallment.subsidy > ZERO,
        ),
        user,
    ).group_by(*_loan_columns())
    return [
        SubsidyClaimRow(
            loan_id=row[0],
            founder_name=row[1],
            id_number_masked=mask_id_number(row[2]),
            region_code=row[3],
            region_name=_region_name(row[4], row[5]),
            bank_reference=row[6] or "",
            disbursed_on=row[7],
            amount=row[8],
            installments=int(row[9]),
            subsidy=row[10] or ZERO,
        )
        for row in db.session.execute(stmt.order_by(Loan.region_code, Loan.id))
    ]


def compensation_claim_rows(user: Any, year: int, quarter: int) -> list[CompensationClaimRow]:
    """The compensations dated in the quarter of loans in the user's area, with their loan
    and borrower (one query)."""
    period = Quarter(year, quarter)
    stmt = scoped_loans(
        select(
            *_loan_columns(),
            Loan.defaulted_on,
            Loan.outstanding_principal,
            Loan.guarantee_ratio,
            FundEntry.entry_on,
            FundEntry.amount,
            FundEntry.reference,
        )
        .select_from(FundEntry)
        .join(Loan, Loan.id == FundEntry.loan_id)
        .join(Founder, Founder.id == Loan.founder_id)
        .join(Region, Region.code == Loan.region_code)
        .where(
            FundEntry.kind == FundEntryKind.COMPENSATION,
            FundEntry.entry_on.between(period.starts_on, period.ends_on),
        ),
        user,
    ).order_by(FundEntry.entry_on, FundEntry.id)
    return [
        CompensationClaimRow(
            loan_id=row[0],
            founder_name=row[1],
            id_number_masked=mask_id_number(row[2]),
            region_code=row[3],
            region_name=_region_name(row[4], row[5]),
            bank_reference=row[6] or "",
            disbursed_on=row[7],
            amount=row[8],
            defaulted_on=row[9],
            outstanding_principal=row[10],
            guarantee_ratio=row[11],
            compensated_on=row[12],
            # Compensation lowers the fund: stored negative, claimed as a positive amount.
            compensated_amount=-row[13],
            reference=row[14] or "",
        )
        for row in db.session.execute(stmt)
    ]


# --- the workbooks --------------------------------------------------------------------


@dataclass(frozen=True)
class _SheetColumn:
    label: Any
    width: float
    value: Callable[[Any], Any]
    number_format: str | None = None
    total: bool = False


SUBSIDY_COLUMNS = (
    _SheetColumn(_l("Loan id"), 10, lambda r: r.loan_id),
    _SheetColumn(_l("Borrower"), 14, lambda r: r.founder_name),
    _SheetColumn(_l("ID number (masked)"), 22, lambda r: r.id_number_masked),
    _SheetColumn(_l("Region code"), 10, lambda r: r.region_code),
    _SheetColumn(_l("Region"), 14, lambda r: r.region_name),
    _SheetColumn(_l("Bank loan reference"), 20, lambda r: r.bank_reference),
    _SheetColumn(_l("Disbursed on"), 12, lambda r: r.disbursed_on, DATE_FORMAT),
    _SheetColumn(_l("Loan amount"), 14, lambda r: r.amount, MONEY_FORMAT, total=True),
    _SheetColumn(_l("Installments paid on time"), 12, lambda r: r.installments, total=True),
    _SheetColumn(_l("Interest subsidy"), 14, lambda r: r.subsidy, MONEY_FORMAT, total=True),
)

COMPENSATION_COLUMNS = (
    _SheetColumn(_l("Loan id"), 10, lambda r: r.loan_id),
    _SheetColumn(_l("Borrower"), 14, lambda r: r.founder_name),
    _SheetColumn(_l("ID number (masked)"), 22, lambda r: r.id_number_masked),
    _SheetColumn(_l("Region code"), 10, lambda r: r.region_code),
    _SheetColumn(_l("Region"), 14, lambda r: r.region_name),
    _SheetColumn(_l("Bank loan reference"), 20, lambda r: r.bank_reference),
    _SheetColumn(_l("Disbursed on"), 12, lambda r: r.disbursed_on, DATE_FORMAT),
    _SheetColumn(_l("Loan amount"), 14, lambda r: r.amount, MONEY_FORMAT, total=True),
    _SheetColumn(_l("Defaulted on"), 12, lambda r: r.defaulted_on, DATE_FORMAT),
    _SheetColumn(
        _l("Outstanding principal"),
        14,
        lambda r: r.outstanding_principal,
        MONEY_FORMAT,
        total=True,
    ),
    _SheetColumn(_l("Guarantee ratio"), 10, lambda r: r.guarantee_ratio, RATIO_FORMAT),
    _SheetColumn(_l("Compensated on"), 12, lambda r: r.compensated_on, DATE_FORMAT),
    _SheetColumn(
        _l("Compensated amount"), 14, lambda r: r.compensated_amount, MONEY_FORMAT, total=True
    ),
    _SheetColumn(_l("Reference"), 18, lambda r: r.reference),
)


def claim_filename(kind: str, period: Quarter) -> str:
    """The download name, e.g. subsidy-claim-2026Q1.xlsx."""
    return f"{kind}-{period.code}.xlsx"


def scope_name(user: Any) -> str:
    """The area a user's reports cover, for their title: a region, or all regions."""
    if getattr(user, "role", None) == Role.ADMIN:
        return _("All regions")
    region = db.session.get(Region, getattr(user, "region_code", None) or "")
    return f"{region.code} {region.display_name}" if region is not None else ""


def subsidy_claim_workbook(
    user: Any, period: Quarter, rows: Sequence[SubsidyClaimRow], *, generated_at: datetime
) -> bytes:
    """The interest-subsidy claim of the quarter as .xlsx bytes."""
    title = _(
        "Interest-subsidy claim: %(area)s, %(quarter)s", area=scope_name(user), quarter=period.label
    )
    return _claim_workbook(
        _("Interest subsidy"), title, period, SUBSIDY_COLUMNS, rows, user, generated_at
    )


def compensation_claim_workbook(
    user: Any, period: Quarter, rows: Sequence[CompensationClaimRow], *, generated_at: datetime
) -> bytes:
    """The compensation claim list of the quarter as .xlsx bytes."""
    title = _(
        "Compensation claim list: %(area)s, %(quarter)s",
        area=scope_name(user),
        quarter=period.label,
    )
    return _claim_workbook(
        _("Compensation"), title, period, COMPENSATION_COLUMNS, rows, user, generated_at
    )


def _claim_workbook(
    sheet_title: str,
    title: str,
    period: Quarter,
    columns: Sequence[_SheetColumn],
    rows: Sequence[Any],
    user: Any,
    generated_at: datetime,
) -> bytes:
    """Title, period line, header, one line per row, totals; every text cell escaped."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title[:31]
    last_column = get_column_letter(len(columns))
    sheet.append([escape_formula(title)])
    sheet.merge_cells(f"A1:{last_column}1")
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    stamp = generated_at.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M (UTC+8)")
    subtitle = _(
        "Period %(start)s to %(end)s. Made %(stamp)s by %(user)s. ID numbers are masked.",
        start=period.starts_on.isoformat(),
        end=period.ends_on.isoformat(),
        stamp=stamp,
        user=getattr(user, "username", "") or "",
    )
    sheet.append([escape_formula(subtitle)])
    sheet.merge_cells(f"A2:{last_column}2")
    sheet.append([escape_formula(str(column.label)) for column in columns])
    bold = Font(bold=True)
    for cell in sheet[3]:
        cell.font = bold
    sheet.freeze_panes = "A4"
    for position, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = column.width

    totals: list[Any] = [ZERO if column.total else None for column in columns]
    for row in rows:
        values = [column.value(row) for column in columns]
        sheet.append([escape_formula(value) for value in values])
        for position, (column, value) in enumerate(zip(columns, values, strict=True)):
            if column.total and value is not None:
                totals[position] += value
        _format_row(sheet, sheet.max_row, columns)

    totals[0] = _("Total (%(count)s)", count=len(rows))
    sheet.append([escape_formula(value) for value in totals])
    _format_row(sheet, sheet.max_row, columns)
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    return workbook_bytes(workbook)


def _format_row(sheet: Any, row_number: int, columns: Sequence[_SheetColumn]) -> None:
    for position, column in enumerate(columns, start=1):
        if column.number_format:
            sheet.cell(row=row_number, column=position).number_format = column.number_format


def record_claim_export(actor: Any, kind: str, period: Quarter, *, row_count: int) -> None:
    """Claim reports carry borrowers' names and loans: who took which, and how many rows,
    is kept like any export (SPEC §4)."""
    record_audit(
        actor,
        "loan.claim_export",
        ("loan_claim", None),
        None,
        {"report": kind, "quarter": period.code, "row_count": row_count},
        region_code=getattr(actor, "region_code", None),
    )
