"""The public Python API: load, validate, run and resume graphs. The CLI calls exactly these.

Each function takes configuration — a config file path, a mapping of settings, ``Settings``,
or nothing (``agentmap_config.yaml`` is looked for, else the defaults) — and ``agents``, agent
types to add to the project's: ``{"shout": ShoutAgent}`` maps an AgentType to an ``Agent``
subclass or an ``@agent`` function.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentmap.agents.catalog import AgentSource
from agentmap.container import ConfigSource, Container, build_container
from agentmap.events import Handler
from agentmap.exceptions import ResumeError, StoreError
from agentmap.graph.loader import ValidationReport, resolve_source
from agentmap.graph.model import Graph
from agentmap.pauses import NO_ANSWER, Ask
from agentmap.results import ExecutionResult

if TYPE_CHECKING:
    import pandas as pd

    from agentmap.store.analytics import ExportFormat
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


def runs_stats(graph: str | None = None, *, config: ConfigSource = None) -> pd.DataFrame:
    """Per graph and node over the stored runs: runs, times run, success rate, p50 and p95
    duration (what ``agentmap runs stats`` shows). Needs pandas (``agentmap[analytics]``).

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
