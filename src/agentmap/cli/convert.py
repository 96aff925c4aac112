"""``agentmap convert`` and ``agentmap schema``: move graphs between formats, describe YAML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from agentmap.cli.errors import reported_errors
from agentmap.cli.options import DebugOption
from agentmap.cli.render import stdout


def convert(
    source: Annotated[
        Path, typer.Argument(help="Graph file to read (.csv .xlsx .ods .yaml .json).")
    ],
    destination: Annotated[
        Path,
        typer.Argument(help="File to write; its suffix picks the format (.csv .xlsx .yaml .json)."),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Replace DESTINATION if it exists.")
    ] = False,
    debug: DebugOption = False,
) -> None:
    """Convert a graph file to another format, losslessly."""
    from agentmap.convert import convert_graph  # writers are only loaded for this command

    with reported_errors(debug):
        graph_file = convert_graph(source, destination, overwrite=force)
    names = ", ".join(graph_file.graphs)
    stdout().print(Text.assemble(("wrote ", "green"), f"{destination} ({names})"))


def schema() -> None:
    """Print the JSON Schema of YAML/JSON graph files (for editor completion and checks)."""
    from agentmap.graph.schema import graph_json_schema

    stdout().file.write(json.dumps(graph_json_schema(), indent=2) + "\n")
