"""``agentmap run``: run a graph and show what happened."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from agentmap.api import run_graph, validate_graph
from agentmap.cli.ask import ask, can_ask
from agentmap.cli.errors import ExitCode, reported_errors
from agentmap.cli.logs import configure_logging
from agentmap.cli.options import (
    ConfigOption,
    CsvOption,
    DebugOption,
    GraphOption,
    JsonOption,
    MaybeGraphFileArgument,
    NoInputOption,
    RecordOption,
    ReplayOption,
    StreamOption,
    TimeoutOption,
    TraceOption,
    VerboseOption,
    one_graph_file,
)
from agentmap.cli.render import (
    render_json,
    render_problems,
    render_questions,
    render_result,
    resume_command,
    stderr,
)
from agentmap.config import Settings, load_settings
from agentmap.events import Event, Handler, NodeOutputChunk
from agentmap.exceptions import RunError, StateError
from agentmap.graph.loader import split_source
from agentmap.results import ExecutionResult
from agentmap.userfiles import DEFAULT_MAX_FILE_MB, read_user_file


def run(
    file: MaybeGraphFileArgument = None,
    graph: GraphOption = None,
    csv: CsvOption = None,
    workflow: Annotated[
        str | None,
        typer.Option(
            "--workflow",
            "-w",
            help="The graph file, as AgentMap spells it: the same as FILE (FILE::NAME picks a "
            "graph).",
            show_default=False,
        ),
    ] = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            "-s",
            help="Initial state: JSON text, @file.json, or - to read JSON from stdin. "
            'A JSON value that is not an object becomes {"input": value}.',
            show_default=False,
        ),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--start", help="Start at this node instead of the first row's.")
    ] = None,
    as_json: JsonOption = False,
    timeout: TimeoutOption = None,
    trace: TraceOption = False,
    stream: StreamOption = False,
    record: RecordOption = None,
    replay: ReplayOption = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Run again each time the graph, its agents, functions, prompts or config change.",
        ),
    ] = False,
    validate: Annotated[
        bool,
        typer.Option(
            "--validate",
            help="Check the file first, as `agentmap validate` does, and show its warnings; "
            "with errors nothing runs.",
        ),
    ] = False,
    pretty: Annotated[
        bool,
        typer.Option(
            "--pretty",
            "-p",
            help="The readable view (the default; AgentMap's spelling). Not with --json.",
        ),
    ] = False,
    no_input: NoInputOption = False,
    config: ConfigOption = None,
    verbose: VerboseOption = 0,
    debug: DebugOption = False,
) -> None:
    """Run a graph. Exit 0 if it succeeded, 1 if it failed, 2 on bad input, 3 if it waits."""
    file = one_graph_file(file, csv=csv, workflow=workflow)
    if timeout is not None and timeout <= 0:
        raise typer.BadParameter("must be more than 0 seconds", param_hint="--timeout")
    if pretty and as_json:
        raise typer.BadParameter("use --pretty or --json, not both", param_hint="--pretty")
    if watch:
        _watch(file, graph, state, start, as_json, validate, config, verbose, debug)
    with reported_errors(debug):
        settings = llm_settings(config, stream, record, replay)
        configure_logging(settings.logging, verbose)
        initial = parse_state(state, settings.limits.max_file_mb)
        if validate:
            _validate_first(file, graph, settings)
        code = report(
            lambda handlers: run_graph(
                file,
                initial,
                graph=graph,
                start=start,
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


def report(
    call: Callable[[list[Handler]], ExecutionResult],
    settings: Settings,
    config: Path | None,
    *,
    as_json: bool,
    trace: bool,
    stream: bool,
) -> ExitCode:
    """Run ``call`` (given the handlers ``--trace``/``--stream`` ask for), show what happened
    and how to carry it on, and return the exit code. Shared by ``run`` and ``resume``."""
    output = sys.stderr if as_json else sys.stdout
    streaming = stream and not as_json and sys.stdout.isatty()
    if trace:
        from agentmap.cli.trace import Trace  # rich.live only when asked for
    try:
        with Trace(output) if trace else contextlib.nullcontext() as view:
            handlers: list[Handler] = [view] if view is not None else []
            if streaming:
                handlers.append(_print_chunks)
            result = call(handlers)
    except RunError as error:
        if streaming:
            sys.stdout.write("\n")
        if error.result is not None:
            _show(error.result, as_json, None, error=error.message)  # no recovery note
            error.hint = _resume_hint(error.result, settings, config)
        raise
    if streaming:
        sys.stdout.write("\n")  # end the streamed text before the result table
    _show(result, as_json, settings.execution.success_policy.type)
    _show_resume_hint(result, settings, config)
    return _exit_code(result)


def llm_settings(
    config: Path | None, stream: bool, record: Path | None, replay: Path | None
) -> Settings:
    """The settings of ``config``, with ``--stream`` / ``--record`` / ``--replay`` applied."""
    return _with_llm_flags(load_settings(config), stream, record, replay)


def _exit_code(result: ExecutionResult) -> ExitCode:
    """0 succeeded, 1 failed, 3 waiting for an answer."""
    if result.waiting:
        return ExitCode.WAITING
    return ExitCode.OK if result.success else ExitCode.FAILED


def _show_resume_hint(result: ExecutionResult, settings: Settings, config: Path | None) -> None:
    """After a run that waits or failed: the exact command that carries it on."""
    command = _resume_command(result, settings, config)
    if command is None:
        return
    if result.waiting:
        err = stderr()
        err.print(Text(f"run {result.run_id} is waiting for an answer:", style="bold yellow"))
        render_questions(err, [w.to_dict() for w in result.waiting], command)
    elif result.resumable:
        stderr().print(Text(f"to carry this run on: {command}", style="dim"))


def _resume_hint(result: ExecutionResult, settings: Settings, config: Path | None) -> str | None:
    """The line that tells how to carry on a run that stopped part-way, if it can be."""
    command = _resume_command(result, settings, config)
    return f"to carry this run on: {command}" if command else None


def _resume_command(result: ExecutionResult, settings: Settings, config: Path | None) -> str | None:
    """``agentmap resume RUN_ID [--config FILE]``, or None when the run wasn't checkpointed."""
    if not result.run_id or not settings.storage.enabled or not settings.storage.checkpoints:
        return None
    return resume_command(result.run_id, config)


def _validate_first(file: str, graph: str | None, settings: Settings) -> None:
    """``--validate``: the file's problems as ``agentmap validate`` lists them, on stderr (so
    ``--json`` keeps stdout to itself); errors stop here, as they would stop the run anyway."""
    report = validate_graph(file, graph, config=settings)
    report.raise_for_errors()
    render_problems((), report.warnings)
    warned = f" ({len(report.warnings)} warning{'s' if len(report.warnings) != 1 else ''})"
    stderr().print(Text(f"{file} is valid{warned if report.warnings else ''}", style="dim"))


def _watch(
    file: str,
    graph: str | None,
    state: str | None,
    start: str | None,
    as_json: bool,
    validate: bool,
    config: Path | None,
    verbose: int,
    debug: bool,
) -> None:
    """Run, then run again on every save; errors are shown and the watch goes on (Ctrl-C ends)."""
    from agentmap.watch import saves, watch_targets

    with reported_errors(debug):
        settings = load_settings(config)
        targets = watch_targets(split_source(file)[0], settings)
        text = sys.stdin.read() if state == "-" else state  # stdin can only be read once
    once = functools.partial(
        run,
        file,
        graph=graph,
        csv=None,
        workflow=None,
        state=text,
        start=start,
        as_json=as_json,
        timeout=None,
        trace=False,
        stream=False,
        record=None,
        replay=None,
        watch=False,
        validate=validate,
        pretty=False,
        no_input=False,
        config=config,
        verbose=verbose,
        debug=debug,
    )
    _run_reporting_exit(once)
    for changed in saves(targets):
        names = ", ".join(str(path) for path in changed)
        stderr().print(Text(f"\n— {names} changed; running again —", style="bold cyan"))
        _run_reporting_exit(once)
    raise typer.Exit(130)  # the watch only ends on Ctrl-C


def _run_reporting_exit(once: Callable[[], None]) -> None:
    try:
        once()
    except typer.Exit as done:
        stderr().print(Text(f"(exit code {done.exit_code}; watching for changes)", style="dim"))


def _with_llm_flags(
    settings: Settings, stream: bool, record: Path | None, replay: Path | None
) -> Settings:
    """``--stream`` / ``--record`` / ``--replay`` override the llm settings for this run."""
    if record is not None and replay is not None:
        raise typer.BadParameter("use --record or --replay, not both", param_hint="--record")
    changes: dict[str, Any] = {}
    if stream:
        changes["stream"] = True
    if record is not None:
        changes["record"] = record
    if replay is not None:
        if not replay.is_file():
            raise typer.BadParameter(f"no cassette at {replay}", param_hint="--replay")
        changes["replay"] = replay
    if not changes:
        return settings
    return settings.model_copy(update={"llm": settings.llm.model_copy(update=changes)})


def _print_chunks(event: Event) -> None:
    if isinstance(event, NodeOutputChunk):
        sys.stdout.write(event.text)
        sys.stdout.flush()


def parse_state(text: str | None, max_file_mb: float = DEFAULT_MAX_FILE_MB) -> Any:
    """The ``--state`` value: JSON text, ``@file.json``, or ``-`` for JSON on stdin.

    ``@file`` must be a regular file of at most ``max_file_mb`` megabytes (a FIFO would block,
    ``/dev/zero`` never end): stdin is read with ``-``.
    """
    if text is None:
        return None
    source = "--state"
    try:
        if text == "-":
            source = "--state - (stdin)"
            text = sys.stdin.read()
        elif text.startswith("@"):
            source = f"--state {text}"
            data = read_user_file(
                Path(text[1:]),
                error=StateError,
                max_mb=max_file_mb,
                display=source,
                what="a state",
                fix="send it to --state - (stdin) instead",
            )
            text = data.decode("utf-8-sig")
    except OSError as exc:
        raise StateError(
            f"{source}: can't read {exc.filename or 'it'} ({exc.strerror}) — check the path"
        ) from exc
    except UnicodeDecodeError as exc:
        raise StateError(
            f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start}) — save it as UTF-8"
        ) from exc
    try:
        value = json.loads(text)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # text that can't be shown or stored
    except UnicodeEncodeError as exc:
        raise StateError(
            f"{source}: holds {exc.object[exc.start : exc.end]!r}, half of a character (a lone "
            "surrogate), which no output or store can hold — give whole characters"
        ) from exc
    except json.JSONDecodeError as exc:
        raise StateError(
            f"{source}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}) — "
            'pass a JSON object such as \'{"input": "hi"}\', @file.json, or - for stdin'
        ) from exc
    except RecursionError as exc:  # json's C parser gives up on very deep nesting this way
        raise StateError(f"{source}: nested too deeply to read — pass a flatter value") from exc
    except ValueError as exc:  # an integer longer than Python reads (sys.get_int_max_str_digits)
        raise StateError(
            f"{source}: a number has more digits than can be read ({sys.get_int_max_str_digits()}"
            ' at most) — pass it as text, "12345…"'
        ) from exc
    return value


def _show(
    result: ExecutionResult, as_json: bool, policy: str | None, error: str | None = None
) -> None:
    if not as_json:
        render_result(result, policy)
        return
    document = result.to_dict()
    if error is not None:
        document["error"] = error
    render_json(document)
