"""Batches: one graph over every row of a table, each row a job, the results a table again.

Rows become jobs of one batch (recorded in one transaction, so a batch is all there or not at
all), a worker in this process runs them ``concurrency`` at a time, and the results table keeps
every input column and adds each row's status, error, duration, run id and the graph's output
keys. Because the jobs are in the run store, a batch stopped part-way (Ctrl-C, a crash) is
carried on with ``resume_batch``: only the rows that did not complete run again, each from its
own last checkpoint. pandas reads and writes the tables, imported only here.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import math
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agentmap.distribution import install_hint
from agentmap.exceptions import JobError, JobNotFoundError
from agentmap.graph.model import Graph
from agentmap.jobs import JobQueue
from agentmap.runner import GraphRunnerService
from agentmap.store.jobstore import JobRecord
from agentmap.userfiles import DEFAULT_MAX_FILE_MB, check_user_file
from agentmap.worker import Worker

if TYPE_CHECKING:
    import pandas as pd

    from agentmap.config import JobSettings

INPUT_SUFFIXES = (".csv", ".xlsx", ".ods", ".parquet", ".jsonl")
OUTPUT_SUFFIXES = (".csv", ".xlsx", ".parquet", ".jsonl")
RESULT_COLUMNS = ("status", "error", "duration", "run_id")


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """How far a batch has got (what the progress bar shows)."""

    batch_id: str
    total: int
    completed: int
    failed: int
    running: int

    @property
    def done(self) -> int:
        """Rows that ended, one way or another."""
        return self.completed + self.failed


Progress = Callable[[BatchProgress], None]


def read_rows(
    path: Path, *, infer_types: bool = False, max_file_mb: float = DEFAULT_MAX_FILE_MB
) -> pd.DataFrame:
    """The table in ``path`` (csv, xlsx, ods, parquet, jsonl): one row per run.

    Cells of csv and spreadsheet files are kept as the text they show (``007`` stays
    ``007``) unless ``infer_types``; parquet and JSON lines keep their own types. pandas opens
    the file itself, so it is checked first: a FIFO, a device or a file over ``max_file_mb``
    megabytes is refused before anything reads it.
    """
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix not in INPUT_SUFFIXES:
        raise JobError(
            f"{path}: can't read '{suffix or 'extensionless'}' files as batch inputs — use "
            f"{', '.join(INPUT_SUFFIXES)}",
            file=str(path),
        )
    if not path.exists():
        raise JobError(f"{path}: no such file — check the --inputs path", file=str(path))
    text = {} if infer_types else {"dtype": str, "keep_default_na": False}
    try:
        check_user_file(path, error=JobError, max_mb=max_file_mb, what="batch inputs")
        if suffix == ".csv":
            _check_csv_header(path)
            frame = pd.read_csv(path, encoding="utf-8-sig", **text)  # type: ignore[call-overload]
        elif suffix in (".xlsx", ".ods"):
            engine: Literal["odf", "openpyxl"] = "odf" if suffix == ".ods" else "openpyxl"
            _check_sheet_header(path, engine)
            frame = pd.read_excel(path, engine=engine, **text)  # type: ignore[call-overload]
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_json(path, lines=True, dtype=False)
    except JobError:
        raise
    except UnicodeDecodeError as exc:
        raise JobError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}) — save it as UTF-8",
            file=str(path),
        ) from exc
    except ImportError as exc:
        raise JobError(
            f"{path}: reading {suffix} files needs {exc.name} — {install_hint('analytics')}",
            file=str(path),
        ) from exc
    except Exception as exc:  # pandas' and its engines' own errors have no common base
        raise JobError(
            f"{path}: can't read it as a {suffix} table ({type(exc).__name__}: {exc})",
            file=str(path),
        ) from exc
    bad = [column for column in frame.columns if not isinstance(column, str) or not column]
    if bad:
        raise JobError(
            f"{path}: column {bad[0]!r} has no name — every column needs a header, which "
            "becomes the state key",
            file=str(path),
        )
    table: pd.DataFrame = frame
    return table


def rows_of(rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each row as a plain dict (a missing spreadsheet cell as None)."""
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
        records: list[dict[Any, Any]] = rows.to_dict(orient="records")
        return [{str(k): _plain(v) for k, v in record.items()} for record in records]
    out = []
    for number, row in enumerate(rows, 1):
        if not isinstance(row, Mapping):
            raise JobError(
                f"row {number} of the batch is a {type(row).__name__}, not a mapping of state "
                "keys to values"
            )
        out.append(dict(row))
    return out


class BatchRunner:
    """Runs batches on one run store (see ``agentmap.run_batch``)."""

    def __init__(self, queue: JobQueue, runner: GraphRunnerService, settings: JobSettings) -> None:
        self.queue = queue
        self.runner = runner
        self.settings = settings

    def start(self, graph: str, rows: Sequence[Mapping[str, Any]], name: str | None) -> str:
        """Record every row as a job of a new batch; its id."""
        if not rows:
            raise JobError("the batch has no rows — give at least one row of inputs")
        batch_id = uuid.uuid4().hex
        self.queue.create_many(graph, rows, name=name, batch_id=batch_id)
        return batch_id

    def reopen(self, batch_id: str) -> str:
        """Queue a batch's failed and cancelled rows again; the batch's full id."""
        jobs = self.queue.table.batch_rows(batch_id)
        if not jobs:
            raise JobNotFoundError(
                f"no batch '{batch_id}' in the run store {self.queue.store.location} — the "
                "batch id is printed when a batch starts",
                file=self.queue.store.location,
            )
        full = jobs[0].batch_id or batch_id
        self.queue.table.requeue(full)
        return full

    def run(
        self,
        batch_id: str,
        *,
        concurrency: int | None = None,
        progress: Progress | None = None,
        dispatch: Callable[[], int] | None = None,
    ) -> None:
        """Run the batch's open rows until none is left (Ctrl-C: ``KeyboardInterrupt``, with
        the rows running given back). ``dispatch``: hand them to workers elsewhere (Dask)
        with it instead, and watch them there."""
        table = self.queue.table

        def report() -> None:
            if progress is not None:
                progress(_progress(batch_id, table.batch_counts(batch_id)))

        if dispatch is not None:
            while True:
                dispatch()
                report()
                if table.batch_open(batch_id) == 0:
                    return
                time.sleep(0.25)
        worker = Worker(
            self.queue,
            self.runner,
            self.settings,
            batch=batch_id,
            concurrency=concurrency,
        )

        async def drive() -> None:
            serving = asyncio.create_task(worker.serve(lambda: table.batch_open(batch_id) == 0))
            while not serving.done():
                await asyncio.to_thread(report)
                await asyncio.wait({serving}, timeout=0.25)
            serving.result()
            report()

        asyncio.run(drive())

    def results(self, batch_id: str, outputs: Sequence[str] | None) -> pd.DataFrame:
        """The batch's results: each row's inputs, status, error, duration, run id, outputs."""
        import pandas as pd

        jobs = self.queue.table.batch_rows(batch_id, full=True)
        runs = {run.id: run for run in self.queue.store.runs_of([job.id for job in jobs])}
        graph = self._graph(jobs[0]) if jobs else None
        keys = list(outputs) if outputs is not None else written_keys(graph)
        inputs = list(dict.fromkeys(key for job in jobs for key in (job.inputs or {})))
        taken = set(inputs)
        meta = {column: _free(column, taken, "batch.") for column in RESULT_COLUMNS}
        out_names = {key: _free(key, taken | set(meta.values()), "out.") for key in keys}
        table = []
        for job in jobs:
            run = runs.get(job.id)
            final = (run.final_state or {}) if run is not None else {}
            row = {column: (job.inputs or {}).get(column) for column in inputs}
            row[meta["status"]] = job.state
            row[meta["error"]] = job.error or (run.error if run is not None else None)
            row[meta["duration"]] = run.duration if run is not None else None
            row[meta["run_id"]] = job.id if run is not None else None
            for key in keys:
                row[out_names[key]] = final.get(key)
            table.append(row)
        columns = [*inputs, *meta.values(), *out_names.values()]
        return pd.DataFrame(table, columns=columns)

    def _graph(self, job: JobRecord) -> Graph | None:
        try:
            return self.queue.graph(f"{job.graph_file}::{job.graph_name}")
        except Exception:
            return None


def written_keys(graph: Graph | None) -> list[str]:
    """The state keys ``graph``'s nodes write, in row order."""
    if graph is None:
        return []
    return list(dict.fromkeys(key for node in graph.nodes.values() for key in node.outputs))


def write_results(frame: pd.DataFrame, path: Path) -> None:
    """Write the results table to ``path``, in the format its suffix names."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".xlsx":
        frame.map(_cell).to_excel(path, index=False)
    elif suffix == ".parquet":
        frame.map(_cell).to_parquet(path, index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        raise JobError(
            f"{path}: can't write '{suffix or 'extensionless'}' files — use "
            f"{', '.join(OUTPUT_SUFFIXES)}",
            file=str(path),
        )


def _progress(batch_id: str, counts: Mapping[str, int]) -> BatchProgress:
    """Progress from the batch's jobs' states (workers elsewhere may run some of them)."""
    return BatchProgress(
        batch_id,
        sum(counts.values()),
        counts.get("completed", 0),
        counts.get("failed", 0) + counts.get("cancelled", 0) + counts.get("waiting", 0),
        counts.get("running", 0),
    )


def _free(name: str, taken: set[str], prefix: str) -> str:
    """``name``, or ``prefix + name`` when an input column already has it."""
    return name if name not in taken else prefix + name


def _cell(value: Any) -> Any:
    """A value a spreadsheet or parquet cell holds: lists and mappings as JSON text."""
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, default=repr)
    return value


def _plain(value: Any) -> Any:
    """A pandas cell as a plain value: NaN / NaT as None, numpy scalars as Python ones."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str | bytes):
        with contextlib.suppress(Exception):
            return _plain(item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _check_csv_header(path: Path) -> None:
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            header = next(csv.reader(file), [])
    except csv.Error as exc:
        raise JobError(f"{path}:1: can't read the header ({exc})", file=str(path)) from exc
    _check_header(path, [cell.strip() for cell in header])


def _check_sheet_header(path: Path, engine: Literal["odf", "openpyxl"]) -> None:
    import pandas as pd

    head = pd.read_excel(path, engine=engine, header=None, nrows=1, dtype=str)
    _check_header(path, [str(cell).strip() for cell in head.iloc[0]] if len(head) else [])


def _check_header(path: Path, header: list[str]) -> None:
    if not header or not any(header):
        raise JobError(
            f"{path}: the table is empty — its first row names the state keys", file=str(path)
        )
    seen: dict[str, int] = {}
    for number, name in enumerate(header, 1):
        if name and name in seen:
            raise JobError(
                f"{path}:1: column {number} repeats the header '{name}' (column {seen[name]}) — "
                "each column is a state key, so give each a name of its own",
                file=str(path),
                row=1,
                column=name,
            )
        seen[name] = number
