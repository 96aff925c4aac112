"""What a run produced, as plain data: its result, its summary and each node's result.

Nothing here runs anything, so errors (``RunError.result``), the runner, tracking and the
store can all refer to these without import cycles.
"""

from __future__ import annotations

from collections.abc import ItemsView, KeysView, Mapping, ValuesView
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, NamedTuple, SupportsIndex, overload

from agentmap.outcomes import Pause, Usage


class NodeResult(NamedTuple):
    """One execution of one node (a node in a loop has one result per visit).

    ``started`` is seconds since the run started; ``inputs``/``output`` are only kept when
    ``execution.tracking.track_inputs`` / ``track_outputs`` are on. (A named tuple: one is made
    per node run, and it is the cheapest immutable record Python has.)
    """

    node: str
    success: bool
    duration: float
    started: float
    error: str | None = None
    inputs: Mapping[str, Any] | None = None
    output: Any = None
    attempt: int = 1
    subgraph: ExecutionSummary | None = None
    usage: Usage | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "node": self.node,
            "success": self.success,
            "duration": self.duration,
            "started": self.started,
            "error": self.error,
        }
        if self.inputs is not None:
            data["inputs"] = dict(self.inputs)
        if self.output is not None:
            data["output"] = self.output
        if self.attempt != 1:
            data["attempt"] = self.attempt
        if self.subgraph is not None:
            data["subgraph"] = self.subgraph.to_dict()
        if self.usage is not None:
            data["usage"] = self.usage.to_dict()
        return data


class NodeResults(tuple[NodeResult, ...]):
    """Every node result of a run in the order they happened — and, by name, each node's last.

    It is a tuple, so code that reads the results as a sequence is unchanged: iterating,
    ``len``, ``[0]``, slices and ``==`` with a tuple see every result in order, a node in a
    loop or retried having one per visit or attempt. Code written for AgentMap reads
    ``node_results`` as a mapping of node name to details, so a name works too:
    ``results["Check"]``, ``get``, ``keys``, ``values`` and ``items`` give each node's *last*
    result (what its loop or its retries ended with), nodes in the order they first ran, and
    ``"Check" in results`` asks whether the node ran. ``of("Check")`` gives all of one node's
    results, in order. (One type rather than a second attribute: ``summary.node_results`` is
    the name both kinds of code already use, and ``to_dict`` still writes the list.)

    >>> first, then = NodeResult("Check", False, 0.1, 0.0), NodeResult("Check", True, 0.1, 0.2)
    >>> loop = NodeResults([first, then])
    >>> len(loop), loop["Check"].success, [r.success for r in loop.of("Check")]
    (2, True, [False, True])
    """

    @cached_property
    def _last(self) -> dict[str, NodeResult]:
        last: dict[str, NodeResult] = {}
        for result in self:
            last[result.node] = result  # a key stays where the node first ran
        return last

    @overload
    def __getitem__(self, key: SupportsIndex) -> NodeResult: ...
    @overload
    def __getitem__(self, key: slice) -> tuple[NodeResult, ...]: ...
    @overload
    def __getitem__(self, key: str) -> NodeResult: ...
    def __getitem__(self, key: SupportsIndex | slice | str) -> Any:
        """The result at a position (or a slice of them), or the named node's last result."""
        if isinstance(key, str):
            return self._last[key]
        return super().__getitem__(key)

    def __contains__(self, item: object) -> bool:
        """Whether a node of that name ran (given a name), else whether the result is here."""
        if isinstance(item, str):
            return item in self._last
        return super().__contains__(item)

    def get(self, node: str, default: NodeResult | None = None) -> NodeResult | None:
        """The node's last result, or ``default`` when it never ran."""
        return self._last.get(node, default)

    def keys(self) -> KeysView[str]:
        """The names of the nodes that ran, in the order they first ran."""
        return self._last.keys()

    def values(self) -> ValuesView[NodeResult]:
        """Each node's last result (iterate the results themselves for all of them)."""
        return self._last.values()

    def items(self) -> ItemsView[str, NodeResult]:
        """(node name, its last result) for each node that ran, in the order they first ran."""
        return self._last.items()

    def of(self, node: str) -> tuple[NodeResult, ...]:
        """Every result of ``node``, in order (empty when it never ran)."""
        return tuple(result for result in self if result.node == node)

    def __reduce__(self) -> tuple[Any, ...]:
        return (NodeResults, (tuple(self),))  # (without the by-name index, rebuilt on use)

    def __repr__(self) -> str:
        return f"NodeResults({tuple(self)!r})"


@dataclass(frozen=True, slots=True)
class ExecutionSummary:
    """What a run did. ``success`` is decided by ``execution.success_policy``.

    ``node_results`` are ``NodeResults``: every result in order, and each node's last by name
    (a plain tuple given here is made one).
    """

    graph_name: str
    execution_path: tuple[str, ...]
    node_results: NodeResults
    failed_nodes: tuple[str, ...]
    final_node_success: bool | None
    total_duration: float
    start_time: float
    success: bool
    unfinished: tuple[str, ...] = ()  # started but never finished: the run stopped during them
    usage: Usage | None = None  # tokens (and cost) of every node's model calls, added up
    handled_failures: tuple[str, ...] = ()
    """The failed nodes whose failure the graph routes (Failure_Next or a ``func:`` Edge)."""

    def __post_init__(self) -> None:
        if not isinstance(self.node_results, NodeResults):
            object.__setattr__(self, "node_results", NodeResults(self.node_results))

    def to_dict(self, node_results: bool = True) -> dict[str, Any]:
        """A JSON-ready dict; ``node_results=False`` leaves them out (``None``)."""
        return {
            "graph_name": self.graph_name,
            "execution_path": list(self.execution_path),
            "node_results": [r.to_dict() for r in self.node_results] if node_results else None,
            "failed_nodes": list(self.failed_nodes),
            "final_node_success": self.final_node_success,
            "total_duration": self.total_duration,
            "start_time": self.start_time,
            "success": self.success,
            "unfinished": list(self.unfinished),
            "usage": self.usage.to_dict() if self.usage is not None else None,
            "handled_failures": list(self.handled_failures),
        }


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """What a run produced: the final state, the verdict and the execution summary."""

    graph_name: str
    final_state: dict[str, Any]
    success: bool
    summary: ExecutionSummary
    run_id: str = ""
    waiting: tuple[Waiting, ...] = ()
    """The questions a ``waiting`` run stopped at; answer them with ``resume_run``."""
    resumable: bool = False
    """Whether carrying the run on could change its outcome: it waits for an answer, or it
    failed at a node that may succeed when run again — not at a ``failure`` agent, which
    fails by design (``resume_run`` would only fail it again)."""

    @property
    def execution_summary(self) -> ExecutionSummary:
        """``summary``, by the name AgentMap's guides use (``result.execution_summary``)."""
        return self.summary

    @property
    def status(self) -> Literal["succeeded", "failed", "waiting"]:
        """``waiting`` for an answer, else the success policy's verdict."""
        if self.waiting:
            return "waiting"
        return "succeeded" if self.success else "failed"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (values the state holds are passed through as they are)."""
        data = {
            "run_id": self.run_id,
            "graph_name": self.graph_name,
            "status": self.status,
            "success": self.success,
            "final_state": self.final_state,
            "summary": self.summary.to_dict(),
            "resumable": self.resumable,
        }
        if self.waiting:
            data["waiting"] = [w.to_dict() for w in self.waiting]
        return data


class Waiting(NamedTuple):
    """A node waiting for a person: where, and what it asks.

    For a ``graph`` node, the question is its subgraph's, and ``child_run`` is the subgraph's
    run (which the answer resumes).
    """

    node: str
    pause: Pause
    child_run: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"node": self.node, **self.pause.to_dict()}
        if self.child_run is not None:
            data["child_run"] = self.child_run
        return data


@dataclass(frozen=True, slots=True)
class JobResult:
    """A finished job's outcome: its run's final state and execution summary."""

    job_id: str
    state: str  # completed, failed or cancelled (agentmap.jobs.JobState)
    final_state: dict[str, Any]
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def run_id(self) -> str:
        """The job's run in the run store (the same id)."""
        return self.job_id

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (what ``agentmap jobs results --json`` prints)."""
        return {
            "job_id": self.job_id,
            "state": self.state,
            "final_state": self.final_state,
            "summary": self.summary,
            "error": self.error,
        }
