"""``agentmap init``: start a project."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from agentmap.cli.errors import reported_errors
from agentmap.cli.options import DebugOption
from agentmap.cli.render import stdout
from agentmap.project import init_project


def init(
    directory: Annotated[Path, typer.Argument(help="Project folder (created if missing).")] = Path(
        "."
    ),
    debug: DebugOption = False,
) -> None:
    """Create a project (config, graphs/hello.csv, agents/) that runs straight away."""
    with reported_errors(debug):
        written, skipped = init_project(directory)
    for path in written:
        stdout().print(Text.assemble(("wrote ", "green"), str(path)))
    for path in skipped:
        stdout().print(Text.assemble(("kept ", "yellow"), f"{path} (exists; not overwritten)"))
    cd = "" if directory == Path(".") else f"cd {shlex.quote(str(directory))} && "
    stdout().print(f'\nNext: {cd}agentmap run graphs/hello.csv --state \'{{"input": "hi"}}\'')
