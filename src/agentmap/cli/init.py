"""``agentmap init``: start a project from a template."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from agentmap.cli.errors import reported_errors
from agentmap.cli.options import DebugOption
from agentmap.cli.render import stdout
from agentmap.project import TEMPLATES, init_project


def init(
    directory: Annotated[Path, typer.Argument(help="Project folder (created if missing).")] = Path(
        "."
    ),
    template: Annotated[
        str,
        typer.Option("--template", "-t", help=f"Starter graph: {', '.join(TEMPLATES)}."),
    ] = "hello",
    debug: DebugOption = False,
) -> None:
    """Create a project (config, a graph, agents/) that runs straight away."""
    with reported_errors(debug):
        result = init_project(directory, template)
    for path in result.written:
        stdout().print(Text.assemble(("wrote ", "green"), str(path)))
    for path in result.skipped:
        stdout().print(Text.assemble(("kept ", "yellow"), f"{path} (exists; not overwritten)"))
    cd = "" if directory == Path(".") else f"cd {shlex.quote(str(directory))} && "
    stdout().print(Text(f"\nNext: {cd}{result.next_command}"))
