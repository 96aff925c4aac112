"""The public Python API: load, validate, run and resume graphs. The CLI calls exactly these.

Each function takes configuration — a config file path, a mapping of settings, ``Settings``,
or nothing (``agentmap_config.yaml`` is looked for, else the defaults) — and ``agents``, agent
types to add to the project's: ``{"shout": ShoutAgent}`` maps an AgentType to an ``Agent``
subclass or an ``@agent`` function.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agentmap.agents.catalog import AgentSource
from agentmap.config import Settings
from agentmap.container import ConfigSource, Container, build_container
from agentmap.distribution import install_hint
from agentmap.events import Handler
from agentmap.exceptions import ConfigError, ResumeError, StoreError
from agentmap.graph.loader import GRAPH_SEPARATOR, ValidationReport, resolve_source
from agentmap.graph.model import Graph
from agentmap.pauses import NO_ANSWER, Ask
from agentmap.results import ExecutionResult
from agentmap.retry import RetryPolicy

# The job functions import the job store, worker and host when called: a plain run needs none.
if TYPE_CHECKING:
    import pandas as pd

    from agentmap.batch import BatchProgress, BatchRunner
    from agentmap.jobhost import JobHost
    from agentmap.jobs import Job, JobResult, JobState, JobStatus
    from agentmap.runner import GraphRunnerService
    from agentmap.store.analytics import ExportFormat
    from agentmap.store.jobstore import JobEvent
    from agentmap.store.records import Status
    from agentmap.store.runstore import RunStore

GraphSource = str | os.PathLike[str]
"""A graph file path, optionally with ``::GraphName`` appended."""

Agents = Mapping[str, AgentSource]
"""Agent types to add to the project's: type name → ``Agent`` subclass or ``@agent`` function."""


def validate_graph(
    source: GraphSource,
    graph: str | None = None,
    *,
    config: ConfigSource = None,
    agents: Agents | None = None,
) -> ValidationReport:
    """Check a graph file (every graph in it, or just ``graph``) and report all problems.

    Nothing runs. The graphs its ``graph`` nodes run are checked too. File-level failures
    (missing file, wrong encoding) raise ``GraphFileError``.

    >>> validate_graph("graphs/hello.csv").ok  # doctest: +SKIP
    True
    """
    with _session(config, agents) as container:
        return container.loader().validate(*resolve_source(source, graph))


def load_graph(
    source: GraphSource,
    graph: str | None = None,
    *,
    start: str | None = None,
    config: ConfigSource = None,
    agents: Agents | None = None,
) -> Graph:
    """Load one graph, validated and ready to run.

    Raises ``GraphValidationError`` listing every problem.

    >>> load_graph("graphs/hello.csv").entry  # doctest: +SKIP
    'Start'
    """
    with _session(config, agents) as container:
        return _load(container, source, graph, start)


async def arun_graph(
    source: GraphSource | Graph,
    state: Any = None,
    *,
    graph: str | None = None,
    start: str | None = None,
    config: ConfigSource = None,
    agents: Agents | None = None,
    handlers: Iterable[Handler] = (),
    timeout: float | None = None,
    ask: Ask | None = None,
) -> ExecutionResult:
    """Async twin of ``run_graph``: await it from your own event loop."""
    with _session(config, agents) as container:
        to_run = _graph(container, source, graph, start)
        runner = container.runner()
        return await runner.arun(to_run, state, handlers=handlers, timeout=timeout, ask=ask)


def run_graph(
    source: GraphSource | Graph,
    state: Any = None,
    *,
    graph: str | None = None,
    start: str | None = None,
    config: ConfigSource = None,
    agents: Agents | None = None,
    handlers: Iterable[Handler] = (),
    timeout: float | None = None,
    ask: Ask | None = None,
) -> ExecutionResult:
    """Load, validate and run a graph; return its ``ExecutionResult``.

    ``state`` may be a dict, a pydantic model, an object, or a bare value (which becomes
    ``{"input": value}``). A node's failure is routed by the graph, never raised; bad input
    raises an ``AgentMapError`` subclass that names the file, row and column. ``agents`` adds
    agent types (``{"shout": ShoutAgent}``); ``handlers`` receive the run's events (sync or
    async functions); ``timeout`` bounds the whole run in seconds (``RunError`` when it runs
    out). The run is recorded in the run store (``storage.url``) under ``result.run_id``. A
    ``human`` node asks ``ask(node, pause)`` if given; otherwise the run stops with
    ``result.status == "waiting"`` for ``resume_run``.

    >>> result = run_graph("graphs/hello.csv", {"input": "hi"})  # doctest: +SKIP
    >>> result.final_state["echoed"]  # doctest: +SKIP
    'hi'
    """
    with _session(config, agents) as container:
        to_run = _graph(container, source, graph, start)
        return container.runner().run(to_run, state, handlers=handlers, timeout=timeout, ask=ask)


def run_workflow(
    graph_name: str,
    inputs: Any = None,
    *,
    config_file: ConfigSource = None,
    profile: str | None = None,
    resume_token: str | None = None,
    force_create: bool = False,
    agents: Agents | None = None,
) -> dict[str, Any]:
    """Run a graph of the project by name and answer as AgentMap's ``run_workflow`` does: a
    dict with ``success``, ``outputs`` (the final state), ``execution_id`` (the run id),
    ``execution_summary`` and ``metadata``.

    ``graph_name`` is a graph's name, found in the graphs folder (``paths.graphs``, AgentMap's
    ``paths.csv_repository``); ``workflow::Graph`` or ``workflow/Graph`` names the graph in
    ``workflow.csv`` there; a file path works too. A run that waits for a person answers
    ``success: False, interrupted: True`` with its ``thread_id`` (the run id ``resume_run``
    takes); a failed run answers ``success: False`` with the state's ``error`` — bad input
    raises, as ``run_graph`` does. ``profile`` is only echoed in ``metadata``;
    ``force_create`` changes nothing, graphs are read afresh on every run.

    >>> answer = run_workflow("AddTwice", {"first_a": 3, "first_b": 4})  # doctest: +SKIP
    >>> answer["success"], answer["outputs"]["first_sum"]  # doctest: +SKIP
    (True, 7)
    """
    _no_resume_token(resume_token)
    with _session(config_file, agents) as container:
        folder = container.settings().paths.graphs
        result = container.runner().run_graph(_workflow_source(graph_name, folder), inputs)
    return _workflow_answer(result, graph_name, profile)


async def run_workflow_async(
    graph_name: str,
    inputs: Any = None,
    *,
    config_file: ConfigSource = None,
    profile: str | None = None,
    resume_token: str | None = None,
    force_create: bool = False,
    agents: Agents | None = None,
) -> dict[str, Any]:
    """Async twin of ``run_workflow`` (AgentMap's ``run_workflow_async``): await it from your
    own event loop."""
    _no_resume_token(resume_token)
    with _session(config_file, agents) as container:
        folder = container.settings().paths.graphs
        source = _workflow_source(graph_name, folder)
        result = await container.runner().arun_graph(source, inputs)
    return _workflow_answer(result, graph_name, profile)


def _no_resume_token(resume_token: str | None) -> None:
    if resume_token is not None:
        raise ResumeError(
            "run_workflow does not resume runs here — carry a run on with "
            "agentmap.resume_run(run_id, value) (the run id is the thread_id it answered)"
        )


def _workflow_source(identifier: str, folder: Path) -> str:
    """AgentMap's graph identifiers as ``GraphFinder`` reads them: ``workflow::Graph`` and
    ``workflow/Graph`` name ``workflow.csv`` in the graphs folder, and a bare ``Name`` prefers
    ``Name.csv`` there, as AgentMap looks for those files first."""
    text = identifier.strip()
    if GRAPH_SEPARATOR in text:
        workflow, _, graph = text.partition(GRAPH_SEPARATOR)
    elif "/" in text and not Path(text).suffix:
        workflow, _, graph = text.rpartition("/")
    else:
        workflow, graph = text, text
    if workflow and not Path(workflow).suffix and (folder / f"{workflow}.csv").is_file():
        return f"{workflow}.csv{GRAPH_SEPARATOR}{graph.strip()}"
    return text


def _workflow_answer(
    result: ExecutionResult, graph_name: str, profile: str | None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"graph_name": graph_name, "profile": profile}
    answer: dict[str, Any] = {
        "success": result.success and not result.waiting,
        "outputs": result.final_state,
        "execution_id": result.run_id,
        "execution_summary": result.summary,
        "metadata": metadata,
    }
    if result.waiting:
        waiting = result.waiting[0]
        metadata.update(checkpoint_available=True, node_name=waiting.node)
        metadata["interrupt_type"] = waiting.pause.kind
        answer.update(
            interrupted=True,
            thread_id=result.run_id,
            interaction_request=waiting.to_dict(),
            message=f"the run waits for an answer at node '{waiting.node}': "
            f"resume_run({result.run_id!r}, value)",
        )
    elif not result.success:
        answer["error"] = result.final_state.get("error")
    return answer


def resume_run(
    run_id: str,
    value: Any = NO_ANSWER,
    *,
    node: str | None = None,
    force: bool = False,
    graph: Graph | None = None,
    config: ConfigSource = None,
    agents: Agents | None = None,
    handlers: Iterable[Handler] = (),
    timeout: float | None = None,
    ask: Ask | None = None,
) -> ExecutionResult:
    """Carry on a failed, cancelled, crashed or waiting run from its last checkpoint.

    Nodes that finished are not run again. ``value`` answers the node the run waits at: text,
    ``True``/``False`` to approve/reject, an option's number (from 1) or text for a choice,
    anything for a ``suspend`` node (``node`` says which when several wait). A graph file that
    changed since the run is refused unless ``force``; ``graph`` is needed only for runs of
    graphs built in Python. Raises ``RunNotFoundError`` or ``ResumeError`` saying why not.

    >>> resume_run("3f2a9c", value=True).status  # doctest: +SKIP
    'succeeded'
    """
    with _session(config, agents) as container:
        record = _store(container).get(run_id)
        if record.parent_run_id is not None:
            raise ResumeError(
                f"run {record.id} is the subgraph run of node '{record.parent_node}' of run "
                f"{record.parent_run_id} — resume that run: agentmap resume {record.parent_run_id}"
            )
        if graph is None:
            if record.graph_file is None:
                raise ResumeError(
                    f"run {record.id} ran a graph built in Python, not read from a file — pass "
                    "it: resume_run(run_id, graph=my_graph)"
                )
            graph = _load(container, Path(record.graph_file), record.graph_name, None)
        return container.runner().resume_stored(
            record,
            graph,
            answer=value,
            node=node,
            force=force,
            handlers=handlers,
            timeout=timeout,
            ask=ask,
        )


def open_run_store(config: ConfigSource = None) -> RunStore:
    """The run store ``storage.url`` names, for run history (``list``, ``get``, ``prune``...).

    Close it when done (it is a context manager).

    >>> with open_run_store() as store:  # doctest: +SKIP
    ...     [run.status for run in store.list(limit=2)]
    ['succeeded', 'waiting']
    """
    return _store(build_container(config))


def open_graph_runner(
    config: ConfigSource = None, *, agents: Agents | None = None
) -> GraphRunnerService:
    """A ``GraphRunnerService`` for ``config``'s project, for code written against AgentMap's
    services (its ``container.graph_runner_service()``): ``runner.run_graph("MyWorkflow",
    state)`` runs a graph of the graphs folder by name, ``runner.run(graph, state)`` a loaded
    one. It keeps the run store open between runs: close it when done (it is a context
    manager).

    >>> with open_graph_runner() as runner:  # doctest: +SKIP
    ...     runner.run_graph("Hello", {"input": "hi"}).success
    True
    """
    container = build_container(config, agents)
    try:
        runner = container.runner()
    except BaseException:
        container.shutdown_resources()
        raise
    runner.close_with(container.shutdown_resources)
    return runner


def runs_stats(graph: str | None = None, *, config: ConfigSource = None) -> pd.DataFrame:
    """Per graph and node over the stored runs: runs, times run, success rate, p50 and p95
    duration (what ``agentmap runs stats`` shows). Needs pandas (``agentmap-runner[analytics]``).

    >>> runs_stats("Hello")[["node", "success_rate"]]  # doctest: +SKIP
    """
    from agentmap.store.analytics import node_stats

    with open_run_store(config) as store:
        return node_stats(store, graph)


def export_runs(
    path: str | os.PathLike[str],
    format: ExportFormat = "csv",
    *,
    graph: str | None = None,
    status: Status | None = None,
    nodes: bool = False,
    config: ConfigSource = None,
) -> int:
    """Write the stored runs (or, with ``nodes``, every node run) to a csv or parquet file, as
    ``agentmap runs export`` does; return how many rows were written.

    >>> export_runs("runs.parquet", "parquet", graph="Hello")  # doctest: +SKIP
    12
    """
    from agentmap.store.analytics import export_runs as export

    with open_run_store(config) as store:
        return export(store, path, format, graph=graph, status=status, nodes=nodes)


def close_jobs() -> None:
    """End this process's job threads and close their stores (exit does it too). A process
    that never used jobs has none, so nothing is imported to find that out."""
    jobhost = sys.modules.get("agentmap.jobhost")
    if jobhost is not None:
        jobhost.close_jobs()


@contextlib.contextmanager
def _session(config: ConfigSource, agents: Agents | None) -> Iterator[Container]:
    """A container for one call, shut down after it (closing its run store), so a loop of
    ``run_graph(...)`` holds no connections."""
    container = build_container(config, agents)
    try:
        yield container
    finally:
        container.shutdown_resources()


def _store(container: Container) -> RunStore:
    store = container.store()
    if store is None:
        raise StoreError("storage.url is 'none', so no runs are stored — set it to a database")
    return store


def _load(container: Container, source: GraphSource, graph: str | None, start: str | None) -> Graph:
    path, name = resolve_source(source, graph)
    return container.loader().load(path, name, start)


def _graph(
    container: Container, source: GraphSource | Graph, graph: str | None, start: str | None
) -> Graph:
    if isinstance(source, Graph):
        return source.with_entry(start) if start else source
    return _load(container, source, graph, start)  # bad input first


# --- jobs ------------------------------------------------------------------------------------


def create_job(
    graph: GraphSource,
    inputs: Any = None,
    *,
    tags: Iterable[str] = (),
    retry_policy: RetryPolicy | Mapping[str, Any] | None = None,
    max_retries: int | None = None,
    priority: int = 0,
    name: str | None = None,
    config: ConfigSource = None,
    agents: Agents | None = None,
    graph_id: str | None = None,
    graph_version: str | None = None,
) -> Job:
    """Record a run of ``graph`` on ``inputs`` as a ``queued`` job and return at once.

    ``graph`` is a graph file (``flow.csv::Graph`` picks one of its graphs), checked now: its
    problems raise ``GraphValidationError`` here, not later on a worker. ``inputs`` is the
    run's initial state (a mapping of JSON values). Workers take jobs by ``priority`` (higher
    first), then age. A failed attempt is tried again ``max_retries`` times (default: the
    policy's own, else 0), after ``retry_policy.get_retry_delay(...)`` seconds (else at once),
    carrying on from its last checkpoint. With ``jobs.executor: local`` this process runs the
    job, on a worker thread of its own; with ``workers``, ``agentmap worker`` processes do.
    ``graph_id`` and ``graph_version`` record the registered graph the job runs
    (``AgentMapApp.create_job`` sets them).

    >>> job = create_job("graphs/hello.csv", {"input": "hi"}, tags=["demo"])  # doctest: +SKIP
    >>> wait_for_job(job.id).state  # doctest: +SKIP
    'completed'
    """
    host = _job_host(config, agents)
    job = host.queue.create(
        graph,
        inputs,
        tags=tags,
        retry_policy=retry_policy,
        max_retries=max_retries,
        priority=priority,
        name=name,
        graph_id=graph_id,
        graph_version=graph_version,
    )
    host.jobs_added([job])
    return job


def get_job_status(job_id: str, *, config: ConfigSource = None) -> JobStatus:
    """Where job ``job_id`` (or the only job whose id starts with it) stands: its state,
    attempt, nodes done and running, timestamps, its worker, the last attempt's error."""
    return _job_host(config, None).queue.status(job_id)


def get_job_results(job_id: str, *, config: ConfigSource = None) -> JobResult:
    """A completed job's final state and execution summary.

    Raises ``JobNotFinishedError`` while the job is queued, running, retrying or waiting, and
    ``JobFailedError`` (its ``job`` holds the state reached) for a failed or cancelled job.
    """
    return _job_host(config, None).queue.results(job_id)


def wait_for_job(
    job_id: str, timeout: float | None = None, *, config: ConfigSource = None
) -> JobStatus:
    """Block until the job completes, fails, is cancelled or waits for a person; its status.

    ``TimeoutError`` after ``timeout`` seconds.
    """
    return _job_host(config, None).queue.wait(job_id, timeout)


def answer_job(
    job_id: str,
    value: Any,
    *,
    node: str | None = None,
    config: ConfigSource = None,
    agents: Agents | None = None,
) -> JobStatus:
    """Answer the person's step job ``job_id`` waits at (``node`` says which when several
    wait): text, ``True``/``False`` to approve/reject, an option's number (from 1) or text.
    The job is queued again and a worker carries its run on with the answer. Raises
    ``JobStateError`` if it isn't waiting, ``ResumeError`` if the answer doesn't fit.
    ``agents``: those the job was created with (the worker woken here runs it)."""
    from agentmap.jobs import Job

    host = _job_host(config, agents)
    status = host.queue.answer(job_id, value, node=node)
    host.jobs_added([Job(status.id, status.graph, status.state, status.tags)])
    return status


async def aanswer_job(
    job_id: str,
    value: Any,
    *,
    node: str | None = None,
    config: ConfigSource = None,
    agents: Agents | None = None,
) -> JobStatus:
    """Async twin of ``answer_job``."""
    return await asyncio.to_thread(
        answer_job, job_id, value, node=node, config=config, agents=agents
    )


def cancel_job(job_id: str, *, config: ConfigSource = None) -> JobStatus:
    """Cancel a job. A queued, retrying or waiting job is cancelled at once and never runs
    again; a running one is stopped by its worker, within a fraction of a second, and its run
    is recorded as cancelled (``agentmap resume`` can still carry it on)."""
    return _job_host(config, None).queue.cancel(job_id)


def job_events(job_id: str, after: int = 0, *, config: ConfigSource = None) -> list[JobEvent]:
    """What happened to job ``job_id`` so far, after event number ``after``: its attempts
    starting, its nodes starting and ending, model output, its waits and answers, its end."""
    queue = _job_host(config, None).queue
    return queue.table.events(queue.status(job_id).id, after, limit=1_000_000)


async def afollow_job(
    job_id: str, after: int = 0, *, config: ConfigSource = None, poll: float = 0.25
) -> AsyncIterator[JobEvent]:
    """Job ``job_id``'s events after number ``after``, as they are recorded, until it ends:
    those of a worker of this process at once, others' within ``poll`` seconds.

    >>> async for event in afollow_job(job.id):  # doctest: +SKIP
    ...     print(event.seq, event.kind, event.node)
    """
    from agentmap.eventfeed import EventFeed

    queue = (await asyncio.to_thread(_job_host, config, None)).queue
    found = await asyncio.to_thread(queue.status, job_id)
    if found.ended and not await asyncio.to_thread(queue.table.events, found.id, after, 1):
        return  # it ended, and nothing follows ``after``
    feed = EventFeed(queue.table, poll)
    try:
        async for event in feed.follow(found.id, after):
            yield event
    finally:
        await feed.close()


def list_jobs(
    status: JobState | Iterable[JobState] | None = None,
    tags: Iterable[str] = (),
    graph: str | None = None,
    limit: int | None = 20,
    before: float | datetime | str | None = None,
    *,
    cursor: str | None = None,
    config: ConfigSource = None,
) -> list[JobStatus]:
    """Jobs, newest first: in ``status`` (a state or several), carrying every tag in ``tags``,
    of ``graph`` (its name or file), at most ``limit``; ``before`` (a time, or a job id: the
    jobs created before it) pages back through them, as does ``cursor`` (the
    ``agentmap.jobs.page_cursor`` of a page's last job: stable when jobs are added meanwhile)."""
    states = status if status is None or isinstance(status, str) else tuple(status)
    return _job_host(config, None).queue.list(
        status=states, tags=tags, graph=graph, limit=limit, before=before, cursor=cursor
    )


async def acreate_job(
    graph: GraphSource,
    inputs: Any = None,
    *,
    tags: Iterable[str] = (),
    retry_policy: RetryPolicy | Mapping[str, Any] | None = None,
    max_retries: int | None = None,
    priority: int = 0,
    name: str | None = None,
    config: ConfigSource = None,
    agents: Agents | None = None,
    graph_id: str | None = None,
    graph_version: str | None = None,
) -> Job:
    """Async twin of ``create_job`` (the store is written on a thread, not on your loop)."""
    return await asyncio.to_thread(
        create_job,
        graph,
        inputs,
        tags=tags,
        retry_policy=retry_policy,
        max_retries=max_retries,
        priority=priority,
        name=name,
        config=config,
        agents=agents,
        graph_id=graph_id,
        graph_version=graph_version,
    )


async def aget_job_status(job_id: str, *, config: ConfigSource = None) -> JobStatus:
    """Async twin of ``get_job_status``."""
    return await asyncio.to_thread(get_job_status, job_id, config=config)


async def aget_job_results(job_id: str, *, config: ConfigSource = None) -> JobResult:
    """Async twin of ``get_job_results``."""
    return await asyncio.to_thread(get_job_results, job_id, config=config)


async def await_for_job(
    job_id: str, timeout: float | None = None, *, config: ConfigSource = None
) -> JobStatus:
    """Async twin of ``wait_for_job``: polls without blocking your loop."""
    queue = (await asyncio.to_thread(_job_host, config, None)).queue
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = 0.002
    status = await asyncio.to_thread(queue.status, job_id)
    while not (status.ended or status.state == "waiting"):
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"job {status.id} is still {status.state} after {timeout:g}s")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.25)
        status = await asyncio.to_thread(queue.status, status.id)
    return status


async def acancel_job(job_id: str, *, config: ConfigSource = None) -> JobStatus:
    """Async twin of ``cancel_job``."""
    return await asyncio.to_thread(cancel_job, job_id, config=config)


async def alist_jobs(
    status: JobState | Iterable[JobState] | None = None,
    tags: Iterable[str] = (),
    graph: str | None = None,
    limit: int | None = 20,
    before: float | datetime | str | None = None,
    *,
    config: ConfigSource = None,
) -> list[JobStatus]:
    """Async twin of ``list_jobs``."""
    return await asyncio.to_thread(list_jobs, status, tags, graph, limit, before, config=config)


def run_worker(
    *,
    config: ConfigSource = None,
    agents: Agents | None = None,
    tags: Iterable[str] | None = None,
    concurrency: int | None = None,
    only: Iterable[str] | None = None,
    until: Callable[[], bool] | None = None,
    scheduler: str | None = None,
) -> int:
    """Run queued jobs in this process until interrupted (``agentmap worker``); return how
    many attempts it settled. ``tags``: take only jobs whose tags are all among them;
    ``only``: only these job ids; ``until()`` is asked whenever nothing runs: True stops.

    With ``scheduler`` (``tcp://host:8786``) this process is instead a Dask worker of that
    cluster, running the jobs Dask gives it (``tags`` are its resources, ``concurrency`` its
    threads), and returns 0 when interrupted."""
    from agentmap.jobhost import settings_of
    from agentmap.jobs import checked_tags

    if scheduler is not None:
        settings = config if isinstance(config, Settings) else settings_of(config)
        serve_worker = _dask().serve_worker
        wanted = () if tags is None else checked_tags(tags)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_worker(scheduler, settings, tags=wanted, nthreads=concurrency or 4))
        return 0
    return _job_host(config, agents).run_worker(
        tags=None if tags is None else checked_tags(tags),
        only=only,
        concurrency=concurrency,
        until=until,
    )


def _dask() -> Any:
    """``agentmap.dask_executor``, or a ``ConfigError`` saying how to install Dask."""
    try:
        import agentmap.dask_executor as dask_executor
    except ImportError as exc:
        raise ConfigError(
            "jobs.executor is 'dask' (or --scheduler was given), but Dask is not installed — "
            + install_hint("dask")
        ) from exc
    return dask_executor


def _job_host(config: ConfigSource, agents: Agents | None) -> JobHost:
    """This process's job services for ``config``; a Dask dispatcher when it names Dask."""
    from agentmap.jobhost import job_host

    host = job_host(config, agents)
    if host.settings.jobs.executor == "dask" and host.dispatcher is None:
        host.use_dispatcher(lambda: _dask().DaskDispatcher(host.queue, host.settings))
    return host


# --- batches ---------------------------------------------------------------------------------


def run_batch(
    graph: GraphSource,
    rows: pd.DataFrame | Iterable[Mapping[str, Any]],
    *,
    outputs: Sequence[str] | None = None,
    concurrency: int | None = None,
    name: str | None = None,
    progress: Callable[[BatchProgress], None] | None = None,
    executor: Literal["local", "dask"] | None = None,
    config: ConfigSource = None,
    agents: Agents | None = None,
) -> pd.DataFrame:
    """Run ``graph`` once per row of ``rows`` (a DataFrame, or mappings): each row is a run's
    initial state, run as a job of one batch, ``concurrency`` at a time (default
    ``jobs.concurrency``), in this process — or, with ``executor="dask"`` (default: ``dask``
    when ``jobs.executor`` is), on the Dask cluster ``jobs.dask`` names.

    Returns the results table: the input columns, then ``status``, ``error``, ``duration``,
    ``run_id``, then the ``outputs`` keys (default: every key the graph writes); a name an
    input column already has is prefixed (``batch.status``, ``out.answer``).
    ``df.attrs["batch_id"]`` names the batch for ``resume_batch``; ``progress`` is called with
    a ``BatchProgress`` as rows end. Ctrl-C stops it cleanly (``KeyboardInterrupt``).

    >>> table = run_batch("graphs/hello.csv", [{"input": "a"}, {"input": "b"}])  # doctest: +SKIP
    >>> table["status"].tolist()  # doctest: +SKIP
    ['completed', 'completed']
    """
    from agentmap.batch import rows_of

    host = _batch_host(config, agents, executor)
    batches = host.batches()
    batch_id = batches.start(os.fspath(graph), rows_of(rows), name)
    return _finish_batch(host, batches, batch_id, outputs, concurrency, progress)


def resume_batch(
    batch_id: str,
    *,
    outputs: Sequence[str] | None = None,
    concurrency: int | None = None,
    progress: Callable[[BatchProgress], None] | None = None,
    executor: Literal["local", "dask"] | None = None,
    config: ConfigSource = None,
    agents: Agents | None = None,
) -> pd.DataFrame:
    """Run again the rows of batch ``batch_id`` that did not complete (each carried on from
    its own last checkpoint; rows that completed are not run again); the whole results
    table, as ``run_batch`` returns it."""
    host = _batch_host(config, agents, executor)
    batches = host.batches()
    full = batches.reopen(batch_id)
    return _finish_batch(host, batches, full, outputs, concurrency, progress)


def _batch_host(
    config: ConfigSource, agents: Agents | None, executor: Literal["local", "dask"] | None
) -> JobHost:
    """The job services a batch runs with: this process's worker, or a Dask dispatcher."""
    from agentmap.jobhost import settings_of

    settings = settings_of(config)
    if executor is not None:
        jobs = settings.jobs.model_copy(update={"executor": executor})
        settings = settings.model_copy(update={"jobs": jobs})
    return _job_host(settings, agents)


def _finish_batch(
    host: JobHost,
    batches: BatchRunner,
    batch_id: str,
    outputs: Sequence[str] | None,
    concurrency: int | None,
    progress: Callable[[BatchProgress], None] | None,
) -> pd.DataFrame:
    batches.run(batch_id, concurrency=concurrency, progress=progress, dispatch=host.dispatching())
    table = batches.results(batch_id, outputs)
    table.attrs["batch_id"] = batch_id
    return table
