"""What a run produced, as plain data: its result, its summary and each node's result.

Nothing here runs anything, so errors (``RunError.result``), the runner, tracking and the
store can all refer to these without import cycles.
"""

from __future__ import annotations

from array import array
from collections.abc import ItemsView, KeysView, Mapping, ValuesView
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, NamedTuple, SupportsIndex, cast, overload

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


_Rare = tuple[
    str | None, Mapping[str, Any] | None, Any, int, "ExecutionSummary | None", Usage | None
]
"""A node result's error, inputs, output, attempt, subgraph and usage."""
_PLAIN: _Rare = (None, None, None, 1, None, None)


class NodeLog:
    """A run's node results as its tracker keeps them: a column per field, not a tuple per
    result.

    A ``NodeResult`` and its two floats take about 180 bytes, and a 100,000-node run makes
    100,000 of them that most runs never read one by one. A row here takes about 25: the
    node's name (shared with the graph), its start and duration (16 bytes in an array), its
    success (a byte); the fields most node runs leave as they default (error, inputs, output,
    a retry's attempt, a subgraph, usage) take room only when set. A row becomes a
    ``NodeResult`` when it is read. Rows are only ever appended, so what a summary took
    (``upto``) stays what it was while the run goes on.
    """

    __slots__ = ("_nodes", "_rare", "_success", "_times")

    def __init__(self) -> None:
        self._nodes: list[str] = []
        self._times = array("d")  # started, duration: two a row
        self._success = bytearray()
        self._rare: dict[int, _Rare] = {}  # by row: the rows whose rare fields are set

    def add(
        self,
        node: str,
        success: bool,
        duration: float,
        started: float,
        error: str | None = None,
        inputs: Mapping[str, Any] | None = None,
        output: Any = None,
        attempt: int = 1,
        subgraph: ExecutionSummary | None = None,
        usage: Usage | None = None,
    ) -> None:
        """Append a row (the fields of a ``NodeResult``, in its order)."""
        unset = error is None and inputs is None and output is None and attempt == 1
        if not (unset and subgraph is None and usage is None):
            self._rare[len(self._nodes)] = (error, inputs, output, attempt, subgraph, usage)
        self._nodes.append(node)
        self._times.extend((started, duration))
        self._success.append(success)

    def __len__(self) -> int:
        return len(self._nodes)

    def __getitem__(self, row: int) -> NodeResult:
        """Row ``row`` (from 0) as a ``NodeResult``."""
        node, success = self._nodes[row], bool(self._success[row])
        started, duration = self._times[2 * row], self._times[2 * row + 1]
        return NodeResult(node, success, duration, started, *self._rare.get(row, _PLAIN))

    @property
    def last(self) -> NodeResult | None:
        """The row appended last (None when there is none)."""
        return self[len(self._nodes) - 1] if self._nodes else None

    def outcomes_only(self, count: int) -> bool:
        """Whether none of the first ``count`` rows holds inputs, an output, a subgraph or
        usage: asked of the few rows that hold anything rare, not of every row."""
        return not any(
            rare[1] is not None or rare[2] is not None or rare[4] is not None or rare[5] is not None
            for row, rare in self._rare.items()
            if row < count
        )

    def upto(self, count: int) -> NodeResults:
        """The first ``count`` rows, for ``ExecutionSummary(node_results=...)``: only a summary
        may be given them. They are made ``NodeResults`` when the summary's ``node_results``
        are first read; a summary whose results are never read never makes them."""
        return cast(NodeResults, _Rows(self, count))  # typed as what the summary reads back


class _Rows:
    """The first ``count`` rows of a ``NodeLog``, as a summary holds them until read."""

    __slots__ = ("count", "log")

    def __init__(self, log: NodeLog, count: int) -> None:
        self.log = log
        self.count = count

    def read(self) -> NodeResults:
        return NodeResults(map(self.log.__getitem__, range(self.count)))


@dataclass(frozen=True, slots=True)
class ExecutionSummary:
    """What a run did. ``success`` is decided by ``execution.success_policy``.

    ``node_results`` are ``NodeResults``: every result in order, and each node's last by name
    (a plain tuple given here is made one; a tracker's rows, ``NodeLog.upto``, are made one
    when first read).
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
        given = _RESULTS_SLOT.__get__(self)  # as given: reading the field would make rows results
        if not isinstance(given, NodeResults | _Rows):
            object.__setattr__(self, "node_results", NodeResults(given))

    def judged(self, success: bool) -> ExecutionSummary:
        """The same summary with ``success`` as given (its node results are not read: a
        tracker's rows stay rows)."""
        fields = {name: getattr(self, name) for name in _FIELDS_BUT_RESULTS}
        return ExecutionSummary(
            **{**fields, "success": success}, node_results=_RESULTS_SLOT.__get__(self)
        )

    def outcomes_only(self) -> tuple[int, bool]:
        """How many node results there are, and whether none holds inputs, an output, a
        subgraph or usage (what the run store can then rebuild from checkpoints) — answered
        without making a tracker's rows results."""
        given = _RESULTS_SLOT.__get__(self)
        if isinstance(given, _Rows):
            return given.count, given.log.outcomes_only(given.count)
        plain = all(
            r.inputs is None and r.output is None and r.subgraph is None and r.usage is None
            for r in given
        )
        return len(given), plain

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


class _ReadOnFirstUse:
    """``ExecutionSummary.node_results``: its slot, read through. A summary a tracker made
    holds the tracker's rows; the first read makes them ``NodeResults`` and keeps those, so
    every later read (and ``==``, ``repr``, pickling, ``dataclasses.replace``) sees the same."""

    def __init__(self, slot: Any) -> None:
        self._slot = slot

    def __get__(self, summary: ExecutionSummary | None, owner: type | None = None) -> Any:
        if summary is None:
            return self
        value = self._slot.__get__(summary, owner)
        if isinstance(value, _Rows):
            value = value.read()
            self._slot.__set__(summary, value)
        return value

    def __set__(self, summary: ExecutionSummary, value: Any) -> None:
        self._slot.__set__(summary, value)


_RESULTS_SLOT = ExecutionSummary.__dict__["node_results"]
setattr(ExecutionSummary, "node_results", _ReadOnFirstUse(_RESULTS_SLOT))  # noqa: B010
_FIELDS_BUT_RESULTS = tuple(f for f in ExecutionSummary.__dataclass_fields__ if f != "node_results")


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
