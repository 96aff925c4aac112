"""Read a CSV graph file into rows of text, exactly as a spreadsheet wrote them."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from agentmap.exceptions import GraphFileError


def read_csv_rows(path: Path, display: str) -> list[list[str]]:
    """Every record of the file as a list of cell strings (quoted newlines stay in their cell)."""
    text = _decode(_read_bytes(path, display), display)
    csv.field_size_limit(sys.maxsize)  # long prompts are normal; the default 128 KiB is not
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return list(reader)
    except csv.Error as exc:
        raise GraphFileError(
            f"{display}:{reader.line_num}: not readable as CSV ({exc}) — check the quoting on "
            "that line",
            file=display,
            row=reader.line_num,
        ) from exc


def _read_bytes(path: Path, display: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise GraphFileError(f"{display}: no such file — check the path", file=display) from exc
    except IsADirectoryError as exc:
        raise GraphFileError(f"{display}: is a folder, not a graph file", file=display) from exc
    except OSError as exc:
        raise GraphFileError(
            f"{display}: can't read the file ({exc.strerror})", file=display
        ) from exc


def _record_number(prefix: str) -> int:
    """The spreadsheet row the text after ``prefix`` is on (a quoted newline is no new row)."""
    records = list(csv.reader(io.StringIO(prefix, newline="")))
    return len(records) + (1 if not prefix or prefix.endswith(("\n", "\r")) else 0)


def _decode(data: bytes, display: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = _record_number(data[: exc.start].decode("utf-8-sig"))
        raise GraphFileError(
            f"{display}:{row}: the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at "
            f"offset {exc.start}) — save it from your spreadsheet as 'CSV UTF-8'",
            file=display,
            row=row,
        ) from exc
