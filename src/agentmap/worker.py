"""A worker: takes jobs from the run store and runs them, ``jobs.concurrency`` at a time.

One event loop runs every job the worker holds (async agents share it; sync agents run on the
runner's threads). The worker takes jobs in one transaction by priority, then age; while it
runs them a heartbeat renews their lease and reports their progress; when an attempt ends it
settles the job — completed, waiting, retrying after the retry policy's delay, failed, or
cancelled. A worker that is stopped (Ctrl-C, the process exiting) gives its jobs back, and the
next worker carries them on from their checkpoints; one that dies lets their lease lapse, with
the same result ``jobs.lease`` seconds later.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import dataclasses
import functools
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection
from typing import Any, NamedTuple

from agentmap.config import JobSettings
from agentmap.events import (
    Event,
    NodeCompleted,
    NodeFailed,
    NodeOutputChunk,
    NodeRetrying,
    NodeStarted,
)
from agentmap.exceptions import (
    AgentMapError,
    GraphError,
    ResumeError,
    RunCancelled,
    RunError,
    RunNotFoundError,
    StoreError,
)
from agentmap.jobs import SETTLED, STOPPERS, JobQueue
from agentmap.pauses import NO_ANSWER
from agentmap.results import ExecutionResult
from agentmap.retry import RetryPolicy
from agentmap.runner import GraphRunnerService
from agentmap.secrets import redact
from agentmap.store import schema
from agentmap.store.jobstore import JobRecord, JobState, Settlement, event_params
from agentmap.store.writer import CheckpointWriter, Statement

logger = logging.getLogger(__name__)

CANCEL_POLL = 0.25
"""Seconds between a busy worker's looks for jobs someone asked (elsewhere) to cancel."""
EVENT_LATENCY = 0.01
"""Seconds a job's event may wait in the checkpoint writer before it is committed: someone
may be watching the job live (``GET /jobs/{id}/events``), so sooner than checkpoints."""


class Outcome(NamedTuple):
    """How an attempt ended, as the job is to be settled."""

    state: JobState
    error: str | None = None
    not_before: float = 0.0
    nodes_done: int | None = None


class Worker:
    """Runs the jobs of one run store. ``serve()`` on a loop of your own, or ``start()`` a
    thread for it (what ``create_job`` does with ``jobs.executor: local``).

    ``tags``: take only jobs whose tags are all among them (None: any job); ``only``: take
    only these job ids (``jobs submit --wait``); ``batch``: only the jobs of this batch.
    """

    def __init__(
        self,
        queue: JobQueue,
        runner: GraphRunnerService,
        settings: JobSettings,
        *,
        tags: Collection[str] | None = None,
        only: Collection[str] | None = None,
        batch: str | None = None,
        concurrency: int | None = None,
        name: str | None = None,
    ) -> None:
        self.queue = queue
        self.runner = runner
        self.settings = settings
        self.tags = frozenset(tags) if tags is not None else None
        self.only = frozenset(only) if only is not None else None
        self.batch = batch
        self.concurrency = concurrency or settings.concurrency
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.ran = 0  # attempts settled
        self.settled: collections.Counter[str] = collections.Counter()  # ... by how they ended
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._progress: dict[str, _Progress] = {}
        self._cancel_asked: set[str] = set()
        self._unsettled: list[tuple[JobRecord, Outcome, asyncio.Future[None]]] = []
        self._settling: asyncio.Task[None] | None = None
        self._next_due = 0.0  # when the soonest retry this worker scheduled is due
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    # --- from other threads -----------------------------------------------------------------

    def start(self) -> Worker:
        """Serve on a thread of its own (a daemon: at exit, running jobs are given back)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._serve_in_thread, name=f"agentmap-worker-{self.name}", daemon=True
            )
            self._thread.start()
            self._started.wait(5)
            atexit.register(self.stop)
        return self

    @property
    def running(self) -> int:
        """Jobs this worker runs now."""
        return len(self._tasks)

    @property
    def alive(self) -> bool:
        """Whether the worker's thread (``start``) still serves."""
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Look for jobs now (one was just created in this process)."""
        loop, wakeup = self._loop, self._wakeup
        if loop is not None and wakeup is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(wakeup.set)

    def cancel_here(self, job_id: str) -> bool:
        """Stop job ``job_id`` if this worker runs it; whether it does."""
        loop, task = self._loop, self._tasks.get(job_id)
        if loop is None or task is None:
            return False
        self._cancel_asked.add(job_id)
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(task.cancel)
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking jobs and give the running ones back; wait up to ``timeout`` seconds."""
        self._stopping = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._cancel_all)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    # --- the loop ---------------------------------------------------------------------------

    async def serve(self, until: Callable[[], bool] | None = None) -> None:
        """Take and run jobs until stopped (or, when given, until ``until()`` says so: asked
        whenever the worker has nothing running)."""
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._started.set()
        beat = asyncio.create_task(self._heartbeat())
        watch = asyncio.create_task(self._watch_cancels())
        try:
            while not self._stopping:
                taken = await self._take()
                idle = not self._tasks and not taken
                if idle and until is not None and await asyncio.to_thread(until):
                    break
                if taken and len(self._tasks) < self.concurrency:
                    continue  # there may be more
                await self._idle()
        finally:
            self._stopping = True
            self._cancel_all()
            if self._tasks:
                await asyncio.gather(*self._tasks.values(), return_exceptions=True)
            while self._settling is not None and not self._settling.done():
                # the jobs' last settlements (given back): written before the loop ends
                await asyncio.gather(self._settling, return_exceptions=True)
            beat.cancel()
            watch.cancel()
            await asyncio.gather(beat, watch, return_exceptions=True)

    def _serve_in_thread(self) -> None:
        try:
            asyncio.run(self.serve())
        except Exception:  # the store went away for good: say so, don't die silently
            logger.exception("worker %s stopped", self.name)
        finally:
            self._started.set()

    async def _take(self) -> int:
        free = self.concurrency - len(self._tasks)
        if free <= 0 or self._stopping:
            return 0
        try:
            taken, cancelled = await asyncio.to_thread(
                self.queue.table.claim,
                self.name,
                free,
                self.settings.lease,
                fits=self.tags,
                only=self.only,
                batch=self.batch,
            )
        except StoreError as error:
            logger.warning("worker %s can't take jobs: %s", self.name, error.message)
            return 0
        if cancelled:
            _notify()
        for job in taken:
            self._progress[job.id] = _Progress(job.id, job.nodes_done)
            self._tasks[job.id] = asyncio.create_task(self._run(job), name=f"job-{job.id}")
            STOPPERS[job.id] = functools.partial(self.cancel_here, job.id)
        return len(taken)

    async def _idle(self) -> None:
        """Wait for a job to end, a wake-up, a retry falling due, or the poll interval."""
        assert self._wakeup is not None
        timeout = self.settings.poll_interval
        if self._next_due:
            timeout = max(0.0, min(timeout, self._next_due - time.time()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout)
        self._wakeup.clear()

    # --- one job ----------------------------------------------------------------------------

    async def _run(self, job: JobRecord) -> None:
        progress = self._progress[job.id]
        try:
            outcome = await self._attempt(job, progress)
        except (RunCancelled, asyncio.CancelledError) as stop:
            if job.id in self._cancel_asked:
                outcome = Outcome("cancelled", nodes_done=_done(stop, progress))
            else:  # the worker is stopping: give the job back, to be carried on
                outcome = Outcome("running")
        except StoreError as error:
            logger.warning("job %s: the run store failed: %s", job.id, error.message)
            outcome = Outcome("running")  # its lease lapses; another try carries it on
        except Exception as error:  # a bug, not the job's: record it rather than lose the job
            logger.exception("job %s: internal error", job.id)
            said = redact(str(error))  # stored and served: no key may be in it
            outcome = Outcome("failed", f"internal error: {type(error).__name__}: {said}")
        try:
            await self._settle(job, outcome)
        except StoreError as error:
            logger.warning("job %s: can't record how it ended: %s", job.id, error.message)
        finally:
            self._tasks.pop(job.id, None)
            self._progress.pop(job.id, None)
            STOPPERS.pop(job.id, None)
            self._cancel_asked.discard(job.id)
            self.ran += 1
            self.settled[outcome.state] += 1
            if self._wakeup is not None:
                self._wakeup.set()
            _notify()

    async def _attempt(self, job: JobRecord, progress: _Progress) -> Outcome:
        """Run (or carry on) the job's run once; how it ended."""
        try:
            graph = self.queue.graph(f"{job.graph_file}::{job.graph_name}")
        except GraphError as error:  # the file changed since the job was made
            return Outcome("failed", f"the graph can't be run any more: {error.message}")
        handlers: tuple[Callable[[Event], None], ...] = (progress,)
        if self.settings.events:
            handlers += (_Events(job.id, self.queue.store.checkpoint_writer()),)
        try:
            run = None if job.fresh else self.queue.store.get(job.id)
        except RunNotFoundError:
            run = None
        if run is not None and not run.checkpoints:  # nothing to carry on from: start over
            await asyncio.to_thread(self.queue.table.forget_run, job.id)
            run = None
        try:
            if run is None:
                result = await self.runner.start_plan(
                    self.runner.compile(graph),
                    job.inputs,
                    handlers=handlers,
                    run_id=job.id,
                    shared=True,
                )
            elif run.status == "succeeded":  # its worker died between the run and the job
                return Outcome("completed", nodes_done=progress.done)
            elif run.status == "waiting" and job.answer is None:
                return Outcome("waiting", nodes_done=progress.done)
            elif run.status == "waiting":  # someone answered: carry it on with the answer
                assert job.answer is not None
                result = await self.runner.aresume_stored(
                    run,
                    graph,
                    handlers=handlers,
                    shared=True,
                    answer=job.answer.get("value", NO_ANSWER),  # none: its time ran out
                    node=job.answer["node"],
                )
            else:
                if run.status == "running":  # its worker lost the lease: it is gone
                    run = dataclasses.replace(run, status="crashed")
                result = await self.runner.aresume_stored(
                    run, graph, handlers=handlers, shared=True
                )
        except (RunCancelled, asyncio.CancelledError):
            raise
        except ResumeError as error:
            return Outcome("failed", error.message)
        except RunError as error:
            done = len(error.result.summary.node_results) if error.result else progress.done
            return self._failed(job, error.message, done)
        except AgentMapError as error:  # bad inputs for this graph, say
            return Outcome("failed", error.message)
        return self._ended(job, result)

    def _ended(self, job: JobRecord, result: ExecutionResult) -> Outcome:
        done = len(result.summary.node_results)
        if result.status == "succeeded":
            return Outcome("completed", nodes_done=done)
        if result.status == "waiting":
            return Outcome("waiting", nodes_done=done)
        failed = [r for r in result.summary.node_results if not r.success]
        why = f"node '{failed[-1].node}' failed: {failed[-1].error}" if failed else "the run failed"
        return self._failed(job, why, done)

    def _failed(self, job: JobRecord, error: str, done: int) -> Outcome:
        """Try again after the retry policy's delay, while retries are left; else failed."""
        retry = job.attempt  # attempt 1 failed: this would be retry 1
        if job.retry_policy is not None:
            delay = RetryPolicy.from_dict(job.retry_policy).get_retry_delay(retry, job.max_retries)
        else:
            delay = 0.0 if retry <= job.max_retries else None
        if delay is None:
            return Outcome("failed", error, nodes_done=done)
        due = time.time() + delay
        self._next_due = min(self._next_due, due) if self._next_due > time.time() else due
        return Outcome("retrying", error, due, done)

    async def _settle(self, job: JobRecord, outcome: Outcome) -> None:
        """Record how the attempt ended. Jobs that end together are settled in one
        transaction: with many short jobs, a commit each would be most of the work."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._unsettled.append((job, outcome, future))
        if self._settling is None or self._settling.done():
            self._settling = asyncio.create_task(self._settle_waiting())
        await future

    async def _settle_waiting(self) -> None:
        while self._unsettled:
            batch, self._unsettled = self._unsettled, []
            settlements = [
                Settlement(job.id, o.state, o.error, o.not_before, o.nodes_done)
                for job, o, _ in batch
            ]
            try:
                held = await asyncio.to_thread(self._commit, settlements)
            except StoreError as error:
                for _, _, future in batch:
                    if not future.done():  # its job's task may have been cancelled meanwhile
                        future.set_exception(error)
                continue
            for job, outcome, future in batch:
                if job.id not in held:
                    logger.warning(
                        "job %s: worker %s lost its lease before it ended; another worker has it",
                        job.id,
                        self.name,
                    )
                elif outcome.state == "running":
                    logger.info("job %s: given back, to be carried on by the next worker", job.id)
                if not future.done():
                    future.set_result(None)

    def _commit(self, settlements: list[Settlement]) -> set[str]:
        """Commit the runs' ends (deferred by their journals), then settle their jobs: a
        job never reads as ended before its run does."""
        self.queue.store.flush_checkpoints()
        return self.queue.table.settle_many(self.name, settlements)

    # --- beside the jobs --------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        """Renew the lease of every job held, report progress, pick up cancel requests."""
        while True:
            await asyncio.sleep(self.settings.heartbeat)
            if not self._tasks:
                continue
            changed = {
                job_id: progress.report()
                for job_id, progress in list(self._progress.items())
                if progress.changed
            }
            try:
                asked = await asyncio.to_thread(
                    self.queue.table.renew, self.name, self.settings.lease, changed
                )
            except StoreError as error:
                logger.warning("worker %s can't renew its leases: %s", self.name, error.message)
                continue
            self._cancel(asked)

    async def _watch_cancels(self) -> None:
        while True:
            await asyncio.sleep(CANCEL_POLL)
            if not self._tasks:
                continue
            try:
                asked = await asyncio.to_thread(self.queue.table.cancel_requests, self.name)
            except StoreError:
                continue
            self._cancel(asked)

    def _cancel(self, job_ids: Collection[str]) -> None:
        for job_id in job_ids:
            task = self._tasks.get(job_id)
            if task is not None and job_id not in self._cancel_asked:
                self._cancel_asked.add(job_id)
                task.cancel()

    def _cancel_all(self) -> None:
        self._stopping = True
        for task in self._tasks.values():
            task.cancel()
        if self._wakeup is not None:
            self._wakeup.set()


class _Progress:
    """A run's handler counting its nodes, for the worker's progress reports."""

    def __init__(self, run_id: str, done: int) -> None:
        self.run_id = run_id
        self.done = done
        self.running: dict[str, int] = {}
        self.changed = False

    def __call__(self, event: Event) -> None:
        if getattr(event, "run_id", None) != self.run_id:
            return  # a subgraph's run
        if isinstance(event, NodeStarted):
            self.running[event.node] = self.running.get(event.node, 0) + 1
        elif isinstance(event, NodeCompleted | NodeFailed):
            left = self.running.get(event.node, 1) - 1
            if left > 0:
                self.running[event.node] = left
            else:
                self.running.pop(event.node, None)
            self.done += 1
        else:
            return
        self.changed = True

    def report(self) -> tuple[int, list[str]]:
        self.changed = False
        return self.done, sorted(self.running)


class _Events:
    """A run's handler recording its events in the store, for whoever follows the job."""

    __slots__ = ("job_id", "writer")

    def __init__(self, job_id: str, writer: CheckpointWriter) -> None:
        self.job_id = job_id
        self.writer = writer

    def __call__(self, event: Event) -> None:
        if getattr(event, "run_id", None) != self.job_id:
            return  # a subgraph's run: its node is the job's event
        data: dict[str, Any]
        if isinstance(event, NodeStarted):
            kind, data = "node_started", {"attempt": event.attempt}
        elif isinstance(event, NodeCompleted | NodeFailed):
            kind = "node_completed" if isinstance(event, NodeCompleted) else "node_failed"
            data = {"attempt": event.attempt, "duration": event.duration}
            if isinstance(event, NodeFailed):
                data["error"] = event.error
            data |= _usage(event.usage)
        elif isinstance(event, NodeRetrying):
            kind = "node_retrying"
            data = {"attempt": event.attempt, "error": event.error, "delay": event.delay}
        elif isinstance(event, NodeOutputChunk):
            kind, data = "output_chunk", {"text": event.text}
        else:
            return
        params = event_params(self.job_id, kind, event.node, **data)
        self.writer.put(Statement(schema.INSERT_EVENT, params), within=EVENT_LATENCY)


def _usage(usage: object) -> dict[str, Any]:
    to_dict = getattr(usage, "to_dict", None)
    return {"usage": to_dict()} if to_dict is not None else {}


def _done(stop: BaseException, progress: _Progress) -> int:
    result = getattr(stop, "result", None)
    return len(result.summary.node_results) if result is not None else progress.done


def _notify() -> None:
    with SETTLED:
        SETTLED.notify_all()
