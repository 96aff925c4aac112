"""Decode a CSV file as spreadsheets save it, and find its delimiter from the header row.

Excel, LibreOffice and Google Sheets export graph tables as UTF-8 (with or without a BOM),
as UTF-16 "Unicode text" (BOM first, tab-delimited), or with ``;`` where the decimal separator
is a comma. Everything else — above all the Windows-1252 of Excel's plain "CSV" — is refused
with the row, the byte and the fix: a guessed encoding would turn ``é`` into ``Ã©`` silently.
"""

from __future__ import annotations

import codecs
import csv
import io
import re

from agentmap.exceptions import GraphFileError
from agentmap.graph.columns import canonical

DELIMITERS = (",", ";", "\t")
"""The delimiters spreadsheets write, in the order that wins a tie (comma first)."""

# UTF-32 before UTF-16: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ZIP = b"PK\x03\x04"
# Excel's first-line directive: "sep=;" names the delimiter and is not a row of the table.
_SEP_LINE = re.compile(r"sep=([,;\t|])[ \t]*(?:\r\n|\r|\n|$)", re.IGNORECASE)
_FIX = (
    'save the file as "CSV UTF-8" (Excel) or with character set "Unicode (UTF-8)" '
    "(LibreOffice) and load it again"
)


def decode_and_sniff(data: bytes, display: str) -> tuple[str, str]:
    """The text of a CSV file and its delimiter (``,``, ``;`` or tab).

    Raises ``GraphFileError`` (naming the row and byte, and how to fix it) for a file that is
    not UTF-8 or UTF-16 text.

    >>> decode_and_sniff("GraphName;Node\\nMain;Start\\n".encode("utf-16"), "flow.csv")
    ('GraphName;Node\\nMain;Start\\n', ';')
    """
    text = decode(data, display)
    directive = _SEP_LINE.match(text)
    if directive:
        return text[directive.end() :], directive[1]
    return text, sniff_delimiter(text)


def decode(data: bytes, display: str) -> str:
    """The file's text: by its byte-order mark if it has one, else strictly as UTF-8."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _decode_marked(data, encoding, display)
    _refuse_binary(data, display)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(data, exc.start, display) from exc


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header row into the most known column names.

    Only the header is looked at: data rows hold prompts full of commas and semicolons, but a
    header holds names like ``GraphName`` and ``Node``. With no known name, comma is assumed and
    the table reader reports the missing columns.
    """
    header = _header_line(text)
    return max(DELIMITERS, key=lambda delimiter: _known_columns(header, delimiter))


def _header_line(text: str) -> str:
    """The first line that is not blank (blank rows before the header are allowed).

    Lines end where the CSV reader ends them: at LF, CRLF or a lone CR (old Mac files).
    """
    for line in io.StringIO(text, newline=None):
        if line.strip(" \t\r\n,;"):
            return line
    return ""


def _known_columns(line: str, delimiter: str) -> int:
    cells = next(csv.reader([line], delimiter=delimiter), [])
    return sum(canonical(cell) is not None for cell in cells)


def _decode_marked(data: bytes, encoding: str, display: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise GraphFileError(
            f"{display}: the file starts with a {encoding.upper()} byte-order mark but is not "
            f"valid {encoding.upper()} ({exc.reason} at byte {exc.start}) — {_FIX}",
            file=display,
        ) from exc


def _refuse_binary(data: bytes, display: str) -> None:
    """A workbook or a BOM-less UTF-16 file is valid UTF-8 byte by byte, but not a CSV."""
    if data.startswith(_ZIP):
        raise GraphFileError(
            f"{display}: this is a zipped file (an .xlsx or .ods workbook?), not CSV text — "
            "give it its workbook extension, or save it as CSV UTF-8",
            file=display,
        )
    if b"\x00" in data:
        raise GraphFileError(
            f"{display}: the file holds NUL bytes, so it is not UTF-8 text (UTF-16 without a "
            f"byte-order mark, or not a text file) — {_FIX}",
            file=display,
        )


def _not_utf8(data: bytes, start: int, display: str) -> GraphFileError:
    """Where the first non-UTF-8 byte is, what it probably meant, and how to fix the file."""
    prefix = data[:start].decode("utf-8-sig")
    row = _row_of(prefix)
    before = prefix[prefix.rfind("\n") + 1 :][-20:]
    place = f'after "{before}" in' if before else "at the start of"
    byte = data[start]
    meant = bytes([byte]).decode("cp1252", errors="ignore")
    hint = (
        f" (it reads as '{meant}' in Windows-1252/Latin-1, which Excel's plain \"CSV\" writes)"
        if meant.isprintable() and meant
        else ""
    )
    return GraphFileError(
        f"{display}:{row}: the file is not UTF-8: byte 0x{byte:02X} {place} row {row}{hint} "
        f"— {_FIX}",
        file=display,
        row=row,
    )


def _row_of(prefix: str) -> int:
    """The spreadsheet row the text after ``prefix`` is on (a quoted line break is no new row).

    A sentinel character stands in for the unreadable byte so that it lands in its own record.
    """
    records = csv.reader(io.StringIO(prefix + "x", newline=""), delimiter=sniff_delimiter(prefix))
    return sum(1 for _ in records)
