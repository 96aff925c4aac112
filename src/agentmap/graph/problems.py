"""A problem at a node's cell: the one way every graph check says where something is wrong."""

from __future__ import annotations

from typing import Literal

from agentmap.exceptions import Problem
from agentmap.graph.model import Graph, Node


def problem_at(
    graph: Graph,
    node: Node,
    field: str,
    message: str,
    severity: Literal["error", "warning"] = "error",
) -> Problem:
    """``message`` placed at ``field`` of ``node``: file, row, cell (or key path), graph."""
    return Problem(
        message,
        severity=severity,
        file=graph.file,
        row=node.row,
        cell=graph.cell(node, field),
        field=field,
        graph=graph.name,
        node=node.name,
    )
