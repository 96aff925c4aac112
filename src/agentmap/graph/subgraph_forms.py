"""AgentMap's ways of writing a ``graph`` node, read into ours as a graph file is read.

AgentMap names the subgraph in Context — ``{workflow=::Sub}``, ``{workflow=file.csv::Sub}``,
``{workflow_field=key}``, ``subgraph_name:Sub,csv_path:file.csv`` — or in Prompt, and maps
state with ``child=parent`` in Input_Fields and ``parent=child`` in Output_Field. Each node
written so is rewritten into our form (Context ``{"graph": ...}`` or ``{"graph_field": ...,
"choices": [...]}``, Input_Fields ``parent:child``, Context ``outputs``), so checking,
compiling and running know one form, and every message about it points at the cell written.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from agentmap.agents.base import type_name_of
from agentmap.agents.catalog import SUBGRAPH_TYPE
from agentmap.exceptions import Problem
from agentmap.graph.model import Graph, GraphFile, Node
from agentmap.graph.problems import problem_at

_DIRECTIVE = re.compile(r"\{(workflow|workflow_field)=([^}]+)\}")
"""AgentMap finds ``{workflow=...}`` anywhere in a Context text: ``Runs it {workflow=::Sub}``."""

_LEGACY_KEYS = frozenset({"subgraph_name", "csv_path"})
_OUR_KEYS = ("graph", "graph_field")
_GRAPH_FILE = re.compile(r"^\S+\.(csv|xlsx|ods|ya?ml|json)$", re.IGNORECASE)


def read_agentmap_forms(graph_file: GraphFile) -> tuple[GraphFile, list[Problem]]:
    """``graph_file`` with its AgentMap-style ``graph`` nodes in our form, and the problems of
    the ones that can't be (placed at their cells). Nodes of other types are left alone."""
    problems: list[Problem] = []
    graphs: dict[str, Graph] = {}
    kinds: dict[str, bool] = {}  # agent type as written → is it ``graph``: asked once per type
    for name, graph in graph_file.graphs.items():
        rewritten: dict[str, Node] = {}
        for node in graph.nodes.values():
            is_graph = kinds.get(node.agent_type)
            if is_graph is None:
                is_graph = kinds[node.agent_type] = type_name_of(node.agent_type) == SUBGRAPH_TYPE
            if is_graph:
                ours = _our_node(graph, node, graph_file.graphs, problems)
                if ours is not node:
                    rewritten[node.name] = ours
        graphs[name] = _with_nodes(graph, rewritten) if rewritten else graph
    if all(graphs[name] is graph for name, graph in graph_file.graphs.items()):
        return graph_file, problems
    return graph_file.model_copy(update={"graphs": MappingProxyType(graphs)}), problems


def _with_nodes(graph: Graph, rewritten: Mapping[str, Node]) -> Graph:
    nodes = {name: rewritten.get(name, node) for name, node in graph.nodes.items()}
    return graph.model_copy(update={"nodes": MappingProxyType(nodes)})


def _our_node(
    graph: Graph, node: Node, siblings: Mapping[str, Graph], problems: list[Problem]
) -> Node:
    """``node`` in our form (itself when it already is)."""
    context = _our_context(graph, node, siblings)
    inputs = _our_inputs(graph, node, problems)
    outputs, mapping = _our_outputs(graph, node, problems)
    if mapping is not None:
        current = context if isinstance(context, Mapping) else {}
        if "outputs" in current:
            problems.append(
                problem_at(
                    graph,
                    node,
                    "Output_Field",
                    "Output_Field maps keys with '=' and Context \"outputs\" maps them too — "
                    "keep one of them",
                )
            )
        else:
            context = {**current, "outputs": mapping}
    if context is node.context and inputs is node.inputs and outputs is node.outputs:
        return node
    return dataclasses.replace(node, context=context, inputs=inputs, outputs=outputs)


def _our_context(
    graph: Graph, node: Node, siblings: Mapping[str, Graph]
) -> Mapping[str, Any] | str | None:
    """The Context with the graph to run named our way: ``graph`` or ``graph_field``."""
    context = node.context
    if isinstance(context, Mapping):
        if any(key in context for key in _OUR_KEYS):
            return context  # ours: a second way of naming it as well is ignored
        rest = {k: v for k, v in context.items() if k not in _LEGACY_KEYS | {"workflow"}}
        if "workflow_field" in context:
            rest.pop("workflow_field")  # choices the Context lists stay as listed
            return {**_chosen(graph, str(context["workflow_field"]), siblings), **rest}
        if isinstance(context.get("workflow"), str):
            return {**rest, "graph": _reference(context["workflow"])}
        if isinstance(context.get("subgraph_name"), str):
            return {**rest, "graph": _legacy(context)}
        return context
    if isinstance(context, str):
        found = _DIRECTIVE.search(context)
        if found is not None:
            key, value = found.groups()
            if key == "workflow_field":
                return _chosen(graph, value, siblings)
            return {"graph": _reference(value)}
        pairs = _legacy_pairs(context)
        if pairs is not None:
            return {"graph": _legacy(pairs)}
        if _GRAPH_FILE.match(context.strip()) and _is_name(node.prompt):
            return {"graph": f"{context.strip()}::{node.prompt.strip()}"}
        return context
    if context is None and _is_name(node.prompt) and node.prompt.strip() in siblings:
        return {"graph": node.prompt.strip()}  # AgentMap's oldest form: Prompt names the graph
    return context


def _reference(workflow: str) -> str:
    """AgentMap's ``::Sub`` is our ``Sub``; ``file.csv::Sub`` reads the same in both."""
    workflow = workflow.strip()
    return workflow[2:].strip() if workflow.startswith("::") else workflow


def _chosen(graph: Graph, field: str, siblings: Mapping[str, Graph]) -> dict[str, Any]:
    """``{workflow_field=key}``: the state's ``key`` picks a graph when the node runs. AgentMap
    lets it name any graph; here the choices must be known before the run, so they are the
    other graphs of this file (Context ``choices`` may list others)."""
    choices = [name for name in siblings if name != graph.name]
    return {"graph_field": field.strip(), "choices": choices}


def _legacy_pairs(text: str) -> dict[str, str] | None:
    """``subgraph_name:Sub,csv_path:file.csv`` as a mapping, or ``None`` if it isn't that."""
    pairs = [part.partition(":") for part in text.split(",") if part.strip()]
    found = {key.strip(): value.strip() for key, sep, value in pairs if sep}
    if len(found) != len(pairs) or not set(found) <= _LEGACY_KEYS:
        return None
    return found if found.get("subgraph_name") else None


def _legacy(context: Mapping[str, Any]) -> str:
    name = str(context["subgraph_name"]).strip()
    file = str(context.get("csv_path") or "").strip()
    return f"{file}::{name}" if file else name


def _is_name(text: str) -> bool:
    return bool(text.strip()) and not any(c.isspace() for c in text.strip())


def _our_inputs(graph: Graph, node: Node, problems: list[Problem]) -> tuple[tuple[str, str], ...]:
    """Input_Fields with AgentMap's ``child=parent`` turned into our ``parent:child``."""
    if not any("=" in key or "=" in param for key, param in node.inputs):
        return node.inputs
    pairs: list[tuple[str, str]] = []
    for key, param in node.inputs:
        if "=" not in key and "=" not in param:
            pairs.append((key, param))
            continue
        child, _, parent = key.partition("=")
        if key != param or not child.strip() or not parent.strip():
            written = key if key == param else f"{key}:{param}"
            problems.append(
                problem_at(
                    graph,
                    node,
                    "Input_Fields",
                    f"'{written}' is not 'child_key=parent_key' (AgentMap's form) nor "
                    "'parent_key:child_key' (ours) — write one of them",
                )
            )
            continue
        pairs.append((parent.strip(), child.strip()))
    names = [param for _, param in pairs]
    for twice in sorted({name for name in names if names.count(name) > 1}):
        problems.append(
            problem_at(
                graph,
                node,
                "Input_Fields",
                f"the child graph would receive '{twice}' twice — list it once",
            )
        )
    return tuple(pairs)


def _our_outputs(
    graph: Graph, node: Node, problems: list[Problem]
) -> tuple[tuple[str, ...], dict[str, str] | None]:
    """Output_Field with AgentMap's ``parent=child`` taken out into a mapping (``None``: no
    ``=`` in it). A key without ``=`` beside mapped ones maps the child's key of its name."""
    if not any("=" in key for key in node.outputs):
        return node.outputs, None
    mapping: dict[str, str] = {}
    for key in node.outputs:
        parent, sep, child = (part.strip() for part in key.partition("="))
        if sep and (not parent or not child or "=" in child):
            problems.append(
                problem_at(
                    graph,
                    node,
                    "Output_Field",
                    f"'{key}' is not 'parent_key=child_key' — write both sides of one '='",
                )
            )
            continue
        if parent in mapping:
            problems.append(
                problem_at(
                    graph,
                    node,
                    "Output_Field",
                    f"parent key '{parent}' is written twice — list it once",
                )
            )
            continue
        mapping[parent] = child or parent
    return tuple(mapping), mapping
