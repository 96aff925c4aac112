"""The public Python API: load, validate and run graph files. The CLI calls exactly these."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from agentmap.container import ConfigSource, Container, as_container
from agentmap.events import Handler
from agentmap.graph.loader import ValidationReport, resolve_source
from agentmap.graph.model import Graph
from agentmap.runner import ExecutionResult, GraphRunnerService

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
) -> ExecutionResult:
    """Async twin of ``run_graph``: await it from your own event loop."""
    runner, to_run = _prepare(source, graph, start, config)
    return await runner.arun(to_run, state, handlers=handlers, timeout=timeout)


def run_graph(
    source: GraphSource | Graph,
    state: Any = None,
    *,
    graph: str | None = None,
    start: str | None = None,
    config: ConfigSource | Container = None,
    handlers: Iterable[Handler] = (),
    timeout: float | None = None,
) -> ExecutionResult:
    """Load, validate and run a graph; return its ``ExecutionResult``.

    ``state`` may be a dict, a pydantic model, an object, or a bare value (which becomes
    ``{"input": value}``). A node's failure is routed by the graph, never raised; bad input
    raises an ``AgentMapError`` subclass that names the file, row and column. ``handlers``
    receive the run's events (sync or async functions); ``timeout`` bounds the whole run in
    seconds (``RunError`` when it runs out).

    >>> result = run_graph("graphs/hello.csv", {"input": "hi"})  # doctest: +SKIP
    >>> result.final_state["echoed"]  # doctest: +SKIP
    'hi'
    """
    runner, to_run = _prepare(source, graph, start, config)
    return runner.run(to_run, state, handlers=handlers, timeout=timeout)


def _prepare(
    source: GraphSource | Graph,
    graph: str | None,
    start: str | None,
    config: ConfigSource | Container,
) -> tuple[GraphRunnerService, Graph]:
    container = as_container(config)
    if isinstance(source, Graph):
        return container.runner(), source.with_entry(start) if start else source
    return container.runner(), load_graph(source, graph, start=start, config=container)
