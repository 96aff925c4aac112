"""The public Python API: load, validate and run graph files. The CLI calls exactly these."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from agentmap.container import ConfigSource, Container, as_container
from agentmap.graph.loader import ValidationReport, resolve_source, select_graph, validate_file
from agentmap.graph.model import Graph
from agentmap.runner import ExecutionResult, GraphRunnerService

GraphSource = str | os.PathLike[str]
"""A graph file path, optionally with ``::GraphName`` appended."""


def validate_graph(
    source: GraphSource, graph: str | None = None, *, config: ConfigSource | Container = None
) -> ValidationReport:
    """Check a graph file (every graph in it, or just ``graph``) and report all problems.

    Nothing runs. File-level failures (missing file, wrong encoding) raise ``GraphFileError``.

    >>> validate_graph("graphs/hello.csv").ok  # doctest: +SKIP
    True
    """
    return _check(as_container(config), *resolve_source(source, graph))


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
    report = _check(as_container(config), path, name)
    report.raise_for_errors()
    return select_graph(report.file, name, start)


async def arun_graph(
    source: GraphSource | Graph,
    state: Any = None,
    *,
    graph: str | None = None,
    start: str | None = None,
    config: ConfigSource | Container = None,
) -> ExecutionResult:
    """Async twin of ``run_graph``: await it from your own event loop."""
    runner, to_run = _prepare(source, graph, start, config)
    return await runner.arun(to_run, state)


def run_graph(
    source: GraphSource | Graph,
    state: Any = None,
    *,
    graph: str | None = None,
    start: str | None = None,
    config: ConfigSource | Container = None,
) -> ExecutionResult:
    """Load, validate and run a graph; return its ``ExecutionResult``.

    ``state`` may be a dict, a pydantic model, an object, or a bare value (which becomes
    ``{"input": value}``). A node's failure is routed by the graph, never raised; bad input
    raises an ``AgentMapError`` subclass that names the file, row and column.

    >>> result = run_graph("graphs/hello.csv", {"input": "hi"})  # doctest: +SKIP
    >>> result.final_state["echoed"]  # doctest: +SKIP
    'hi'
    """
    runner, to_run = _prepare(source, graph, start, config)
    return runner.run(to_run, state)


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


def _check(container: Container, path: Path, name: str | None) -> ValidationReport:
    catalogs = container.agents(), container.functions(), container.prompts()
    return validate_file(path, *catalogs, graph=name)
