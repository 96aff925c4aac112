"""Typed lifecycle events of a run, and the bus that hands them to subscribers.

Execution tracking is one subscriber; ``agentmap run --trace`` is another; your own handlers
(sync or async) are more. A handler that raises is logged and skipped — it never breaks a run.

    from agentmap import NodeCompleted, run_graph

    def show(event):
        if isinstance(event, NodeCompleted):
            print(event.node, event.duration)

    run_graph("graphs/hello.csv", {"input": "hi"}, handlers=[show])

Events are named tuples: one is made per node start and finish, so they must be cheap.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple

logger = logging.getLogger(__name__)


class RunStarted(NamedTuple):
    """A run began (``parent_run_id`` is set for a subgraph's run)."""

    run_id: str
    graph: str
    state: Mapping[str, Any]
    parent_run_id: str | None = None


class RunCompleted(NamedTuple):
    """A run reached its end; ``success`` is the success policy's verdict."""

    run_id: str
    graph: str
    success: bool
    duration: float


class RunFailed(NamedTuple):
    """A run stopped on an error of the graph itself (max_steps, a routing function, a timeout)."""

    run_id: str
    graph: str
    error: str
    duration: float


class RunCancelled(NamedTuple):
    """A run was cancelled (Ctrl-C, or its task was cancelled)."""

    run_id: str
    graph: str
    duration: float


class NodeStarted(NamedTuple):
    """A node's agent is about to run (``attempt`` counts from 1; retries start again)."""

    run_id: str
    graph: str
    node: str
    attempt: int
    inputs: Mapping[str, Any]
    time: float


class NodeCompleted(NamedTuple):
    """A node succeeded. ``subgraph`` holds the child run's summary for a ``graph`` node."""

    run_id: str
    graph: str
    node: str
    attempt: int
    output: Any
    duration: float
    time: float
    subgraph: Any = None
    usage: Any = None


class NodeOutputChunk(NamedTuple):
    """A piece of a node's output as it is produced (model tokens, for ``--stream``)."""

    run_id: str
    graph: str
    node: str
    text: str


class NodeFailed(NamedTuple):
    """A node failed for good (after any retries); the run follows its Failure_Next."""

    run_id: str
    graph: str
    node: str
    attempt: int
    error: str
    output: Any
    duration: float
    time: float
    subgraph: Any = None
    usage: Any = None


class NodeRetrying(NamedTuple):
    """A node's attempt failed and will be retried after ``delay`` seconds."""

    run_id: str
    graph: str
    node: str
    attempt: int
    error: str
    delay: float
    duration: float
    time: float


Event = (
    RunStarted
    | RunCompleted
    | RunFailed
    | RunCancelled
    | NodeStarted
    | NodeCompleted
    | NodeFailed
    | NodeRetrying
    | NodeOutputChunk
)
Handler = Callable[[Event], None] | Callable[[Event], Awaitable[None]]


class EventBus:
    """Hands each event to every subscriber, in subscription order.

    Async handlers are awaited by the run before it returns (the run needs an event loop for
    them); sync handlers are called in line.
    """

    def __init__(self, handlers: list[Handler] | None = None) -> None:
        self._handlers: list[Handler] = list(handlers or [])

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        """Add ``handler``; the function returned removes it again."""
        self._handlers.append(handler)
        return lambda: self._handlers.remove(handler)

    @property
    def handlers(self) -> tuple[Handler, ...]:
        """The subscribers, in order."""
        return tuple(self._handlers)

    @property
    def has_async(self) -> bool:
        """Whether any handler is ``async def`` (so runs need an event loop)."""
        return any(inspect.iscoroutinefunction(h) for h in self._handlers)


def deliver(handler: Handler, event: Event) -> Awaitable[None] | None:
    """Call ``handler`` safely: an exception is logged, never raised; an awaitable is returned."""
    try:
        result = handler(event)
    except Exception:
        logger.warning(
            "event handler %r failed on %s", handler, type(event).__name__, exc_info=True
        )
        return None
    return result if inspect.isawaitable(result) else None


async def settle(handler: Handler, pending: Awaitable[None]) -> None:
    """Await an async handler's work, logging (not raising) its failure."""
    try:
        await pending
    except Exception:
        logger.warning("event handler %r failed", handler, exc_info=True)


class Emitter:
    """One run's events: recorded by its tracker first, then handed to every handler.

    The tracker is part of the run (its errors are the run's); handlers are not (their errors
    are logged). Async handlers' work is awaited by ``flush`` before the run returns.
    """

    __slots__ = ("_handlers", "_pending", "_record")

    def __init__(
        self, record: Mapping[type, Callable[[Any], None]], handlers: tuple[Handler, ...]
    ) -> None:
        """``record``: the tracker's function for each kind of event it records (looked up
        here, by the event's type, rather than through a second call per event)."""
        self._record = record
        self._handlers = handlers
        self._pending: list[asyncio.Future[None]] = []

    def emit(self, event: Event) -> None:
        """Tell the tracker and every handler about ``event``."""
        record = self._record.get(type(event))
        if record is not None:
            record(event)
        for handler in self._handlers:
            work = deliver(handler, event)
            if work is not None:
                self._pending.append(asyncio.ensure_future(settle(handler, work)))

    async def flush(self) -> None:
        """Wait for async handlers still at work."""
        while self._pending:
            pending, self._pending = self._pending, []
            await asyncio.gather(*pending)
