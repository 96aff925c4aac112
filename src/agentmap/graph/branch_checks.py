"""Checks for what runs concurrently or repeatedly: retry, timeout and reduce settings, and
parallel branches that would write the same key (an error found before the run, when it can
be seen from the table; otherwise the join reports it at run time).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from agentmap.agents.base import type_name_of
from agentmap.exceptions import Problem, RetryPolicyError
from agentmap.graph.model import FUNC_PREFIX, Graph, Node
from agentmap.graph.problems import problem_at
from agentmap.reducers import REDUCERS
from agentmap.retry import RetryPolicy
from agentmap.suggest import did_you_mean

CHOOSING_AGENT = "orchestrator"
"""The agent type whose ``A|B`` routing cell is a choice of one target, not a fan-out."""


def check_node_settings(graph: Graph, node: Node) -> Iterator[Problem]:
    """``retry``, ``timeout`` and ``reduce`` in a node's Context must make sense."""
    context = node.context if isinstance(node.context, Mapping) else {}
    retry = context.get("retry")
    if retry is not None:
        reason = _retry_problem(retry)
        if reason is not None:
            yield _context_problem(graph, node, f"bad retry policy: {reason}")
    timeout = context.get("timeout")
    if timeout is not None and not _positive_number(timeout):
        yield _context_problem(
            graph, node, f"timeout must be a number of seconds > 0, not {timeout!r}"
        )
    reduce = context.get("reduce")
    if reduce is not None and reduce not in REDUCERS:
        hint = did_you_mean(str(reduce), REDUCERS)
        yield _context_problem(
            graph, node, f"unknown reducer {reduce!r}{hint} (reducers: {', '.join(REDUCERS)})"
        )
    elif reduce is not None and not node.outputs:
        yield _context_problem(graph, node, "reduce applies to the node's outputs, but it has none")


def _retry_problem(retry: Any) -> str | None:
    """What is wrong with a Context ``retry`` value, if anything."""
    if not isinstance(retry, Mapping):
        return 'write it as an object such as {"type": "fixed", "delay": 1}'
    try:
        RetryPolicy.from_dict(retry)
    except RetryPolicyError as exc:
        return exc.message
    return None


def check_branches(graph: Graph, reducers: Mapping[str, str]) -> Iterator[Problem]:
    """Branches of one ``A|B`` cell that write the same key with no reducer declared."""
    declared = {**reducers, **declared_reducers(graph)}
    yield from _reducer_clashes(graph)
    for node in graph.nodes.values():
        for field, cell in node.targets:
            if "|" not in cell:
                continue  # one target: no branches (most cells, so asked first)
            if field != "Failure_Next" and type_name_of(node.agent_type) == CHOOSING_AGENT:
                continue  # the nodes it picks one of: no branches run at once
            targets = [t.strip() for t in cell.split("|")]
            if len(targets) > 1 and all(t in graph.nodes for t in targets):
                yield from _conflicts(graph, node, field, targets, declared)


def _conflicts(
    graph: Graph, node: Node, field: str, targets: list[str], declared: Mapping[str, str]
) -> Iterator[Problem]:
    reach = {t: _reachable(graph, t) for t in targets}
    if any(r is None for r in reach.values()):
        return  # a func: route may go anywhere: only the run can tell
    for a, b in itertools.combinations(targets, 2):
        only_a, only_b = reach[a] - reach[b], reach[b] - reach[a]  # type: ignore[operator]
        shared = (_writes(graph, only_a) & _writes(graph, only_b)) - set(declared)
        if shared:
            keys = ", ".join(f"'{k}'" for k in sorted(shared))
            yield problem_at(
                graph,
                node,
                field,
                f"parallel branches '{a}' and '{b}' both write {keys} before they join — write "
                'different keys, or declare a reducer (Context {"reduce": "append"} on the '
                "writing nodes, or execution.reducers)",
            )


def _reducer_clashes(graph: Graph) -> Iterator[Problem]:
    first: dict[str, tuple[str, str]] = {}
    for node in graph.nodes.values():
        if node.context is None or isinstance(node.context, str):
            continue  # no object: no reducer (and no costlier Mapping check)
        reduce = node.context.get("reduce") if isinstance(node.context, Mapping) else None
        if not isinstance(reduce, str):
            continue
        for key in node.outputs:
            seen = first.setdefault(key, (reduce, node.name))
            if seen[0] != reduce:
                yield _context_problem(
                    graph,
                    node,
                    f"'{key}' is reduced with {reduce!r} here but {seen[0]!r} at node "
                    f"'{seen[1]}' — declare one reducer per key",
                )


def declared_reducers(graph: Graph) -> dict[str, str]:
    """Reducers the graph declares: a node's Context ``reduce`` applies to its outputs."""
    declared: dict[str, str] = {}
    for node in graph.nodes.values():
        if node.context is None or isinstance(node.context, str):
            continue  # no object: no reducer (and no costlier Mapping check)
        if isinstance(node.context, Mapping) and isinstance(node.context.get("reduce"), str):
            declared.update(dict.fromkeys(node.outputs, str(node.context["reduce"])))
    return declared


def _writes(graph: Graph, names: set[str]) -> set[str]:
    return {key for name in names for key in graph.nodes[name].outputs}


def _reachable(graph: Graph, start: str) -> set[str] | None:
    """Nodes reachable from ``start`` (itself included); ``None`` if a ``func:`` route is met."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in graph.nodes:
            continue
        seen.add(name)
        for _, cell in graph.nodes[name].targets:
            if cell.startswith(FUNC_PREFIX):
                return None
            todo.extend(t.strip() for t in cell.split("|"))
    return seen


def _positive_number(value: Any) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False


def _context_problem(graph: Graph, node: Node, message: str) -> Problem:
    return problem_at(graph, node, "Context", message)
