"""Time for a run's durations and retry waits; tests pass a clock that doesn't really sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Clock:
    """A monotonic clock whose ``sleep`` never blocks other branches of a run."""

    now = staticmethod(time.perf_counter)
    """Seconds on a monotonic clock (the C function itself: a run asks twice per node)."""

    def __init__(self, now: Callable[[], float] | None = None) -> None:
        """``now``: the clock to read instead (a tracking service's, so that a run and its
        tracker keep one time)."""
        if now is not None:
            self.now = now

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` without blocking other branches (a loop-less run just sleeps)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # driven without a loop: this run has no other branch to block
            time.sleep(seconds)
            return
        await asyncio.sleep(seconds)
