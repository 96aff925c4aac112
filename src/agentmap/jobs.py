"""Jobs: a graph run handed to a worker — recorded at once, run later, watched, retried.

A job is a run in the run store with a row of its own beside it (``store/jobstore.py``): which
graph on which inputs, its tags, priority and retry policy, and where it stands. Its run has
the job's id, so ``agentmap runs show`` and ``agentmap resume`` work on jobs too, and a job
that is tried again, or taken over from a worker that died, carries on from its checkpoints.
``JobQueue`` makes and reads jobs; ``worker.Worker`` runs them.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from agentmap.agents.human import timeout_outcome
from agentmap.exceptions import (
    JobError,
    JobFailedError,
    JobNotFinishedError,
    JobStateError,
    RunNotFoundError,
    StoreError,
)
from agentmap.graph.loader import GraphLoader, resolve_source
from agentmap.graph.model import Graph
from agentmap.outcomes import Pause
from agentmap.results import JobResult
from agentmap.resume import answers_for, timed_out_nodes
from agentmap.retry import RetryPolicy
from agentmap.store.codec import UnsavableValue, dumps
from agentmap.store.jobstore import ENDED, JOB_STATES, JobRecord, JobState, JobStore
from agentmap.store.records import RunRecord
from agentmap.store.runstore import RunStore

__all__ = ["SETTLED", "Job", "JobQueue", "JobResult", "JobState", "JobStatus"]

_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_RESTING: tuple[JobState, ...] = (*ENDED, "waiting")  # nothing more happens without someone

SETTLED = threading.Condition()
"""Notified whenever a worker in this process settles a job, so waiters here wake at once."""

STOPPERS: dict[str, Callable[[], object]] = {}
"""Job id → stops it, for the jobs this process's workers run: cancelling one is then
immediate, not left to the worker's next look at the store."""


@dataclass(frozen=True, slots=True)
class Job:
    """A job as created: its id (also its run's id) and what it runs."""

    id: str
    graph: str  # the graph file, ``::`` the graph's name
    state: JobState
    tags: tuple[str, ...] = ()
    priority: int = 0
    max_retries: int = 0
    name: str | None = None
    created_at: float = 0.0
    batch_id: str | None = None
    graph_id: str | None = None  # the registered graph it runs (AgentMapApp.register_graph)
    graph_version: str | None = None

    def as_created(self) -> JobStatus:
        """The job's status as it was created (no read of the store: it may have started)."""
        return JobStatus(
            id=self.id,
            state=self.state,
            graph=self.graph,
            attempt=0,
            max_retries=self.max_retries,
            nodes_done=0,
            running_nodes=(),
            created_at=self.created_at,
            updated_at=self.created_at,
            started_at=None,
            finished_at=None,
            worker=None,
            error=None,
            tags=self.tags,
            name=self.name,
            priority=self.priority,
            batch_id=self.batch_id,
            graph_id=self.graph_id,
            graph_version=self.graph_version,
        )


@dataclass(frozen=True, slots=True)
class JobStatus:
    """Where a job stands. ``attempt`` counts from 1 once it has started; ``running_nodes``
    and ``nodes_done`` are as its worker last reported (every ``jobs.heartbeat`` seconds)."""

    id: str
    state: JobState
    graph: str
    attempt: int
    max_retries: int
    nodes_done: int
    running_nodes: tuple[str, ...]
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    worker: str | None
    error: str | None
    tags: tuple[str, ...] = ()
    name: str | None = None
    priority: int = 0
    next_attempt_at: float | None = None  # when a retrying job is tried again
    cancel_requested: bool = False
    batch_id: str | None = None
    graph_id: str | None = None  # the registered graph it runs, and at which version
    graph_version: str | None = None

    @property
    def ended(self) -> bool:
        """Whether the job is completed, failed or cancelled: nothing more will happen."""
        return self.state in ENDED

    def to_dict(self) -> dict[str, Any]:
        """The status as plain data (what ``agentmap jobs status --json`` prints)."""
        return {
            "id": self.id,
            "state": self.state,
            "graph": self.graph,
            "name": self.name,
            "tags": list(self.tags),
            "priority": self.priority,
            "attempt": self.attempt,
            "max_retries": self.max_retries,
            "nodes_done": self.nodes_done,
            "running_nodes": list(self.running_nodes),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "next_attempt_at": self.next_attempt_at,
            "worker": self.worker,
            "error": self.error,
            "cancel_requested": self.cancel_requested,
            "batch_id": self.batch_id,
            "graph_id": self.graph_id,
            "graph_version": self.graph_version,
        }


class JobQueue:
    """Makes jobs and reads where they stand, in one run store. Thread-safe."""

    def __init__(self, store: RunStore | None, loader: GraphLoader) -> None:
        if store is None:
            raise StoreError(
                "jobs are kept in the run store, and storage.url is 'none' — set it to a "
                "database (the default is sqlite:///.agentmap/runs.db)"
            )
        self.store = store
        self.table = JobStore(store)
        self._loader = loader
        self._graphs: dict[tuple[str, str | None], tuple[tuple[int, int], Graph]] = {}
        self._lock = threading.Lock()

    # --- making jobs ------------------------------------------------------------------------

    def create(
        self,
        graph: str | os.PathLike[str],
        inputs: Any = None,
        *,
        tags: Iterable[str] = (),
        retry_policy: RetryPolicy | Mapping[str, Any] | None = None,
        max_retries: int | None = None,
        priority: int = 0,
        name: str | None = None,
        graph_id: str | None = None,
        graph_version: str | None = None,
    ) -> Job:
        """Record a job as ``queued`` (see ``agentmap.create_job``); ``graph_id`` and
        ``graph_version`` name the registered graph it runs, if any."""
        return self.create_many(
            graph,
            [inputs],
            tags=tags,
            retry_policy=retry_policy,
            max_retries=max_retries,
            priority=priority,
            name=name,
            graph_id=graph_id,
            graph_version=graph_version,
        )[0]

    def create_many(
        self,
        graph: str | os.PathLike[str],
        rows: Sequence[Any],
        *,
        tags: Iterable[str] = (),
        retry_policy: RetryPolicy | Mapping[str, Any] | None = None,
        max_retries: int | None = None,
        priority: int = 0,
        name: str | None = None,
        batch_id: str | None = None,
        graph_id: str | None = None,
        graph_version: str | None = None,
    ) -> list[Job]:
        """Record one job per row of inputs, all in one transaction (a batch's rows)."""
        loaded = self.graph(graph)
        tag_list = checked_tags(tags)
        policy = _policy(retry_policy)
        retries = _retries(max_retries, policy)
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise JobError(f"priority must be a whole number (got {priority!r})")
        if not -INT32 <= priority < INT32:
            raise JobError(f"priority must be between {-INT32} and {INT32 - 1} (got {priority})")
        now = time.time()
        policy_json = dumps(policy.to_dict()) if policy is not None else None
        graph_file = str(Path(loaded.file or "").resolve())
        jobs, rows_out = [], []
        for row, inputs in enumerate(rows):
            job_id = uuid.uuid4().hex
            rows_out.append(
                {
                    "id": job_id,
                    "name": name,
                    "graph_file": graph_file,
                    "graph_name": loaded.name,
                    "inputs": _inputs_json(inputs, row if batch_id else None),
                    "tags": dumps_list(tag_list),
                    "priority": priority,
                    "retry_policy": policy_json,
                    "max_retries": retries,
                    "state": "queued",
                    "attempt": 0,
                    "created_at": now,
                    "updated_at": now,
                    "started_at": None,
                    "finished_at": None,
                    "not_before": 0.0,
                    "worker": None,
                    "lease_until": None,
                    "cancel_requested": False,
                    "error": None,
                    "nodes_done": 0,
                    "running_nodes": None,
                    "batch_id": batch_id,
                    "batch_row": row if batch_id else None,
                    "answer": None,
                    "graph_id": graph_id,
                    "graph_version": graph_version,
                }
            )
            jobs.append(
                Job(
                    id=job_id,
                    graph=f"{graph_file}::{loaded.name}",
                    state="queued",
                    tags=tag_list,
                    priority=priority,
                    max_retries=retries,
                    name=name,
                    created_at=now,
                    batch_id=batch_id,
                    graph_id=graph_id,
                    graph_version=graph_version,
                )
            )
        self.table.add(rows_out)
        return jobs

    def graph(self, source: str | os.PathLike[str]) -> Graph:
        """The checked graph ``source`` names (``file.csv`` or ``file.csv::Graph``), loaded
        once per version of its file: a worker running 10,000 jobs of one graph reads it once."""
        path, name = resolve_source(source, None)
        try:
            info = path.stat()
            version = (info.st_mtime_ns, info.st_size)
        except OSError:
            version = (0, 0)  # the loader says what is wrong with the path
        key = (str(path if path.is_absolute() else path.resolve()), name)
        with self._lock:
            cached = self._graphs.get(key)
        if cached is not None and cached[0] == version and version != (0, 0):
            return cached[1]
        loaded = self._loader.load(path, name)
        with self._lock:
            self._graphs[key] = (version, loaded)
        return loaded

    # --- reading jobs -----------------------------------------------------------------------

    def status(self, job_id: str) -> JobStatus:
        """Where job ``job_id`` (or the only job whose id starts with it) stands."""
        return status_of(self.table.get(job_id))

    def questions(self, job_id: str) -> list[dict[str, Any]]:
        """What a waiting job asks: per waiting node its ``node``, ``question``, ``kind``
        (approval, choice, text, edit, conversation...) and ``options`` (and, when they apply,
        ``draft``, ``deadline``, ``default``...); empty when it isn't waiting, or when its time
        to answer ran out (looking carries it on with the timeout outcome)."""
        job = self.table.get(job_id)
        if job.state != "waiting":
            return []
        try:
            run = self.store.get(job.id)
        except RunNotFoundError:  # not started yet: nothing asked
            return []
        if self._carry_on_timed_out(job.id, run):
            return []
        return [_question(asked) for asked in run.waiting]

    def results(self, job_id: str) -> JobResult:
        """A completed job's result; ``JobFailedError`` for a failed or cancelled one (its
        ``result`` holds the state its run reached), ``JobNotFinishedError`` before it ends."""
        job = self.table.get(job_id)
        if job.state not in ENDED:
            raise JobNotFinishedError(
                f"job {job.id} is {job.state}, not finished — `agentmap jobs status {job.id}` "
                "says where it is; wait for it with wait_for_job or `agentmap jobs submit --wait`",
                state=job.state,
            )
        try:
            run = self.store.get(job.id)
        except RunNotFoundError:  # a job cancelled before it ran has no run
            run = None
        final = dict(run.final_state or {}) if run is not None else {}
        summary = dict(run.summary or {}) if run is not None else {}
        result = JobResult(job.id, job.state, final, summary, job.error)
        if job.state == "completed":
            return result
        why = job.error or (run.error if run is not None else None)
        tries = (
            f" after {job.attempt} attempt{'s' if job.attempt != 1 else ''}" if job.attempt else ""
        )
        raise JobFailedError(
            f"job {job.id} {job.state}{tries}" + (f": {why}" if why else ""), job=result
        )

    def list(
        self,
        *,
        status: JobState | Collection[JobState] | None = None,
        tags: Iterable[str] = (),
        graph: str | None = None,
        limit: int | None = 20,
        before: float | datetime | str | None = None,
        batch_id: str | None = None,
        cursor: str | None = None,
    ) -> list[JobStatus]:
        """Jobs newest first (a batch's: in row order); see ``agentmap.list_jobs``.
        ``cursor``: the jobs after the one whose ``page_cursor`` it is (the next page)."""
        states = _states(status)
        after = _cursor(cursor) if cursor is not None else None
        if isinstance(before, datetime):
            before = before.timestamp()
        elif isinstance(before, str):  # a job id: the jobs created before it (the next page)
            before = self.table.get(before).created_at
        records = self.table.list(
            states=states,
            tags=checked_tags(tags),
            graph=graph,
            limit=limit,
            before=before,
            batch_id=batch_id,
            cursor=after,
        )
        return [status_of(record) for record in records]

    def answer(self, job_id: str, value: Any, *, node: str | None = None) -> JobStatus:
        """Answer the person's step a job waits at; a worker carries it on with ``value``
        (text, True/False to approve/reject, an option's number or text). ``JobStateError``
        if it isn't waiting, ``ResumeError`` if the answer doesn't fit the question."""
        job = self.table.get(job_id)
        if job.state != "waiting":
            raise JobStateError(
                f"job {job.id} is {job.state}, not waiting for an answer — nothing to answer"
            )
        run = self.store.get(job.id)
        if late := self._carry_on_timed_out(job.id, run):
            raise JobStateError(
                f"job {job.id} no longer takes answers: the time to answer {', '.join(late)} "
                "ran out (timeout_seconds), so it carries on with the timeout outcome instead"
            )
        answers_for(run, value, node)  # checked now, not on a worker
        try:
            payload = dumps({"node": node, "value": value})
        except UnsavableValue as exc:
            raise JobError(f"the answer: {exc} — give text, a number or true/false") from None
        if not self.table.answer(job.id, payload):
            raise JobStateError(f"job {job.id} was answered or cancelled meanwhile")
        return self.status(job.id)

    def _carry_on_timed_out(self, job_id: str, run: RunRecord) -> tuple[str, ...]:
        """A waiting job whose time to answer ran out is queued again, with no answer, so a
        worker carries it on with the timeout outcome; the nodes that timed out (if any)."""
        late = tuple(timed_out_nodes(run))
        if late:
            self.table.answer(job_id, dumps({"node": None, "timed_out": True}))
        return late

    def cancel(self, job_id: str, *, wait: float = 10.0) -> JobStatus:
        """Cancel a job: a queued, retrying or waiting one at once; a running one is stopped
        by its worker (waited for up to ``wait`` seconds)."""
        job = self.table.request_cancel(job_id)
        if job.state != "running" or wait <= 0:
            return status_of(job)
        stop = STOPPERS.get(job.id)
        if stop is not None:
            stop()
        return self.wait(job.id, timeout=wait, stop_at=ENDED, quiet=True)

    def wait(
        self,
        job_id: str,
        timeout: float | None = None,
        *,
        stop_at: Collection[JobState] = _RESTING,
        quiet: bool = False,
    ) -> JobStatus:
        """Block until the job completes, fails, is cancelled or waits for a person.

        ``TimeoutError`` after ``timeout`` seconds (``quiet``: return the status instead).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.002
        status = self.status(job_id)
        while status.state not in stop_at:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                if quiet:
                    return status
                raise TimeoutError(f"job {status.id} is still {status.state} after {timeout:g}s")
            with SETTLED:
                SETTLED.wait(pause if left is None else min(pause, left))
            pause = min(pause * 2, 0.25)
            status = self.status(status.id)
        return status


def page_cursor(job: JobStatus) -> str:
    """The cursor of the page after ``job`` (opaque to clients: its time and id)."""
    return f"{job.created_at!r}_{job.id}"


def _cursor(text: str) -> tuple[float, str]:
    at, _, job_id = text.partition("_")
    try:
        return float(at), job_id
    except ValueError:
        raise JobError(
            f"cursor {text!r} is not one this service gave — pass the next_cursor of a page"
        ) from None


def _question(asked: Mapping[str, Any]) -> dict[str, Any]:
    """A waiting node's question as ``questions`` gives it; with a deadline, ``on_timeout``
    says in words what happens when it passes."""
    pause = Pause.from_dict(asked)
    question = {"node": asked.get("node"), **pause.to_dict()}
    if pause.deadline is not None:
        question["on_timeout"] = timeout_outcome(pause)
    return question


def status_of(job: JobRecord) -> JobStatus:
    """A stored job as its public status."""
    return JobStatus(
        id=job.id,
        state=job.state,
        graph=f"{job.graph_file}::{job.graph_name}" if job.graph_name else job.graph_file,
        attempt=job.attempt,
        max_retries=job.max_retries,
        nodes_done=job.nodes_done,
        running_nodes=job.running_nodes,
        created_at=job.created_at,
        updated_at=job.updated_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        worker=job.worker if job.state == "running" else None,
        error=job.error,
        tags=job.tags,
        name=job.name,
        priority=job.priority,
        next_attempt_at=job.not_before if job.state == "retrying" else None,
        cancel_requested=job.cancel_requested,
        batch_id=job.batch_id,
        graph_id=job.graph_id,
        graph_version=job.graph_version,
    )


def checked_tags(tags: Iterable[str] | str) -> tuple[str, ...]:
    """Tags, sorted and without repeats; ``JobError`` for one that isn't a plain word."""
    if isinstance(tags, str):
        tags = [tags]
    found = set()
    for tag in tags:
        if not isinstance(tag, str) or not _TAG.fullmatch(tag):
            raise JobError(
                f"tag {tag!r} is not a tag — a tag is a word of letters, digits, '_', '.' or "
                "'-', starting with a letter or digit, up to 64 long (gpu, team-a, v1.2)"
            )
        found.add(tag)
    return tuple(sorted(found))


def dumps_list(values: Sequence[str]) -> str:
    """A list of text as the JSON the store keeps."""
    return json.dumps(list(values))


def _policy(policy: RetryPolicy | Mapping[str, Any] | None) -> RetryPolicy | None:
    if policy is None or isinstance(policy, RetryPolicy):
        return policy
    return RetryPolicy.from_dict(policy)  # RetryPolicyError names what is wrong


INT32 = 2**31
"""The store keeps priorities and retry counts as 32-bit integers (PostgreSQL's INTEGER)."""


def _retries(max_retries: int | None, policy: RetryPolicy | None) -> int:
    if max_retries is None:
        max_retries = policy.max_retries if policy is not None else 0
    if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
        raise JobError(f"max_retries must be a whole number, 0 or more (got {max_retries!r})")
    if max_retries >= INT32:
        raise JobError(f"max_retries must be below {INT32} (got {max_retries})")
    return max_retries


def _states(status: JobState | Collection[JobState] | None) -> tuple[JobState, ...]:
    if status is None:
        return ()
    wanted = (status,) if isinstance(status, str) else tuple(status)
    for state in wanted:
        if state not in JOB_STATES:
            raise JobError(f"'{state}' is not a job state — one of {', '.join(JOB_STATES)}")
    return wanted


def _inputs_json(inputs: Any, row: int | None) -> str:
    """A job's inputs as the JSON its run starts from; ``JobError`` if they can't be."""
    where = f"row {row + 1}'s inputs" if row is not None else "the job's inputs"
    if inputs is None:
        inputs = {}
    elif hasattr(inputs, "model_dump"):  # a pydantic model
        inputs = inputs.model_dump()
    if not isinstance(inputs, Mapping):
        raise JobError(
            f"{where} must be a mapping of state keys to values, such as "
            f'{{"input": "hi"}} (got a {type(inputs).__name__})'
        )
    bad = [key for key in inputs if not isinstance(key, str)]
    if bad:
        raise JobError(f"{where}: state keys must be text; {bad[0]!r} is a {type(bad[0]).__name__}")
    try:
        return dumps(inputs)
    except UnsavableValue as exc:
        raise JobError(
            f"{where}: key {exc} — a job's inputs are stored until a worker runs it, so they "
            "must be JSON types (text, numbers, true/false, null, lists, mappings)"
        ) from None
