"""Read a CSV graph file into rows of text, exactly as a spreadsheet wrote them.

Delimiter (``,`` ``;`` tab) and encoding (UTF-8, UTF-16 with a BOM) are detected by
``csv_dialect``; anything else is refused with a fix, never guessed.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from agentmap.exceptions import GraphFileError
from agentmap.graph.columns import canonical
from agentmap.graph.csv_dialect import decode_and_sniff
from agentmap.userfiles import DEFAULT_MAX_FILE_MB, read_user_file


def read_csv_rows(path: Path, display: str, max_mb: float = DEFAULT_MAX_FILE_MB) -> list[list[str]]:
    """Every record of the file as a list of cell strings (quoted newlines stay in their cell)."""
    return list(iter_csv_rows(path, display, max_mb))


def iter_csv_rows(
    path: Path, display: str, max_mb: float = DEFAULT_MAX_FILE_MB
) -> Iterator[list[str]]:
    """The records of the file one at a time, as ``read_csv_rows`` lists them.

    A reader that turns each into a node as it comes never holds the whole table as text
    cells too (a million rows were 600 MB of them). What the checks of a quoted cell left
    open need is noted on the way, and they run after the last record: read the iterator to
    its end (``GraphFileError`` comes then, as ``read_csv_rows`` would raise it).
    """
    # Long prompts are normal; the default 128 KiB is not (sniffing reads cells too).
    csv.field_size_limit(sys.maxsize)
    text, delimiter = decode_and_sniff(read_bytes(path, display, max_mb), display)
    reader = csv.reader(_lines(text), delimiter=delimiter)
    survey = _Survey()
    last: list[str] | None = None
    last_start, line = 1, 0  # the lines the last record began and ended on
    try:
        for row in reader:
            last_start, line = line + 1, reader.line_num
            last = row
            if survey.header is None:
                survey.add_leading(row, last_start, line)
            else:  # written out, not a call: this runs for every row of a million-row table
                if line > last_start:
                    survey.spans.append(_Span(row, last_start, line))
                else:
                    survey.widths.add(len(row))
                at = survey.graph_at
                if at is not None and len(row) > at:
                    survey.graphs.add(row[at])
            yield row
    except csv.Error as exc:
        raise GraphFileError(
            f"{display}:{reader.line_num}: not readable as CSV ({exc}) — check the quoting on "
            "that line",
            file=display,
            row=reader.line_num,
        ) from exc
    _check_last_quote_closed(text, last, last_start, delimiter, display)
    if survey.spans:
        _check_no_rows_swallowed(text, survey, delimiter, display)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
"""A line as ``io.StringIO(text, newline="")`` gives it: ended by LF, CRLF or a lone CR."""


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one by one, as ``io.StringIO(text, newline="")`` yields them but
    without its copy of the whole text at four bytes a character (170 MB for a 43 MB file)."""
    return (line.group() for line in _LINE.finditer(text))


class _Span(NamedTuple):
    """A record whose cells hold line breaks: the record, and its lines first to last."""

    record: list[str]
    first: int
    last: int


@dataclass(slots=True)
class _Survey:
    """What ``_check_no_rows_swallowed`` needs of a file, noted record by record: the header
    (the first record not blank), the widths of one-line records after it, the graph names
    they give, and the records that run over more than one line."""

    header: list[str] | None = None
    graph_at: int | None = None
    widths: set[int] = field(default_factory=set)
    graphs: set[str] = field(default_factory=set)
    spans: list[_Span] = field(default_factory=list)

    def add_leading(self, row: list[str], first: int, last: int) -> None:
        """A record up to the header (the rows after it are noted by ``iter_csv_rows`` itself,
        without a call per row)."""
        if last > first:
            self.spans.append(_Span(row, first, last))
        if "".join(row).strip():
            self.header = row
            self.widths.add(len(row))
            self.graph_at = {canonical(cell): i for i, cell in enumerate(row)}.get("GraphName")


def _check_no_rows_swallowed(text: str, survey: _Survey, delimiter: str, display: str) -> None:
    """Refuse a quoted cell that runs on over lines that look like rows of this very table.

    A quote left open (``G,A,echo,"first node``) makes the following lines part of its cell
    until the next quote closes it, and the rows on them are silently gone. A quoted cell may
    hold line breaks (a multi-line prompt), so a line inside one is only taken for a row when
    it reads as one (``_RowShape``).
    """
    header = survey.header
    if header is None:
        return
    columns = {canonical(cell): i for i, cell in enumerate(header)}
    graph_at, node_at = columns.get("GraphName"), columns.get("Node")
    if graph_at is None or node_at is None:
        return  # the table reader reports the missing column
    shape = _RowShape(
        delimiter=delimiter,
        widths=survey.widths,
        graphs={name.strip() for name in survey.graphs} - {""},
        graph_at=graph_at,
        names_at=(node_at, columns.get("AgentType", node_at)),
    )
    lines = list(io.StringIO(text, newline=""))
    for span in survey.spans:
        swallowed = [n for n in range(span.first + 1, span.last + 1) if shape.fits(lines[n - 1])]
        if swallowed:
            raise _swallowed(header, span.record, span, swallowed, lines, display)


class _RowShape(NamedTuple):
    """What a line must be to be taken for a row of the table, not a line of a prompt: as many
    cells as the header or a one-line row has, a graph name of the file in the GraphName
    column (exactly: a line starting with a space is text), and a Node and AgentType that are
    single words (Node not empty). A prompt line such as ``Main, then reply, politely`` fails
    on the last two, and most on the number of delimiters."""

    delimiter: str
    widths: set[int]
    graphs: set[str]
    graph_at: int
    names_at: tuple[int, int]

    def fits(self, line: str) -> bool:
        if line.count(self.delimiter) < min(self.widths) - 1:
            return False  # too few cells: not worth parsing
        cells = next(csv.reader([line.rstrip("\r\n")], delimiter=self.delimiter), [])
        if len(cells) not in self.widths or len(cells) <= max(self.graph_at, *self.names_at):
            return False
        if cells[self.graph_at] not in self.graphs:
            return False
        node, agent_type = (cells[i].strip() for i in self.names_at)
        return bool(node) and len(node.split()) == 1 and len(agent_type.split()) <= 1


def _swallowed(
    header: list[str],
    record: list[str],
    span: _Span,
    swallowed: list[int],
    lines: list[str],
    display: str,
) -> GraphFileError:
    """The error for a quoted cell that went on over rows: where it opened, what it took."""
    at = next((i for i, cell in enumerate(record) if "\n" in cell or "\r" in cell), None)
    name = header[at].strip() if at is not None and at < len(header) else ""
    cell = f"the quoted {name} cell" if name else "a quoted cell"
    first = lines[swallowed[0] - 1].rstrip("\r\n")
    shown = first if len(first) <= 60 else first[:57] + "..."
    some = (
        "a line that looks like a row"
        if len(swallowed) == 1
        else f"{len(swallowed)} lines that look like rows"
    )
    return GraphFileError(
        f"{display}:{span.first}: {cell} opened on line {span.first} runs on to line "
        f"{span.last}, over {some} of the table (line {swallowed[0]}: {shown}), which would be "
        'read as its text, not as nodes — close the quote (") where the cell should end; a '
        'quote inside a cell is written ""',
        file=display,
        row=span.first,
    )


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


def read_bytes(path: Path, display: str, max_mb: float = DEFAULT_MAX_FILE_MB) -> bytes:
    """The file's bytes; a missing, folder, unreadable, not regular (a FIFO, a device) or too
    big (over ``max_mb`` megabytes) path is a ``GraphFileError``."""
    try:
        return read_user_file(
            path, error=GraphFileError, max_mb=max_mb, display=display, what="a graph file"
        )
    except FileNotFoundError as exc:
        raise GraphFileError(f"{display}: no such file — check the path", file=display) from exc
    except IsADirectoryError as exc:
        raise GraphFileError(f"{display}: is a folder, not a graph file", file=display) from exc
    except OSError as exc:
        raise GraphFileError(
            f"{display}: can't read the file ({exc.strerror})", file=display
        ) from exc
