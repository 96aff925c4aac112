"""Driving a run's coroutine from sync code: without a loop when nothing can wait, else on a
loop of its own — with a Ctrl-C that stops the run at once and keeps its partial result."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import signal
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

INLINE = [0]
"""How many sync agents the event loop's thread is running right now (``dispatch`` counts)."""


def drive(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to completion, without an event loop.

    Starting a loop costs more than a small graph takes to run, so runs with nothing
    concurrent (no async agents, ``A|B`` routes, timeouts) are driven this way.
    """
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("a run without async work suspended; this is a bug in agentmap")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even when an event loop is already running.

    Inside a running loop (Jupyter, an async agent calling ``run_graph``) the coroutine gets a
    loop of its own on a worker thread rather than failing.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_in_new_loop(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _run_in_new_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, but with Ctrl-C that stops a run at once.

    asyncio's own handler only cancels the run at its next ``await``, which a sync agent
    blocking the loop's thread may not reach for minutes.
    """
    ours = threading.current_thread() is threading.main_thread() and (
        signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    if not ours:
        return asyncio.run(coroutine)
    with asyncio.Runner() as runner:
        loop = runner.get_loop()
        task = loop.create_task(coroutine)
        signal.signal(signal.SIGINT, functools.partial(_on_sigint, loop, task))
        try:
            return loop.run_until_complete(task)
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _on_sigint(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any], *_: object) -> None:
    if INLINE[0] or task.done() or task.cancelling():
        raise KeyboardInterrupt  # interrupts the agent running in this thread (or a 2nd Ctrl-C)
    loop.call_soon_threadsafe(task.cancel)
