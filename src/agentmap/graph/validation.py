"""Check a graph's meaning before it runs: routing, agent types, functions, reachability."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from agentmap.agents.base import type_name_of
from agentmap.agents.catalog import AgentCatalog, KeyProblem
from agentmap.agents.storage import is_storage_type, missing_file, unsupported
from agentmap.agents.toolbox import TOOL_TYPE, tool_problems
from agentmap.exceptions import Problem
from agentmap.functions import FunctionCatalog
from agentmap.graph.branch_checks import CHOOSING_AGENT, check_branches, check_node_settings
from agentmap.graph.model import FUNC_PREFIX, Graph, Node, graph_folder
from agentmap.graph.problems import problem_at
from agentmap.project_agents import scaffold_advice
from agentmap.prompts import PromptCatalog, PromptError, placeholders
from agentmap.security import AllowedPaths
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
    nodes = graph.nodes
    plain = types.plain
    for node in nodes.values():
        # The node most tables are made of — a known type that needs nothing, no Context, no
        # Prompt, no tools, at most an Edge to another node — has nothing more to check (a
        # million-row table asks this of every node: one cached answer per type, no generator).
        edge = node.edge
        if (
            node.context is None
            and not node.prompt
            and not node.success_next
            and not node.failure_next
            and not node.tool_source
            and not node.tools
            and plain(node.agent_type)
            and (
                edge is None
                or (edge in nodes and "|" not in edge and not edge.startswith(FUNC_PREFIX))
            )
        ):
            continue
        problems.extend(_check_node(graph, node, types, functions))
        if node.tool_source or node.tools or types.is_tool(node.agent_type):
            problems.extend(_check_tools(graph, node, agents))
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
        self._storage: dict[str, bool] = {}
        self._tool: dict[str, bool] = {}
        self._plain: dict[str, bool] = {}
        self._keys: dict[tuple[str, frozenset[str]], list[KeyProblem]] = {}

    def plain(self, agent_type: str) -> bool:
        """Whether a node of this type with no Context, Prompt or tools has nothing to check:
        the type is known, can run here, wants no Context and is neither a tool nor a storage
        agent's."""
        found = self._plain.get(agent_type)
        if found is None:
            missing, unknown = self.of_type(agent_type)
            found = self._plain[agent_type] = (
                missing is None
                and unknown is None
                and self.context_problem(agent_type, None) is None
                and not self.is_tool(agent_type)
                and not self.is_storage(agent_type)
            )
        return found

    def is_tool(self, agent_type: str) -> bool:
        """Whether the type is ``tool_agent`` (whose tool columns are checked)."""
        found = self._tool.get(agent_type)
        if found is None:
            found = self._tool[agent_type] = type_name_of(agent_type) == TOOL_TYPE
        return found

    def is_storage(self, agent_type: str) -> bool:
        """Whether the type is a storage agent's (which must be told its file)."""
        found = self._storage.get(agent_type)
        if found is None:
            found = self._storage[agent_type] = is_storage_type(agent_type)
        return found

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

    def key_problems(self, agent_type: str, context: Mapping[str, Any]) -> list[KeyProblem]:
        """Context keys the type doesn't read, asked once per type and set of keys: the rows
        of a large table mostly repeat a few Contexts."""
        asked = (agent_type, frozenset(context))
        found = self._keys.get(asked)
        if found is None:
            found = self._keys[asked] = self._agents.context_key_problems(*asked)
        return found

    def _unknown(self, agent_type: str) -> str:
        if (refused := unsupported(agent_type)) is not None:  # AgentMap's, not built here
            return refused
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
    # Most nodes have no Context and only an Edge: the cheap tests come first (a million-row
    # table asks these of every node).
    if node.context and isinstance(node.context, Mapping):
        for severity, message in types.key_problems(node.agent_type, node.context):
            yield problem_at(graph, node, "Context", message, severity)
    if unknown is not None:
        yield problem_at(graph, node, "AgentType", unknown)
    elif types.is_storage(node.agent_type) and (no_file := missing_file(node)) is not None:
        yield problem_at(graph, node, "Context", no_file)
    edge = node.edge
    if edge and (node.success_next or node.failure_next) and not edge.startswith(FUNC_PREFIX):
        yield from _edge_wins(graph, node)
    for field, target in node.targets:
        yield from _check_target(graph, node, field, target, functions)


def _edge_wins(graph: Graph, node: Node) -> Iterator[Problem]:
    """A plain Edge beside Success_Next/Failure_Next: the Edge is followed, as AgentMap does (its
    own templates write both), so the graph runs — and the warning says which cell wins."""
    cells = (("Success_Next", node.success_next), ("Failure_Next", node.failure_next))
    ignored = " and ".join(column for column, cell in cells if cell)
    if ignored:
        yield problem_at(
            graph,
            node,
            "Edge",
            f"Edge and {ignored} are both set — the run follows the Edge to '{node.edge}' "
            f"whatever the outcome (an Edge is unconditional and wins, as in AgentMap) and "
            f"ignores {ignored}; clear {ignored} to keep the Edge, or clear the Edge to branch "
            "on the outcome",
            severity="warning",
        )


def _check_tools(graph: Graph, node: Node, agents: AgentCatalog) -> list[Problem]:
    """A tool_agent's Tool_Source and Available_Tools (the file read, the functions found)."""
    settings = agents.settings
    allowed = AllowedPaths.of(settings) if settings is not None else AllowedPaths(None)
    return tool_problems(graph, node, type_name_of(node.agent_type) == TOOL_TYPE, allowed)


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
    """Nodes no route the run can take leads to from the entry. A ``func:`` route may lead
    anywhere; so may an orchestrator with no routing cell (it chooses among every node)."""
    nodes = graph.nodes
    seen: set[str] = set()
    todo = [graph.entry]
    while todo:
        name = todo.pop()
        node = nodes.get(name) if name not in seen else None
        if node is None:
            continue
        seen.add(name)
        edge = node.edge
        if edge and "|" not in edge and not edge.startswith(FUNC_PREFIX):
            todo.append(edge.strip())  # the usual route: one Edge to one node
            continue
        if not (edge or node.success_next) and type_name_of(node.agent_type) == CHOOSING_AGENT:
            return
        routes = (edge,) if edge else (node.success_next, node.failure_next)
        for target in routes:  # an Edge wins over Success_Next/Failure_Next, as when run
            if not target:
                continue
            if target.startswith(FUNC_PREFIX):
                return
            if "|" in target:
                todo.extend(t.strip() for t in target.split("|"))
            else:
                todo.append(target.strip())
    if len(seen) == len(nodes):
        return  # every node reached (the usual graph): no need to look at each again
    for node in nodes.values():
        if node.name not in seen:
            yield problem_at(
                graph,
                node,
                "Node",
                f"node '{node.name}' can't be reached from the entry node '{graph.entry}' — "
                "route to it or delete it",
                severity="warning",
            )
