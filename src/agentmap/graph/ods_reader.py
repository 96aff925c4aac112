"""Read the cells of an OpenDocument spreadsheet (.ods) as a stream, with the standard library.

odfpy (pandas' ``odf`` engine) builds a DOM of the whole document, which took seconds for a
10,000-row sheet. Here ``content.xml`` is parsed as a stream and each row is dropped once read,
so time and memory follow the cells that hold something, not the million blank rows and 16,384
blank columns a spreadsheet declares after them.

The values are those pandas' ``odf`` engine gave, so ``workbook_reader`` renders both alike,
except where pandas lost or changed what the user gave: a formula's error (``#DIV/0!``,
``Err:502``) is a :class:`CellError`, never its text or a blank; a text cell ``#N/A`` stays text;
tabs, text without a value type, text in a covered (merged-over) cell, localised booleans
(``WAHR``) and durations of a day or more are kept.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeAlias

from agentmap.exceptions import GraphFileError

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
_CALCEXT = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"

_SHEET, _DDE_LINKS, _ROW = f"{_TABLE}table", f"{_TABLE}dde-links", f"{_TABLE}table-row"
_ENCLOSING = {_SHEET, _DDE_LINKS}
_CELLS = {f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell"}
_PARAGRAPHS = {f"{_TEXT}p", f"{_TEXT}h"}
_LISTS = {f"{_TEXT}list", f"{_TEXT}list-item", f"{_TEXT}list-header"}
_SPACES, _TAB, _LINE_BREAK = f"{_TEXT}s", f"{_TEXT}tab", f"{_TEXT}line-break"
_ANNOTATION = f"{_OFFICE}annotation"

# An error code a cell shows in place of a formula's value (Excel's and LibreOffice's names).
_ERROR_CODE = re.compile(
    r"#(NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|GETTING_DATA|SPILL!|CALC!|FIELD!|BLOCKED!"
    r"|CONNECT!|BUSY!|UNKNOWN!)|Err:\d{3}"
)
# xsd:duration as office:time-value writes it: PT10H30M00S, P1DT2H, -PT0H0M1.5S.
_DURATION = re.compile(
    r"(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,](\d*))?S)?)?", re.ASCII
)


@dataclass(frozen=True)
class CellError:
    """A cell showing a formula's error (``#DIV/0!``, ``Err:502``) where its value should be.

    A type of its own, not a blank or NaN, so an error can't pass for an empty cell or a number.
    """

    shown: str


Cell: TypeAlias = str | int | float | bool | datetime | time | CellError
"""One cell's value: ``""`` for an empty cell, as pandas gives it."""


def read_ods(path: Path | BinaryIO) -> dict[str, list[list[Cell]]]:
    """Every sheet's values by name, in workbook order, as pandas' ``odf`` engine lays them out.

    Row 1 and column A come first; blank rows and cells before a value are kept, so a value's
    place in the lists is its cell; blank rows and cells after the last value are dropped; every
    row is padded with ``""`` to the sheet's widest row. ``path`` may be the file's bytes, open
    (a workbook is read once, checked, by ``workbook_reader``).

    >>> read_ods(Path("flow.ods"))["Sheet1"][0]  # doctest: +SKIP
    ['GraphName', 'Node', 'AgentType']
    """
    # Imported here so that only reading an .ods pays for the XML parser, never a CSV run.
    from xml.etree.ElementTree import iterparse

    with zipfile.ZipFile(path) as archive, archive.open("content.xml") as content:
        return _sheets(iterparse(content, events=("start", "end")))


def _sheets(events: Iterable[tuple[str, Element]]) -> dict[str, list[list[Cell]]]:
    """The sheets of a parse of ``content.xml``; each row is cleared as soon as it is read.

    A sheet is a ``table:table`` inside no other table: a table in a cell, or the cached copy of
    a DDE link's source, is not one, so ``nesting`` counts both kinds of enclosing element.
    """
    sheets: dict[str, list[list[Cell]]] = {}
    name, sheet, nesting = "", _Sheet(), 0
    for event, element in events:
        tag = element.tag
        if tag == _ROW:
            if event == "end" and nesting == 1:
                sheet.add(element)
                element.clear()
        elif tag in _ENCLOSING:
            if event == "start":
                if nesting == 0 and tag == _SHEET:
                    name, sheet = element.get(f"{_TABLE}name", ""), _Sheet()
                nesting += 1
                continue
            nesting -= 1
            if nesting == 0:
                if tag == _SHEET:
                    sheets[name] = sheet.rows_padded()
                element.clear()
    return sheets


@dataclass
class _Sheet:
    """The rows of one sheet so far; blank rows wait until a row with a value follows them."""

    rows: list[list[Cell]] = field(default_factory=list)
    blank: int = 0
    width: int = 0

    def add(self, row: Element) -> None:
        """Add ``row`` as many times as ``table:number-rows-repeated`` says.

        A row holding a value is built once (each repeat is the same list); a blank row is only
        counted, and written out when a row with a value follows it, so the 1,048,576 blank
        rows that end a sheet cost nothing.
        """
        cells = _row_values(row)
        repeat = int(row.get(f"{_TABLE}number-rows-repeated", "1"))
        if not cells:
            self.blank += repeat
            return
        self.rows.extend([] for _ in range(self.blank))
        self.rows.extend(cells for _ in range(repeat))
        self.blank, self.width = 0, max(self.width, len(cells))

    def rows_padded(self) -> list[list[Cell]]:
        """The rows, each padded with ``""`` to the widest, as pandas makes a table square."""
        return [
            row if len(row) == self.width else [*row, *[""] * (self.width - len(row))]
            for row in self.rows
        ]


def _row_values(row: Element) -> list[Cell]:
    """The row's values up to its last non-empty cell, ``table:number-columns-repeated`` expanded.

    Empty cells are counted and only written out when a value follows them, so the 16,384 blank
    columns that end a row cost nothing.
    """
    values: list[Cell] = []
    blank = 0
    for cell in row:
        if cell.tag not in _CELLS:
            continue
        value = _cell_value(cell)
        repeat = int(cell.get(f"{_TABLE}number-columns-repeated", "1"))
        if isinstance(value, str) and not value:
            blank += repeat
            continue
        if blank:
            values.extend([""] * blank)
            blank = 0
        values.extend([value] * repeat)
    return values


def _cell_value(cell: Element) -> Cell:
    """The value of one ``table:table-cell`` (or covered cell): typed, text, error or ``""``.

    A typed cell gives the value it stores, not the text it shows, which depends on its number
    format and the locale: ``office:value`` for numbers, ``office:date-value``,
    ``office:time-value`` and ``office:boolean-value``. A formula gives its last result.
    """
    kind = cell.get(f"{_OFFICE}value-type")
    if kind is None and not len(cell):
        return ""
    shown = _shown_text(cell)
    if _is_error(cell, kind, shown):
        return CellError(shown)
    if kind == "string":
        return shown or cell.get(f"{_OFFICE}string-value", "")
    attribute = _TYPED_VALUE.get(kind or "")
    raw = None if attribute is None else cell.get(attribute)
    if raw is None:  # an untyped cell, an unknown type, or a type without its value
        return shown
    if kind == "float":
        number = float(raw)
        # As pandas: a whole number is an int, so 1e20 reads 100000000000000000000, not 1e+20.
        return int(number) if number.is_integer() else number
    if kind == "date":
        return _date(raw)
    if kind == "time":
        return _time(raw)
    if kind == "boolean":
        return raw.strip() in ("true", "1")
    return float(raw)  # percentage, currency: the number (0.5 for 50 %), as pandas gave it


_TYPED_VALUE = {
    "float": f"{_OFFICE}value",
    "percentage": f"{_OFFICE}value",
    "currency": f"{_OFFICE}value",
    "date": f"{_OFFICE}date-value",
    "time": f"{_OFFICE}time-value",
    "boolean": f"{_OFFICE}boolean-value",
}
"""The attribute holding the stored value of each typed cell."""


def _is_error(cell: Element, kind: str | None, shown: str) -> bool:
    """Whether the cell shows a formula's error instead of a value.

    LibreOffice marks such a cell ``calcext:value-type="error"``, whatever it shows (``#DIV/0!``,
    ``Err:502``, or a translation such as ``#ЗНАЧЕН!``) and although ``office:value-type`` says
    string. Without that mark (other writers), a cell showing an error code is an error unless it
    is text the user typed: ``#N/A`` typed as text is text.
    """
    marked = cell.get(f"{_CALCEXT}value-type")
    if marked is not None:
        return marked == "error"
    typed_text = kind == "string" and cell.get(f"{_TABLE}formula") is None
    return not typed_text and _ERROR_CODE.fullmatch(shown) is not None


def _shown_text(cell: Element) -> str:
    """The text a cell shows: its paragraphs (list items too) one per line.

    Comments (``office:annotation``), shapes anchored to the cell and tables inside it are not
    its text. Whitespace between the cell's elements is XML layout, not text.
    """
    if len(cell) == 1:  # the usual cell, one paragraph of plain text: no need to walk it
        paragraph = cell[0]
        if paragraph.tag in _PARAGRAPHS and not len(paragraph):
            return (paragraph.text or "").strip("\n")
    paragraphs: list[str] = []
    _collect_paragraphs(cell, paragraphs)
    return "\n".join(paragraphs)


def _collect_paragraphs(element: Element, paragraphs: list[str]) -> None:
    for child in element:
        if child.tag in _PARAGRAPHS:
            parts: list[str] = []
            _collect_inline(child, parts)
            paragraphs.append("".join(parts))
        elif child.tag in _LISTS:
            _collect_paragraphs(child, paragraphs)


def _collect_inline(element: Element, parts: list[str]) -> None:
    """The text inside a paragraph, with its spans, links and fields, in order.

    A run of text drops the line feeds at its ends, as pandas did: a line feed inside a
    paragraph is XML layout (ODF shows it as a space); a line break is ``text:line-break``.
    """
    if element.text:
        parts.append(element.text.strip("\n"))
    for child in element:
        tag = child.tag
        if tag == _SPACES:
            parts.append(" " * int(child.get(f"{_TEXT}c", "1")))
        elif tag == _TAB:
            parts.append("\t")
        elif tag == _LINE_BREAK:
            parts.append("\n")
        elif tag != _ANNOTATION and not tag.startswith(_DRAW):
            _collect_inline(child, parts)
        if child.tail:
            parts.append(child.tail.strip("\n"))


def _date(raw: str) -> datetime | str:
    """``office:date-value`` as a datetime (midnight for a plain date).

    A date Python can't hold (a year before 1 or after 9999) stays the ISO text it was written
    as, rather than failing the whole workbook as pandas did.
    """
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return raw


def _time(raw: str) -> time | str:
    """``office:time-value`` (an xsd:duration such as ``PT10H30M00S``) as a time of day.

    A duration no time of day can hold (a day or more, or negative: ``[HH]:MM`` formats allow
    them) is ``H:MM:SS`` text, e.g. ``34:00:00``, where pandas failed the whole workbook.
    """
    match = _DURATION.fullmatch(raw.strip())
    if match is None:
        # Like a bad office:value, this makes the whole workbook unreadable (workbook_reader
        # places it in the file).
        raise GraphFileError(f"office:time-value {raw!r} is not a duration like PT10H30M00S")
    sign, days, hours, minutes, seconds, fraction = match.groups()
    whole = ((int(days or 0) * 24 + int(hours or 0)) * 60 + int(minutes or 0)) * 60
    micros = (whole + int(seconds or 0)) * 1_000_000 + round(float(f"0.{fraction or 0}") * 1e6)
    hour, rest = divmod(micros, 3_600_000_000)
    minute, rest = divmod(rest, 60_000_000)
    second, micro = divmod(rest, 1_000_000)
    negative = sign is not None and micros > 0
    if hour < 24 and not negative:
        return time(hour, minute, second, micro)
    text = f"{'-' if negative else ''}{hour}:{minute:02}:{second:02}"
    return f"{text}.{micro:06}" if micro else text
