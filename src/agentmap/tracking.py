"""Execution tracking: the path a run took, what each node did and when, and the verdict."""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, overload

from agentmap.config import SuccessPolicySettings, TrackingSettings
from agentmap.events import Event, NodeCompleted, NodeFailed, NodeRetrying, NodeStarted
from agentmap.exceptions import ConfigError
from agentmap.functions import FunctionCatalog
from agentmap.graph.model import FUNC_PREFIX, Graph
from agentmap.outcomes import Usage
from agentmap.results import ExecutionSummary, NodeLog, NodeResult

SuccessPolicy = Callable[[ExecutionSummary], bool]

_UNSET: Any = object()


class ExecutionTracker:
    """Records one run from its events (or from direct ``track_node_*`` calls).

    Nodes of parallel branches run at once, so each open node keeps its own start time. A
    node's events carry its times, read from the run's clock (this tracker's); direct calls
    are timed by this tracker's clock as they come.
    """

    def __init__(
        self,
        graph_name: str,
        settings: TrackingSettings,
        policy: SuccessPolicy,
        clock: Callable[[], float] = time.perf_counter,
        graph: Graph | None = None,
    ) -> None:
        self._graph_name = graph_name
        self._graph = graph
        self._records = settings.enabled
        self._keep_inputs = settings.track_inputs
        self._keep_output = settings.track_outputs
        self._policy = policy
        self._clock = clock
        self._start_time = time.time()
        self._t0 = clock()
        self._path: list[str] = []
        self._results = NodeLog()  # a row per node run, made a NodeResult only when read
        self._failed: dict[str, None] = {}
        self._handled: dict[str, None] = {}
        self._last_success: bool | None = None
        self._usage: Usage | None = None
        self._open: dict[str, tuple[float, Mapping[str, Any] | None]] = {}
        self.recorders: Mapping[type, Callable[[Any], None]] = {  # what records each event
            NodeStarted: self._started,
            NodeCompleted: self._completed,
            NodeFailed: lambda e: self._complete(
                e.node, False, e.output, e.error, e.attempt, e.subgraph, e.usage, e.time, e.duration
            ),
            NodeRetrying: lambda e: self._record(
                e.node, False, e.error, None, e.attempt, None, None, e.time, e.duration
            ),
        }

    @property
    def t0(self) -> float:
        """The clock's reading when the run began (earlier when resumed: see ``restore``)."""
        return self._t0

    def handle(self, event: Event) -> None:
        """Record what ``event`` says (events about runs, not nodes, need no record)."""
        on = self.recorders.get(type(event))
        if on is not None:
            on(event)

    def restore(self, results: Iterable[NodeResult], elapsed: float, start_time: float) -> None:
        """Begin with the nodes an earlier process of this run finished (when resuming it).

        ``elapsed`` is how long that process ran, ``start_time`` when the run began (epoch).
        """
        for result in results:
            self._path.append(result.node)
            self._last_success = result.success
            if not result.success:
                self._failed_at(result.node)
            if self._records:
                self._results.add(*result)
        self._t0 -= elapsed
        self._start_time = start_time

    @property
    def last(self) -> NodeResult | None:
        """The node result recorded last (None when none is, or tracking is off)."""
        return self._results.last

    def _started(self, event: NodeStarted) -> None:
        if event.attempt == 1:
            self._path.append(event.node)
        self._open[event.node] = (event.time, event.inputs)

    def _completed(self, e: NodeCompleted) -> None:
        self._last_success = True
        if e.usage is not None:
            self._usage = e.usage if self._usage is None else self._usage + e.usage
        self._record(
            e.node, True, None, e.output, e.attempt, e.subgraph, e.usage, e.time, e.duration
        )

    def track_node_start(
        self, node_name: str, inputs: Mapping[str, Any] | None = None, *, attempt: int = 1
    ) -> None:
        """Note that the node starts now, with these inputs (a retry doesn't lengthen the path)."""
        if attempt == 1:
            self._path.append(node_name)
        self._open[node_name] = (self._clock(), inputs)

    @overload
    def track_node_complete(
        self,
        node_name: str,
        success: bool,
        output: Any = None,
        error: str | None = None,
        *,
        attempt: int = 1,
        subgraph: ExecutionSummary | None = None,
        usage: Usage | None = None,
    ) -> None: ...
    @overload
    def track_node_complete(
        self,
        node_name: str,
        *,
        outputs: Any,
        success: bool,
        error: str | None = None,
        attempt: int = 1,
        subgraph: ExecutionSummary | None = None,
        usage: Usage | None = None,
    ) -> None: ...
    @overload
    def track_node_complete(
        self, node_name: str, outputs: Any, success: bool, error: str | None = None, /
    ) -> None: ...
    def track_node_complete(
        self,
        node_name: str,
        success: Any,
        output: Any = None,
        error: str | None = None,
        *,
        outputs: Any = _UNSET,
        attempt: int = 1,
        subgraph: ExecutionSummary | None = None,
        usage: Usage | None = None,
    ) -> None:
        """Note that the node finished, and how: ``(node_name, success, output, error)``.

        AgentMap's guides call it ``(node_name, outputs, success)``; that works too — when
        the third argument is True or False and the second isn't, or with ``outputs=`` (its
        name for ``output``). Both True or False: read as ``(node_name, success, output)``,
        the order this method always had, so existing calls keep their meaning.
        """
        if outputs is not _UNSET:
            output = outputs
        elif not isinstance(success, bool) and isinstance(output, bool):
            success, output = output, success
        self._complete(node_name, bool(success), output, error, attempt, subgraph, usage)

    def _complete(
        self,
        node: str,
        success: bool,
        output: Any,
        error: str | None,
        attempt: int,
        subgraph: ExecutionSummary | None,
        usage: Usage | None,
        started: float | None = None,
        duration: float | None = None,
    ) -> None:
        self._last_success = success
        if not success:
            self._failed_at(node)
        if usage is not None:
            self._usage = usage if self._usage is None else self._usage + usage
        self._record(node, success, error, output, attempt, subgraph, usage, started, duration)

    def _failed_at(self, node: str) -> None:
        self._failed[node] = None
        if self._graph is not None and _routes_failure(self._graph, node):
            self._handled[node] = None

    def track_node_retry(self, node: str, error: str, attempt: int) -> None:
        """Note that attempt ``attempt`` of ``node`` failed and the node will be tried again."""
        self._record(node, False, error, None, attempt, None, None)

    def _record(
        self,
        node: str,
        success: bool,
        error: str | None,
        output: Any,
        attempt: int,
        subgraph: ExecutionSummary | None,
        usage: Usage | None,
        started: float | None = None,
        duration: float | None = None,
    ) -> None:
        """Add the node's row: timed as its event says (``started``, ``duration``), or, told
        directly, by this tracker's clock now."""
        opened = self._open.pop(node, None)
        inputs = opened[1] if opened is not None else None
        if started is None or duration is None:
            now = self._clock()
            started = opened[0] if opened is not None else now
            duration = now - started
        if self._records:
            self._results.add(
                node,
                success,
                duration,
                started - self._t0,
                error,
                inputs if self._keep_inputs else None,
                output if self._keep_output else None,
                attempt,
                subgraph,
                usage,
            )

    def get_summary(self) -> ExecutionSummary:
        """The run so far, with its verdict from the success policy."""
        summary = ExecutionSummary(
            graph_name=self._graph_name,
            execution_path=tuple(self._path),
            node_results=self._results.upto(len(self._results)),
            failed_nodes=tuple(self._failed),
            final_node_success=self._last_success,
            total_duration=self._clock() - self._t0,
            start_time=self._start_time,
            success=bool(self._path) and not self._failed,
            unfinished=tuple(self._open),
            usage=self._usage,
            handled_failures=tuple(self._handled),
        )
        return summary.judged(bool(self._policy(summary)))


class ExecutionTrackingService:
    """Makes a tracker per run, configured by ``execution.tracking`` and ``.success_policy``."""

    def __init__(
        self,
        settings: TrackingSettings | None = None,
        policy: SuccessPolicySettings | None = None,
        functions: FunctionCatalog | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        """Without settings, the defaults: every node run recorded, success = no node failed."""
        self._settings = settings or TrackingSettings()
        self._policy = make_success_policy(
            policy or SuccessPolicySettings(), functions or FunctionCatalog()
        )
        self._clock = clock

    @property
    def clock(self) -> Callable[[], float]:
        """The clock trackers read when not given one (a runner times its runs by it too)."""
        return self._clock

    def create_tracker(
        self, graph_name: Any, clock: Callable[[], float] | None = None
    ) -> ExecutionTracker:
        """A fresh tracker for one run of the graph (its name, or the ``Graph`` itself)."""
        graph = graph_name if isinstance(graph_name, Graph) else None
        name = graph_name if isinstance(graph_name, str) else graph_name.name
        return ExecutionTracker(name, self._settings, self._policy, clock or self._clock, graph)


def _routes_failure(graph: Graph, name: str) -> bool:
    """Whether the graph routes the node's failure somewhere chosen for it: a Failure_Next
    (with no Edge, which would win) or a ``func:`` Edge, which is told the outcome."""
    node = graph.nodes.get(name)
    if node is None:
        return False
    if node.edge:
        return node.edge.startswith(FUNC_PREFIX)
    return bool(node.failure_next)


def make_success_policy(
    settings: SuccessPolicySettings, functions: FunctionCatalog
) -> SuccessPolicy:
    """The function that decides a run's success, as configured.

    ``handled`` (the default): the last node run succeeded and every node that failed had its
    failure routed (a Failure_Next, or a ``func:`` Edge) — a failure the graph was built to
    recover from is part of its design, not the run's failure.
    ``all_nodes``: no node failed. ``final_node``: the last node run succeeded.
    ``critical_nodes``: none of the listed nodes failed (nodes that didn't run don't count).
    ``custom``: ``custom_function`` — ``module:function``, or the name of a function in the
    functions folder — called with the summary (whose ``success`` holds the all_nodes verdict).
    """
    if settings.type == "handled":
        return lambda summary: (
            bool(summary.final_node_success)
            and set(summary.failed_nodes).issubset(summary.handled_failures)
        )
    if settings.type == "final_node":
        return lambda summary: bool(summary.final_node_success)
    if settings.type == "critical_nodes":
        critical = frozenset(settings.critical_nodes)
        return lambda summary: (
            bool(summary.execution_path) and critical.isdisjoint(summary.failed_nodes)
        )
    if settings.type == "custom":
        return _custom_policy(settings.custom_function, functions)
    return lambda summary: summary.success


def _custom_policy(path: str | None, functions: FunctionCatalog) -> SuccessPolicy:
    key = "execution.success_policy.custom_function"
    if not path:
        raise ConfigError(f"{key} must name a function when success_policy type is 'custom'")
    local = functions.get(path)
    if local is not None:
        return local
    module_name, sep, attribute = path.replace(":", ".").rpartition(".")
    try:
        function = getattr(importlib.import_module(module_name), attribute) if sep else None
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{key}: can't import '{path}' ({exc}) — use 'module:function'") from exc
    if not callable(function):
        raise ConfigError(
            f"{key}: '{path}' is not a function in the functions folder nor an importable "
            "'module:function'"
        )
    _check_takes_a_summary(key, path, function)
    return function  # type: ignore[no-any-return]


def _check_takes_a_summary(key: str, path: str, function: Callable[..., Any]) -> None:
    """Refuse now a policy that can't be called with the run's summary (not after a run)."""
    try:
        inspect.signature(function).bind(None)
    except TypeError:
        raise ConfigError(
            f"{key}: '{path}' can't be called with one argument — a success policy takes the "
            "run's ExecutionSummary and returns True or False"
        ) from None
    except ValueError:  # some built-ins have no signature to check
        pass
