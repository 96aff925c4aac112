"""``agentmap resume``: carry on a failed, cancelled, crashed or waiting run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

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
from agentmap.cli.render import stderr
from agentmap.cli.run import llm_settings, report
from agentmap.pauses import NO_ANSWER
from agentmap.suggest import did_you_mean

RESPONSE_TYPES = (
    "approve",
    "reject",
    "choose",
    "respond",
    "submit",
    "edit",
    "save",
    "reply",
    "end",
    "continue",
)
"""AgentMap's ``agentmap resume THREAD_ID RESPONSE_TYPE --data JSON`` answers that mean
something here (see ``response_answer``)."""


def resume(
    run_id: Annotated[
        str,
        typer.Argument(
            help="The run's id, or its first characters (as `agentmap runs list` shows).",
            show_default=False,
        ),
    ],
    response: Annotated[
        str | None,
        typer.Argument(
            metavar="RESPONSE_TYPE",
            help="AgentMap's way to answer: approve, reject, choose, respond (or submit), edit "
            "(or save), reply, end or continue, with --data. The same as --approve, --reject, "
            "--choice N, --value TEXT.",
            show_default=False,
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            "-d",
            help='RESPONSE_TYPE\'s JSON: {"choice": N} (choose), {"text": "..."} (respond), '
            '{"edited": "..."} (edit), {"message": "..."} (reply), any value (continue).',
            show_default=False,
        ),
    ] = None,
    data_file: Annotated[
        Path | None,
        typer.Option(
            "--data-file", "-f", help="--data read from this JSON file.", show_default=False
        ),
    ] = None,
    value: Annotated[
        str | None,
        typer.Option(
            "--value",
            help="The answer for the waiting node (its Output_Field): text, the edited text "
            "(edit) or a message (conversation; empty ends it).",
            show_default=False,
        ),
    ] = None,
    approve: Annotated[
        bool,
        typer.Option("--approve", help="Approve the waiting node (an edit: keep the text as is)."),
    ] = False,
    reject: Annotated[
        bool,
        typer.Option("--reject", help="Reject the waiting node (a conversation: end it)."),
    ] = False,
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
    if response is not None or data is not None or data_file is not None:
        if answer is not NO_ANSWER:
            raise typer.BadParameter(
                "give one answer: RESPONSE_TYPE and --data, or --value / --approve / --reject / "
                "--choice",
                param_hint="RESPONSE_TYPE",
            )
        answer = response_answer(response, read_data(data, data_file))
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


NO_DATA: Any = object()
"""Neither ``--data`` nor ``--data-file`` was given."""


def read_data(text: str | None, file: Path | None) -> Any:
    """The JSON value of ``--data`` or ``--data-file`` (``NO_DATA`` for neither)."""
    if text is not None and file is not None:
        raise typer.BadParameter("give --data or --data-file, not both", param_hint="--data")
    if file is not None:
        source = f"--data-file {file}"
        try:
            text = file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise typer.BadParameter(
                f"can't read it ({exc.strerror}) — check the path", param_hint=source
            ) from exc
        except UnicodeDecodeError as exc:
            raise typer.BadParameter(
                "not UTF-8 text — save it as UTF-8", param_hint=source
            ) from exc
    elif text is None:
        return NO_DATA
    else:
        source = "--data"
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        reason = (
            f" ({exc.msg} at line {exc.lineno} column {exc.colno})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise typer.BadParameter(
            f'not valid JSON{reason} — pass JSON such as \'{{"text": "yes"}}\'',
            param_hint=source,
        ) from exc


def response_answer(response: str | None, data: Any) -> Any:
    """The answer AgentMap's ``RESPONSE_TYPE --data JSON`` gives, read the way AgentMap's human
    agent reads it: approve / reject are the approval itself, ``choose`` takes ``{"choice": N}``
    (N from 1, or the option's text), ``respond`` (or ``submit``) takes ``{"text": ...}``
    (AgentMap's docs say ``response``: both are read), ``edit`` (or ``save``) takes
    ``{"edited": ...}`` (or ``edited_content``, ``content``; with no data the text is kept as
    it was, as AgentMap keeps the original), ``reply`` takes ``{"message": ...}`` and ``end``
    ends a conversation, and ``continue`` — AgentMap's default — passes the data on as it is
    (for a ``suspend`` node). A bare JSON value does for the object around it. Whether the
    answer fits the question is checked against the waiting node, as for ``--value``."""
    kind = "continue" if response is None else response.strip().lower()
    if kind not in RESPONSE_TYPES:
        raise typer.BadParameter(
            f"'{response}' is not one of {', '.join(RESPONSE_TYPES)}"
            f"{did_you_mean(kind, RESPONSE_TYPES)}",
            param_hint="RESPONSE_TYPE",
        )
    if kind in ("approve", "reject", "end"):
        if data is not NO_DATA:
            what = "ending a conversation" if kind == "end" else "an approval"
            stderr().print(
                Text(f"note: {what} keeps no data; --data is not recorded with {kind}", "dim")
            )
        return kind == "approve"
    if kind == "continue":
        return NO_ANSWER if data is NO_DATA else data
    if kind in ("edit", "save") and data is NO_DATA:
        return True  # saved unchanged
    keys = {
        "choose": ("choice",),
        "respond": ("text", "response"),
        "submit": ("text", "response"),
        "edit": ("edited", "edited_content", "content"),
        "save": ("edited", "edited_content", "content"),
        "reply": ("message", "text"),
    }[kind]
    if isinstance(data, Mapping):
        found = [data[key] for key in keys if key in data]
        data = found[0] if found else NO_DATA
    wanted = int if kind == "choose" else str
    if data is NO_DATA or isinstance(data, bool) or not isinstance(data, wanted | str):
        example = '{"choice": 2}' if kind == "choose" else f'{{"{keys[0]}": "..."}}'
        raise typer.BadParameter(f"{kind} needs --data '{example}'", param_hint="--data")
    return data
