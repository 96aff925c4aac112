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
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print exactly one JSON document (the result) on stdout.")
]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        help="Stop the run with an error after this many seconds (default: execution.timeout).",
        show_default=False,
    ),
]
TraceOption = Annotated[
    bool,
    typer.Option("--trace", help="Show nodes starting and finishing live (on stderr with --json)."),
]
StreamOption = Annotated[
    bool, typer.Option("--stream", help="Print model tokens as they arrive (in a terminal).")
]
RecordOption = Annotated[
    Path | None,
    typer.Option("--record", help="Save every model request and response to this cassette."),
]
ReplayOption = Annotated[
    Path | None,
    typer.Option("--replay", help="Answer model requests from this cassette, with no network."),
]
