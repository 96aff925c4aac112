"""Exit codes, and turning a library error into one clear message instead of a traceback."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import TYPE_CHECKING

import typer
from rich.text import Text

from agentmap.cli.render import render_problems, stderr
from agentmap.exceptions import (
    AgentMapError,
    GraphValidationError,
    JobNotFinishedError,
    RunCancelled,
    RunError,
    StoreError,
)
from agentmap.secrets import redact

if TYPE_CHECKING:
    from rich.traceback import Trace


class ExitCode(IntEnum):
    """What ``agentmap`` exits with. Part of the CLI's contract; documented in docs/cli.md."""

    OK = 0  # the graph ran and succeeded (validate: the file is valid)
    FAILED = 1  # the graph ran and failed per the success policy (validate: problems found)
    BAD_INPUT = 2  # bad file, graph, state, config or flag (or run id); nothing ran
    WAITING = 3  # the run stopped to wait for a person's answer: `agentmap resume` it
    INTERNAL = 70  # a bug in agentmap itself
    STORE = 74  # the run store can't be opened, read or written (EX_IOERR)
    NOT_FINISHED = 75  # a job's results were asked for before it finished: ask later (EX_TEMPFAIL)
    CANCELLED = 130  # Ctrl-C (128 + SIGINT), as shells report it


def exit_code_for(error: AgentMapError) -> ExitCode:
    """A run that stopped part-way (``RunError``) ran and failed; everything else is bad input."""
    if isinstance(error, RunCancelled):
        return ExitCode.CANCELLED
    if isinstance(error, StoreError):
        return ExitCode.STORE
    if isinstance(error, JobNotFinishedError):
        return ExitCode.NOT_FINISHED
    return ExitCode.FAILED if isinstance(error, RunError) else ExitCode.BAD_INPUT


@contextmanager
def reported_errors(debug: bool) -> Iterator[None]:
    """Print an agentmap error as one clear message and exit with its code.

    With ``--debug`` the traceback is shown too (redacted). Anything else escaping is a bug in
    agentmap: say so plainly (and exit 70) rather than dump a traceback at the user.
    """
    try:
        yield
    except typer.Exit:
        raise
    except BrokenPipeError:  # `agentmap runs list --json | head`: the reader has gone
        _quiet_stdout()
        raise typer.Exit(ExitCode.OK) from None
    except KeyboardInterrupt:  # Ctrl-C outside a run (while loading, say)
        stderr().print(Text("cancelled", style="yellow"))
        raise typer.Exit(ExitCode.CANCELLED) from None
    except AgentMapError as error:
        if debug:
            _print_traceback()
        if isinstance(error, GraphValidationError):
            render_problems(error.problems, error.warnings)
        else:
            stderr().print(Text.assemble(("error: ", "bold red"), error.message))
        if error.hint:
            stderr().print(Text(error.hint, style="dim"))
        raise typer.Exit(exit_code_for(error)) from None
    except Exception as error:
        if debug:
            _print_traceback()
        logging.getLogger("agentmap").debug("internal error", exc_info=True)
        stderr().print(
            Text.assemble(
                ("internal error: ", "bold red"),
                f"{type(error).__name__}: {redact(str(error))} — this is a bug in agentmap; run "
                "again with --debug for the traceback and please report it",
            )
        )
        raise typer.Exit(ExitCode.INTERNAL) from None


def _print_traceback() -> None:
    """The traceback of the error being handled, as rich shows it, with every exception's
    message redacted: a chained library error (an SDK's, pydantic's) may quote a key."""
    from rich.traceback import Traceback  # its syntax highlighting is only paid for here

    kind, error, frames = sys.exc_info()
    if kind is None or error is None:
        return
    trace = Traceback.extract(kind, error, frames)
    _redact_trace(trace)
    stderr().print(Traceback(trace))


def _redact_trace(trace: Trace) -> None:
    for stack in trace.stacks:
        stack.exc_value = redact(stack.exc_value)
        stack.notes = [redact(note) for note in stack.notes]
        if stack.syntax_error is not None:
            stack.syntax_error.msg = redact(stack.syntax_error.msg)
            stack.syntax_error.line = redact(stack.syntax_error.line)
        for group in stack.exceptions:
            _redact_trace(group)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered for a reader that has gone would
    fail again when Python flushes it at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
