"""The ``agentmap`` command line: each command is a module, composed here."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from agentmap._version import __version__
from agentmap.cli.batch import batch
from agentmap.cli.convert import convert, schema
from agentmap.cli.diagnose import diagnose_command
from agentmap.cli.graph import graph
from agentmap.cli.init import init
from agentmap.cli.jobs import jobs_app, worker
from agentmap.cli.resume import resume
from agentmap.cli.run import run
from agentmap.cli.runs import runs_app
from agentmap.cli.scaffold import scaffold
from agentmap.cli.serve import serve
from agentmap.cli.validate import validate

app = typer.Typer(
    name="agentmap",
    help="Run AI-agent workflows defined as CSV tables.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command(no_args_is_help=True)(run)
app.command(no_args_is_help=True)(resume)
app.command(no_args_is_help=True)(validate)
app.command(no_args_is_help=True)(scaffold)
app.command(name="graph", no_args_is_help=True)(graph)
app.command(no_args_is_help=True)(convert)
app.command()(schema)
app.command()(init)
app.add_typer(runs_app, name="runs")
app.add_typer(jobs_app, name="jobs")
app.command()(worker)
app.command(no_args_is_help=True)(batch)
app.command()(serve)
app.command(name="diagnose")(diagnose_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agentmap {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Run AI-agent workflows defined as CSV tables."""


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SystemExit as done:
        if done.code == 130:
            # A cancelled run may leave sync agents blocked in worker threads, and Python
            # waits for those at exit; Ctrl-C means now. Output is flushed first.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        raise
