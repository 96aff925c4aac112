"""``agentmap runs``: the run history — list, show, stats, export and prune the stored runs.

Each command opens the run store ``storage.url`` names, calls one function of ``RunStore``,
``agentmap.store.history`` (the ``--json`` documents, which ``GET /runs`` serves too) or
``agentmap.store.analytics`` and draws the answer. pandas and pyarrow are imported by the
commands that use them, so other commands don't pay for them.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.table import Table
from rich.text import Text

from agentmap.api import export_runs, open_run_store, runs_stats
from agentmap.cli.errors import reported_errors
from agentmap.cli.options import ConfigOption, DebugOption
from agentmap.cli.render import (
    format_duration,
    render_json,
    render_questions,
    resume_command,
    state_table,
    stderr,
    stdout,
)
from agentmap.config import load_settings
from agentmap.store.records import STATUSES, Status

if TYPE_CHECKING:
    import pandas as pd

    from agentmap.store.analytics import ExportFormat, Step
    from agentmap.store.records import RunRecord

runs_app = typer.Typer(
    help="Run history: list, show, stats, export and prune the stored runs.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

STYLES = {
    "succeeded": "green",
    "failed": "red",
    "crashed": "red",
    "waiting": "yellow",
    "cancelled": "yellow",
    "running": "cyan",
}


def _valid_status(value: str | None) -> str | None:
    if value is not None and value not in STATUSES:
        raise typer.BadParameter(
            f"'{value}' is not a run status — use one of {', '.join(STATUSES)}"
        )
    return value


def _valid_format(value: str | None) -> str | None:
    if value is not None and value not in ("csv", "parquet"):
        raise typer.BadParameter(f"'{value}' is not an export format — use csv or parquet")
    return value


GraphFilter = Annotated[
    str | None,
    typer.Option("--graph", "-g", help="Only runs of this graph.", show_default=False),
]
StatusFilter = Annotated[
    str | None,
    typer.Option(
        "--status",
        help=f"Only runs with this status: {', '.join(STATUSES)}.",
        callback=_valid_status,
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")
]


@runs_app.command("list")
def list_runs(
    graph: GraphFilter = None,
    status: StatusFilter = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=0, help="Show at most this many runs (0: all).")
    ] = 20,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    debug: DebugOption = False,
) -> None:
    """List the stored runs, newest first: id, graph, status, start time, duration, nodes."""
    from agentmap.store.history import list_runs as listing

    with reported_errors(debug), open_run_store(config) as store:
        found = listing(store, graph=graph, status=_status(status), limit=limit or None)
        if as_json:
            render_json(found.to_dict())
        elif found.records:
            stdout().print(_runs_table(found.records, found.nodes, found.jobs))
        else:
            stderr().print(f"no runs{_filters(graph, status)} in the run store {store.location}")


@runs_app.command()
def show(
    run_id: Annotated[
        str,
        typer.Argument(
            help="The run's id, or its first characters (as `agentmap runs list` shows).",
            show_default=False,
        ),
    ],
    as_json: JsonOption = False,
    config: ConfigOption = None,
    debug: DebugOption = False,
) -> None:
    """Show one run: its header, the path it took, its final state (or the state so far)."""
    from agentmap.store.history import run_report

    with reported_errors(debug), open_run_store(config) as store:
        report = run_report(store, run_id, resume=lambda full_id: resume_command(full_id, config))
        if as_json:
            render_json(report.to_dict())
        else:
            _render_run(report.record, report.path, report.state, report.resume, report.job)


@runs_app.command()
def stats(
    graph: GraphFilter = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    debug: DebugOption = False,
) -> None:
    """Per node: runs, times run, success rate, p50 and p95 duration (needs pandas)."""
    from agentmap.store.history import stats_rows

    with reported_errors(debug):
        frame = runs_stats(graph, config=config)
        if as_json:
            render_json({"nodes": stats_rows(frame)})
        elif len(frame):
            stdout().print(_stats_table(frame))
        else:
            with open_run_store(config) as store:
                where = store.location
            stderr().print(f"no node runs{_filters(graph, None)} in the run store {where}")


@runs_app.command()
def export(
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="csv or parquet (default: from --output's suffix, else csv).",
            callback=_valid_format,
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write (default: runs.csv / runs.parquet here).",
            show_default=False,
        ),
    ] = None,
    graph: GraphFilter = None,
    status: StatusFilter = None,
    nodes: Annotated[
        bool, typer.Option("--nodes", help="One row per node run instead of one per run.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
    config: ConfigOption = None,
    debug: DebugOption = False,
) -> None:
    """Write the runs (or, with --nodes, every node run) to a csv or parquet file."""
    chosen = _format(format, output)
    target = output or Path(f"runs.{chosen}")
    _check_target(target, force)
    with reported_errors(debug):
        count = export_runs(
            target, chosen, graph=graph, status=_status(status), nodes=nodes, config=config
        )
        noun = "node run" if nodes else "run"
        stdout().print(f"wrote {count} {noun}{'s' if count != 1 else ''} to {target}")


@runs_app.command()
def prune(
    days: Annotated[
        float | None,
        typer.Option(
            "--days",
            min=0,
            help="Delete runs older than this many days (default: storage.retention_days).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    debug: DebugOption = False,
) -> None:
    """Delete old finished runs and their checkpoints now; waiting and running runs are kept."""
    with reported_errors(debug):
        settings = load_settings(config)
        keep = settings.storage.retention_days if days is None else days
        if days is None and not keep:
            stderr().print(
                "storage.retention_days is 0 (keep every run), so nothing was deleted — "
                "pass --days N to prune now"
            )
            return
        # Opening a store prunes it when due; off here, so the count below is the whole count.
        storage = settings.storage.model_copy(update={"retention_days": 0})
        with open_run_store(settings.model_copy(update={"storage": storage})) as store:
            deleted = store.prune(keep)
        noun = "run" if deleted == 1 else "runs"
        stdout().print(f"deleted {deleted} {noun} older than {keep:g} days from {store.location}")


# --- arguments


def _status(value: str | None) -> Status | None:
    return cast("Status | None", value)  # checked by _valid_status


def _format(given: str | None, output: Path | None) -> ExportFormat:
    """``--format``, else what ``--output``'s suffix says, else csv."""
    suffix = output.suffix.lower().lstrip(".") if output is not None else ""
    chosen = given or (suffix if suffix in ("csv", "parquet") else "csv")
    return cast("ExportFormat", chosen)


def _check_target(target: Path, force: bool) -> None:
    if target.exists() and not force:
        raise typer.BadParameter(
            f"{target} already exists — pass --force to replace it, or --output another file",
            param_hint="'--output'",
        )
    if not target.parent.is_dir():
        raise typer.BadParameter(
            f"no folder {target.parent} to write into", param_hint="'--output'"
        )


def _filters(graph: str | None, status: str | None) -> str:
    words = [f"of graph '{graph}'" if graph else "", f"with status {status}" if status else ""]
    return "".join(f" {word}" for word in words if word)


# --- drawing


def _runs_table(
    records: list[RunRecord], counts: dict[str, int], jobs: dict[str, tuple[str, ...]]
) -> Table:
    table = Table(show_edge=False)
    table.add_column("Run", style="bold")
    table.add_column("Graph")
    table.add_column("Status")
    table.add_column("Started")
    table.add_column("Duration", justify="right")
    table.add_column("Nodes", justify="right")
    if jobs:
        table.add_column("Job tags")  # runs that are jobs (agentmap jobs) show their tags
    for record in records:
        cells: list[Text | str] = [
            record.id[:12],
            record.graph_name,
            Text(record.status, STYLES.get(record.status, "")),
            _local(record.started_at),
            _seconds(record.duration),
            str(counts[record.id]) if record.checkpoints else "",
        ]
        if jobs:
            tags = jobs.get(record.id)
            cells.append("" if tags is None else ", ".join(tags) or "(job)")
        table.add_row(*cells)
    return table


def _render_run(
    record: RunRecord,
    path: list[Step],
    state: dict[str, Any],
    resume: str | None,
    job: tuple[str, ...] | None = None,
) -> None:
    out = stdout()
    header = _header(record)
    if job is not None:
        header.insert(1, ("Job", Text("tags: " + ", ".join(job) if job else "no tags")))
    for label, value in header:
        out.print(Text.assemble((f"{label:<10}", "bold"), value))
    out.print()
    out.print(_path_table(record, path))
    out.print()
    title = "Final state" if record.status == "succeeded" else "State so far"
    out.print(state_table(state, title))
    if record.status == "waiting":
        _render_questions(record, resume)
    elif resume is not None:
        out.print()
        out.print(Text(f"to carry this run on: {resume}", style="dim"))


def _header(record: RunRecord) -> list[tuple[str, Text]]:
    lines = [
        ("Run", Text(record.id)),
        ("Graph", Text(record.graph_name)),
        ("File", Text(record.graph_file or "(a graph built in Python)")),
        ("Status", Text(record.status, STYLES.get(record.status, ""))),
        ("Started", Text(_local(record.started_at))),
        ("Duration", Text(_seconds(record.duration) or "-")),
    ]
    if record.error:
        lines.append(("Error", Text(record.error, "red")))
    return lines


def _path_table(record: RunRecord, path: list[Step]) -> Table:
    table = Table(title="Execution path", title_justify="left", show_edge=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("Node", style="bold")
    table.add_column("Outcome")
    table.add_column("Duration", justify="right")
    table.add_column("Error", overflow="fold")
    for index, step in enumerate(path, 1):
        table.add_row(
            str(index), step.node, _outcome(step), _seconds(step.duration), step.error or ""
        )
    asking = {str(question.get("node")) for question in record.waiting}
    for node in (record.summary or {}).get("unfinished", []):  # the run stopped during these
        table.add_row("", node, Text("waiting" if node in asking else "interrupted", "yellow"))
    return table


def _outcome(step: Step) -> Text:
    if step.success is None:
        return Text("")
    text = Text("success", "green") if step.success else Text("failure", "red")
    if step.attempt > 1:
        text.append(f" (attempt {step.attempt})", "dim")
    return text


def _render_questions(record: RunRecord, resume: str | None) -> None:
    """What a waiting run asks, and the exact commands that answer it."""
    out = stdout()
    out.print()
    out.print(Text("waiting for an answer:", style="bold yellow"))
    render_questions(out, record.waiting, resume)


def _stats_table(frame: pd.DataFrame) -> Table:
    table = Table(show_edge=False)
    for name in ("Graph", "Node"):
        table.add_column(name, style="bold" if name == "Node" else "")
    for name in ("Runs", "Count", "Success", "p50", "p95"):
        table.add_column(name, justify="right")
    for graph, node, runs, count, rate, p50, p95 in frame.itertuples(index=False, name=None):
        table.add_row(
            str(graph),
            str(node),
            str(runs),
            str(count),
            f"{rate * 100:.1f}%",
            _seconds(p50),
            _seconds(p95),
        )
    return table


def _local(seconds: float) -> str:
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


def _seconds(seconds: float | None) -> str:
    return "" if seconds is None or math.isnan(seconds) else format_duration(seconds)
