"""Spreadsheets in and out: uploaded .xlsx/.csv read as text, exports streamed to .xlsx.

Imports read every cell as text, so ID numbers keep their X and their leading digits and a
phone number typed as a number is not turned into 13912345678.0; the feature then applies
its own rules to the text. Exports escape cells a spreadsheet program would run as a
formula (OWASP "CSV injection") and are written row by row to a temporary file, so memory
stays flat however many rows there are: openpyxl's write-only mode makes the workbook, and
the rows' XML is written here (StreamedSheet), a few string joins a row instead of an
element tree a cell (20,000 rows: 4.1 s in openpyxl's serialiser, 0.7 s here).
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import math
import os
import re
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape as xml_escape

import pandas as pd
from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

from app.core.errors import ValidationFailed

logger = logging.getLogger(__name__)

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ACCEPTED_EXTENSIONS = (".xlsx", ".csv")
# The header row is searched for among the first rows, below any title rows people add.
HEADER_SEARCH_ROWS = 10
# An .xlsx is a zip: refuse one that would unpack to more than this (a "zip bomb").
MAX_UNPACKED_BYTES = 250 * 1024 * 1024
# Imports look at the first columns only: no import has more, and a sheet (or CSV line)
# that reaches far to the right must not cost memory for cells nobody reads.
MAX_COLUMNS = 64
# Largest grid (rows x columns) python-calamine may build whole; about 200,000 x 25.
MAX_GRID = 5_000_000
_CELL_REFERENCE = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')
_ROW_NUMBER = re.compile(rb'<row r="([0-9]{1,7})"')
# Excel keeps 15 significant digits of a number: a longer one typed as a number lost digits.
EXCEL_DIGITS = 15
# OWASP: cells starting with these are run as formulas by Excel, LibreOffice and others.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PARENTHESISED = re.compile(r"\(.*?\)")
_HEADER_NOISE = re.compile(r"[\s*_\-./:：]+")


@dataclass(frozen=True)
class Column:
    """One column an import understands: its field, its name for people, its header aliases."""

    field: str
    label: Any  # a (lazy) translated label, shown in messages
    aliases: tuple[str, ...]
    required: bool = False


@dataclass
class Table:
    """The data rows of an uploaded sheet as text, one column per recognised field.

    `frame` is indexed by the row number a person sees in Excel (the header row's number
    plus one for the first data row); blank rows are left out. `lost_digits` holds the
    (row, field) cells that Excel stored as numbers too long to keep every digit.
    """

    frame: pd.DataFrame
    header_row: int
    lost_digits: set[tuple[int, str]] = field(default_factory=set)

    def column(self, name: str) -> list[str]:
        """The column's values in row order ("" when the file lacks the column)."""
        if name in self.frame.columns:
            return self.frame[name].tolist()
        return [""] * len(self.frame)

    @property
    def row_numbers(self) -> list[int]:
        """Spreadsheet row numbers of the data rows, in order."""
        return self.frame.index.tolist()


def normalise_header(text: Any) -> str:
    """A header cell reduced to what identifies it: "身份证号码（必填）*" -> "身份证号码"."""
    folded = unicodedata.normalize("NFKC", str(text)).casefold()
    return _HEADER_NOISE.sub("", _PARENTHESISED.sub("", folded))


def normalise_value(text: str) -> str:
    """A cell reduced for matching against a list of names: width, case and spaces ignored."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).casefold())


def file_error(message: str) -> ValidationFailed:
    """The error for a file that cannot be used at all, shown next to the upload field."""
    return ValidationFailed({"file": [message]})


def read_table(source: Any, filename: str, columns: Sequence[Column], *, max_rows: int) -> Table:
    """Read an uploaded .xlsx or .csv into a table of text with the columns' field names.

    Raises ValidationFailed({"file": [...]}) for a wrong extension, an unreadable or empty
    file, missing required columns or more than `max_rows` data rows.
    """
    extension = Path(filename or "").suffix.lower()
    if extension not in ACCEPTED_EXTENSIONS:
        raise file_error(_("Upload an .xlsx or .csv file (save other formats as .xlsx)."))
    data = _read_bytes(source)
    if not data.strip():
        raise file_error(_("The file is empty."))
    raw = _read_xlsx(data, max_rows=max_rows) if extension == ".xlsx" else _read_csv(data)
    return _table_from_cells(raw, columns, max_rows=max_rows)


def _read_bytes(source: Any) -> bytes:
    if isinstance(source, bytes | bytearray):
        return bytes(source)
    stream = getattr(source, "stream", source)  # werkzeug FileStorage or a file object
    if hasattr(stream, "seek"):
        stream.seek(0)
    return stream.read()


def _read_xlsx(data: bytes, *, max_rows: int) -> pd.DataFrame:
    """The first sheet as a frame of cell values.

    python-calamine (fast) builds the whole sheet as a dense grid, so a 5 KB file with one
    cell at XFD20000 would ask it for gigabytes. The worksheets' cell references are
    scanned first; a sheet whose extent is too large, or whose cells do not say where they
    are, is read by openpyxl's streaming reader instead, limited to the first
    MAX_COLUMNS columns and the rows an import may have.
    """
    unreadable = _("The file could not be read as an Excel workbook (.xlsx).")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(entry.file_size for entry in archive.infolist())
            if unpacked > MAX_UNPACKED_BYTES:
                raise file_error(
                    _("The workbook is too large to import; split it into smaller files.")
                )
            is_compact = all(
                _is_compact_sheet(archive.read(name))
                for name in archive.namelist()
                if name.startswith("xl/worksheets/") and name.endswith(".xml")
            )
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        raise file_error(unreadable) from None
    try:
        if is_compact:
            return pd.read_excel(
                io.BytesIO(data),
                sheet_name=0,
                header=None,
                dtype=object,
                na_filter=False,
                engine="calamine",
            )
        return _stream_xlsx(data, max_rows=max_rows)
    except Exception:  # any failure inside the reader means the file is not usable
        logger.info("Unreadable .xlsx upload", exc_info=True)
        raise file_error(unreadable) from None


def _is_compact_sheet(xml: bytes) -> bool:
    """Whether a worksheet's grid (last row x last column) is small enough to load whole,
    judged from its cell references; cells without a reference make it "not compact"."""
    cells = xml.count(b"<c ") + xml.count(b"<c>") + xml.count(b"<c/>")
    last_row = last_column = referenced = 0
    for match in _CELL_REFERENCE.finditer(xml):
        referenced += 1
        last_column = max(last_column, _column_number(match.group(1)))
        last_row = max(last_row, int(match.group(2)))
    rows = max([last_row, xml.count(b"<row")] + [int(n) for n in _ROW_NUMBER.findall(xml)])
    return referenced == cells and last_column <= MAX_COLUMNS and rows * last_column <= MAX_GRID


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _stream_xlsx(data: bytes, *, max_rows: int) -> pd.DataFrame:
    """openpyxl's read-only reader: constant memory, only the columns and rows we use."""
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        limit = max_rows + HEADER_SEARCH_ROWS + 1  # one more than allowed, to say "too many"
        rows = [
            list(row)
            for row in sheet.iter_rows(max_row=limit, max_col=MAX_COLUMNS, values_only=True)
        ]
    finally:
        workbook.close()
    return _padded_frame(rows)


def _padded_frame(rows: list[list[Any]]) -> pd.DataFrame:
    """Rows of different lengths as one frame, short rows padded with blanks."""
    width = max((len(row) for row in rows), default=0)
    for row in rows:
        if len(row) < width:
            row.extend([""] * (width - len(row)))
    return pd.DataFrame(rows, dtype=object)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return True


def _decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (Chinese Excel's "CSV")."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if _is_utf8(data):
        return data.decode("utf-8-sig")
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise file_error(
            _("The CSV file's text encoding is not UTF-8 or GBK; save it again as CSV UTF-8.")
        ) from None


def _read_csv(data: bytes) -> pd.DataFrame:
    """CSV rows as a frame of text. Python's csv module reads them, since rows may have
    different lengths (a title line above the header, a note beyond the last column),
    which pandas' fast reader refuses; short rows are padded with blanks."""
    text = _decode_csv(data)
    first_line = text[: text.find("\n")] if "\n" in text else text
    separator = "\t" if "\t" in first_line and "," not in first_line else ","
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
        # Cut each line as it is read: a line of 50,000 commas must not stay in memory.
        rows = [row[:MAX_COLUMNS] for row in reader]
    except csv.Error:
        raise file_error(_("The file could not be read as CSV.")) from None
    if not rows:
        raise file_error(_("The file is empty."))
    return _padded_frame(rows)


def cell_text(value: Any) -> str:
    """One cell as text: numbers without ".0", Excel dates as YYYY-MM-DD, blanks as ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, datetime):
        if value.time() == time.min:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if value is pd.NaT:
        return ""
    return str(value).strip()


def _has_lost_digits(value: Any) -> bool:
    # Numbers in .xlsx are doubles; pandas hands whole ones over as int.
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) >= 10**EXCEL_DIGITS
    )


def _match_header(cells: list[Any], columns: Sequence[Column]) -> dict[int, tuple[Column, int]]:
    """Positions of the known columns in a header row, with the rank of the alias matched
    (0 is the field's own name, then its aliases in order: lower is more specific)."""
    by_alias: dict[str, tuple[Column, int]] = {}
    for column in columns:
        for rank, alias in enumerate((column.field, *column.aliases)):
            by_alias.setdefault(normalise_header(alias), (column, rank))
    found: dict[int, tuple[Column, int]] = {}
    for position, cell in enumerate(cells):
        match = by_alias.get(normalise_header(cell_text(cell)))
        if match is not None:
            found[position] = match
    return found


def _pick_columns(found: dict[int, tuple[Column, int]]) -> dict[int, Column]:
    """One position per field: "地区代码" wins over "地区" when a sheet has both; two
    columns with the same header are refused, since either could be the one meant."""
    best_rank: dict[str, int] = {}
    for column, rank in found.values():
        best_rank[column.field] = min(rank, best_rank.get(column.field, rank))
    picked: dict[int, Column] = {}
    taken: set[str] = set()
    for position, (column, rank) in sorted(found.items()):
        if rank != best_rank[column.field]:
            continue
        if column.field in taken:
            raise file_error(
                _("Two columns are both read as “%(column)s”; keep one.", column=column.label)
            )
        taken.add(column.field)
        picked[position] = column
    return picked


def _table_from_cells(raw: pd.DataFrame, columns: Sequence[Column], *, max_rows: int) -> Table:
    if raw.empty:
        raise file_error(_("The file is empty."))
    # The header is the row among the first few that names the most known columns.
    best_row, best_found = 0, {}
    for position in range(min(HEADER_SEARCH_ROWS, len(raw))):
        found = _match_header(raw.iloc[position].tolist(), columns)
        if len({column.field for column, _rank in found.values()}) > len(
            {column.field for column, _rank in best_found.values()}
        ):
            best_row, best_found = position, found
    present = {column.field for column, _rank in best_found.values()}
    missing = [column for column in columns if column.required and column.field not in present]
    if missing:
        names = "、".join(str(column.label) for column in missing)
        raise file_error(
            _("These columns are missing from the header row: %(columns)s.", columns=names)
        )
    best = _pick_columns(best_found)

    body = raw.iloc[best_row + 1 :, sorted(best)]
    header_row = best_row + 1  # people count rows from 1
    body.index = range(header_row + 1, header_row + 1 + len(body))
    body.columns = [best[position].field for position in sorted(best)]

    lost_digits: set[tuple[int, str]] = set()
    texts: dict[str, list[str]] = {}
    for name in body.columns:
        values = body[name].tolist()
        texts[name] = [cell_text(value) for value in values]
        lost_digits.update(
            (row, name)
            for row, value in zip(body.index, values, strict=True)
            if _has_lost_digits(value)
        )
    frame = pd.DataFrame(texts, index=body.index, dtype=object)
    frame = frame[(frame != "").any(axis=1)]  # blank rows are spacing, not data
    if frame.empty:
        raise file_error(_("The file has a header row but no data rows."))
    if len(frame) > max_rows:
        raise file_error(
            _(
                "The file has %(count)s rows; import at most %(limit)s at a time.",
                count=f"{len(frame):,}",
                limit=f"{max_rows:,}",
            )
        )
    return Table(frame=frame, header_row=header_row, lost_digits=lost_digits)


def escape_formula(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe (OWASP).

    Characters an .xlsx cannot hold (control codes) are dropped. Numbers, dates and
    booleans are returned as they are.
    """
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


# A cell of text holds at most this many characters (openpyxl cuts there too).
MAX_CELL_TEXT = 32_767
_COLUMN_LETTERS = tuple(get_column_letter(number) for number in range(1, 257))
_SHEET_DATA = re.compile(rb"<sheetData\s*/>|<sheetData>\s*</sheetData>")


class StreamedSheet:
    """One sheet of a StreamedWorkbook: rows are appended and written out at once.

    Each row becomes one line of SpreadsheetML in a temporary file (text inline, numbers
    and booleans as values, dates as serial days with the date style openpyxl would give
    them); `finish` puts the lines inside the sheet openpyxl wrote around them.
    """

    def __init__(self, worksheet: Any) -> None:
        self._worksheet = worksheet
        self.row_count = 0
        self._rows = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by finish/discard
            "w", encoding="utf-8", suffix=".xml", prefix="rows-", delete=False
        )
        self._row_number = 0
        self._date_styles: dict[type, int] = {}

    def append(self, values: Iterable[Any]) -> None:
        """Write one row; text is formula-escaped."""
        self._row_number += 1
        row = str(self._row_number)
        cells = []
        for column, value in enumerate(values):
            if value is None or value == "":  # an empty cell, as openpyxl writes it
                continue
            letter = _COLUMN_LETTERS[column] if column < len(_COLUMN_LETTERS) else None
            ref = (letter or get_column_letter(column + 1)) + row
            if type(value) is str:  # the common case, inline
                text = escape_formula(value)[:MAX_CELL_TEXT]
                if not text:
                    continue
                space = ' xml:space="preserve"' if text[0].isspace() or text[-1].isspace() else ""
                cells.append(
                    f'<c r="{ref}" t="inlineStr"><is><t{space}>{xml_escape(text)}</t></is></c>'
                )
            else:
                cells.append(self._cell_xml(ref, value))
        self._rows.write(f'<row r="{row}">{"".join(cells)}</row>')
        self.row_count += 1

    def _cell_xml(self, ref: str, value: Any, style: int | None = None) -> str:
        if isinstance(value, Cell):
            return self._cell_xml(ref, value.value, value.style_id if value.has_style else None)
        styled = f' s="{style}"' if style else ""
        if value is None or value == "":  # an empty cell, as openpyxl writes it
            return f'<c r="{ref}"{styled}/>' if style else ""
        if isinstance(value, str):
            text = escape_formula(value)[:MAX_CELL_TEXT]
            space = ' xml:space="preserve"' if text != text.strip() else ""
            return (
                f'<c r="{ref}"{styled} t="inlineStr"><is><t{space}>{xml_escape(text)}</t></is></c>'
            )
        if isinstance(value, bool):
            return f'<c r="{ref}"{styled} t="b"><v>{int(value)}</v></c>'
        if isinstance(value, int | float | Decimal):
            return f'<c r="{ref}"{styled} t="n"><v>{value}</v></c>'
        if isinstance(value, date | datetime | time | timedelta):
            if not style:
                style = self._date_style(value)
            return f'<c r="{ref}" s="{style}" t="n"><v>{to_excel(value)}</v></c>'
        bound = WriteOnlyCell(self._worksheet, value=value)  # numpy numbers and the like
        if bound.data_type == "n":
            return f'<c r="{ref}"{styled} t="n"><v>{bound.value}</v></c>'
        raise ValueError(f"cannot write {type(value).__name__} to a spreadsheet")

    def _date_style(self, value: Any) -> int:
        """The style openpyxl gives a cell of this kind of date (registered once)."""
        kind = type(value)
        if kind not in self._date_styles:
            self._date_styles[kind] = WriteOnlyCell(self._worksheet, value=value).style_id
        return self._date_styles[kind]

    def formatted(self, value: Any, number_format: str) -> WriteOnlyCell:
        """A cell for `append` that keeps a number format (money as #,##0.00, say)."""
        cell = WriteOnlyCell(self._worksheet, value=escape_formula(value))
        cell.number_format = number_format
        return cell

    def finish(self) -> None:
        """Close openpyxl's sheet (everything but its rows) and put the rows inside it."""
        self._rows.close()
        self._worksheet.close()
        sheet_path = Path(self._worksheet._writer.out)
        xml = sheet_path.read_bytes()  # the sheet without rows: a few hundred bytes
        found = _SHEET_DATA.search(xml)
        if found is None:
            raise RuntimeError("openpyxl wrote no empty sheetData to fill")
        with sheet_path.open("wb") as out, open(self._rows.name, "rb") as rows:
            out.write(xml[: found.start()] + b"<sheetData>")
            shutil.copyfileobj(rows, out, 1 << 20)
            out.write(b"</sheetData>" + xml[found.end() :])
        os.unlink(self._rows.name)

    def discard(self) -> None:
        """Remove the rows' temporary file (a workbook that will not be saved)."""
        self._rows.close()
        Path(self._rows.name).unlink(missing_ok=True)


class StreamedWorkbook:
    """An .xlsx written row by row in openpyxl's write-only mode (constant memory).

    Styles and widths are set when a sheet is added; rows are then only appended.
    `save()` writes a temporary file the caller sends and deletes.
    """

    def __init__(self) -> None:
        self._workbook = Workbook(write_only=True)
        self._bold = Font(bold=True)
        self._sheets: list[StreamedSheet] = []

    def add_sheet(
        self, title: str, headers: Sequence[Any], *, widths: Sequence[float] | None = None
    ) -> StreamedSheet:
        """A new sheet with a bold header row (frozen) and optional column widths."""
        worksheet = self._workbook.create_sheet(title=_sheet_title(title))
        for position, width in enumerate(widths or (), start=1):
            worksheet.column_dimensions[get_column_letter(position)].width = width
        sheet = StreamedSheet(worksheet)
        self._sheets.append(sheet)
        if headers:
            worksheet.freeze_panes = "A2"
            cells = []
            for header in headers:
                cell = WriteOnlyCell(worksheet, value=escape_formula(str(header)))
                cell.font = self._bold
                cells.append(cell)
            sheet.append(cells)
        return sheet

    def save(self, directory: str | None = None) -> Path:
        """Write the workbook to a new temporary .xlsx file and answer its path."""
        with tempfile.NamedTemporaryFile(
            suffix=".xlsx", prefix="export-", dir=directory, delete=False
        ) as handle:
            path = Path(handle.name)
        try:
            self._finish_sheets()
            self._workbook.save(str(path))
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def _finish_sheets(self) -> None:
        for sheet in self._sheets:
            sheet.finish()

    def discard(self) -> None:
        """Remove the temporary files of a workbook that will not be saved (after an error).

        openpyxl keeps each write-only sheet in a temporary file until the workbook is
        saved, and would otherwise delete them only when the process exits.
        """
        for sheet in self._sheets:
            sheet.discard()
        for worksheet in self._workbook.worksheets:
            writer = getattr(worksheet, "_writer", None)
            path = getattr(writer, "out", None)
            try:
                # Finish the sheet's rows and close its temporary file now; left to the
                # garbage collector they warn (an error under the tests' warnings policy) at
                # some later moment. A sheet without a writer has no file to close.
                if writer is not None:
                    worksheet.close()
            except Exception:  # closing a half-written sheet may fail; unlink it anyway
                logger.debug("closing a discarded sheet failed", exc_info=True)
            if isinstance(path, str):
                Path(path).unlink(missing_ok=True)

    def to_bytes(self) -> bytes:
        """The workbook as bytes, for small files (reports, templates)."""
        self._finish_sheets()
        buffer = io.BytesIO()
        self._workbook.save(buffer)
        return buffer.getvalue()


def _sheet_title(title: str) -> str:
    # Excel allows 31 characters and none of []:*?/\ in a sheet name.
    return re.sub(r"[\[\]:*?/\\]", " ", str(title))[:31] or "Sheet"


def workbook_bytes(workbook: Workbook) -> bytes:
    """A normal (not write-only) openpyxl workbook as bytes."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def open_binary(path: Path) -> IO[bytes]:
    """Open a saved export for sending and remove its name at once (POSIX keeps the data
    readable through the open handle), so no temporary file outlives the response."""
    handle = path.open("rb")
    path.unlink(missing_ok=True)
    return handle
