"""``agentmap jobs`` and ``agentmap worker``: graph runs handed to workers.

Each command calls one function of the public API (``create_job``, ``get_job_status``,
``get_job_results``, ``cancel_job``, ``list_jobs``, ``run_worker``) and draws the answer;
``--json`` prints one JSON document for scripts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from agentmap.api import (
    afollow_job,
    answer_job,
    cancel_job,
    close_jobs,
    create_job,
    get_job_results,
    get_job_status,
    job_events,
    list_jobs,
    run_worker,
)
from agentmap.cli.errors import ExitCode, reported_errors
from agentmap.cli.logs import configure_logging
from agentmap.cli.options import (
    ConfigOption,
    DebugOption,
    GraphFileArgument,
    GraphOption,
    VerboseOption,
)
from agentmap.cli.render import (
    format_duration,
    render_json,
    render_json_list,
    state_table,
    stderr,
    stdout,
)
from agentmap.cli.resume import answer_given
from agentmap.cli.run import parse_state
from agentmap.config import load_settings
from agentmap.exceptions import JobError, JobFailedError
from agentmap.graph.loader import resolve_source
from agentmap.jobs import JobStatus
from agentmap.pauses import NO_ANSWER
from agentmap.results import JobResult
from agentmap.store.jobstore import JOB_STATES, JobEvent, JobState

jobs_app = typer.Typer(
    help="Jobs: graph runs handed to workers — submit, status, results, events, cancel, list.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

STYLES = {
    "completed": "green",
    "failed": "red",
    "waiting": "yellow",
    "cancelled": "yellow",
    "retrying": "magenta",
    "running": "cyan",
    "queued": "dim",
}
_EXIT = {
    "completed": ExitCode.OK,
    "failed": ExitCode.FAILED,
    "waiting": ExitCode.WAITING,
    "cancelled": ExitCode.CANCELLED,
}

JobIdArgument = Annotated[
    str,
    typer.Argument(
        help="The job's id, or its first characters (as `agentmap jobs list` shows).",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")
]
TagsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--tag", "-t", help="A tag (repeat for several): gpu, team-a, nightly.", show_default=False
    ),
]


@jobs_app.command()
def submit(
    file: GraphFileArgument,
    graph: GraphOption = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            "-s",
            help="The run's initial state: a JSON object, @file.json, or - to read it from stdin.",
            show_default=False,
        ),
    ] = None,
    tag: TagsOption = None,
    retries: Annotated[
        int,
        typer.Option("--retries", min=0, help="Try a failed job again this many times."),
    ] = 0,
    priority: Annotated[
        int, typer.Option("--priority", help="Workers take higher priorities first.")
    ] = 0,
    name: Annotated[
        str | None, typer.Option("--name", help="A name to know the job by.", show_default=False)
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help="Run the job here and now, and show its results (exit as `run` does)."
        ),
    ] = False,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    verbose: VerboseOption = 0,
    debug: DebugOption = False,
) -> None:
    """Record a run of a graph as a queued job and print its id.

    Without --wait, `agentmap worker` processes run queued jobs. With --wait the job runs here:
    exit 0 if it completed, 1 if it failed, 3 if it waits for a person.
    """
    with reported_errors(debug):
        settings = load_settings(config)
        configure_logging(settings.logging, verbose)
        inputs = parse_state(state, settings.limits.max_file_mb)
        if inputs is not None and not isinstance(inputs, dict):
            raise JobError(
                f"--state: a job's initial state is a JSON object such as "
                f'\'{{"input": "hi"}}\' (got a JSON {type(inputs).__name__})'
            )
        path, graph_name = resolve_source(file, graph)
        source = f"{path}::{graph_name}" if graph_name else str(path)
        # Dask with a scheduler of its own: hand the job over (it outlives this process).
        # Otherwise record it for workers (or for --wait): a cluster or a worker thread made
        # by this command would end with it.
        remote = settings.jobs.executor == "dask" and settings.jobs.dask.address is not None
        queued = (
            settings
            if remote and not wait
            else settings.model_copy(
                update={"jobs": settings.jobs.model_copy(update={"executor": "workers"})}
            )
        )
        job = create_job(
            source,
            inputs,
            tags=tag or (),
            max_retries=retries,
            priority=priority,
            name=name,
            config=queued,
        )
        if not wait:
            if as_json:
                render_json({"job_id": job.id, "state": job.state})
            else:
                stdout().print(job.id)
                runs = (
                    f"handed to the Dask scheduler {settings.jobs.dask.address}"
                    if remote
                    else f"queued; `agentmap worker{_config_flag(config)}` runs queued jobs"
                )
                stderr().print(
                    f"{runs}, and `agentmap jobs status {job.id[:8]}{_config_flag(config)}` "
                    "says where it is",
                    style="dim",
                )
            return
        run_worker(
            config=queued,
            only=[job.id],
            until=lambda: get_job_status(job.id, config=queued).state in _EXIT,
        )
        status = get_job_status(job.id, config=queued)
        _show_outcome(status, queued, as_json)
    raise typer.Exit(_EXIT.get(status.state, ExitCode.FAILED))


@jobs_app.command()
def status(
    job_id: JobIdArgument,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    debug: DebugOption = False,
) -> None:
    """Show where a job stands: state, attempt, nodes done and running, times, worker, error."""
    with reported_errors(debug):
        found = get_job_status(job_id, config=config)
        if as_json:
            render_json(found.to_dict())
        else:
            stdout().print(_status_table(found))


@jobs_app.command()
def results(
    job_id: JobIdArgument,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    debug: DebugOption = False,
) -> None:
    """Show a finished job's final state. Exit 1 if it failed, 75 while it is not finished."""
    with reported_errors(debug):
        try:
            result = get_job_results(job_id, config=config)
        except JobFailedError as error:
            if as_json and error.job is not None:
                render_json(error.job.to_dict())
            raise
        if as_json:
            render_json(result.to_dict())
        else:
            stdout().print(state_table(result.final_state))


@jobs_app.command()
def cancel(
    job_id: JobIdArgument,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    debug: DebugOption = False,
) -> None:
    """Cancel a job: a queued or waiting one never runs; a running one is stopped."""
    with reported_errors(debug):
        found = cancel_job(job_id, config=config)
        if as_json:
            render_json(found.to_dict())
        elif found.state == "cancelled":
            stdout().print(Text.assemble(found.id, " ", ("cancelled", "yellow")))
        else:
            stderr().print(
                f"job {found.id} already {found.state}; nothing to cancel"
                if found.ended
                else f"job {found.id} was asked to stop; its worker has not answered yet"
            )


@jobs_app.command()
def events(
    job_id: JobIdArgument,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", "-f", help="Keep printing events as they come, until the job ends."
        ),
    ] = False,
    after: Annotated[
        int, typer.Option("--after", min=0, help="Only events after this number.")
    ] = 0,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print a JSON array of the events (with --follow: one JSON object per line).",
        ),
    ] = False,
    config: ConfigOption = None,
    debug: DebugOption = False,
) -> None:
    """Show what happened to a job: attempts, nodes starting and ending (with their times),
    failures and retries, waits and answers, its end. --follow watches it live."""
    with reported_errors(debug):
        if not follow:
            found = job_events(job_id, after, config=config)
            if as_json:
                render_json_list([event.to_dict() for event in found])
            else:
                for event in found:
                    stdout().print(_event_line(event))
            return
        try:
            asyncio.run(_follow(job_id, after, as_json, config))
        except KeyboardInterrupt:
            raise typer.Exit(ExitCode.CANCELLED) from None


async def _follow(job_id: str, after: int, as_json: bool, config: Path | None) -> None:
    async for event in afollow_job(job_id, after, config=config):
        if as_json:
            out = stdout().file
            out.write(json.dumps(event.to_dict(), ensure_ascii=False, default=repr) + "\n")
            out.flush()
        else:
            stdout().print(_event_line(event))


_EVENT_STYLES = {
    "node_failed": "red",
    "node_retrying": "magenta",
    "job_waiting": "yellow",
    "node_completed": "green",
    "job_finished": "bold",
}


def _event_line(event: JobEvent) -> Text:
    at = datetime.fromtimestamp(event.at).strftime("%H:%M:%S.%f")[:-3]
    line = Text.assemble(
        (f"{event.seq:>4} ", "dim"),
        f"{at}  ",
        (f"{event.kind:<15}", _EVENT_STYLES.get(event.kind, "")),
    )
    data = event.data
    if event.node:
        line.append(f" {event.node}")
    if "duration" in data:
        line.append(f" ({format_duration(float(data['duration']))})", "dim")
    if "state" in data:
        line.append(f" {data['state']}", STYLES.get(str(data["state"]), ""))
    if "attempt" in data and event.kind == "job_started":
        line.append(f" attempt {data['attempt']}", "dim")
    if "error" in data:
        line.append(f" — {data['error']}", "red")
    if "text" in data:
        line.append(f" {data['text']!r}", "dim")
    return line


@jobs_app.command()
def answer(
    job_id: JobIdArgument,
    value: Annotated[
        str | None,
        typer.Option("--value", help="The answer (text) for the waiting node.", show_default=False),
    ] = None,
    approve: Annotated[bool, typer.Option("--approve", help="Approve the waiting node.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject the waiting node.")] = False,
    choice: Annotated[
        int | None,
        typer.Option("--choice", help="Pick option N (from 1).", show_default=False),
    ] = None,
    node: Annotated[
        str | None,
        typer.Option("--node", help="The node to answer, when several wait.", show_default=False),
    ] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    debug: DebugOption = False,
) -> None:
    """Answer a waiting job's question; a worker carries it on with the answer."""
    given = answer_given(value, approve, reject, choice)
    if given is NO_ANSWER:
        raise typer.BadParameter("give the answer: --value, --approve, --reject or --choice")
    with reported_errors(debug):
        found = answer_job(job_id, given, node=node, config=config)
        if as_json:
            render_json(found.to_dict())
        else:
            stdout().print(Text.assemble(found.id, " answered; ", (found.state, "dim")))


def _valid_state(value: str | None) -> str | None:
    if value is not None and value not in JOB_STATES:
        raise typer.BadParameter(
            f"'{value}' is not a job state — use one of {', '.join(JOB_STATES)}"
        )
    return value


@jobs_app.command("list")
def list_command(
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help=f"Only jobs in this state: {', '.join(JOB_STATES)}.",
            callback=_valid_state,
            show_default=False,
        ),
    ] = None,
    tag: TagsOption = None,
    graph: Annotated[
        str | None,
        typer.Option("--graph", "-g", help="Only jobs of this graph.", show_default=False),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=0, help="Show at most this many jobs (0: all).")
    ] = 20,
    before: Annotated[
        str | None,
        typer.Option(
            "--before",
            help="Only jobs created before this job id (the next page) or ISO time.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    debug: DebugOption = False,
) -> None:
    """List jobs, newest first: id, state, graph, tags, attempt, nodes done, created."""
    with reported_errors(debug):
        found = list_jobs(
            _state(status),
            tag or (),
            graph,
            limit or None,
            _before(before),
            config=config,
        )
        if as_json:
            render_json({"jobs": [job.to_dict() for job in found]})
        elif found:
            stdout().print(_jobs_table(found))
        else:
            stderr().print("no jobs" + (" match" if status or tag or graph or before else ""))


def worker(
    tags: Annotated[
        str | None,
        typer.Option(
            "--tags",
            help="Take only jobs whose tags are all among these (comma-separated): gpu,team-a.",
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "--nthreads",
            min=1,
            help="Jobs run at once (default: jobs.concurrency; with --scheduler: 4).",
            show_default=False,
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Be a worker of this Dask scheduler (tcp://host:8786) instead of taking jobs "
            "from the store; --tags become its resources.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    verbose: VerboseOption = 0,
    debug: DebugOption = False,
) -> None:
    """Run queued jobs until Ctrl-C, which gives running jobs back to be carried on."""
    signal.signal(signal.SIGTERM, _interrupt)  # `kill`, systemd, docker stop: as Ctrl-C
    with reported_errors(debug):
        settings = load_settings(config)
        configure_logging(settings.logging, max(verbose, 1))
        wanted = [t.strip() for t in tags.split(",") if t.strip()] if tags is not None else None
        source = (
            f"the Dask scheduler {scheduler}" if scheduler else settings.storage.url.split("@")[-1]
        )
        at_once = concurrency or (4 if scheduler else settings.jobs.concurrency)
        stderr().print(
            f"worker: running jobs from {source}, {at_once} at a time; Ctrl-C stops",
            style="dim",
        )
        ran = run_worker(config=settings, tags=wanted, concurrency=concurrency, scheduler=scheduler)
        close_jobs()
        stderr().print(f"worker stopped after {ran} job attempt{'s' if ran != 1 else ''}")
    # The jobs it held are given back and the store is closed. A sync agent of a job it stopped
    # may still be running on a thread, which nothing can interrupt, and Python would wait for
    # it at exit (for minutes, maybe): leave it behind instead; its job carries on elsewhere.
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(0)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


# --- drawing --------------------------------------------------------------------------------


def _show_outcome(status: JobStatus, config: Any, as_json: bool) -> None:
    result: JobResult | None
    try:
        result = get_job_results(status.id, config=config)
    except JobFailedError as error:
        result = error.job
    except JobError:
        result = None  # waiting
    if as_json:
        document = status.to_dict()
        if result is not None:
            document |= {"final_state": result.final_state, "summary": result.summary}
        render_json(document)
        return
    stdout().print(_status_table(status))
    if result is not None and result.final_state:
        stdout().print(state_table(result.final_state))


def _status_table(job: JobStatus) -> Table:
    table = Table(show_header=False, show_edge=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    rows: list[tuple[str, Text | str]] = [
        ("job", job.id),
        ("state", Text(job.state, STYLES.get(job.state, ""))),
        ("graph", job.graph),
    ]
    if job.name:
        rows.append(("name", job.name))
    if job.tags:
        rows.append(("tags", ", ".join(job.tags)))
    rows.append(("attempt", f"{job.attempt} of {job.max_retries + 1}"))
    rows.append(("nodes done", str(job.nodes_done)))
    if job.running_nodes:
        rows.append(("running", ", ".join(job.running_nodes)))
    rows.append(("created", _when(job.created_at)))
    if job.started_at:
        rows.append(("started", _when(job.started_at)))
    if job.finished_at:
        took = format_duration(job.finished_at - (job.started_at or job.created_at))
        rows.append(("finished", f"{_when(job.finished_at)} ({took})"))
    if job.next_attempt_at:
        rows.append(("next attempt", _when(job.next_attempt_at)))
    if job.worker:
        rows.append(("worker", job.worker))
    if job.error:
        rows.append(("error", Text(job.error, "red")))
    if job.cancel_requested and not job.ended:
        rows.append(("", Text("cancel requested", "yellow")))
    for key, value in rows:
        table.add_row(key, value)
    return table


def _jobs_table(jobs: list[JobStatus]) -> Table:
    table = Table(show_edge=False)
    for column in ("Job", "State", "Graph", "Tags", "Attempt", "Nodes", "Created"):
        table.add_column(column, justify="right" if column in ("Attempt", "Nodes") else "left")
    for job in jobs:
        table.add_row(
            job.id[:12],
            Text(job.state, STYLES.get(job.state, "")),
            job.graph.rpartition("::")[2] or Path(job.graph).name,
            ", ".join(job.tags),
            str(job.attempt),
            str(job.nodes_done),
            _when(job.created_at),
        )
    return table


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _state(value: str | None) -> JobState | None:
    for state in JOB_STATES:
        if state == value:
            return state
    return None


def _before(value: str | None) -> float | str | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return value  # a job id; an unknown one is a clear error from list_jobs


def _config_flag(config: Path | None) -> str:
    return f" --config {config}" if config is not None else ""
