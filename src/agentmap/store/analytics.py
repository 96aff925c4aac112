"""Run history for people: per-node statistics, exports, and what one stored run did.

The statistics and exports are computed with pandas (parquet written with pyarrow): the
``analytics`` extra, imported when those functions are called, so nothing else pays for it.
The queries are plain SQL, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from agentmap.distribution import install_hint
from agentmap.exceptions import ConfigError
from agentmap.store import schema
from agentmap.store.database import placeholders
from agentmap.store.records import Checkpoint, RunRecord, Status, still_running
from agentmap.store.runstore import where_runs
from agentmap.store.schema import page_rows

if TYPE_CHECKING:
    import pandas as pd

    from agentmap.store.runstore import RunStore

ExportFormat = Literal["csv", "parquet"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "parquet")
STATS_COLUMNS = ("graph", "node", "runs", "count", "success_rate", "p50", "p95")
_INSTALL = f"install it with {install_hint('analytics')}"
_ISO = "%Y-%m-%dT%H:%M:%S.%fZ"  # UTC, microseconds: sorts as text, Python and pandas read it
_PROCESS = ["pid", "host", "process_start"]  # only to tell a crashed run from a running one


class Step(NamedTuple):
    """One node run on a stored run's path; ``success`` is ``None`` when it wasn't tracked."""

    node: str
    success: bool | None
    duration: float | None
    error: str | None = None
    attempt: int = 1


def node_stats(store: RunStore, graph: str | None = None) -> pd.DataFrame:
    """One row per graph and node: how often it ran, how often it succeeded, how long it took.

    Columns ``graph``, ``node``, ``runs`` (runs that ran the node), ``count`` (times it ran:
    a node in a loop runs more than once per run), ``success_rate`` (0 to 1), ``p50`` and
    ``p95`` (duration percentiles in seconds, linearly interpolated). Rows are sorted by graph,
    then node name. Read from node checkpoints, so runs made with ``storage.checkpoints: off``
    don't count.

    >>> node_stats(open_run_store(), graph="Hello")  # doctest: +SKIP
       graph     node  runs  count  success_rate       p50       p95
    0  Hello  Respond     3      3           1.0  0.000018  0.000021
    1  Hello    Start     3      3           1.0  0.000017  0.000019
    """
    _require("pandas", "computing run statistics")
    import pandas as pd

    where, params = where_runs(graph, None)
    frame = _node_points(
        store,
        ["r.graph_name"],
        ["node", "run_id", "success", "duration"],
        where,
        params,
        ["graph", "node", "run_id", "success", "duration"],
    )
    frame["success"] = frame["success"].astype(float)  # SQLite gives 0/1, PostgreSQL booleans
    frame["duration"] = frame["duration"].astype(float)
    grouped = frame.groupby(["graph", "node"], sort=True)
    stats = pd.DataFrame(
        {
            "runs": grouped["run_id"].nunique(),
            "count": grouped.size(),
            "success_rate": grouped["success"].mean(),
            "p50": grouped["duration"].quantile(0.5),
            "p95": grouped["duration"].quantile(0.95),
        }
    )
    return stats.reset_index()[list(STATS_COLUMNS)]


def export_runs(
    store: RunStore,
    path: str | PathLike[str],
    format: ExportFormat = "csv",
    *,
    graph: str | None = None,
    status: Status | None = None,
    nodes: bool = False,
) -> int:
    """Write runs (or, with ``nodes``, their node runs) to a csv or parquet file; return the rows.

    Runs, oldest first: ``id``, ``graph``, ``graph_file``, ``status``, ``started_at``,
    ``finished_at``, ``duration`` (seconds), ``error``, ``initial_state`` and ``final_state``
    (JSON text). With ``nodes``, one row per node run instead: ``run_id``, ``graph``, ``seq``,
    ``branch``, ``node``, ``attempt``, ``success``, ``error``, ``started`` (seconds after the
    run started), ``duration`` (seconds), ``updates`` (JSON text of the keys it wrote).
    Timestamps are UTC, to the microsecond: in csv ISO 8601 text
    (``2026-11-22T09:30:00.250000Z``), in parquet ``timestamp[us, tz=UTC]`` columns.
    ``graph`` and ``status`` pick the runs (a crashed run is one whose process is gone, as
    ``RunStore.list`` tells). An existing file is replaced.

    >>> export_runs(open_run_store(), "runs.parquet", "parquet", status="failed")  # doctest: +SKIP
    3
    """
    if format not in FORMATS:
        raise ConfigError(f"export format must be {' or '.join(FORMATS)}, not {format!r}")
    _require("pandas", "exporting runs")
    if format == "parquet":
        _require("pyarrow", "exporting runs to parquet")
    frame = _node_frame(store, graph, status) if nodes else _run_frame(store, graph, status)
    if format == "csv":
        for column in ("started_at", "finished_at"):
            if column in frame:
                frame[column] = frame[column].dt.strftime(_ISO)
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, engine="pyarrow", index=False)
    return len(frame)


def node_counts(store: RunStore, run_ids: Sequence[str]) -> dict[str, int]:
    """How many node runs each of ``run_ids`` checkpointed (one indexed query, no pandas)."""
    if not run_ids:
        return {}
    ids, params = placeholders("id", run_ids)
    queries = (
        f"SELECT run_id, COUNT(*) AS n FROM {schema.CHECKPOINTS} "
        f"WHERE run_id IN {ids} AND kind = 'node' GROUP BY run_id",
        f"SELECT run_id, SUM(nodes) AS n FROM {schema.PAGES} WHERE run_id IN {ids} GROUP BY run_id",
    )
    counts = dict.fromkeys(run_ids, 0)
    with store.translated_errors(), store.reader() as connection:
        for query in queries:
            for row in connection.execute(query, params):
                counts[row["run_id"]] += int(row["n"])
    return counts


def run_path(record: RunRecord, checkpoints: Iterable[Checkpoint]) -> list[Step]:
    """The nodes ``record``'s run ran, in order, with outcome and duration.

    From the run's summary when it has one (written when a run stops); a run still running, or
    one whose process died, has none yet, so its node checkpoints tell instead.
    """
    summary = record.summary or {}
    results = summary.get("node_results") or []
    if results:
        return [
            Step(r["node"], r["success"], r["duration"], r.get("error"), r.get("attempt", 1))
            for r in results
        ]
    steps = [
        Step(c.node, c.success, c.duration, c.error, c.attempt)
        for c in checkpoints
        if c.kind == "node"
    ]
    if steps:
        return steps
    # execution.tracking off and no checkpoints: the path is all there is
    return [Step(node, None, None) for node in summary.get("execution_path", [])]


def state_so_far(record: RunRecord, checkpoints: Iterable[Checkpoint]) -> dict[str, Any]:
    """The run's final state, or — for a run that hasn't one (waiting, running, crashed) — its
    initial state with every node's writes applied in the order they were made.

    With parallel branches that order interleaves the branches, so a key two branches wrote
    shows the later write, where the run itself would merge them at the join.
    """
    if record.final_state is not None:
        return dict(record.final_state)
    state = dict(record.initial_state or {})
    for checkpoint in checkpoints:
        if checkpoint.kind == "node" and checkpoint.updates:
            state.update(checkpoint.updates)
    return state


def _run_frame(store: RunStore, graph: str | None, status: Status | None) -> pd.DataFrame:
    columns = [
        "id",
        "graph_name",
        "graph_file",
        "status",
        "started_at",
        "finished_at",
        "duration",
        "error",
        "initial_state",
        "final_state",
        *_PROCESS,
    ]
    where, params = where_runs(graph, status)
    query = f"SELECT {', '.join(columns)} FROM {schema.RUNS}{where} ORDER BY started_at"
    frame = _frame(store, query, params, ["id", "graph", *columns[2:]])
    frame = _with_status(frame, status)
    for column in ("started_at", "finished_at"):
        frame[column] = _utc(frame[column])
    frame["duration"] = frame["duration"].astype(float)
    frame["error"] = frame["error"].astype("string")  # a column of no errors is still text
    return frame


def _node_frame(store: RunStore, graph: str | None, status: Status | None) -> pd.DataFrame:
    point_columns = ["seq", "branch", "node", "attempt", "success", "error", "started"]
    point_columns += ["duration", "updates"]
    run_columns = ["r.started_at", "r.graph_name", "r.status", *(f"r.{n}" for n in _PROCESS)]
    where, params = where_runs(graph, status)
    names = ["started_at", "graph", "status", *_PROCESS, "run_id", *point_columns]
    frame = _node_points(store, run_columns, ["run_id", *point_columns], where, params, names)
    frame = frame.sort_values(["started_at", "run_id", "seq"], kind="stable")
    frame = frame[["run_id", "graph", "status", *point_columns, *_PROCESS]]
    frame = _with_status(frame.reset_index(drop=True), status)
    frame["success"] = frame["success"].astype("boolean")
    frame["attempt"] = frame["attempt"].fillna(1).astype(int)
    frame["error"] = frame["error"].astype("string")
    for column in ("started", "duration"):
        frame[column] = frame[column].astype(float)
    return frame.drop(columns=["status"])


def _node_points(
    store: RunStore,
    run_columns: list[str],
    point_columns: list[str],
    where: str,
    params: dict[str, Any],
    names: list[str],
) -> pd.DataFrame:
    """A frame of ``run_columns`` (of the runs table, ``r.``) then ``point_columns`` (of the
    checkpoints) for every node checkpoint of the runs ``where`` picks, written one by one or
    in pages."""
    import pandas as pd

    selected = ", ".join([*run_columns, *(f"c.{name}" for name in point_columns)])
    single = (
        f"SELECT {selected} FROM {schema.CHECKPOINTS} c "
        f"JOIN {schema.RUNS} r ON r.id = c.run_id{_and(where)} c.kind = 'node'"
    )
    paged = (
        f"SELECT {', '.join(run_columns)}, p.run_id, p.body, p.at FROM {schema.PAGES} p "
        f"JOIN {schema.RUNS} r ON r.id = p.run_id{where} ORDER BY p.run_id, p.first_seq"
    )
    with store.translated_errors(), store.reader() as connection:
        # Plain tuples: pandas builds a frame from row objects several times slower.
        rows = [tuple(row.values()) for row in connection.execute(single, params)]
        for page in connection.execute(paged, params):
            run = tuple(page.values())[: len(run_columns)]
            for point in page_rows(page["run_id"], page["body"], page["at"]):
                if point["kind"] == "node":
                    rows.append((*run, *(point[name] for name in point_columns)))
    return pd.DataFrame(rows, columns=names)


def _and(where: str) -> str:
    """``where`` (from ``where_runs``) ready for one more condition after it."""
    return f"{where} AND" if where else " WHERE"


def _with_status(frame: pd.DataFrame, status: Status | None) -> pd.DataFrame:
    """A ``running`` run whose process is gone is ``crashed`` (as ``RunStore`` reports it)."""
    running = frame.index[frame["status"] == "running"]
    if len(running):
        rows = frame.loc[running, _PROCESS].astype(object).itertuples(index=False)
        gone = [not still_running(host, _pid(pid), start) for pid, host, start in rows]
        frame.loc[running[gone], "status"] = "crashed"
    if status is not None:
        frame = frame[frame["status"] == status]
    return frame.drop(columns=_PROCESS).reset_index(drop=True)


def _pid(value: Any) -> int | None:
    """A pid column holds floats (NaN for none) once one row has none; ``os.kill`` wants ints."""
    return None if value is None or value != value else int(value)


def _frame(store: RunStore, query: str, params: dict[str, Any], columns: list[str]) -> pd.DataFrame:
    """The rows of ``query`` as a frame with ``columns`` (named in the order selected)."""
    import pandas as pd

    with store.translated_errors(), store.reader() as connection:
        rows = connection.execute(query, params)
        # Plain tuples: pandas builds a frame from row objects several times slower.
        return pd.DataFrame([tuple(row.values()) for row in rows], columns=columns)


def _utc(seconds: pd.Series) -> pd.Series:
    """Seconds since the epoch as UTC timestamps, to the microsecond."""
    import pandas as pd

    moments = pd.to_datetime(seconds.astype(float), unit="s", utc=True)
    return moments.dt.round("us").dt.as_unit("us")


def _require(module: str, what: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"{what} needs {module}, which is not installed — {_INSTALL}")
