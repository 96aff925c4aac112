"""The graph model: immutable, validated, and independent of the file format it came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    PlainSerializer,
    ValidationError,
    model_validator,
)
from pydantic.dataclasses import dataclass
from pydantic_core import ArgsKwargs, ErrorDetails

from agentmap.exceptions import GraphValidationError, Problem
from agentmap.pydantic_errors import error_key, error_text

FUNC_PREFIX = "func:"

K = TypeVar("K")
V = TypeVar("V")


def _freeze(value: Mapping[K, V]) -> Mapping[K, V]:
    return MappingProxyType(dict(value))


FrozenMapping = Annotated[Mapping[K, V], AfterValidator(_freeze), PlainSerializer(dict)]
"""A mapping field that can't be changed after validation (a read-only view of a private copy)."""

_SHARED_MAX = 4096
_shared: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def _share(value: tuple[Any, ...]) -> tuple[Any, ...]:
    """One tuple for equal ``inputs``/``outputs``/``tools`` of nodes built in code: validation
    makes each node its own copy, and a generated graph of 100,000 nodes that all read
    ``value`` held 100,000 equal tuples (15 MB). Bounded: a graph whose every cell differs
    keeps its own tuples past the first few thousand."""
    found = _shared.get(value)
    if found is not None:
        return found
    if len(_shared) < _SHARED_MAX:
        _shared[value] = value
    return value


Shared = Annotated[tuple[K, ...], AfterValidator(_share)]


# Models are built on first validation, not at import (``defer_build``): a table's nodes,
# graphs and file are made without validation (``from_cells``, ``of_nodes``, ``of_graphs``), so
# `agentmap run` of a CSV never pays for building them (~18 ms of every start).
@dataclass(frozen=True, slots=True, config=ConfigDict(defer_build=True))
class Node:
    """One row of a graph table: an agent, its inputs and output, and where to go next.

    ``inputs`` pairs each state key with the name the agent receives it under
    (``Input_Fields`` ``user:name`` gives ``("user", "name")``). Routing cells hold a node name,
    ``func:name`` or nothing. ``row`` is where the node was written (for messages only; it does
    not take part in equality, so the same graph from two formats compares equal).
    ``tool_source`` and ``tools`` are a ``tool_agent``'s Tool_Source and Available_Tools: the
    module file (or folder) its tools come from, and each tool's name with the description
    written beside it (``add("adds numbers")`` gives ``("add", "adds numbers")``; else ``""``).
    """

    name: str
    agent_type: str = "default"
    edge: str | None = None
    success_next: str | None = None
    failure_next: str | None = None
    inputs: Shared[tuple[str, str]] = ()
    outputs: Shared[str] = ()
    prompt: str = ""
    context: FrozenMapping[str, Any] | str | None = None
    description: str = ""
    row: int | None = field(default=None, compare=False, repr=False)
    tool_source: str | None = None
    tools: Shared[tuple[str, str]] = ()

    @model_validator(mode="wrap")
    @classmethod
    def _our_errors(cls, data: Any, handler: ModelWrapValidatorHandler[Node]) -> Node:
        try:
            return handler(data)
        except ValidationError as exc:  # a node built in code with a wrong field
            raise model_error(exc, node=_argument(data, "name", 0)) from exc

    @classmethod
    def from_cells(
        cls,
        name: str,
        agent_type: str,
        edge: str | None,
        success_next: str | None,
        failure_next: str | None,
        inputs: tuple[tuple[str, str], ...],
        outputs: tuple[str, ...],
        prompt: str,
        context: Mapping[str, Any] | str | None,
        description: str,
        row: int | None,
        tool_source: str | None = None,
        tools: tuple[tuple[str, str], ...] = (),
    ) -> Node:
        """A node from cells the table reader has already parsed and checked, without pydantic
        validating each field again: that was most of the time and memory of reading a table
        of a million rows. Every value has its field's type by construction (text, tuples of
        text), and a Context object is frozen here as validation would freeze it."""
        node = object.__new__(cls)
        put = object.__setattr__  # the fields are frozen: set once, here
        put(node, "name", name)
        put(node, "agent_type", agent_type)
        put(node, "edge", edge)
        put(node, "success_next", success_next)
        put(node, "failure_next", failure_next)
        put(node, "inputs", inputs)
        put(node, "outputs", outputs)
        put(node, "prompt", prompt)
        put(node, "context", _freeze(context) if isinstance(context, Mapping) else context)
        put(node, "description", description)
        put(node, "row", row)
        put(node, "tool_source", tool_source)
        put(node, "tools", tools)
        return node

    @property
    def input_names(self) -> tuple[str, ...]:
        """The state keys this node reads."""
        return tuple(key for key, _ in self.inputs)

    @property
    def targets(self) -> tuple[tuple[str, str], ...]:
        """``(field, cell text)`` for each routing cell that is set (checks ask it of every
        node, several times: no generator, and the common cases answered first)."""
        edge, success, failure = self.edge, self.success_next, self.failure_next
        if not (success or failure):
            return (("Edge", edge),) if edge else ()
        cells = (("Edge", edge), ("Success_Next", success), ("Failure_Next", failure))
        return tuple([(name, value) for name, value in cells if value])


class Graph(BaseModel):
    """A named graph: its nodes in the order written, and the node a run starts at.

    ``file`` and ``cells`` (canonical column name → the column's cell prefix such as ``F`` or
    ``Sheet1!F``) let messages point at the exact place a node was written; ``node_cells``
    overrides ``cells`` for nodes laid out differently (a graph spanning workbook sheets).
    For YAML/JSON files ``node_paths`` holds each node's key path (``graphs.Main.nodes[3]``)
    and ``cells`` the key each column is written under.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    name: str
    nodes: FrozenMapping[str, Node]
    entry: str
    file: str | None = None
    cells: FrozenMapping[str, str] = {}
    node_cells: FrozenMapping[str, FrozenMapping[str, str]] = {}
    node_paths: FrozenMapping[str, str] = {}

    @model_validator(mode="wrap")
    @classmethod
    def _our_errors(cls, data: Any, handler: ModelWrapValidatorHandler[Graph]) -> Graph:
        try:
            return handler(data)
        except ValidationError as exc:  # a graph built in code with a wrong field
            raise model_error(exc, graph=_argument(data, "name")) from exc

    @model_validator(mode="after")
    def _one_string_per_name(self) -> Graph:
        """Routing cells that name a node hold that node's own name string, as do the keys:
        a graph built in code (``edge=f"n{i + 1}"``) otherwise keeps two or three equal
        strings per node. Equal values swapped for the same value: nothing can tell."""
        names = {node.name: node.name for node in self.nodes.values()}
        put = object.__setattr__
        for node in self.nodes.values():
            for cell in ("edge", "success_next", "failure_next"):
                text = getattr(node, cell)
                if text is not None and (name := names.get(text)) is not None and name is not text:
                    put(node, cell, name)  # frozen node, same value: see above
        if any(key is not names.get(key, key) for key in self.nodes):
            shared = {names.get(key, key): node for key, node in self.nodes.items()}
            self.__dict__["nodes"] = MappingProxyType(shared)
        return self

    @classmethod
    def of_nodes(
        cls, name: str, nodes: dict[str, Node], file: str, cells: Mapping[str, str]
    ) -> Graph:
        """A graph of nodes a reader has built and checked, entered at the first, taking
        ``nodes`` over (the caller must not change it afterwards): validation would copy a
        table's million nodes and check each is a ``Node`` again."""
        return cls.model_construct(
            name=name,
            nodes=MappingProxyType(nodes),
            entry=next(iter(nodes)),
            file=file,
            cells=_freeze(cells),
        )

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


def model_error(
    exc: ValidationError, graph: str | None = None, node: str | None = None
) -> GraphValidationError:
    """The graph model's one translation of pydantic's error: a problem per wrong field."""
    who = f"node '{node}': " if node else f"graph '{graph}': " if graph else ""
    return GraphValidationError(
        [
            Problem(
                who + error_text(error) + _given(error),
                field=error_key(error) or None,
                graph=graph,
                node=node,
            )
            for error in exc.errors()
        ]
    )


def _given(error: ErrorDetails) -> str:
    return "" if error["type"] == "missing" else f" (got {error['input']!r})"


def _argument(data: Any, name: str, position: int | None = None) -> str | None:
    """Argument ``name`` of a model's call (keyword, else at ``position``), if it is text."""
    if isinstance(data, ArgsKwargs):
        args, kwargs = data.args, data.kwargs or {}
        value = kwargs.get(
            name, args[position] if position is not None and len(args) > position else None
        )
    else:
        value = data.get(name) if isinstance(data, Mapping) else None
    return value if isinstance(value, str) else None


def graph_folder(graph: Graph) -> Path | None:
    """The folder of the file ``graph`` was read from (``file:`` prompts are relative to it)."""
    return Path(graph.file).parent if graph.file else None


class GraphFile(BaseModel):
    """Every graph one file holds, in the order they first appear."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    path: str
    graphs: FrozenMapping[str, Graph]

    @classmethod
    def of_graphs(cls, path: str, graphs: Mapping[str, Graph]) -> GraphFile:
        """A file of graphs a reader has built and checked (``Graph.of_nodes``), without
        validating each again."""
        return cls.model_construct(path=path, graphs=_freeze(graphs))
