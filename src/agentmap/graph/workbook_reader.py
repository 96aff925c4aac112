"""Read a spreadsheet workbook (.xlsx, .ods): every sheet is a graph table, merged into one file.

Each sheet has its own header row in the CSV schema; a graph may continue from one sheet to the
next, and problems cite ``Sheet!F7``. An .xlsx is read by pandas with openpyxl, imported only
when one is read, so loading a CSV never pays for them; an .ods by ``ods_reader``, which streams
its XML with the standard library (odfpy's DOM took seconds for a 10,000-row sheet).

Cells keep the text the user typed: text cells (``0012``, ``NA``, ``1.50`` formatted as Text,
dates typed as text) come through unchanged. A cell the spreadsheet itself stored as a number,
boolean or date has lost its typing; it reads as a spreadsheet's General format shows it —
``12`` not ``12.0``, ``0.3`` not ``0.30000000000000004``, ``TRUE``, ``2024-01-05`` (ISO, as
locales disagree on the rest). Formulas give their last computed value.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path
from typing import BinaryIO, Literal

from agentmap.distribution import install_hint
from agentmap.exceptions import GraphFileError, Problem
from agentmap.graph.columns import letter
from agentmap.graph.csv_reader import read_bytes
from agentmap.graph.model import Graph, GraphFile, Node
from agentmap.graph.ods_reader import CellError, read_ods
from agentmap.graph.table import parse_table
from agentmap.userfiles import DEFAULT_MAX_FILE_MB

Engine = Literal["openpyxl", "ods_reader"]
ENGINES: dict[str, Engine] = {".xlsx": "openpyxl", ".ods": "ods_reader"}
"""What reads each workbook suffix: pandas with openpyxl, or the standard-library ods_reader."""

INSTALL_HINT = install_hint("spreadsheet")
# Office Open XML escapes characters XML can't hold (a carriage return, control characters) as
# _xHHHH_; openpyxl passes the escape through, so Excel's line breaks would read as "_x000D_".
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_PLAIN_SHEET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_CELL_LIKE = re.compile(r"[A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc][0-9]*")


def read_workbook(
    path: Path, display: str, max_mb: float = DEFAULT_MAX_FILE_MB
) -> tuple[GraphFile, list[Problem]]:
    """Every graph in every sheet of the workbook at ``path``, with all the problems found.

    An empty sheet is a warning, not an error: it holds no nodes, so nothing is lost by
    skipping it, and a blank tab left over from making the workbook should not stop a run. The
    warning still names it, in case the graph was meant to be there. A workbook with no rows in
    any sheet is an error, as an empty CSV is.

    >>> read_workbook(Path("flow.xlsx"), "flow.xlsx")[0].graphs["Main"].entry  # doctest: +SKIP
    'Start'
    """
    unescape = path.suffix.lower() == ".xlsx"
    files: list[GraphFile] = []
    problems: list[Problem] = []
    blank: list[str] = []
    data = io.BytesIO(read_bytes(path, display, max_mb))
    for name, values in _read_sheets(path, data, display).items():
        rows, cell_problems = _sheet_rows(name, values, display, unescape)
        problems.extend(cell_problems)
        if not any(text.strip() for row in rows for text in row):
            blank.append(name)
            continue
        graph_file, found = parse_table(rows, file=display, prefix=f"{sheet_ref(name)}!")
        files.append(graph_file)
        problems.extend(_name_sheet(name, found))
    if not files:
        return GraphFile(path=display, graphs={}), [*problems, _empty_workbook(display, blank)]
    problems.extend(_empty_sheet(display, name) for name in blank)
    graphs, merge_problems = _merge(files, display)
    return GraphFile(path=display, graphs=graphs), problems + merge_problems


def sheet_ref(name: str) -> str:
    """A sheet name as a cell reference writes it: ``Sheet1``, ``'My flow'``, ``'It''s'``."""
    if _PLAIN_SHEET_NAME.fullmatch(name) and not _CELL_LIKE.fullmatch(name):
        return name
    return "'" + name.replace("'", "''") + "'"


def _read_sheets(
    path: Path, data: BinaryIO, display: str
) -> Mapping[str, Sequence[Sequence[object]]]:
    """The raw cell values of every sheet, in workbook order; foreign errors are translated here.

    Both readers start each sheet at row 1 and column A and pad rows to one width, so a value's
    place in these lists is its cell, blank rows included. They read ``data``, the file's bytes
    as read (and checked: a regular file, not too big) by ``read_bytes``, never the path.
    """
    try:
        if ENGINES[path.suffix.lower()] == "ods_reader":
            return read_ods(data)
        return _read_xlsx(data)
    except ImportError as exc:  # only pandas and openpyxl can be missing: .ods needs neither
        raise GraphFileError(
            f"{display}: reading .xlsx workbooks needs pandas and openpyxl — install them with "
            f"{INSTALL_HINT}",
            file=display,
        ) from exc
    except Exception as exc:  # a damaged zip, XML or workbook part: any of a dozen types
        raise _unreadable(path, display, exc) from exc


def _read_xlsx(data: BinaryIO) -> dict[str, list[list[object]]]:
    """Every sheet's values as pandas reads them with openpyxl (an error cell is NaN)."""
    import pandas as pd

    with warnings.catch_warnings():
        # openpyxl warns about features it ignores (data validation, default styles).
        warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
        frames = pd.read_excel(
            data, sheet_name=None, header=None, dtype=object, na_filter=False, engine="openpyxl"
        )
    return {str(name): frame.to_numpy(dtype=object).tolist() for name, frame in frames.items()}


def _unreadable(path: Path, display: str, exc: Exception) -> GraphFileError:
    kind = path.suffix.lower()
    reason = str(exc) if isinstance(exc, GraphFileError) else f"{type(exc).__name__}: {exc}"
    return GraphFileError(
        f"{display}: not a readable {kind} workbook ({reason}) — open it in "
        f"your spreadsheet and save it again as {kind}; a password-protected workbook must be "
        "saved without the password",
        file=display,
    )


def _sheet_rows(
    sheet: str, values: Sequence[Sequence[object]], display: str, unescape: bool
) -> tuple[list[list[str]], list[Problem]]:
    """The sheet as rows of text (row 1 first), and a problem for each error cell (#N/A…)."""
    rows: list[list[str]] = []
    problems: list[Problem] = []
    for row_index, row in enumerate(values):
        texts: list[str] = []
        for column, value in enumerate(row):
            text = cell_text(value, unescape=unescape)
            if text is None:
                cell = f"{sheet_ref(sheet)}!{letter(column)}{row_index + 1}"
                problems.append(_error_cell(display, row_index + 1, cell))
                text = ""
            texts.append(text)
        rows.append(texts)
    return rows, problems


def cell_text(value: object, *, unescape: bool = False) -> str | None:
    """The text of one cell value as a reader gives it; ``None`` for an error cell (#N/A, #REF!).

    pandas gives an .xlsx error cell as NaN; ods_reader gives a :class:`CellError`.

    >>> [cell_text(v) for v in ("0012", 12, 1.5, True, datetime(2024, 1, 5))]
    ['0012', '12', '1.5', 'TRUE', '2024-01-05']
    """
    if isinstance(value, CellError):
        return None
    if isinstance(value, str):
        return _OOXML_ESCAPE.sub(_unescaped, value) if unescape and "_x" in value else value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # 15 significant digits is what a spreadsheet shows and all a double reliably holds.
        return None if math.isnan(value) else f"{value:.15g}"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _unescaped(match: re.Match[str]) -> str:
    return chr(int(match[1], 16))


def _error_cell(display: str, row: int, cell: str) -> Problem:
    return Problem(
        f"cell {cell} holds a spreadsheet error (#N/A, #DIV/0!, #REF!…) instead of text — fix "
        "the formula, or type the text you mean",
        file=display,
        row=row,
        cell=cell,
    )


def _name_sheet(sheet: str, problems: list[Problem]) -> list[Problem]:
    """Problems without a cell (a missing column, a header-only sheet) get their sheet's name."""
    return [p if p.cell else replace(p, message=f"sheet '{sheet}': {p.message}") for p in problems]


def _empty_sheet(display: str, sheet: str) -> Problem:
    return Problem(
        f"sheet '{sheet}' is empty and was skipped — delete it, or give it a header row "
        "(GraphName,Node,AgentType,...) and a row per node",
        severity="warning",
        file=display,
    )


def _empty_workbook(display: str, sheets: list[str]) -> Problem:
    names = ", ".join(f"'{name}'" for name in sheets) or "none"
    return Problem(
        f"the workbook has no rows in any sheet (sheets: {names}) — add a header row "
        "(GraphName,Node,AgentType,...) and a row per node to a sheet",
        file=display,
    )


def _merge(files: list[GraphFile], display: str) -> tuple[dict[str, Graph], list[Problem]]:
    """One graph per name, its parts joined in sheet order; a node twice is an error."""
    parts: dict[str, list[Graph]] = {}
    for graph_file in files:
        for name, graph in graph_file.graphs.items():
            parts.setdefault(name, []).append(graph)
    graphs: dict[str, Graph] = {}
    problems: list[Problem] = []
    for name, pieces in parts.items():
        graphs[name] = pieces[0] if len(pieces) == 1 else _join(pieces, display, problems)
    return graphs, problems


def _join(pieces: list[Graph], display: str, problems: list[Problem]) -> Graph:
    """A graph written across sheets; the first sheet's first node is its entry.

    Each node keeps its own sheet's column layout (``Graph.node_cells``), so validation
    messages cite the sheet the node was written on.
    """
    nodes: dict[str, Node] = {}
    first_in: dict[str, Graph] = {}
    for piece in pieces:
        for node in piece.nodes.values():
            if node.name in nodes:
                problems.append(
                    _duplicate(display, first_in[node.name], nodes[node.name], piece, node)
                )
            else:
                nodes[node.name] = node
                first_in[node.name] = piece
    first = pieces[0]
    cells = {name: piece.cells for name, piece in first_in.items()}
    return Graph(name=first.name, nodes=nodes, entry=first.entry, file=display, node_cells=cells)


def _duplicate(display: str, first: Graph, node: Node, again: Graph, repeat: Node) -> Problem:
    where, there = first.cell(node, "Node"), again.cell(repeat, "Node")
    return Problem(
        f"node '{node.name}' is defined twice in graph '{first.name}' ({where} and {there}) — "
        "rename or delete one of them",
        file=display,
        row=repeat.row,
        cell=there,
        field="Node",
        graph=first.name,
        node=node.name,
    )
