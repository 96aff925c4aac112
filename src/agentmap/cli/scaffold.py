"""``agentmap scaffold``: stubs for the agents and routing functions a graph still lacks."""

from __future__ import annotations

import typer
from rich.text import Text

from agentmap.cli.errors import reported_errors
from agentmap.cli.options import (
    ConfigOption,
    CsvOption,
    DebugOption,
    GraphOption,
    MaybeGraphFileArgument,
    one_graph_file,
)
from agentmap.cli.render import stderr, stdout
from agentmap.config import load_settings
from agentmap.scaffold import scaffold_graph


def scaffold(
    file: MaybeGraphFileArgument = None,
    graph: GraphOption = None,
    csv: CsvOption = None,
    config: ConfigOption = None,
    debug: DebugOption = False,
) -> None:
    """Write a stub module per unknown agent type and missing func: function. Never overwrites."""
    file = one_graph_file(file, csv=csv)
    with reported_errors(debug):
        result = scaffold_graph(file, graph, config=load_settings(config))
    for path in result.written:
        stdout().print(Text.assemble(("wrote ", "green"), str(path)))
    for path in result.skipped:
        stdout().print(Text.assemble(("kept ", "yellow"), f"{path} (exists; not overwritten)"))
    for note in result.notes:
        stderr().print(Text.assemble(("warning ", "yellow"), note))
    if not (result.written or result.skipped or result.notes):
        stdout().print("Nothing to scaffold: every agent type and function the graph uses exists.")
    raise typer.Exit(0)
