"""One node's attempts: call its agent, read what it returned, retry what its policy retries,
and make the new state — telling the run's events as it goes.

A node's failure is an outcome, not an exception: it is routed by the graph. Only errors of the
run itself (``RunError``), a cancel, or a person's pause leave here as exceptions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

from agentmap.clock import Clock
from agentmap.events import Emitter, NodeCompleted, NodeFailed, NodeRetrying, NodeStarted
from agentmap.exceptions import RunCancelled
from agentmap.graph.model import Node
from agentmap.outcomes import Failure, Output, Pause, Usage
from agentmap.pauses import Parked
from agentmap.plan import Step
from agentmap.results import ExecutionSummary
from agentmap.retry import RetryPolicy
from agentmap.secrets import redact
from agentmap.state import State, inputs_of, updated

logger = logging.getLogger("agentmap.runner")

LATER: Any = object()
"""``call_now``'s answer when the agent must be awaited (async, on a thread, a subgraph)."""


class NodeRun(Protocol):
    """What a node's attempts need of the run they belong to."""

    @property
    def id(self) -> str: ...
    @property
    def graph_name(self) -> str: ...

    @property
    def clock(self) -> Clock: ...
    @property
    def events(self) -> Emitter: ...
    def call_now(self, step: Step, inputs: dict[str, Any]) -> Any: ...
    async def call(self, step: Step, inputs: dict[str, Any]) -> Any: ...
    async def ask(self, node: str, pause: Pause) -> Any: ...
    def subgraph_value(self, step: Step, result: Any) -> tuple[Any, ExecutionSummary]: ...


class Ran(NamedTuple):
    """What running a node gave: the new state, the outcome, and what the node wrote."""

    state: State
    success: bool
    chosen: str | None
    event: NodeCompleted | NodeFailed
    outputs: Mapping[str, Any]


async def run_node(run: NodeRun, step: Step, state: State) -> Ran:
    """Run ``step``'s agent on its inputs — with its retries — and make the new state."""
    node = step.node
    inputs = inputs_of(state, step.fields, node.name)
    attempt = 1
    while True:
        started = run.clock.now()
        run.events.emit(NodeStarted(run.id, run.graph_name, node.name, attempt, inputs, started))
        child: ExecutionSummary | None = None
        try:
            value = run.call_now(step, inputs)  # an answer given, or a sync agent in line
            if value is LATER:
                value = await run.call(step, inputs)
            if isinstance(value, Pause):
                value = await run.ask(node.name, value)
            if step.calling.subplan is not None:
                value, child = run.subgraph_value(step, value)
            value, outputs, success, error, usage, chosen = _outcome(node, value)
        except (RunCancelled, Parked):
            raise  # a subgraph's run was cancelled (so is this one), or a person must answer
        except Exception as exc:
            value, outputs, success = None, {}, False
            error, usage, chosen = redact(str(exc) or type(exc).__name__), None, None
            delay = _retry_delay(step.retry, exc, attempt)
            if delay is not None:
                took = run.clock.now() - started
                run.events.emit(
                    NodeRetrying(
                        run.id, run.graph_name, node.name, attempt, error, delay, took, started
                    )
                )
                await run.clock.sleep(delay)
                attempt += 1
                continue
            logger.info("node %r failed: %s", node.name, error, exc_info=_debugging())
        event = _finished(run, node, attempt, success, value, error, started, child, usage)
        run.events.emit(event)
        return Ran(updated(state, outputs, success, error), success, chosen, event, outputs)


def _finished(
    run: NodeRun,
    node: Node,
    attempt: int,
    success: bool,
    value: Any,
    error: str | None,
    started: float,
    child: ExecutionSummary | None,
    usage: Usage | None,
) -> NodeCompleted | NodeFailed:
    took = run.clock.now() - started
    if success:
        return NodeCompleted(
            run.id, run.graph_name, node.name, attempt, value, took, started, child, usage
        )
    return NodeFailed(
        run.id, run.graph_name, node.name, attempt, str(error), value, took, started, child, usage
    )


def _retry_delay(policy: RetryPolicy | None, error: Exception, attempt: int) -> float | None:
    """The wait before retrying, or None. A server's ``Retry-After`` (``error.retry_after``,
    in seconds) is honoured: the wait is never shorter than it asks."""
    if policy is None or not policy.retries(error):
        return None
    delay = policy.get_retry_delay(attempt)
    hint = getattr(error, "retry_after", None)
    if delay is None or not isinstance(hint, int | float):
        return delay
    return max(delay, float(hint))


_Outcome = tuple[Any, Mapping[str, Any], bool, str | None, Usage | None, str | None]
"""value, outputs, success, error, usage, the next node chosen (a plain tuple: one per node)."""


def _outcome(node: Node, value: Any) -> _Outcome:
    """What an agent's return value means: the state updates, success, error, usage, next node."""
    keys = node.outputs
    if len(keys) == 1 and not isinstance(value, (Output, Failure)):  # most nodes: one value
        return value, {keys[0]: value}, True, None, None, None
    updates: Mapping[str, Any] = {}
    usage, chosen = None, None
    if isinstance(value, Output):
        updates, usage, chosen, value = value.updates, value.usage, value.next, value.value
    success, error = True, None
    if isinstance(value, Failure):  # an agent's words: they may quote a library's, and a key
        success, error, value = False, redact(str(value.error)), value.value
    outputs, problem = _outputs(node, value, success)
    if problem is not None:
        return value, {}, False, problem, usage, None
    return value, {**updates, **outputs} if updates else outputs, success, error, usage, chosen


def _outputs(node: Node, value: Any, success: bool) -> tuple[Mapping[str, Any], str | None]:
    """The Output_Field values of ``value``, or why the agent's return doesn't fit them."""
    keys = node.outputs
    if not keys or (value is None and not success):
        return {}, None
    if len(keys) == 1:
        return {keys[0]: value}, None
    wanted = "|".join(keys)
    if not isinstance(value, Mapping):
        return {}, (
            f"node '{node.name}' must return a mapping with keys {wanted} (its Output_Field), "
            f"but returned a {type(value).__name__}"
        )
    missing = [key for key in keys if key not in value]
    if missing:
        return {}, (
            f"node '{node.name}' did not return {', '.join(repr(k) for k in missing)} "
            f"(its Output_Field is {wanted})"
        )
    return {key: value[key] for key in keys}, None


def _debugging() -> bool:
    return logger.isEnabledFor(logging.DEBUG)
