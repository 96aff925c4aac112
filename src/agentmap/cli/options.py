"""Options several commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

GraphFileArgument = Annotated[
    str,
    typer.Argument(
        help="Graph file (.csv). Append ::NAME to pick a graph, e.g. flows.csv::Main.",
        show_default=False,
    ),
]
GraphOption = Annotated[
    str | None,
    typer.Option(
        "--graph", "-g", help="Graph to use when the file holds several.", show_default=False
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: ./agentmap_config.yaml if present, else built-in defaults).",
        show_default=False,
    ),
]
VerboseOption = Annotated[
    int, typer.Option("--verbose", "-v", count=True, help="Log more to stderr: -v info, -vv debug.")
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")]
NoInputOption = Annotated[
    bool,
    typer.Option(
        "--no-input",
        help="Never ask at the terminal: a node that asks a person stops the run as waiting "
        "(exit 3) for `agentmap resume`.",
    ),
]
