"""Turn the rows of a graph table (CSV today, any sheet tomorrow) into graphs, noting every problem.

A row becomes a ``Node`` exactly as written: cells are text, never guessed into numbers, booleans
or "missing" (``NA`` stays ``"NA"``). Identifier cells (names, types, routing, fields) are
stripped of surrounding spaces; Prompt and Description are kept verbatim.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

from agentmap.exceptions import Problem
from agentmap.graph.collector import collector_paused
from agentmap.graph.columns import ALL_COLUMNS, REQUIRED, canonical, letter, look_alike
from agentmap.graph.context import ContextError, parse_context
from agentmap.graph.model import Graph, GraphFile, Node

T = TypeVar("T")


@dataclass
class Sheet:
    """Where problems of one table (or one structured file) are collected while it is parsed."""

    file: str
    prefix: str
    columns: dict[int, str] = field(default_factory=dict)  # cell index → canonical column
    ignored: set[int] = field(default_factory=set)  # unknown columns: warned about once
    # unknown columns whose header looks like a known column's: cell index → (header, column)
    look_alikes: dict[int, tuple[str, str]] = field(default_factory=dict)
    filled: dict[int, int] = field(default_factory=dict)  # look-alike index → its first row
    problems: list[Problem] = field(default_factory=list)

    def cell(self, column: str) -> str:
        for index, name in self.columns.items():
            if name == column:
                return f"{self.prefix}{letter(index)}"
        return self.prefix

    def problem(
        self, message: str, row: int | None = None, column: str | None = None, **kw: Any
    ) -> None:
        cell = f"{self.cell(column)}{row}" if column and row is not None else None
        self.problems.append(
            Problem(message, file=self.file, row=row, cell=cell, field=column, **kw)
        )


def parse_table(
    rows: Iterable[Sequence[str]], *, file: str, prefix: str = "", first_row: int = 1
) -> tuple[GraphFile, list[Problem]]:
    """Parse a header row and node rows into a ``GraphFile``, with every problem found.

    ``first_row`` is the spreadsheet number of ``rows[0]``; ``prefix`` goes before cell letters
    (``"Sheet1!"`` for workbooks).
    """
    with collector_paused():
        return _parse_table(rows, file, prefix, first_row)


def _parse_table(
    rows: Iterable[Sequence[str]], file: str, prefix: str, first_row: int
) -> tuple[GraphFile, list[Problem]]:
    sheet = Sheet(file=file, prefix=prefix)
    # Rows are read one at a time, never copied: a table of a million rows is held once.
    numbered = _numbered(rows, first_row)
    first = next(numbered, None)
    if first is None:
        sheet.problem(
            "the file is empty — add a header row (GraphName,Node,AgentType,...) and a row per node"
        )
        return GraphFile.of_graphs(file, {}), sheet.problems
    header_row, header = first
    if not _read_header(sheet, list(header), header_row):
        return GraphFile.of_graphs(file, {}), sheet.problems
    layout = _Layout.of(sheet)
    nodes_by_graph: dict[str, dict[str, Node]] = {}
    body = False
    previous: Node | None = None
    for row, cells in numbered:
        body = True
        node_row = _read_row(sheet, row, cells, layout, previous)
        if node_row is None:
            continue
        graph, node = node_row
        previous = node
        nodes = nodes_by_graph.get(graph)
        if nodes is None:
            nodes = nodes_by_graph[graph] = {}
        if node.name in nodes:
            _defined_twice(sheet, graph, nodes[node.name], node, row)
        else:
            nodes[node.name] = node
    if not body:
        sheet.problem("the file has a header but no nodes — add one row per node", row=header_row)
    _report_look_alikes(sheet, header_row)
    cells_of = {name: f"{prefix}{letter(i)}" for i, name in sheet.columns.items()}
    graphs = {
        name: Graph.of_nodes(name, nodes, file, cells_of) for name, nodes in nodes_by_graph.items()
    }
    problems = sorted(sheet.problems, key=lambda p: (p.row or 0, p.cell or ""))
    return GraphFile.of_graphs(file, graphs), problems


def _numbered(rows: Iterable[Sequence[str]], first_row: int) -> Iterator[tuple[int, Sequence[str]]]:
    """Each row with its spreadsheet number, skipping the blank ones (joined, their cells are
    all white space) and comments: a first cell starting with ``#`` and nothing else, as
    AgentMap's example files write notes between graphs. (A loop, not a call per row: this
    sees every row of a million-row table.)"""
    join = "".join
    for number, cells in enumerate(rows, first_row):
        first = cells[0] if cells else ""
        if first and not first[0].isspace() and first[0] != "#":
            yield number, cells  # a first cell that starts with text: neither blank nor a note
            continue
        joined = join(cells).strip()
        if joined and (joined[0] != "#" or join(cells[1:]).strip()):
            yield number, cells


def _read_header(sheet: Sheet, header: list[str], row: int) -> bool:
    seen: dict[str, int] = {}
    for index, text in enumerate(header):
        if not text.strip():
            continue
        name = canonical(text)
        cell = f"{sheet.prefix}{letter(index)}{row}"
        if name is None:
            sheet.ignored.add(index)
            like = look_alike(text)
            if like is not None:  # reported once the rows say whether it holds anything
                sheet.look_alikes[index] = (text.strip(), like)
                continue
            sheet.problems.append(
                Problem(
                    f"unknown column '{text.strip()}' is ignored",
                    severity="warning",
                    file=sheet.file,
                    row=row,
                    cell=cell,
                )
            )
        elif name in seen:
            first = f"{sheet.prefix}{letter(seen[name])}{row}"
            sheet.problems.append(
                Problem(
                    f"two columns mean {name}: '{header[seen[name]].strip()}' ({first}) and "
                    f"'{text.strip()}' — keep one",
                    file=sheet.file,
                    row=row,
                    cell=cell,
                    field=name,
                )
            )
        else:
            seen[name] = index
            sheet.columns[index] = name
    missing = [name for name in REQUIRED if name not in seen]
    for name in missing:
        sheet.problems.append(
            Problem(
                f"required column {name} is missing from the header — add a '{name}' column",
                file=sheet.file,
                row=row,
            )
        )
    return not missing


_CACHED = 4096
"""The most distinct cells of a kind (agent types, input and output lists) ``_Layout`` keeps
parsed: enough for the few a table repeats, bounded for one that never repeats."""


class _Layout(NamedTuple):
    """How a table's rows are laid out, worked out once from its header rather than per row:
    where each column's cell is, which cells under no column must stay empty; and the cells a
    table repeats (agent types, Input_Fields and Output_Field lists) parsed once, so a million
    rows of ``echo`` share one string and one tuple."""

    pick: Callable[[Sequence[str]], tuple[str, ...]]  # a row's cells, in ``ALL_COLUMNS`` order
    loose: tuple[int, ...]  # cells before ``covered`` under no column and not ignored
    covered: int  # every cell from here on is under no column
    types: dict[str, str]  # each a cache ``_read_row`` fills: ``of`` gives each layout its own
    inputs: dict[str, tuple[tuple[str, str], ...]]
    outputs: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, sheet: Sheet) -> _Layout:
        known = sorted([*sheet.columns, *sheet.ignored])
        covered = known[-1] + 1 if known else 0
        at = {name: index for index, name in sheet.columns.items()}
        taken = set(known)
        return cls(
            # A column the header lacks reads the blank cell ``cells`` pads a row with.
            pick=itemgetter(*(at.get(name, covered) for name in ALL_COLUMNS)),
            loose=tuple(i for i in range(covered) if i not in taken),
            covered=covered,
            types={},
            inputs={},
            outputs={},
        )

    def cells(self, row: Sequence[str]) -> tuple[str, ...]:
        """The row's cells in ``ALL_COLUMNS`` order (Prompt, Context and Description are kept
        verbatim; ``_read_row`` strips the others), a missing one blank."""
        count = len(row)
        if count > self.covered:  # cells under no column: checked by ``unheaded``, not read
            return self.pick([*row[: self.covered], ""])
        return self.pick([*row, *[""] * (self.covered + 1 - count)])

    def unheaded(self, count: int) -> Iterator[int]:
        """The indexes, in order, of a row of ``count`` cells that are under no column."""
        yield from (i for i in self.loose if i < count)
        yield from range(self.covered, count)


def _parsed(
    cache: dict[str, T],
    parse: Callable[[Sheet, str, int], T],
    sheet: Sheet,
    text: str,
    row: int,
) -> T:
    """``parse(sheet, text, row)``, kept for the next cell of the same text if it had no
    problem (a problem names its row, so it must be found again on each)."""
    found = cache.get(text)
    if found is not None:
        return found
    before = len(sheet.problems)
    value = parse(sheet, text, row)
    if len(sheet.problems) == before and len(cache) < _CACHED:
        cache[text] = value
    return value


def _read_row(
    sheet: Sheet, row: int, cells: Sequence[str], layout: _Layout, previous: Node | None = None
) -> tuple[str, Node] | None:
    count = len(cells)
    if layout.loose or count > layout.covered:
        for index in layout.unheaded(count):
            text = cells[index]
            if text.strip():
                sheet.problems.append(
                    Problem(
                        f"cell {sheet.prefix}{letter(index)}{row} holds '{text.strip()}' but "
                        "its column has no header — give the column a header or clear the cell",
                        file=sheet.file,
                        row=row,
                        cell=f"{sheet.prefix}{letter(index)}{row}",
                    )
                )
    for index in sheet.look_alikes:
        if index not in sheet.filled and index < count and cells[index].strip():
            sheet.filled[index] = row
    (
        graph,
        name,
        agent_type,
        edge,
        success,
        failure,
        inputs,
        outputs,
        prompt,
        context,
        text,
        tool_source,
        tools,
    ) = layout.cells(cells)
    graph, name = graph.strip(), name.strip()
    if not graph or not name:
        if not graph:
            sheet.problem(
                "GraphName is empty — name the graph this node belongs to", row, "GraphName"
            )
        if not name:
            sheet.problem("Node is empty — give the node a name", row, "Node", graph=graph or None)
        return None
    if previous is not None:  # a table written top-down routes each row to the next one:
        if name == previous.edge:  # keep one string for the name and the route to it, not two
            name = previous.edge  # (a million-row chain holds 57 MB less)
        elif name == previous.success_next:
            name = previous.success_next
    start = len(sheet.problems)
    agent_type = agent_type.strip() or "default"
    types = layout.types
    agent_type = types.get(agent_type) or (
        types.setdefault(agent_type, agent_type) if len(types) < _CACHED else agent_type
    )
    inputs, outputs, tools = inputs.strip(), outputs.strip(), tools.strip()
    node = Node.from_cells(
        name,
        agent_type,
        edge.strip() or None,
        success.strip() or None,
        failure.strip() or None,
        layout.inputs.get(inputs) or _parsed(layout.inputs, parse_inputs, sheet, inputs, row),
        layout.outputs.get(outputs) or _parsed(layout.outputs, parse_outputs, sheet, outputs, row),
        prompt,
        _parse_context(sheet, context, row) if context else None,
        text,
        row,
        tool_source.strip() or None,
        parse_tools(sheet, tools, row) if tools else (),
    )
    if len(sheet.problems) > start:
        sheet.problems[start:] = [
            replace(p, graph=graph, node=name) for p in sheet.problems[start:]
        ]
    return graph, node


def _defined_twice(sheet: Sheet, graph: str, first: Node, node: Node, row: int) -> None:
    sheet.problem(
        f"node '{node.name}' is defined twice in graph '{graph}' (rows {first.row} and {row}) — "
        "rename or delete one of them",
        row,
        "Node",
        graph=graph,
        node=node.name,
    )


def parse_inputs(sheet: Sheet, text: str, row: int) -> tuple[tuple[str, str], ...]:
    """``a|user:name`` → ``(("a", "a"), ("user", "name"))``: state key and the agent's name
    for it. A set of the names taken keeps a cell of many thousand keys linear."""
    pairs: list[tuple[str, str]] = []
    params: set[str] = set()
    for piece in (p.strip() for p in text.split("|")):
        if not piece:
            continue
        key, _, param = (s.strip() for s in piece.partition(":"))
        if ":" in piece and (not key or not param):
            sheet.problem(
                f"'{piece}' is not 'state_key' or 'state_key:param' — write both sides of the ':'",
                row,
                "Input_Fields",
            )
            continue
        param = param or key
        if param in params:
            sheet.problem(
                f"the agent would receive '{param}' twice — list it once", row, "Input_Fields"
            )
            continue
        params.add(param)
        pairs.append((key, param))
    return tuple(pairs)


def parse_outputs(sheet: Sheet, text: str, row: int) -> tuple[str, ...]:
    """``a|b`` → ``("a", "b")``; each key listed twice is one problem, in the order written."""
    keys = [p.strip() for p in text.split("|") if p.strip()]
    unique = dict.fromkeys(keys)
    if len(unique) < len(keys):
        for key, count in Counter(keys).items():
            if count > 1:
                sheet.problem(
                    f"output key '{key}' is listed twice — list it once", row, "Output_Field"
                )
    return tuple(unique)


_TOOL = re.compile(r'\s*([A-Za-z_]\w*)\s*(?:\(\s*"([^"]*)"\s*\))?\s*\Z')
_TOOL_PIECES = re.compile(r'(?:"[^"]*"|[^|"])+')


def parse_tools(sheet: Sheet, text: str, row: int) -> tuple[tuple[str, str], ...]:
    """``add|multiply`` → ``(("add", ""), ("multiply", ""))``; AgentMap's inline descriptions,
    ``add("adds numbers")``, give the second item (a ``|`` inside the quotes is text)."""
    tools: dict[str, str] = {}
    for piece in _TOOL_PIECES.findall(text):
        if not piece.strip():
            continue
        match = _TOOL.match(piece)
        if match is None:
            sheet.problem(
                f"'{piece.strip()}' is not a tool name or name(\"description\") — write "
                'tool names separated by |, such as add|multiply or add("adds two numbers")',
                row,
                "Available_Tools",
            )
        elif match[1] in tools:
            sheet.problem(
                f"tool '{match[1]}' is listed twice — list it once", row, "Available_Tools"
            )
        else:
            tools[match[1]] = match[2] or ""
    return tuple(tools.items())


def _report_look_alikes(sheet: Sheet, row: int) -> None:
    """A header that looks like a known column's is a slip (``Promt``): its cells would be
    dropped, so it is an error when it holds any, and a warning when the column is empty."""
    for index, (header, column) in sheet.look_alikes.items():
        cell = f"{sheet.prefix}{letter(index)}{row}"
        first = sheet.filled.get(index)
        if first is None:
            message = f"unknown column '{header}' is ignored — did you mean '{column}'?"
        else:
            message = (
                f"unknown column '{header}' — did you mean '{column}'? Its cells (the first in "
                f"row {first}) would be ignored: rename the header to '{column}', or to a name "
                "that looks like no column if they are notes"
            )
        sheet.problems.append(
            Problem(
                message,
                severity="warning" if first is None else "error",
                file=sheet.file,
                row=row,
                cell=cell,
            )
        )


def _parse_context(sheet: Sheet, text: str, row: int) -> dict[str, Any] | str | None:
    try:
        return parse_context(text)
    except ContextError as exc:
        sheet.problem(str(exc), row, "Context")
        return None
