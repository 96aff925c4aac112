"""Write graphs as a table — a CSV file or an .xlsx workbook — that reads back as the same model.

Every file gets the 11 standard columns, and Tool_Source and Available_Tools when a node of
the file has a value there. Before anything is written the rows are read back
with the table reader and compared with the model, so a graph a table can't express (a name
with surrounding spaces, a ``|`` inside an input name) is refused with the node and column, and
never written with a silent change.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentmap.exceptions import GraphFileError
from agentmap.graph.columns import ALL_COLUMNS, COLUMNS, letter
from agentmap.graph.model import Graph, GraphFile, Node
from agentmap.graph.table import parse_table

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

MAX_CELL = 32_767
"""The most characters a spreadsheet cell holds (Excel, LibreOffice; openpyxl cuts the rest)."""

# Characters XML can't hold, and a carriage return XML would turn into a line feed, are written
# as Office Open XML escapes (_x000D_); a literal "_x" that looks like one is escaped itself.
_NEEDS_ESCAPE = re.compile(r"[\x00-\x08\x0b-\x1f]|_(?=x[0-9A-Fa-f]{4}_)")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_WIDTHS = {"Prompt": 60, "Context": 40, "Description": 50}


def write_csv(graph_file: GraphFile, path: Path) -> None:
    """Write every graph of ``graph_file`` to one CSV file (UTF-8, comma, ``\\n`` line ends).

    No byte-order mark, so an example graph converted to a workbook and back is the same file.

    >>> write_csv(read_graph_file(Path("flow.yaml"))[0], Path("flow.csv"))  # doctest: +SKIP
    """
    columns = columns_of(graph_file)
    rows = [list(columns)]
    for graph in graph_file.graphs.values():
        rows.extend(checked_rows(graph, path, columns))
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    _write_bytes(path, buffer.getvalue().encode("utf-8"))


def write_workbook(graph_file: GraphFile, path: Path) -> None:
    """Write ``graph_file`` as an .xlsx workbook: one sheet per graph, every cell text.

    A sheet per graph is how spreadsheet users keep several graphs apart; the GraphName column
    still says which graph a row belongs to, so renaming or reordering sheets changes nothing.
    Cells are typed and formatted as Text, so neither this file nor later edits to it turn
    ``0012`` into 12 or ``=x`` into a formula. A file with no graphs gets one header-only sheet.
    """
    try:
        from openpyxl import Workbook
    except ModuleNotFoundError as exc:
        from agentmap.graph.workbook_reader import INSTALL_HINT

        raise GraphFileError(
            f"{path}: writing .xlsx workbooks needs openpyxl — install it with {INSTALL_HINT}",
            file=str(path),
        ) from exc
    workbook = Workbook()
    workbook.remove(workbook.worksheets[0])
    titles: set[str] = {"history"}  # Excel reserves the sheet name History
    columns = columns_of(graph_file)
    for graph in graph_file.graphs.values():
        rows = [
            _cells(row, path, graph.name, columns) for row in checked_rows(graph, path, columns)
        ]
        _fill_sheet(workbook.create_sheet(sheet_title(graph.name, titles)), rows, columns)
    if not graph_file.graphs:
        _fill_sheet(workbook.create_sheet("Graph"), [], columns)
    buffer = io.BytesIO()
    workbook.save(buffer)
    _write_bytes(path, buffer.getvalue())


def columns_of(graph_file: GraphFile) -> tuple[str, ...]:
    """The columns a table of ``graph_file`` needs: the tool columns only if a node uses them."""
    tools = any(
        node.tool_source or node.tools
        for graph in graph_file.graphs.values()
        for node in graph.nodes.values()
    )
    return ALL_COLUMNS if tools else COLUMNS


def checked_rows(
    graph: Graph, path: Path, columns: tuple[str, ...] = ALL_COLUMNS
) -> list[list[str]]:
    """The rows of ``graph`` under ``columns``, after proving that the table reader reads them
    back unchanged."""
    rows = [row[: len(columns)] for row in node_rows(graph)]
    again, _ = parse_table([list(columns), *rows], file=str(path))
    copy = again.graphs.get(graph.name)
    if copy is None or copy.nodes != graph.nodes or copy.entry != graph.entry:
        raise GraphFileError(
            f"{path}: graph '{graph.name}' can't be written as a table without changing it "
            f"({_difference(graph, copy)}) — fix it in the source file first",
            file=str(path),
            graph=graph.name,
        )
    return rows


def node_rows(graph: Graph) -> Iterator[list[str]]:
    """One row of ``ALL_COLUMNS`` per node; the entry node first, as tables have no entry cell."""
    entry = graph.nodes[graph.entry]
    yield node_row(graph.name, entry)
    for node in graph.nodes.values():
        if node.name != graph.entry:
            yield node_row(graph.name, node)


def node_row(graph: str, node: Node) -> list[str]:
    """The cells of ``node`` in ``ALL_COLUMNS`` order, written as the table reader reads them."""
    return [
        graph,
        node.name,
        node.agent_type,
        node.edge or "",
        node.success_next or "",
        node.failure_next or "",
        "|".join(key if key == param else f"{key}:{param}" for key, param in node.inputs),
        "|".join(node.outputs),
        node.prompt,
        context_text(node.context),
        node.description,
        node.tool_source or "",
        tools_text(node.tools),
    ]


def tools_text(tools: tuple[tuple[str, str], ...]) -> str:
    """``add|multiply("multiplies")``: Available_Tools as the table reader reads it."""
    return "|".join(f'{name}("{text}")' if text else name for name, text in tools)


def context_text(context: Mapping[str, Any] | str | None) -> str:
    """Text as written; a dict as compact JSON, or as a Python literal if JSON would change it.

    AgentMap also reads ``{'k': (1, 2)}``, whose tuple JSON would turn into a list.
    """
    if context is None or isinstance(context, str):
        return context or ""
    value = dict(context)
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return repr(value)
    return text if json.loads(text) == value else repr(value)


def sheet_title(name: str, taken: set[str]) -> str:
    """A legal, unused sheet title for graph ``name`` (at most 31 characters, no ``[]:*?/\\``)."""
    base = _SHEET_FORBIDDEN.sub("_", name).strip("'")[:31] or "Graph"
    title, number = base, 1
    while title.casefold() in taken:
        number += 1
        suffix = f" ({number})"
        title = base[: 31 - len(suffix)] + suffix
    taken.add(title.casefold())
    return title


def _difference(graph: Graph, copy: Graph | None) -> str:
    """The first node and field that would not survive the table, for the error message."""
    if copy is None or not graph.nodes:
        return "a table holds a graph only as rows of nodes, and it has none"
    for node in graph.nodes.values():
        again = copy.nodes.get(node.name)
        if again is None:
            return f"node name {node.name!r} would not read back"
        for field in fields(Node):
            before, after = getattr(node, field.name), getattr(again, field.name)
            if field.compare and before != after:
                return f"node {node.name!r} {field.name} {before!r} would read back as {after!r}"
    return f"its node names or entry {graph.entry!r} would read back differently"


def _fill_sheet(sheet: Worksheet, rows: list[list[str]], columns: tuple[str, ...]) -> None:
    """A bold, frozen header, readable widths, then the rows; every column formatted as Text."""
    from openpyxl.styles import Font

    for row_number, row in enumerate([list(columns), *rows], start=1):
        for column_number, text in enumerate(row, start=1):
            cell = sheet.cell(row=row_number, column=column_number)
            cell.number_format = "@"
            if text:  # an empty cell stays blank, as a spreadsheet would leave it
                cell.value = text
                cell.data_type = "s"  # else openpyxl makes "=x" a formula and "#N/A" an error
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns):
        dimension = sheet.column_dimensions[letter(index)]
        dimension.width = _WIDTHS.get(column, 16)
        dimension.number_format = "@"  # cells typed below the table stay text too


def _cells(row: list[str], path: Path, graph: str, columns: tuple[str, ...]) -> list[str]:
    """The row as cell text an .xlsx file can hold, or an error naming the cell that can't."""
    return [
        _escaped(text, path, graph, row[1], column)
        for column, text in zip(columns, row, strict=True)
    ]


def _escaped(text: str, path: Path, graph: str, node: str, column: str) -> str:
    escaped = _NEEDS_ESCAPE.sub(lambda m: f"_x{ord(m[0]):04X}_", text) if text else text
    if len(escaped) > MAX_CELL:
        raise GraphFileError(
            f"{path}: {column} of node '{node}' in graph '{graph}' is {len(escaped):,} "
            f"characters long; a spreadsheet cell holds at most {MAX_CELL:,} — move the text "
            "into a file and refer to it (file:prompts/….txt)",
            file=str(path),
            graph=graph,
            node=node,
            column=column,
        )
    return escaped


def _write_bytes(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise GraphFileError(
            f"{path}: can't write the file ({exc.strerror}) — check the folder exists and the "
            "file is not open in a spreadsheet",
            file=str(path),
        ) from exc
