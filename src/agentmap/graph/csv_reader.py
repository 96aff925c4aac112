"""Read a CSV graph file into rows of text, exactly as a spreadsheet wrote them.

Delimiter (``,`` ``;`` tab) and encoding (UTF-8, UTF-16 with a BOM) are detected by
``csv_dialect``; anything else is refused with a fix, never guessed.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from agentmap.exceptions import GraphFileError
from agentmap.graph.csv_dialect import decode_and_sniff


def read_csv_rows(path: Path, display: str) -> list[list[str]]:
    """Every record of the file as a list of cell strings (quoted newlines stay in their cell)."""
    # Long prompts are normal; the default 128 KiB is not (sniffing reads cells too).
    csv.field_size_limit(sys.maxsize)
    text, delimiter = decode_and_sniff(read_bytes(path, display), display)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    last_start = 1  # the line the last record began on
    try:
        while True:
            before = reader.line_num
            row = next(reader, None)
            if row is None:
                break
            rows.append(row)
            last_start = before + 1
    except csv.Error as exc:
        raise GraphFileError(
            f"{display}:{reader.line_num}: not readable as CSV ({exc}) — check the quoting on "
            "that line",
            file=display,
            row=reader.line_num,
        ) from exc
    _check_last_quote_closed(text, rows[-1] if rows else None, last_start, delimiter, display)
    return rows


def _check_last_quote_closed(
    text: str, last: list[str] | None, start: int, delimiter: str, display: str
) -> None:
    """A quote opened and never closed makes every later line part of one cell, silently: the
    csv module reads on to the end of the file. Only the last record can end that way, with a
    line break inside a cell; read strictly, it then fails at the end of the file."""
    if not last or not any("\n" in cell or "\r" in cell for cell in last):
        return
    lines = list(io.StringIO(text, newline=""))
    strict = csv.reader(
        io.StringIO("".join(lines[start - 1 :]), newline=""), delimiter=delimiter, strict=True
    )
    try:
        list(strict)
    except csv.Error:
        after = len(lines) - start
        swallowed = f", so the {after} line(s) after it went into that one cell" if after else ""
        raise GraphFileError(
            f"{display}:{start}: a quoted cell opened on row {start} is never closed{swallowed} "
            '— close the quote (") where the cell should end',
            file=display,
            row=start,
        ) from None


def read_bytes(path: Path, display: str) -> bytes:
    """The file's bytes; a missing, folder or unreadable path is a ``GraphFileError``."""
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
