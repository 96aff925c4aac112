"""Check a graph's meaning before it runs: routing, agent types, functions, reachability."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from agentmap.agents.catalog import AgentCatalog
from agentmap.exceptions import Problem
from agentmap.functions import FunctionCatalog
from agentmap.graph.branch_checks import check_branches, check_node_settings
from agentmap.graph.model import FUNC_PREFIX, Graph, Node, graph_folder
from agentmap.graph.problems import problem_at
from agentmap.project_agents import scaffold_advice
from agentmap.prompts import PromptCatalog, PromptError, placeholders
from agentmap.suggest import did_you_mean


def check_graph(
    graph: Graph,
    agents: AgentCatalog,
    functions: FunctionCatalog,
    prompts: PromptCatalog,
    reducers: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Every error and warning of one graph, in row order."""
    problems: list[Problem] = []
    types = _TypeChecks(graph, agents)
    for node in graph.nodes.values():
        problems.extend(_check_node(graph, node, types, functions))
        if node.prompt:
            problems.extend(_check_prompt(graph, node, prompts))
        if node.context is not None and not isinstance(node.context, str):
            problems.extend(check_node_settings(graph, node))
    problems.extend(check_branches(graph, reducers or {}))
    problems.extend(_unreachable(graph))
    return sorted(problems, key=lambda p: (p.row or 0, p.cell or ""))


class _TypeChecks:
    """The catalog's answers about an agent type, asked once per type, not once per node: a
    table of a million ``echo`` rows has one type to look up."""

    def __init__(self, graph: Graph, agents: AgentCatalog) -> None:
        self._graph = graph
        self._agents = agents
        self._of_type: dict[str, tuple[str | None, str | None]] = {}
        self._no_context: dict[str, str | None] = {}

    def of_type(self, agent_type: str) -> tuple[str | None, str | None]:
        """Why the type can't run here (a package missing), and why it is unknown, if so."""
        found = self._of_type.get(agent_type)
        if found is None:
            found = self._of_type[agent_type] = (
                self._agents.missing_requirement(agent_type),
                None if self._agents.has(agent_type) else self._unknown(agent_type),
            )
        return found

    def context_problem(
        self, agent_type: str, context: Mapping[str, Any] | str | None
    ) -> str | None:
        """What the agent class finds wrong with a Context (an empty one: asked once)."""
        if context is not None:
            return self._agents.context_problem(agent_type, context)
        if agent_type not in self._no_context:
            self._no_context[agent_type] = self._agents.context_problem(agent_type, None)
        return self._no_context[agent_type]

    def _unknown(self, agent_type: str) -> str:
        graph = self._graph
        hint = did_you_mean(agent_type, self._agents.types())
        return f"unknown agent type '{agent_type}'{hint} — fix the spelling, or " + scaffold_advice(
            agent_type,
            Path(graph.file) if graph.file else None,
            f"run `agentmap scaffold {graph.file or 'FILE'}` to write a stub for it",
        )


def _check_node(
    graph: Graph, node: Node, types: _TypeChecks, functions: FunctionCatalog
) -> Iterator[Problem]:
    missing, unknown = types.of_type(node.agent_type)
    if missing is not None:
        yield problem_at(graph, node, "AgentType", missing)
    if (wrong := types.context_problem(node.agent_type, node.context)) is not None:
        yield problem_at(graph, node, "Context", wrong)
    if unknown is not None:
        yield problem_at(graph, node, "AgentType", unknown)
    if (
        node.edge
        and not node.edge.startswith(FUNC_PREFIX)
        and (node.success_next or node.failure_next)
    ):
        both = "Success_Next" if node.success_next else "Failure_Next"
        yield problem_at(
            graph,
            node,
            "Edge",
            f"Edge and {both} are both set — Edge always goes on; use Success_Next/Failure_Next "
            "to branch, or clear them to keep the Edge",
        )
    for field, target in node.targets:
        yield from _check_target(graph, node, field, target, functions)


def _check_prompt(graph: Graph, node: Node, prompts: PromptCatalog) -> Iterator[Problem]:
    if not node.prompt:
        return
    try:
        names = placeholders(prompts.resolve(node.prompt, graph_folder(graph)))
    except PromptError as exc:
        yield problem_at(graph, node, "Prompt", str(exc))
        return
    params = [param for _, param in node.inputs]
    for name in names:
        if name not in params:
            yield problem_at(
                graph,
                node,
                "Prompt",
                f"placeholder {{{name}}} has no matching input{did_you_mean(name, params)} — add "
                f"'{name}' to Input_Fields, or write {{{{{name}}}}} for literal braces",
            )


def _check_target(
    graph: Graph, node: Node, field: str, target: str, functions: FunctionCatalog
) -> Iterator[Problem]:
    if "|" in target:
        yield from _check_fan_out(graph, node, field, target)
    elif target.startswith(FUNC_PREFIX):
        name = target[len(FUNC_PREFIX) :].strip()
        if functions.get(name) is None:
            hint = did_you_mean(name, functions.names())
            yield problem_at(
                graph,
                node,
                field,
                f"no routing function named '{name}'{hint} — define it in the functions folder, or "
                f"run `agentmap scaffold {graph.file or 'FILE'}` to write a stub",
            )
        elif (reason := functions.signature_problem(name)) is not None:
            yield problem_at(graph, node, field, reason)
    elif target not in graph.nodes:
        hint = did_you_mean(target, graph.nodes)
        yield problem_at(
            graph, node, field, f"no node named '{target}' in graph '{graph.name}'{hint}"
        )


def _check_fan_out(graph: Graph, node: Node, field: str, cell: str) -> Iterator[Problem]:
    """``A|B|C`` starts parallel branches: each part must be a node, named once."""
    targets = [t.strip() for t in cell.split("|")]
    if any(t.startswith(FUNC_PREFIX) or not t for t in targets):
        yield problem_at(
            graph,
            node,
            field,
            f"'{cell}': parallel targets must be node names (not empty, not func:) — a routing "
            "function picks one node",
        )
        return
    counts = Counter(targets)  # not targets.count per target: that is quadratic in the cell
    for target, count in counts.items():
        if count > 1:
            yield problem_at(
                graph, node, field, f"'{cell}' names '{target}' twice — name each once"
            )
    for target in counts:
        if target not in graph.nodes:
            hint = did_you_mean(target, graph.nodes)
            yield problem_at(
                graph, node, field, f"no node named '{target}' in graph '{graph.name}'{hint}"
            )


def _unreachable(graph: Graph) -> Iterator[Problem]:
    """Nodes no route leads to from the entry. A ``func:`` route may lead anywhere."""
    nodes = graph.nodes
    seen: set[str] = set()
    todo = [graph.entry]
    while todo:
        name = todo.pop()
        node = nodes.get(name) if name not in seen else None
        if node is None:
            continue
        seen.add(name)
        for target in (node.edge, node.success_next, node.failure_next):
            if not target:
                continue
            if target.startswith(FUNC_PREFIX):
                return
            if "|" in target:
                todo.extend(t.strip() for t in target.split("|"))
            else:
                todo.append(target.strip())
    for node in graph.nodes.values():
        if node.name not in seen:
            yield problem_at(
                graph,
                node,
                "Node",
                f"node '{node.name}' can't be reached from the entry node '{graph.entry}' — "
                "route to it or delete it",
                severity="warning",
            )
