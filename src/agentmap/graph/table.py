"""Turn the rows of a graph table (CSV today, any sheet tomorrow) into graphs, noting every problem.

A row becomes a ``Node`` exactly as written: cells are text, never guessed into numbers, booleans
or "missing" (``NA`` stays ``"NA"``). Identifier cells (names, types, routing, fields) are
stripped of surrounding spaces; Prompt and Description are kept verbatim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from agentmap.exceptions import Problem
from agentmap.graph.columns import COLUMNS, REQUIRED, canonical, letter
from agentmap.graph.context import ContextError, parse_context
from agentmap.graph.model import Graph, GraphFile, Node
from agentmap.suggest import did_you_mean

_VERBATIM = frozenset({"Prompt", "Description", "Context"})


@dataclass
class Sheet:
    """Where problems of one table (or one structured file) are collected while it is parsed."""

    file: str
    prefix: str
    columns: dict[int, str] = field(default_factory=dict)  # cell index → canonical column
    ignored: set[int] = field(default_factory=set)  # unknown columns: warned about once
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
    rows: Sequence[Sequence[str]], *, file: str, prefix: str = "", first_row: int = 1
) -> tuple[GraphFile, list[Problem]]:
    """Parse a header row and node rows into a ``GraphFile``, with every problem found.

    ``first_row`` is the spreadsheet number of ``rows[0]``; ``prefix`` goes before cell letters
    (``"Sheet1!"`` for workbooks).
    """
    sheet = Sheet(file=file, prefix=prefix)
    numbered = [(first_row + i, list(r)) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not numbered:
        sheet.problem(
            "the file is empty — add a header row (GraphName,Node,AgentType,...) and a row per node"
        )
        return GraphFile(path=file, graphs={}), sheet.problems
    (header_row, header), body = numbered[0], numbered[1:]
    if not _read_header(sheet, header, header_row):
        return GraphFile(path=file, graphs={}), sheet.problems
    if not body:
        sheet.problem("the file has a header but no nodes — add one row per node", row=header_row)
    nodes_by_graph: dict[str, dict[str, Node]] = {}
    for row, cells in body:
        node_row = _read_row(sheet, row, cells)
        if node_row is not None:
            _add_node(sheet, nodes_by_graph, *node_row)
    cells_of = {name: f"{prefix}{letter(i)}" for i, name in sheet.columns.items()}
    graphs = {
        name: Graph(name=name, nodes=nodes, entry=next(iter(nodes)), file=file, cells=cells_of)
        for name, nodes in nodes_by_graph.items()
    }
    problems = sorted(sheet.problems, key=lambda p: (p.row or 0, p.cell or ""))
    return GraphFile(path=file, graphs=graphs), problems


def _read_header(sheet: Sheet, header: list[str], row: int) -> bool:
    seen: dict[str, int] = {}
    for index, text in enumerate(header):
        if not text.strip():
            continue
        name = canonical(text)
        cell = f"{sheet.prefix}{letter(index)}{row}"
        if name is None:
            sheet.ignored.add(index)
            hint = did_you_mean(text.strip(), COLUMNS)
            sheet.problems.append(
                Problem(
                    f"unknown column '{text.strip()}' is ignored{hint}",
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


def _read_row(sheet: Sheet, row: int, cells: list[str]) -> tuple[str, Node, int] | None:
    values: dict[str, str] = {}
    for index, text in enumerate(cells):
        name = sheet.columns.get(index)
        if name is not None:
            values[name] = text if name in _VERBATIM else text.strip()
        elif text.strip() and index not in sheet.ignored:
            sheet.problems.append(
                Problem(
                    f"cell {sheet.prefix}{letter(index)}{row} holds '{text.strip()}' but its "
                    "column has no header — give the column a header or clear the cell",
                    file=sheet.file,
                    row=row,
                    cell=f"{sheet.prefix}{letter(index)}{row}",
                )
            )
    graph, name = values.get("GraphName", ""), values.get("Node", "")
    if not graph:
        sheet.problem("GraphName is empty — name the graph this node belongs to", row, "GraphName")
    if not name:
        sheet.problem("Node is empty — give the node a name", row, "Node", graph=graph or None)
    if not graph or not name:
        return None
    start = len(sheet.problems)
    node = Node(
        name=name,
        agent_type=values.get("AgentType") or "default",
        edge=values.get("Edge") or None,
        success_next=values.get("Success_Next") or None,
        failure_next=values.get("Failure_Next") or None,
        inputs=parse_inputs(sheet, values.get("Input_Fields", ""), row),
        outputs=parse_outputs(sheet, values.get("Output_Field", ""), row),
        prompt=values.get("Prompt", ""),
        context=_parse_context(sheet, values.get("Context", ""), row),
        description=values.get("Description", ""),
        row=row,
    )
    sheet.problems[start:] = [replace(p, graph=graph, node=name) for p in sheet.problems[start:]]
    return graph, node, row


def _add_node(
    sheet: Sheet, graphs: dict[str, dict[str, Node]], graph: str, node: Node, row: int
) -> None:
    nodes = graphs.setdefault(graph, {})
    first = nodes.get(node.name)
    if first is None:
        nodes[node.name] = node
        return
    sheet.problem(
        f"node '{node.name}' is defined twice in graph '{graph}' (rows {first.row} and {row}) — "
        "rename or delete one of them",
        row,
        "Node",
        graph=graph,
        node=node.name,
    )


def parse_inputs(sheet: Sheet, text: str, row: int) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
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
        if any(p == param for _, p in pairs):
            sheet.problem(
                f"the agent would receive '{param}' twice — list it once", row, "Input_Fields"
            )
            continue
        pairs.append((key, param))
    return tuple(pairs)


def parse_outputs(sheet: Sheet, text: str, row: int) -> tuple[str, ...]:
    keys = [p.strip() for p in text.split("|") if p.strip()]
    for key in {k for k in keys if keys.count(k) > 1}:
        sheet.problem(f"output key '{key}' is listed twice — list it once", row, "Output_Field")
    return tuple(dict.fromkeys(keys))


def _parse_context(sheet: Sheet, text: str, row: int) -> dict[str, Any] | str | None:
    try:
        return parse_context(text)
    except ContextError as exc:
        sheet.problem(str(exc), row, "Context")
        return None
