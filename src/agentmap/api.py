"""The public Python API: load, validate and run graph files. The CLI calls exactly these."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentmap.container import ConfigSource, Container, as_container
from agentmap.events import Handler
from agentmap.exceptions import ResumeError, StoreError
from agentmap.graph.loader import ValidationReport, resolve_source
from agentmap.graph.model import Graph
from agentmap.runner import Ask, ExecutionResult, GraphRunnerService
from agentmap.store.replay import NO_ANSWER, plan_resume

if TYPE_CHECKING:
    from agentmap.store.runstore import RunStore

logger = logging.getLogger(__name__)

GraphSource = str | os.PathLike[str]
"""A graph file path, optionally with ``::GraphName`` appended."""


def validate_graph(
    source: GraphSource, graph: str | None = None, *, config: ConfigSource | Container = None
) -> ValidationReport:
    """Check a graph file (every graph in it, or just ``graph``) and report all problems.

    Nothing runs. The graphs its ``graph`` nodes run are checked too. File-level failures
    (missing file, wrong encoding) raise ``GraphFileError``.

    >>> validate_graph("graphs/hello.csv").ok  # doctest: +SKIP
    True
    """
    return as_container(config).loader().validate(*resolve_source(source, graph))


def load_graph(
    source: GraphSource,
    graph: str | None = None,
    *,
    start: str | None = None,
    config: ConfigSource | Container = None,
) -> Graph:
    """Load one graph, validated and ready to run.

    Raises ``GraphValidationError`` listing every problem.

    >>> load_graph("graphs/hello.csv").entry  # doctest: +SKIP
    'Start'
    """
    path, name = resolve_source(source, graph)
    return as_container(config).loader().load(path, name, start)


async def arun_graph(
    source: GraphSource | Graph,
    state: Any = None,
    *,
    graph: str | None = None,
    start: str | None = None,
    config: ConfigSource | Container = None,
    handlers: Iterable[Handler] = (),
    timeout: float | None = None,
    ask: Ask | None = None,
) -> ExecutionResult:
    """Async twin of ``run_graph``: await it from your own event loop."""
    with _using(config) as container:
        runner, to_run = _prepare(source, graph, start, container)
        return await runner.arun(to_run, state, handlers=handlers, timeout=timeout, ask=ask)


def run_graph(
    source: GraphSource | Graph,
    state: Any = None,
    *,
    graph: str | None = None,
    start: str | None = None,
    config: ConfigSource | Container = None,
    handlers: Iterable[Handler] = (),
    timeout: float | None = None,
    ask: Ask | None = None,
) -> ExecutionResult:
    """Load, validate and run a graph; return its ``ExecutionResult``.

    ``state`` may be a dict, a pydantic model, an object, or a bare value (which becomes
    ``{"input": value}``). A node's failure is routed by the graph, never raised; bad input
    raises an ``AgentMapError`` subclass that names the file, row and column. ``handlers``
    receive the run's events (sync or async functions); ``timeout`` bounds the whole run in
    seconds (``RunError`` when it runs out). The run is recorded in the run store
    (``storage.url``) under ``result.run_id``. A ``human`` node asks ``ask(node, pause)`` if
    given; otherwise the run stops with ``result.status == "waiting"`` for ``resume_run``.

    >>> result = run_graph("graphs/hello.csv", {"input": "hi"})  # doctest: +SKIP
    >>> result.final_state["echoed"]  # doctest: +SKIP
    'hi'
    """
    with _using(config) as container:
        runner, to_run = _prepare(source, graph, start, container)
        return runner.run(to_run, state, handlers=handlers, timeout=timeout, ask=ask)


def resume_run(
    run_id: str,
    value: Any = NO_ANSWER,
    *,
    node: str | None = None,
    force: bool = False,
    graph: Graph | None = None,
    config: ConfigSource | Container = None,
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
    with _using(config) as container:
        store = _store(container)
        record = store.get(run_id)
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
            graph = load_graph(Path(record.graph_file), record.graph_name, config=container)
        runner = container.runner()
        plan = plan_resume(
            record,
            store.checkpoints(record.id),
            graph,
            runner.reducers_for(graph),
            answer=value,
            node=node,
            force=force,
        )
        for change in plan.changes:
            logger.warning("resuming run %s on a changed graph: %s", record.id, change)
        return runner.resume(graph, plan, handlers=handlers, timeout=timeout, ask=ask)


def open_run_store(config: ConfigSource | Container = None) -> RunStore:
    """The run store ``storage.url`` names, for run history (``list``, ``get``, ``prune``...).

    Close it when done (it is a context manager).

    >>> with open_run_store() as store:  # doctest: +SKIP
    ...     [run.status for run in store.list(limit=2)]
    ['succeeded', 'waiting']
    """
    return _store(as_container(config))


@contextlib.contextmanager
def _using(config: ConfigSource | Container) -> Iterator[Container]:
    """The container to work with; one made here for this call is shut down after it
    (closing its run store), so a loop of ``run_graph(..., config={...})`` holds no connections.
    """
    container = as_container(config)
    try:
        yield container
    finally:
        if container is not config:
            container.shutdown_resources()


def _store(container: Container) -> RunStore:
    store = container.store()
    if store is None:
        raise StoreError("storage.url is 'none', so no runs are stored — set it to a database")
    return store


def _prepare(
    source: GraphSource | Graph,
    graph: str | None,
    start: str | None,
    config: ConfigSource | Container,
) -> tuple[GraphRunnerService, Graph]:
    container = as_container(config)
    if isinstance(source, Graph):
        return container.runner(), source.with_entry(start) if start else source
    loaded = load_graph(source, graph, start=start, config=container)  # bad input first
    return container.runner(), loaded
