"""``agentmap validate``: check a graph file without running it."""

from __future__ import annotations

from typing import Annotated

import typer

from agentmap.api import validate_graph
from agentmap.cli.errors import ExitCode, reported_errors
from agentmap.cli.logs import configure_logging
from agentmap.cli.options import (
    ConfigOption,
    CsvOption,
    DebugOption,
    GraphOption,
    MaybeGraphFileArgument,
    VerboseOption,
    one_graph_file,
)
from agentmap.cli.render import render_report
from agentmap.config import load_settings


def validate(
    file: MaybeGraphFileArgument = None,
    graph: GraphOption = None,
    csv: CsvOption = None,
    config: ConfigOption = None,
    verbose: VerboseOption = 0,
    debug: DebugOption = False,
    all_problems: Annotated[
        bool,
        typer.Option("--all-problems", help="List every problem (default: the first 50)."),
    ] = False,
) -> None:
    """Check a graph file and list its problems. Exit 0 if valid, 1 if not, 2 if unreadable."""
    file = one_graph_file(file, csv=csv)
    with reported_errors(debug):
        settings = load_settings(config)
        configure_logging(settings.logging, verbose)
        report = validate_graph(file, graph, config=settings)
        render_report(report, every=all_problems)
    raise typer.Exit(ExitCode.OK if report.ok else ExitCode.FAILED)
