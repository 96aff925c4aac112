"""Subgraphs: a node of type ``graph`` runs another graph of the same or another file.

Context names the graph — ``{"graph": "Other"}`` (same file) or ``{"graph": "other.csv::Other"}``
(a path relative to this graph's file) — and may map the child's final state back:
``{"outputs": {"parent_key": "child_key"}}`` (then Output_Field lists exactly those parent
keys). The child's initial state is the node's inputs (``Input_Fields`` ``parent:child``
renames). Without ``outputs``, a single Output_Field key receives the child's whole final
state, and ``a|b`` receives the child's keys ``a`` and ``b``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentmap.agents.base import type_name_of
from agentmap.agents.catalog import SUBGRAPH_TYPE
from agentmap.exceptions import AgentMapError, GraphError, Problem
from agentmap.graph.model import Graph, Node, graph_folder
from agentmap.graph.problems import problem_at

_GRAPH_SUFFIXES = (".csv", ".xlsx", ".ods", ".yaml", ".yml", ".json")

GraphKey = tuple[str, str]
"""(file, graph name): a graph's identity across files."""

MAX_DEPTH = 64
"""The most graphs one chain of ``graph`` nodes may hold, the one run first included. Each level
runs inside the one above it (a few Python frames each), so a chain past a hundred or so would
stop on Python's recursion limit part-way through a run; it is refused before anything runs."""


@dataclass(frozen=True, slots=True)
class SubgraphSpec:
    """What a ``graph`` node's Context asks for."""

    file: Path | None  # None: the parent's own file
    graph: str | None  # None: the file's only graph
    outputs: Mapping[str, str] | None


def is_subgraph(node: Node) -> bool:
    """Whether ``node`` runs another graph."""
    return type_name_of(node.agent_type) == SUBGRAPH_TYPE


def spec_of(parent: Graph, node: Node) -> SubgraphSpec:
    """Parse a ``graph`` node's Context; ``GraphError`` (placed at it) says what is wrong."""
    context = node.context
    reference = context.get("graph") if isinstance(context, Mapping) else None
    if not isinstance(reference, str) or not reference.strip():
        raise context_error(
            parent,
            node,
            'a graph node needs Context {"graph": "Name"} or {"graph": "file.csv::Name"}',
        )
    reference = reference.strip()
    file, sep, name = reference.partition("::")
    if not sep:  # "Other" (this file), or "other.yaml" (that file's only graph)
        is_file = Path(reference).suffix.lower() in _GRAPH_SUFFIXES
        file, name = (reference, "") if is_file else ("", reference)
    outputs = context.get("outputs") if isinstance(context, Mapping) else None
    if outputs is not None:
        if not isinstance(outputs, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in outputs.items()
        ):
            raise context_error(
                parent, node, 'Context "outputs" must map parent keys to child keys (text)'
            )
        if set(outputs) != set(node.outputs):
            raise context_error(
                parent,
                node,
                f'Context "outputs" maps {sorted(outputs)} but Output_Field is '
                f"{'|'.join(node.outputs) or 'empty'} — list the same keys in both",
            )
    base = graph_folder(parent) or Path()
    path = (
        Path(os.path.normpath(base / file))
        if file
        else (Path(parent.file) if parent.file else None)
    )
    return SubgraphSpec(path, name or None, outputs)


def context_error(graph: Graph, node: Node, message: str) -> GraphError:
    """``message`` about the Context of ``graph``'s ``node``, with its place as attributes (the
    message itself stays unplaced: validation turns it into a ``Problem`` at that cell)."""
    return GraphError(
        message, file=graph.file, row=node.row, column="Context", graph=graph.name, node=node.name
    )


def parent_output(node: Node, spec: SubgraphSpec, final: Mapping[str, Any]) -> Any:
    """What the ``graph`` node returns for its Output_Field, from the child's final state."""
    if spec.outputs is not None:
        mapped = {parent: final.get(child) for parent, child in spec.outputs.items()}
        return mapped[node.outputs[0]] if len(node.outputs) == 1 else mapped
    if len(node.outputs) > 1:
        return {key: final[key] for key in node.outputs if key in final}
    return dict(final)


def check_subgraphs(
    graph: Graph,
    resolve: Callable[[Graph, Node], Graph],
    on_child: Callable[[Graph], list[Problem]],
    seen: set[GraphKey],
) -> Iterator[Problem]:
    """Problems of ``graph``'s subgraph nodes: bad references, recursion, and the children's own.

    ``resolve`` finds a child graph (raising an ``AgentMapError`` when it can't);
    ``on_child`` checks a child graph once; ``seen`` holds the graphs already checked.

    The graphs are walked depth first with a list of its own, not by recursion: a chain of a
    thousand graphs, each running the next, is deeper than Python's recursion limit, and must
    come back as one problem (nested past ``MAX_DEPTH``), not a crash.
    """
    path = [_key(graph)]  # the graphs from ``graph`` down to the one being walked
    on_path = set(path)
    walking: list[tuple[Graph, Iterator[Node]]] = [(graph, _subgraph_nodes(graph))]
    while walking:
        parent, nodes = walking[-1]
        node = next(nodes, None)
        if node is None:
            walking.pop()
            on_path.discard(path.pop())
            continue
        try:
            child = resolve(parent, node)
        except AgentMapError as exc:  # the message says what is wrong; the class doesn't matter
            yield _problem(parent, node, exc.message)
            continue
        key = _key(child)
        if key in on_path:
            loop = " → ".join(name for _, name in (*path[path.index(key) :], key))
            yield _problem(parent, node, f"subgraphs can't recurse: {loop} — break the cycle")
            continue
        if len(path) >= MAX_DEPTH:
            top = f"graph '{graph.name}'" + (f" of {graph.file}" if graph.file else "")
            yield _problem(
                parent,
                node,
                f"running graph '{child.name}' here nests subgraphs more than {MAX_DEPTH} deep "
                f"(counted from {top}) — agentmap runs at most {MAX_DEPTH} graphs inside one "
                "another; flatten some of them into their parent",
            )
            continue
        if key not in seen:
            seen.add(key)
            yield from on_child(child)
            walking.append((child, _subgraph_nodes(child)))
            path.append(key)
            on_path.add(key)


def _subgraph_nodes(graph: Graph) -> Iterator[Node]:
    return (node for node in graph.nodes.values() if is_subgraph(node))


def _key(graph: Graph) -> GraphKey:
    """A graph's identity however its file's path was spelled (``a/../a.csv`` is ``a.csv``)."""
    return (str(Path(graph.file).resolve()) if graph.file else "", graph.name)


def _problem(graph: Graph, node: Node, message: str) -> Problem:
    return problem_at(graph, node, "Context", message)
