"""``agentmap batch``: a graph over every row of a table, with a progress bar.

A thin layer over ``run_batch`` / ``resume_batch``: reads the inputs table, draws progress
(rows done, failed, running, rate, time left), writes the results table.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from agentmap.api import resume_batch, run_batch
from agentmap.cli.errors import ExitCode, reported_errors
from agentmap.cli.logs import configure_logging
from agentmap.cli.options import ConfigOption, DebugOption, GraphOption, VerboseOption
from agentmap.cli.render import stderr, stdout
from agentmap.config import load_settings
from agentmap.graph.loader import resolve_source

if TYPE_CHECKING:
    import pandas as pd

    from agentmap.batch import BatchProgress


def batch(
    file: Annotated[
        str | None,
        typer.Argument(
            help="Graph file (.csv); append ::NAME to pick a graph. Not with --resume.",
            show_default=False,
        ),
    ] = None,
    inputs: Annotated[
        Path | None,
        typer.Option(
            "--inputs",
            "-i",
            help="The rows: .csv, .xlsx, .ods, .parquet or .jsonl; columns become state keys.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Results file: .csv, .xlsx, .parquet or .jsonl (default: INPUTS-results.csv).",
            show_default=False,
        ),
    ] = None,
    outputs: Annotated[
        str | None,
        typer.Option(
            "--outputs",
            help="State keys to add as columns, comma-separated (default: every key written).",
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            min=1,
            help="Rows run at once (default: jobs.concurrency).",
            show_default=False,
        ),
    ] = None,
    infer_types: Annotated[
        bool,
        typer.Option(
            "--infer-types", help="Read numbers and true/false as such (default: cells as text)."
        ),
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            help="Run again the rows of this batch that did not complete.",
            show_default=False,
        ),
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(
            "--executor",
            help="local (this process) or dask (the cluster jobs.dask names); "
            "default: jobs.executor.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
    graph: GraphOption = None,
    config: ConfigOption = None,
    verbose: VerboseOption = 0,
    debug: DebugOption = False,
) -> None:
    """Run a graph once per row of a table; write a results table.

    Exit 0 if every row completed, 1 if any failed, 130 on Ctrl-C (resume with --resume ID).
    """
    if resume is None and (file is None or inputs is None):
        raise typer.BadParameter("give the graph file and --inputs (or --resume BATCH_ID)")
    if resume is not None and (file is not None or inputs is not None):
        raise typer.BadParameter("--resume carries on a batch: give no graph file nor --inputs")
    target = out or Path(f"{inputs.stem if inputs else 'batch'}-results.csv")
    if target.exists() and not force:
        raise typer.BadParameter(
            f"{target} already exists — pass --force to replace it, or --out another file",
            param_hint="'--out'",
        )
    if target.suffix.lower() not in (".csv", ".xlsx", ".parquet", ".jsonl"):
        raise typer.BadParameter(
            f"{target}: results are written as .csv, .xlsx, .parquet or .jsonl",
            param_hint="'--out'",
        )
    if executor not in (None, "local", "dask"):
        raise typer.BadParameter(
            f"'{executor}' is not an executor — use local or dask", param_hint="'--executor'"
        )
    chosen: Literal["local", "dask"] | None = (
        "dask" if executor == "dask" else ("local" if executor == "local" else None)
    )
    wanted = [key.strip() for key in outputs.split(",") if key.strip()] if outputs else None
    started: list[str] = []
    with reported_errors(debug):
        from agentmap.batch import read_rows, write_results

        settings = load_settings(config)
        configure_logging(settings.logging, verbose)
        rows = (
            read_rows(inputs, infer_types=infer_types, max_file_mb=settings.limits.max_file_mb)
            if inputs is not None
            else None
        )
        with _Bar(started) as bar:
            try:
                if resume is not None:
                    table = resume_batch(
                        resume,
                        outputs=wanted,
                        concurrency=concurrency,
                        progress=bar.update,
                        executor=chosen,
                        config=settings,
                    )
                else:
                    assert file is not None and inputs is not None and rows is not None
                    path, name = resolve_source(file, graph)
                    table = run_batch(
                        f"{path}::{name}" if name else str(path),
                        rows,
                        outputs=wanted,
                        concurrency=concurrency,
                        name=inputs.name,
                        progress=bar.update,
                        executor=chosen,
                        config=settings,
                    )
            except KeyboardInterrupt:
                bar.stop()
                _interrupted(started, config)
        write_results(table, target)
        code = _summary(table, target)
    raise typer.Exit(code)


class _Bar:
    """The progress bar (on stderr): rows done of all, completed, failed, running, rate, ETA."""

    def __init__(self, started: list[str]) -> None:
        self._started = started
        self._progress = Progress(
            TextColumn("batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "[green]{task.fields[completed_rows]} ok[/] "
                "[red]{task.fields[failed]} failed[/] "
                "[cyan]{task.fields[running]} running[/]"
            ),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=stderr(),
            transient=False,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> _Bar:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def stop(self) -> None:
        self._progress.stop()

    def update(self, now: BatchProgress) -> None:
        if not self._started:
            self._started.append(now.batch_id)
        if self._task is None:
            self._task = self._progress.add_task(
                "batch", total=now.total, completed_rows=0, failed=0, running=0, rate=""
            )
        task = self._progress.tasks[0]
        elapsed = task.elapsed or 0
        rate = f"{now.done / elapsed:,.0f} rows/s" if elapsed > 0.5 and now.done else ""
        self._progress.update(
            self._task,
            completed=now.done,
            completed_rows=now.completed,
            failed=now.failed,
            running=now.running,
            rate=rate,
        )


def _interrupted(started: list[str], config: Path | None) -> None:
    if started:
        again = f"agentmap batch --resume {started[0]}" + (f" --config {config}" if config else "")
        stderr().print(Text(f"stopped; carry the batch on with: {again}", style="yellow"))
    else:
        stderr().print(Text("stopped before any row ran", style="yellow"))
    raise typer.Exit(ExitCode.CANCELLED)


def _summary(table: pd.DataFrame, target: Path) -> ExitCode:
    counts = table[table.columns[list(table.columns).index(_status_column(table))]].value_counts()
    done = int(counts.get("completed", 0))
    parts = [f"{done} completed"] + [
        f"{int(n)} {state}" for state, n in counts.items() if state != "completed"
    ]
    batch_id = table.attrs.get("batch_id", "")
    stdout().print(f"wrote {len(table)} rows to {target} ({', '.join(parts)}); batch {batch_id}")
    return ExitCode.OK if done == len(table) else ExitCode.FAILED


def _status_column(table: pd.DataFrame) -> str:
    return "batch.status" if "batch.status" in table.columns else "status"
