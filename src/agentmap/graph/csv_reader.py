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
    try:
        return list(reader)
    except csv.Error as exc:
        raise GraphFileError(
            f"{display}:{reader.line_num}: not readable as CSV ({exc}) — check the quoting on "
            "that line",
            file=display,
            row=reader.line_num,
        ) from exc


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
