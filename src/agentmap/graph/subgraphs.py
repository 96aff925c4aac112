"""Subgraphs: a node of type ``graph`` runs another graph of the same or another file.

Context names the graph — ``{"graph": "Other"}`` (same file) or ``{"graph": "other.csv::Other"}``
(a path relative to this graph's file) — and may map the child's final state back:
``{"outputs": {"parent_key": "child_key"}}`` (then Output_Field lists exactly those parent
keys). ``{"graph_field": "key", "choices": ["A", "b.csv::B"]}`` lets the state's ``key`` pick
one of the listed graphs when the node runs; every choice is checked and compiled beforehand.
The child's initial state is the node's inputs (``Input_Fields`` ``parent:child``
renames). Without ``outputs``, a single Output_Field key receives the child's whole final
state, and ``a|b`` receives the child's keys ``a`` and ``b``. AgentMap's spellings of all this
are read into these forms by ``subgraph_forms``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

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


class SubgraphSpec(NamedTuple):
    """What a ``graph`` node's Context asks for."""

    file: Path | None  # None: the parent's own file
    graph: str | None  # None: the file's only graph
    outputs: Mapping[str, str] | None
    field: str | None = None  # graph_field: the state key that picks one of ``choices``
    choices: tuple[str, ...] = ()  # graph_field: the references it may name, as written


def is_subgraph(node: Node) -> bool:
    """Whether ``node`` runs another graph."""
    return type_name_of(node.agent_type) == SUBGRAPH_TYPE


_NEEDS_REFERENCE = 'a graph node needs Context {"graph": "Name"} or {"graph": "file.csv::Name"}'


def spec_of(parent: Graph, node: Node) -> SubgraphSpec:
    """Parse a ``graph`` node's Context; ``GraphError`` (placed at it) says what is wrong."""
    context = node.context if isinstance(node.context, Mapping) else {}
    outputs = _outputs(parent, node, context.get("outputs"))
    if context.get("graph_field") is not None:
        field, choices = _choices(parent, node, context)
        return SubgraphSpec(None, None, outputs, field, choices)
    reference = context.get("graph")
    if not isinstance(reference, str) or not reference.strip():
        raise context_error(parent, node, _NEEDS_REFERENCE)
    file, name = target_of(parent, reference)
    return SubgraphSpec(file, name, outputs)


def target_of(parent: Graph, reference: str) -> tuple[Path | None, str | None]:
    """The file (``None``: the parent's, when it has none) and graph a reference names:
    ``Other``, ``::Other``, ``other.csv::Other`` or ``other.yaml`` (its only graph)."""
    reference = reference.strip()
    file, sep, name = reference.partition("::")
    if not sep:  # "Other" (this file), or "other.yaml" (that file's only graph)
        is_file = Path(reference).suffix.lower() in _GRAPH_SUFFIXES
        file, name = (reference, "") if is_file else ("", reference)
    base = graph_folder(parent) or Path()
    path = (
        Path(os.path.normpath(base / file))
        if file
        else (Path(parent.file) if parent.file else None)
    )
    return path, name.strip() or None


def references(node: Node, spec: SubgraphSpec) -> tuple[str, ...]:
    """The graph references a ``graph`` node (of Context ``spec``) may run: its one graph, or
    its choices."""
    if spec.field is not None:
        return spec.choices
    reference = node.context["graph"] if isinstance(node.context, Mapping) else ""
    return (str(reference),)


def choice_key(reference: str) -> str:
    """How a choice is looked up: ``::Sub`` and ``Sub`` are the same graph of this file."""
    reference = reference.strip()
    return reference[2:].strip() if reference.startswith("::") else reference


def _choices(parent: Graph, node: Node, context: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    field, choices = context.get("graph_field"), context.get("choices")
    if not isinstance(field, str) or not field.strip():
        raise context_error(parent, node, '"graph_field" must name a state key (text)')
    if (
        not isinstance(choices, list | tuple)
        or not choices
        or not all(isinstance(c, str) and choice_key(c) for c in choices)
    ):
        raise context_error(
            parent,
            node,
            f'"graph_field": "{field}" needs "choices": the graphs the state\'s \'{field}\' may '
            'name, e.g. ["Billing", "other.csv::Refunds"]',
        )
    field = field.strip()
    taken = [key for key, param in node.inputs if param == field and key != field]
    if taken:
        raise context_error(
            parent,
            node,
            f"Input_Fields passes '{taken[0]}' to the child as '{field}', the state key that "
            f'"graph_field" reads to pick the graph — rename one of them',
        )
    return field, tuple(choices)


def _outputs(parent: Graph, node: Node, outputs: Any) -> Mapping[str, str] | None:
    """Context ``outputs`` (parent key → child key), checked against Output_Field."""
    if outputs is None:
        return None
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
    return outputs


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
    resolve: Callable[[Graph, Node, str], Graph],
    on_child: Callable[[Graph], list[Problem]],
    seen: set[GraphKey],
) -> Iterator[Problem]:
    """Problems of ``graph``'s subgraph nodes: bad references, recursion, and the children's own.

    ``resolve`` finds the graph a node's reference names (raising an ``AgentMapError`` when it
    can't); ``on_child`` checks a child graph once; ``seen`` holds the graphs already checked.
    A ``graph_field`` choice that would run a graph already running above it is a warning, not
    an error: only choosing it when the node runs would go wrong (and fails the node).

    The graphs are walked depth first with a list of its own, not by recursion: a chain of a
    thousand graphs, each running the next, is deeper than Python's recursion limit, and must
    come back as one problem (nested past ``MAX_DEPTH``), not a crash.
    """
    path = [_key(graph)]  # the graphs from ``graph`` down to the one being walked
    chosen_on_path = [False]  # whether each graph of ``path`` is a ``graph_field`` choice
    on_path = set(path)
    walking: list[tuple[Graph, Iterator[_Call]]] = [(graph, _calls(graph))]
    while walking:
        parent, calls = walking[-1]
        call = next(calls, None)
        if call is None:
            walking.pop()
            on_path.discard(path.pop())
            chosen_on_path.pop()
            continue
        node, reference, chosen = call
        if isinstance(reference, AgentMapError):
            yield _problem(parent, node, reference.message)
            continue
        try:
            child = resolve(parent, node, reference)
        except AgentMapError as exc:  # the message says what is wrong; the class doesn't matter
            yield _problem(parent, node, exc.message)
            continue
        key = _key(child)
        if key in on_path:
            start = path.index(key)
            loop = " → ".join(name for _, name in (*path[start:], key))
            if chosen:
                yield _problem(
                    parent,
                    node,
                    f"choice '{reference}' would run graph '{child.name}' inside itself "
                    f"({loop}), so the node fails if the state picks it — drop it from "
                    '"choices"',
                    "warning",
                )
            elif any(chosen_on_path[start + 1 :]):
                yield _problem(
                    parent,
                    node,
                    f"subgraphs recurse ({loop}) if a graph_field node on the way picks the "
                    "choice that leads here; that pick fails its node",
                    "warning",
                )
            else:
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
            walking.append((child, _calls(child)))
            path.append(key)
            chosen_on_path.append(chosen)
            on_path.add(key)


_Call = tuple[Node, "str | AgentMapError", bool]
"""A graph a subgraph node may run: the node, the reference (or why its Context names none),
and whether the state picks it when the node runs (a ``graph_field`` choice)."""


def _calls(graph: Graph) -> Iterator[_Call]:
    for node in graph.nodes.values():
        if not is_subgraph(node):
            continue
        try:
            spec = spec_of(graph, node)
        except AgentMapError as exc:
            yield node, exc, False
            continue
        for reference in references(node, spec):
            yield node, reference, spec.field is not None


def _key(graph: Graph) -> GraphKey:
    """A graph's identity however its file's path was spelled (``a/../a.csv`` is ``a.csv``)."""
    return (str(Path(graph.file).resolve()) if graph.file else "", graph.name)


def _problem(
    graph: Graph, node: Node, message: str, severity: Literal["error", "warning"] = "error"
) -> Problem:
    return problem_at(graph, node, "Context", message, severity)
