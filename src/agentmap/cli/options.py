"""Options several commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentmap.graph.loader import SUFFIXES

_GRAPH_FILE_HELP = (
    f"Graph file ({', '.join(SUFFIXES)}). Append ::NAME to pick a graph, e.g. flows.csv::Main."
)
GraphFileArgument = Annotated[str, typer.Argument(help=_GRAPH_FILE_HELP, show_default=False)]
MaybeGraphFileArgument = Annotated[
    str | None,
    typer.Argument(help=_GRAPH_FILE_HELP + " Or --csv FILE.", metavar="FILE", show_default=False),
]
"""FILE where AgentMap's ``--csv FILE`` may give it instead (see ``one_graph_file``)."""
CsvOption = Annotated[
    str | None,
    typer.Option(
        "--csv", help="The graph file, as AgentMap spells it: the same as FILE.", show_default=False
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


def one_graph_file(file: str | None, **spellings: str | None) -> str:
    """The graph file, given as FILE or by one of AgentMap's flags (``csv="x.csv"`` is
    ``--csv x.csv``); two that differ are a usage error rather than a silent pick."""
    given = {"FILE": file, **{f"--{flag}": value for flag, value in spellings.items()}}
    named = {flag: value for flag, value in given.items() if value is not None}
    flags = " or ".join(f"{flag} FILE" for flag in given if flag != "FILE")
    if not named:
        raise typer.BadParameter(f"no graph file — give FILE (or {flags})", param_hint="FILE")
    if len(set(named.values())) > 1:
        both = " and ".join(f"{flag} {value}" for flag, value in named.items())
        raise typer.BadParameter(
            f"two graph files ({both}) — give one", param_hint=" / ".join(named)
        )
    return next(iter(named.values()))
