"""``agentmap resume``: carry on a failed, cancelled, crashed or waiting run."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from agentmap.api import resume_run
from agentmap.cli.ask import ask, can_ask
from agentmap.cli.errors import reported_errors
from agentmap.cli.logs import configure_logging
from agentmap.cli.options import (
    ConfigOption,
    DebugOption,
    JsonOption,
    NoInputOption,
    RecordOption,
    ReplayOption,
    StreamOption,
    TimeoutOption,
    TraceOption,
    VerboseOption,
)
from agentmap.cli.run import llm_settings, report
from agentmap.pauses import NO_ANSWER


def resume(
    run_id: Annotated[
        str,
        typer.Argument(
            help="The run's id, or its first characters (as `agentmap runs list` shows).",
            show_default=False,
        ),
    ],
    value: Annotated[
        str | None,
        typer.Option(
            "--value",
            help="The answer for the waiting node (its Output_Field).",
            show_default=False,
        ),
    ] = None,
    approve: Annotated[bool, typer.Option("--approve", help="Approve the waiting node.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject the waiting node.")] = False,
    choice: Annotated[
        int | None,
        typer.Option(
            "--choice", help="Pick option N (from 1) of the waiting node.", show_default=False
        ),
    ] = None,
    node: Annotated[
        str | None,
        typer.Option("--node", help="The node to answer, when several wait.", show_default=False),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Carry on even though the graph file changed since the run."),
    ] = False,
    as_json: JsonOption = False,
    timeout: TimeoutOption = None,
    trace: TraceOption = False,
    stream: StreamOption = False,
    record: RecordOption = None,
    replay: ReplayOption = None,
    no_input: NoInputOption = False,
    config: ConfigOption = None,
    verbose: VerboseOption = 0,
    debug: DebugOption = False,
) -> None:
    """Resume a stored run from its last checkpoint; nodes that finished don't run again.

    Exit codes as for `agentmap run`: 0 succeeded, 1 failed, 2 bad input, 3 waiting again.
    """
    answer = answer_given(value, approve, reject, choice)
    if timeout is not None and timeout <= 0:
        raise typer.BadParameter("must be more than 0 seconds", param_hint="--timeout")
    with reported_errors(debug):
        settings = llm_settings(config, stream, record, replay)
        configure_logging(settings.logging, verbose)
        code = report(
            lambda handlers: resume_run(
                run_id,
                answer,
                node=node,
                force=force,
                config=settings,
                handlers=handlers,
                timeout=timeout,
                ask=ask if can_ask(no_input) else None,
            ),
            settings,
            config,
            as_json=as_json,
            trace=trace,
            stream=stream,
        )
    raise typer.Exit(code)


def answer_given(value: str | None, approve: bool, reject: bool, choice: int | None) -> Any:
    """The answer the flags give (``NO_ANSWER``: none); two of them is a usage error."""
    given = {
        "--value": value is not None,
        "--approve": approve,
        "--reject": reject,
        "--choice": choice is not None,
    }
    flags = [flag for flag, on in given.items() if on]
    if len(flags) > 1:
        raise typer.BadParameter(f"give one answer, not {' and '.join(flags)}", param_hint=flags[0])
    if approve or reject:
        return approve
    if choice is not None:
        return choice
    return value if value is not None else NO_ANSWER
