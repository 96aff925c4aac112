"""Run a graph: take a node, run its agent on its inputs, make the new state, follow its outcome.

The whole engine is ``GraphRunnerService.arun``'s loop. It is iterative (a 100,000-node chain
uses no stack) and async at its core; ``run`` is the sync wrapper, never a second copy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from agentmap.agents.base import Failure
from agentmap.agents.catalog import AgentCatalog, Process
from agentmap.exceptions import RunError
from agentmap.functions import FunctionCatalog
from agentmap.graph.model import FUNC_PREFIX, Graph, Node, graph_folder
from agentmap.prompts import PromptCatalog, PromptError
from agentmap.state import State, StateAdapterService
from agentmap.tracking import ExecutionSummary, ExecutionTracker, ExecutionTrackingService

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """What a run produced: the final state, the verdict and the execution summary."""

    graph_name: str
    final_state: dict[str, Any]
    success: bool
    summary: ExecutionSummary

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (values the state holds are passed through as they are)."""
        return {
            "graph_name": self.graph_name,
            "success": self.success,
            "final_state": self.final_state,
            "summary": self.summary.to_dict(),
        }


Route = str | Callable[[State], str | None] | None
"""Where a node goes on an outcome: a node name, a routing function's decision, or the end."""


@dataclass(slots=True)
class _Step:
    """A node made ready to run: its agent built and its routes resolved."""

    node: Node
    process: Process
    is_async: bool
    on_success: Route
    on_failure: Route

    def next_node(self, state: State, success: bool) -> str | None:
        route = self.on_success if success else self.on_failure
        return route(state) if callable(route) else route


class GraphRunnerService:
    """Runs graphs. One instance serves any number of runs; each run has its own tracker.

    >>> from agentmap import load_graph
    >>> result = runner.run(load_graph("graphs/hello.csv"), {"input": "hi"})  # doctest: +SKIP
    """

    def __init__(
        self,
        agents: AgentCatalog,
        functions: FunctionCatalog,
        prompts: PromptCatalog,
        state_adapter: StateAdapterService,
        tracking: ExecutionTrackingService,
        max_steps: int = 10_000,
    ) -> None:
        self._agents = agents
        self._functions = functions
        self._prompts = prompts
        self._state = state_adapter
        self._tracking = tracking
        self._max_steps = max_steps

    def run(self, graph: Graph, state: Any = None) -> ExecutionResult:
        """Run ``graph`` from its entry node on ``state``; see ``arun``.

        When every agent in the graph is sync, the run needs no event loop and is driven
        directly (an event loop costs more to start than a small graph takes to run).
        """
        types = {node.agent_type for node in graph.nodes.values()}
        if any(self._agents.is_async(agent_type) for agent_type in types):
            return run_sync(self.arun(graph, state))
        return _drive(self.arun(graph, state))

    async def arun(self, graph: Graph, state: Any = None) -> ExecutionResult:
        """Run ``graph`` from its entry node on ``state`` and return the result.

        A node's failure is routed, not raised. ``RunError`` is raised when the graph itself
        goes wrong (``max_steps`` exceeded, a routing function's bad answer); it carries the
        partial result.
        """
        tracker = self._tracking.create_tracker(graph)
        current = self._state.initial_state(state)
        steps: dict[str, _Step] = {}
        node: str | None = graph.entry
        count = 0
        try:
            while node is not None:
                count += 1
                if count > self._max_steps:
                    raise RunError(
                        f"graph '{graph.name}' ran {self._max_steps} steps without finishing (a "
                        "loop that never exits?) — fix the routing or raise execution.max_steps",
                        graph=graph.name,
                        node=node,
                    )
                step = steps.get(node) or steps.setdefault(node, self._prepare(graph, node))
                current, success = await self._run_node(step, current, tracker)
                node = step.next_node(current, success)
        except RunError as exc:
            partial = self._result(graph, current, tracker)
            summary = replace(partial.summary, success=False)  # it stopped: it did not succeed
            exc.result = replace(partial, success=False, summary=summary)
            raise
        return self._result(graph, current, tracker)

    async def _run_node(
        self, step: _Step, state: State, tracker: ExecutionTracker
    ) -> tuple[State, bool]:
        node = step.node
        inputs = self._state.inputs(state, node.inputs, node.name)
        tracker.track_node_start(node.name, inputs)
        try:
            value = step.process(inputs)
            if step.is_async:
                value = await value
            outputs, success, error = _outcome(node, value)
        except Exception as exc:
            value, outputs, success, error = None, {}, False, str(exc) or type(exc).__name__
            logger.info(
                "node %r failed: %s", node.name, error, exc_info=logger.isEnabledFor(logging.DEBUG)
            )
        tracker.track_node_complete(node.name, success, value, error)
        return self._state.updated(state, outputs, success, error), success

    def _prepare(self, graph: Graph, name: str) -> _Step:
        node = graph.nodes[name]
        try:
            prompt = self._prompts.resolve(node.prompt, graph_folder(graph))
        except PromptError as exc:  # only for graphs built in code and never validated
            raise RunError(f"node '{name}': {exc}", graph=graph.name, node=name) from exc
        process = self._agents.process_for(node, prompt)
        return _Step(
            node=node,
            process=process,
            is_async=self._agents.is_async(node.agent_type),
            on_success=self._route(graph, node, node.edge or node.success_next),
            on_failure=self._route(graph, node, node.edge or node.failure_next),
        )

    def _route(self, graph: Graph, node: Node, target: str | None) -> Route:
        if target is None or not target.startswith(FUNC_PREFIX):
            return target
        name = target[len(FUNC_PREFIX) :].strip()
        function = self._functions.get(name)
        if function is None:
            raise RunError(
                f"node '{node.name}': no routing function named '{name}'",
                graph=graph.name,
                node=node.name,
            )
        success_target = _plain(node.success_next)
        failure_target = _plain(node.failure_next)

        def decide(state: State) -> str | None:
            try:
                chosen: str | None = function(state, success_target, failure_target)
            except Exception as exc:
                raise RunError(
                    f"routing function '{name}' (node '{node.name}') raised "
                    f"{type(exc).__name__}: {exc}",
                    graph=graph.name,
                    node=node.name,
                ) from exc
            if chosen is not None and chosen not in graph.nodes:
                raise RunError(
                    f"routing function '{name}' (node '{node.name}') returned {chosen!r}, which is "
                    f"no node of graph '{graph.name}' — return a node name, or None to end the run",
                    graph=graph.name,
                    node=node.name,
                )
            return chosen

        return decide

    def _result(self, graph: Graph, state: State, tracker: ExecutionTracker) -> ExecutionResult:
        summary = tracker.get_summary()
        return ExecutionResult(
            graph_name=graph.name,
            final_state=self._state.to_dict(state),
            success=summary.success,
            summary=summary,
        )


def _plain(target: str | None) -> str | None:
    return target if target and not target.startswith(FUNC_PREFIX) else None


def _outcome(node: Node, value: Any) -> tuple[Mapping[str, Any], bool, str | None]:
    """The state updates, success and error of an agent's return value."""
    success, error = True, None
    if isinstance(value, Failure):
        success, error, value = False, value.error, value.value
        if value is None:
            return {}, False, error
    keys = node.outputs
    if not keys:
        return {}, success, error
    if len(keys) == 1:
        return {keys[0]: value}, success, error
    wanted = "|".join(keys)
    if not isinstance(value, Mapping):
        return (
            {},
            False,
            (
                f"node '{node.name}' must return a mapping with keys {wanted} (its Output_Field), "
                f"but returned a {type(value).__name__}"
            ),
        )
    missing = [key for key in keys if key not in value]
    if missing:
        return (
            {},
            False,
            (
                f"node '{node.name}' did not return {', '.join(repr(k) for k in missing)} "
                f"(its Output_Field is {wanted})"
            ),
        )
    return {key: value[key] for key in keys}, success, error


def _drive(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to completion, without an event loop."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("a run without async agents suspended; this is a bug in agentmap")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even when an event loop is already running.

    Inside a running loop (Jupyter, an async agent calling ``run_graph``) the coroutine gets a
    loop of its own on a worker thread rather than failing.
    """
    import asyncio  # only runs with async agents pay for it
    import concurrent.futures

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
