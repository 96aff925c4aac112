"""The graph model: immutable, validated, and independent of the file format it came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer
from pydantic.dataclasses import dataclass

FUNC_PREFIX = "func:"

K = TypeVar("K")
V = TypeVar("V")


def _freeze(value: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(value))


FrozenMapping = Annotated[Mapping[K, V], AfterValidator(_freeze), PlainSerializer(dict)]
"""A mapping field that can't be changed after validation (a read-only view of a private copy)."""


@dataclass(frozen=True, slots=True)
class Node:
    """One row of a graph table: an agent, its inputs and output, and where to go next.

    ``inputs`` pairs each state key with the name the agent receives it under
    (``Input_Fields`` ``user:name`` gives ``("user", "name")``). Routing cells hold a node name,
    ``func:name`` or nothing. ``row`` is where the node was written (for messages only; it does
    not take part in equality, so the same graph from two formats compares equal).
    """

    name: str
    agent_type: str = "default"
    edge: str | None = None
    success_next: str | None = None
    failure_next: str | None = None
    inputs: tuple[tuple[str, str], ...] = ()
    outputs: tuple[str, ...] = ()
    prompt: str = ""
    context: FrozenMapping[str, Any] | str | None = None
    description: str = ""
    row: int | None = field(default=None, compare=False, repr=False)

    @property
    def input_names(self) -> tuple[str, ...]:
        """The state keys this node reads."""
        return tuple(key for key, _ in self.inputs)

    @property
    def targets(self) -> tuple[tuple[str, str], ...]:
        """``(field, cell text)`` for each routing cell that is set."""
        cells = (
            ("Edge", self.edge),
            ("Success_Next", self.success_next),
            ("Failure_Next", self.failure_next),
        )
        return tuple((name, value) for name, value in cells if value)


class Graph(BaseModel):
    """A named graph: its nodes in the order written, and the node a run starts at.

    ``file`` and ``cells`` (canonical column name → the column's cell prefix such as ``F`` or
    ``Sheet1!F``) let messages point at the exact place a node was written; ``node_cells``
    overrides ``cells`` for nodes laid out differently (a graph spanning workbook sheets).
    For YAML/JSON files ``node_paths`` holds each node's key path (``graphs.Main.nodes[3]``)
    and ``cells`` the key each column is written under.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    nodes: FrozenMapping[str, Node]
    entry: str
    file: str | None = None
    cells: FrozenMapping[str, str] = {}
    node_cells: FrozenMapping[str, FrozenMapping[str, str]] = {}
    node_paths: FrozenMapping[str, str] = {}

    def with_entry(self, node: str) -> Graph:
        """The same graph, started at ``node``."""
        return self.model_copy(update={"entry": node})

    def cell(self, node: Node, field_name: str) -> str | None:
        """Where ``field_name`` of ``node`` is written: ``F7`` or ``graphs.Main.nodes[3].edge``."""
        prefix = self.node_cells.get(node.name, self.cells).get(field_name)
        path = self.node_paths.get(node.name)
        if path is not None:
            return f"{path}.{prefix}" if prefix else path
        return f"{prefix}{node.row}" if prefix and node.row is not None else None


def graph_folder(graph: Graph) -> Path | None:
    """The folder of the file ``graph`` was read from (``file:`` prompts are relative to it)."""
    return Path(graph.file).parent if graph.file else None


class GraphFile(BaseModel):
    """Every graph one file holds, in the order they first appear."""

    model_config = ConfigDict(frozen=True)

    path: str
    graphs: FrozenMapping[str, Graph]
