"""Calling a node's agent: async agents on the run's loop, sync agents in line when nothing else
can run meanwhile, else on a thread pool — within the node's timeout."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

from agentmap.agents.base import CHUNK_SINK
from agentmap.driving import INLINE
from agentmap.plan import Step


class NodeTimeout(TimeoutError):
    """A node's agent ran past the node's ``timeout`` (a failure, routed like any other)."""


class Dispatcher:
    """Runs agents' ``process``; owns the thread pool sync agents share (made on first use)."""

    def __init__(self, max_threads: int = 64) -> None:
        self._max_threads = max_threads
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    @staticmethod
    def call_in_line(
        step: Step, inputs: dict[str, Any], sink: Callable[[str], None] | None = None
    ) -> Any:
        """The sync agent's return value, called on this thread: for a step whose
        ``calling.in_line`` is true, when nothing else (another branch, the run's timeout, a
        shared loop's other runs) needs the thread meanwhile."""
        calling = step.calling
        token = CHUNK_SINK.set(sink) if calling.streams else None
        INLINE[0] += 1  # Ctrl-C now interrupts this call itself (see driving.py)
        try:
            return calling.process(step.owner, inputs)
        finally:
            INLINE[0] -= 1
            if token is not None:
                CHUNK_SINK.reset(token)

    async def call(
        self, step: Step, inputs: dict[str, Any], sink: Callable[[str], None] | None = None
    ) -> Any:
        """The agent's return value: awaited on the loop (async agents) or from the thread pool
        (sync ones), within the node's timeout. ``sink`` gets streamed output chunks."""
        token = CHUNK_SINK.set(sink) if step.streams else None
        try:
            work: Awaitable[Any]
            if step.is_async:
                work = step.process(step.owner, inputs)
            else:
                context = contextvars.copy_context()  # the chunk sink goes with the call
                work = asyncio.get_running_loop().run_in_executor(
                    self._threads(), context.run, step.process, step.owner, inputs
                )
            return await within(work, step.timeout)
        finally:
            if token is not None:
                CHUNK_SINK.reset(token)

    def _threads(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                self._max_threads, thread_name_prefix="agentmap-agent"
            )
        return self._pool


async def within(work: Awaitable[Any], timeout: float | None) -> Any:
    """``await work``, or ``NodeTimeout`` when it takes longer than ``timeout`` seconds."""
    if timeout is None:
        return await work
    try:
        return await asyncio.wait_for(work, timeout)
    except TimeoutError:
        raise NodeTimeout(f"timed out after {timeout:g}s") from None
