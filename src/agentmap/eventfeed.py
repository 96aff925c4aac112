"""Following jobs' events as they are recorded: many readers, one event loop, one run store.

Workers record each job's events in the store (``agentmap_job_events``: its nodes starting and
ending, model output, its state changing), numbered from 1 per job. A reader asks for the
events after the last number it saw, so a reader that reconnects misses none and sees none
twice. The store is the only source: a reader never sees an event that could still be lost.

Readers wait rather than poll one by one: when this process commits events (a worker of its
own, ``jobs.executor: local``) the feed wakes their readers at once; events that other
processes commit are found by one query for every followed job each ``poll`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Collection

from agentmap.store.jobstore import ENDED, JobEvent, JobStore

logger = logging.getLogger(__name__)

FINAL_KINDS = frozenset({"job_finished"})
"""The kinds of event after which a job has nothing more to say (unless it is run again)."""
PAGE = 500
"""Events read from the store at once."""
ENDED_CHECK = 5.0
"""Seconds of quiet after which a reader of one job looks whether it ended all the same."""
MARGIN = 5.0
"""Seconds the feed of every job reads back: an event is stamped when it happens, and may
be committed that much later."""


class EventFeed:
    """The events of the jobs of one store, for readers on one event loop.

    Made on that loop; ``close`` it when done. ``follow`` one job, or ``every`` job.
    """

    def __init__(self, table: JobStore, poll: float = 0.25) -> None:
        self._table = table
        self._poll = poll
        self._loop = asyncio.get_running_loop()
        self._readers: dict[str, set[asyncio.Event]] = {}
        self._all: set[asyncio.Event] = set()
        self._seen: dict[str, int] = {}  # followed job -> its last event the poll found
        self._closed = False
        table.store.event_listeners.append(self._written)
        self._poller = self._loop.create_task(self._poll_others(), name="agentmap-event-feed")

    async def close(self) -> None:
        """Stop following: readers waiting now end."""
        self._closed = True
        with contextlib.suppress(ValueError):
            self._table.store.event_listeners.remove(self._written)
        self._poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._poller
        for waiters in [*self._readers.values(), self._all]:
            for waiter in waiters:
                waiter.set()

    @property
    def readers(self) -> int:
        """Readers following now (of one job or of every job)."""
        return sum(len(w) for w in self._readers.values()) + len(self._all)

    async def follow(
        self, job_id: str, after: int = 0, *, until_finished: bool = True
    ) -> AsyncGenerator[JobEvent]:
        """Job ``job_id``'s events after number ``after``: those recorded, then each as it is
        recorded. Ends after the job finishes (``until_finished``: its ``job_finished``
        event, or, for a job that ends without one — a waiting job whose run someone
        resumed outside the job layer — its state, looked at every ``ENDED_CHECK`` seconds
        of quiet), or when the feed closes."""
        waiter = asyncio.Event()
        self._readers.setdefault(job_id, set()).add(waiter)
        try:
            ended = False
            while not self._closed:
                waiter.clear()
                events = await asyncio.to_thread(self._table.events, job_id, after, PAGE)
                for event in events:
                    after = event.seq
                    yield event
                if until_finished and events and events[-1].kind in FINAL_KINDS:
                    return
                if len(events) == PAGE:
                    continue
                if ended:  # its state said so, and nothing came since
                    return
                try:
                    await asyncio.wait_for(waiter.wait(), ENDED_CHECK)
                except TimeoutError:
                    ended = until_finished and await asyncio.to_thread(self._ended, job_id)
        finally:
            waiters = self._readers.get(job_id)
            if waiters is not None:
                waiters.discard(waiter)
                if not waiters:
                    del self._readers[job_id]
                    self._seen.pop(job_id, None)

    async def every(self, since: float | None = None) -> AsyncGenerator[JobEvent]:
        """Every job's events stamped from ``since`` (default: now) on, as they are recorded,
        until the feed closes. Within a job they come in order."""
        waiter = asyncio.Event()
        self._all.add(waiter)
        start = time.time() if since is None else since
        seen: dict[tuple[str, int], float] = {}
        try:
            while not self._closed:
                waiter.clear()
                fresh = await asyncio.to_thread(self._table.events_since, start, PAGE)
                new = [e for e in fresh if (e.job_id, e.seq) not in seen]
                for event in new:
                    seen[(event.job_id, event.seq)] = event.at
                    yield event
                if len(fresh) == PAGE and fresh[-1].at > start:
                    start = fresh[-1].at  # a full page: read on from its end
                    continue
                start = max(start, time.time() - MARGIN)
                seen = {key: at for key, at in seen.items() if at >= start}
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.wait(), self._poll * 4)
        finally:
            self._all.discard(waiter)

    def _ended(self, job_id: str) -> bool:
        return self._table.get(job_id).state in ENDED

    # --- waking readers ---------------------------------------------------------------------

    def _written(self, job_ids: set[str]) -> None:
        """The store committed events of ``job_ids`` (on any thread of this process)."""
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            self._loop.call_soon_threadsafe(self._wake, job_ids)

    def _wake(self, job_ids: Collection[str]) -> None:
        for job_id in job_ids:
            for waiter in self._readers.get(job_id, ()):
                waiter.set()
        for waiter in self._all:
            waiter.set()

    async def _poll_others(self) -> None:
        """Find events other processes committed for the jobs followed here."""
        while True:
            await asyncio.sleep(self._poll)
            if not self._readers:
                continue
            try:
                latest = await asyncio.to_thread(self._table.last_events, list(self._readers))
            except Exception as error:  # the store is away for now: readers just wait longer
                logger.warning("can't read jobs' events: %s", error)
                continue
            woken = [job for job, seq in latest.items() if seq > self._seen.get(job, 0)]
            self._seen.update(latest)
            if woken:
                self._wake(woken)
