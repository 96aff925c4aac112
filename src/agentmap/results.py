"""What a run produced, as plain data: its result, its summary and each node's result.

Nothing here runs anything, so errors (``RunError.result``), the runner, tracking and the
store can all refer to these without import cycles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

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


@dataclass(frozen=True, slots=True)
class ExecutionSummary:
    """What a run did. ``success`` is decided by ``execution.success_policy``."""

    graph_name: str
    execution_path: tuple[str, ...]
    node_results: tuple[NodeResult, ...]
    failed_nodes: tuple[str, ...]
    final_node_success: bool | None
    total_duration: float
    start_time: float
    success: bool
    unfinished: tuple[str, ...] = ()  # started but never finished: the run stopped during them
    usage: Usage | None = None  # tokens (and cost) of every node's model calls, added up

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
