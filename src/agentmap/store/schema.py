"""The run store's tables, and the versioned migrations that create and upgrade them.

Plain SQL that SQLite and PostgreSQL both accept. Each migration moves a store from one version
to the next and never rewrites rows it didn't add. A store is upgraded when it is opened; a
store newer than this agentmap is refused rather than guessed at. Add a migration at the end of
``MIGRATIONS``; never edit one that shipped.
"""

from __future__ import annotations

import array
import base64
import json
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from agentmap.store.codec import encode_json

META = "agentmap_meta"
RUNS = "agentmap_runs"
CHECKPOINTS = "agentmap_checkpoints"
PAGES = "agentmap_checkpoint_pages"
JOBS = "agentmap_jobs"
EVENTS = "agentmap_job_events"
GRAPHS = "agentmap_graphs"
NODE_HASHES = "agentmap_node_hashes"

CREATE_META = f"""
CREATE TABLE {META} (
    key VARCHAR(64) PRIMARY KEY,
    value TEXT NOT NULL
)"""

RUN_COLUMNS = (
    "id",  # 32 hex digits
    "graph_name",
    "graph_file",  # absolute path of the graph file, or NULL for graphs built in Python
    "entry",
    "graph_hash",
    "node_hashes",  # JSON: node -> hash of its row; '' (v8): in NODE_HASHES, by graph_hash
    "status",
    "initial_state",  # JSON (store/codec.py)
    "final_state",
    "summary",  # JSON of ExecutionSummary.to_dict()
    "error",
    "waiting",  # JSON list of the questions a waiting run asks
    "started_at",  # seconds since the epoch
    "updated_at",
    "finished_at",
    "duration",
    "pid",
    "host",
    "process_start",
    "checkpoints",
    "version",
    "parent_run_id",  # a subgraph's run: the run of the graph node that started it (v3)
    "parent_node",  # ... and that node's name
)
CHECKPOINT_COLUMNS = (
    "run_id",
    "seq",
    "kind",  # node | join
    "branch",
    "node",
    "attempt",
    "success",
    "error",
    "started",  # seconds since the run started
    "duration",
    "updates",  # JSON of the keys the node wrote
    "next",  # JSON list of the nodes it went on to
    "fork",
    "children",  # JSON list of the branch ids a fork started
    "merged",  # JSON list of the branch ids a join merged
    "at",  # seconds since the epoch
)

_CREATE_TABLES = (
    f"""
CREATE TABLE {RUNS} (
    id VARCHAR(32) PRIMARY KEY,
    graph_name TEXT NOT NULL,
    graph_file TEXT,
    entry TEXT NOT NULL,
    graph_hash VARCHAR(64) NOT NULL,
    node_hashes TEXT NOT NULL,
    status VARCHAR(16) NOT NULL,
    initial_state TEXT NOT NULL,
    final_state TEXT,
    summary TEXT,
    error TEXT,
    waiting TEXT,
    started_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION,
    duration DOUBLE PRECISION,
    pid INTEGER,
    host TEXT,
    process_start VARCHAR(32),
    checkpoints BOOLEAN NOT NULL,
    version VARCHAR(32) NOT NULL
)""",
    f"""
CREATE TABLE {CHECKPOINTS} (
    run_id VARCHAR(32) NOT NULL,
    seq INTEGER NOT NULL,
    kind VARCHAR(8) NOT NULL,
    branch INTEGER NOT NULL,
    node TEXT NOT NULL,
    attempt INTEGER,
    success BOOLEAN,
    error TEXT,
    started DOUBLE PRECISION,
    duration DOUBLE PRECISION,
    updates TEXT,
    next TEXT,
    fork INTEGER,
    children TEXT,
    merged TEXT,
    at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, seq)
)""",
)

_INDEX_HISTORY = (
    # `runs list`: newest first, by graph, by status
    f"CREATE INDEX IF NOT EXISTS ix_agentmap_runs_started ON {RUNS} (started_at)",
    f"CREATE INDEX IF NOT EXISTS ix_agentmap_runs_graph ON {RUNS} (graph_name, started_at)",
    f"CREATE INDEX IF NOT EXISTS ix_agentmap_runs_status ON {RUNS} (status, started_at)",
)

_SUBGRAPH_RUNS = (
    # A subgraph's run is recorded too, so resuming its parent resumes it where it stopped.
    f"ALTER TABLE {RUNS} ADD COLUMN parent_run_id VARCHAR(32)",
    f"ALTER TABLE {RUNS} ADD COLUMN parent_node TEXT",
    f"CREATE INDEX IF NOT EXISTS ix_agentmap_runs_parent ON {RUNS} (parent_run_id, parent_node)",
)

_CHECKPOINT_PAGES = (
    # Checkpoints written in batches (durability async and exit) are kept a batch to a row:
    # the database then does one row's work per batch, not per node. ``body`` is a JSON list
    # of checkpoints (CHECKPOINT_COLUMNS after run_id); ``nodes`` counts the node ones.
    f"""
CREATE TABLE {PAGES} (
    run_id VARCHAR(32) NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    nodes INTEGER NOT NULL,
    body TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, first_seq)
)""",
)

JOB_COLUMNS = (
    "id",  # 32 hex digits; the job's run has the same id
    "name",
    "graph_file",  # absolute path of the graph file
    "graph_name",  # the graph in it (NULL: the file's only graph)
    "inputs",  # JSON (store/codec.py): the run's initial state
    "tags",  # JSON list, sorted
    "priority",  # higher first
    "retry_policy",  # JSON of RetryPolicy.to_dict(), or NULL: retry at once
    "max_retries",
    "state",  # queued | running | waiting | retrying | completed | failed | cancelled
    "attempt",  # 0 until first taken; +1 each time a failed attempt is tried again
    "created_at",  # seconds since the epoch
    "updated_at",
    "started_at",  # the first attempt's start
    "finished_at",
    "not_before",  # a queued or retrying job is not taken before this time
    "worker",  # the worker holding the job while it runs
    "lease_until",  # ... until this time, unless it renews the lease
    "cancel_requested",
    "error",  # the last failed attempt's error
    "nodes_done",  # node runs finished, as the worker last said
    "running_nodes",  # JSON list of the nodes running, as the worker last said
    "batch_id",  # the batch the job is a row of, if any
    "batch_row",
    "answer",  # JSON {"node", "value"}: a person's answer for the waiting job's next attempt (v6)
    "graph_id",  # the id the graph was registered under (AgentMapApp.register_graph), if any (v7)
    "graph_version",  # ... and its semantic version: what the job ran (v7)
)

_JOBS = (
    # A job is a run handed to a worker: the run (same id) is made when it first starts.
    f"""
CREATE TABLE {JOBS} (
    id VARCHAR(32) PRIMARY KEY,
    name TEXT,
    graph_file TEXT NOT NULL,
    graph_name TEXT,
    inputs TEXT NOT NULL,
    tags TEXT NOT NULL,
    priority INTEGER NOT NULL,
    retry_policy TEXT,
    max_retries INTEGER NOT NULL,
    state VARCHAR(16) NOT NULL,
    attempt INTEGER NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    started_at DOUBLE PRECISION,
    finished_at DOUBLE PRECISION,
    not_before DOUBLE PRECISION NOT NULL,
    worker TEXT,
    lease_until DOUBLE PRECISION,
    cancel_requested BOOLEAN NOT NULL,
    error TEXT,
    nodes_done INTEGER NOT NULL,
    running_nodes TEXT,
    batch_id VARCHAR(32),
    batch_row INTEGER
)""",
    # taking work: the best queued job first; leases that lapsed
    f"CREATE INDEX IF NOT EXISTS ix_agentmap_jobs_take ON {JOBS} (state, priority, created_at)",
    f"CREATE INDEX IF NOT EXISTS ix_agentmap_jobs_created ON {JOBS} (created_at)",
    f"CREATE INDEX IF NOT EXISTS ix_agentmap_jobs_worker ON {JOBS} (worker)",
    f"CREATE INDEX IF NOT EXISTS ix_agentmap_jobs_batch ON {JOBS} (batch_id, batch_row)",
)

_JOB_ANSWERS = (
    # A waiting job is answered over HTTP or the CLI, and carried on by a worker with it.
    f"ALTER TABLE {JOBS} ADD COLUMN answer TEXT",
)

_JOB_EVENTS_AND_GRAPHS = (
    # What happened to a job, in order: its nodes starting and ending, model output, its state
    # changing. ``seq`` counts from 1 per job, so a reader that saw up to n asks for > n.
    f"""
CREATE TABLE {EVENTS} (
    job_id VARCHAR(32) NOT NULL,
    seq INTEGER NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    kind VARCHAR(32) NOT NULL,
    node TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
)""",
    f"CREATE INDEX IF NOT EXISTS ix_agentmap_job_events_at ON {EVENTS} (at)",
    # A job run from a registered graph records which one, and at which version.
    f"ALTER TABLE {JOBS} ADD COLUMN graph_id TEXT",
    f"ALTER TABLE {JOBS} ADD COLUMN graph_version VARCHAR(64)",
    # Graphs registered under an id and a semantic version: the content a version names is
    # fixed once registered (by its fingerprint, and each node's, to say what changed).
    f"""
CREATE TABLE {GRAPHS} (
    id VARCHAR(200) NOT NULL,
    version VARCHAR(64) NOT NULL,
    graph_file TEXT NOT NULL,
    graph_name TEXT NOT NULL,
    graph_hash VARCHAR(64) NOT NULL,
    node_hashes TEXT NOT NULL,
    registered_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (id, version)
)""",
)

_NODE_HASHES_AND_PAGES_OF_ROWS = (
    # A graph's node hashes, once per graph rather than in every run's record (a run's record
    # is written as it starts and again as it ends: a 10,000-node graph's hashes took longer
    # to write than its run's checkpoints). A run made from here on has '' as node_hashes.
    # Pages made from here on hold rows of JSON values and binary times (``CheckpointRow``),
    # which an older agentmap can't read: it is told the store is newer than it instead.
    f"""
CREATE TABLE {NODE_HASHES} (
    graph_hash VARCHAR(64) PRIMARY KEY,
    node_hashes TEXT NOT NULL
)""",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    _CREATE_TABLES,
    _INDEX_HISTORY,
    _SUBGRAPH_RUNS,
    _CHECKPOINT_PAGES,
    _JOBS,
    _JOB_ANSWERS,
    _JOB_EVENTS_AND_GRAPHS,
    _NODE_HASHES_AND_PAGES_OF_ROWS,
)
"""Migration ``i`` (its statements, in order) takes a store from version ``i`` to ``i + 1``."""
LATEST = len(MIGRATIONS)


def insert(table: str, columns: tuple[str, ...]) -> str:
    """``INSERT INTO table (a, b) VALUES (:a, :b)``."""
    names = ", ".join(columns)
    values = ", ".join(f":{column}" for column in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({values})"


INSERT_RUN = insert(RUNS, RUN_COLUMNS)
INSERT_CHECKPOINT = insert(CHECKPOINTS, CHECKPOINT_COLUMNS)
PAGE_COLUMNS = ("run_id", "first_seq", "last_seq", "nodes", "body", "at")
INSERT_PAGE = insert(PAGES, PAGE_COLUMNS)
INSERT_JOB = insert(JOBS, JOB_COLUMNS)
INSERT_NODE_HASHES = (  # the same graph's runs, in any process, may start at once
    f"INSERT INTO {NODE_HASHES} (graph_hash, node_hashes) VALUES (:graph_hash, :node_hashes) "
    "ON CONFLICT (graph_hash) DO NOTHING"
)
EVENT_COLUMNS = ("job_id", "seq", "at", "kind", "node", "data")
INSERT_EVENT = (
    # the job's next number, taken in the same statement: writers of one job take turns (a
    # worker while it holds the job; the API while nobody does), and SQLite writes one at a time
    f"INSERT INTO {EVENTS} (job_id, seq, at, kind, node, data) "
    "SELECT CAST(:job_id AS VARCHAR(32)), COALESCE(MAX(seq), 0) + 1, :at, :kind, :node, :data "
    f"FROM {EVENTS} WHERE job_id = :job_id"
)

CheckpointRow = tuple[Any, ...]
"""A checkpoint as the journal keeps it until its page is written; its run's id and its times
are kept beside it. Two shapes:

- a plain node checkpoint — branch 0, first attempt, succeeded, one output (text, a number, a
  flag or null), one next node: the most common by far — is ``(seq, node, key, value, next)``:
  scalars only, which a page encodes quickest, and no mapping kept per node;
- any other is ``ROW_COLUMNS`` in order, up to the last one it has (a node that didn't fork
  ends at ``next``: the columns left out are null). A join has every column, and is the only
  checkpoint that has: a page counts its nodes by that.

A row holds the node's ``outputs`` rather than its ``updates``: those are its outputs and then
its outcome (``success``, and ``error`` when it failed), as ``state.updated`` writes them, so
they are made when the row is read (``updates_of``) rather than kept twice. ``outputs`` is a
mapping of JSON types only, taken as the node ends: its immutable scalars as they are, anything
else copied (a later node may change a list in place; the checkpoint keeps what this node
wrote). ``next``, ``children`` and ``merged`` are sequences.

Nothing of a row is encoded before its page is: the page's JSON is made in one call, as it is
written. What is left out, and the times kept as doubles, is work that call doesn't do and
bytes the database doesn't write, for every node."""

ROW_COLUMNS = (
    *("seq", "kind", "branch", "node", "attempt", "success", "error", "outputs"),
    *("next", "fork", "children", "merged"),
)
"""A row's columns: ``CHECKPOINT_COLUMNS`` but ``outputs`` for ``updates``, and not its run's
id, its times or when it was written."""

_PLAIN = {"kind": "node", "branch": 0, "attempt": 1, "success": True}

SUCCESS_KEY, ERROR_KEY = "last_action_success", "error"
"""The state keys a node's outcome is written to: ``state.SUCCESS_KEY`` and ``ERROR_KEY`` (the
store imports nothing of the engine; a test holds the two to the same names)."""

Times: TypeAlias = "array.array[float]"
"""Doubles, two a checkpoint row: its started and duration (NaN for a join, which has none).

A checkpoint's times, kept as 8 bytes each rather than written as decimal text: JSON's
shortest exact decimal of a float takes longer to make than the rest of a checkpoint."""

PLAIN_ROW = 5
"""The length of a plain node checkpoint's row (any other row is longer)."""

_JSON_COLUMNS = ("updates", "next", "children", "merged")
_ENCODE = encode_json


def times() -> Times:
    """An empty ``Times``, for ``(started, duration)`` pairs to be appended to."""
    return array.array("d")


def checkpoint_params(
    run_id: str, row: CheckpointRow, started: float, duration: float, at: float
) -> dict[str, Any]:
    """A checkpoint row of run ``run_id`` as the parameters of ``INSERT_CHECKPOINT``."""
    return _table_row(run_id, row, started, duration, at)


def page_params(run_id: str, rows: Sequence[CheckpointRow], pairs: Times) -> dict[str, Any]:
    """Run ``run_id``'s consecutive checkpoint ``rows`` (and their times, ``pairs``) as the
    parameters of ``INSERT_PAGE``.

    The body is ``{"rows": [...], "times": "..."}``: the rows as they are (one encoder call
    for them all), the times as the base64 of little-endian doubles."""
    if sys.byteorder != "little":
        pairs = array.array("d", pairs)
        pairs.byteswap()
    body = _ENCODE({"rows": rows, "times": base64.b64encode(pairs.tobytes()).decode("ascii")})
    return {
        "run_id": run_id,
        "first_seq": rows[0][0],
        "last_seq": rows[-1][0],
        "nodes": len(rows) - list(map(len, rows)).count(len(ROW_COLUMNS)),  # but the joins
        "body": body,
        "at": time.time(),
    }


def page_rows(run_id: str, body: str, at: float) -> list[dict[str, Any]]:
    """The checkpoints a page written at ``at`` holds, as rows of the checkpoints table.

    A page written before store version 8 is a JSON list of rows in ``CHECKPOINT_COLUMNS``
    order after ``run_id``, with ``updates`` as JSON text and the times as the text of the
    numbers."""
    page = json.loads(body)
    if isinstance(page, list):
        rows = [dict(zip(CHECKPOINT_COLUMNS, (run_id, *values), strict=False)) for values in page]
        for row in rows:
            row["started"] = None if row["started"] is None else float(row["started"])
            row["duration"] = None if row["duration"] is None else float(row["duration"])
            row["at"] = at
            _encoded(row)
        return rows
    pairs = _times(page["times"])
    return [
        _table_row(run_id, values, pairs[2 * i], pairs[2 * i + 1], at)
        for i, values in enumerate(page["rows"])
    ]


def cut_page(run_id: str, body: str, drop_from: int) -> dict[str, Any]:
    """A page's checkpoints before ``drop_from`` (at least its first) as a page of their own,
    in the page's own format: the parameters of ``INSERT_PAGE``."""
    page = json.loads(body)
    if isinstance(page, list):
        kept = [row for row in page if row[0] < drop_from]
        return {
            "run_id": run_id,
            "first_seq": kept[0][0],
            "last_seq": kept[-1][0],
            "nodes": [row[1] for row in kept].count("node"),
            "body": _ENCODE(kept),
            "at": time.time(),
        }
    rows = [row for row in page["rows"] if row[0] < drop_from]
    return page_params(run_id, rows, _times(page["times"])[: 2 * len(rows)])


def updates_of(outputs: Mapping[str, Any], success: bool, error: str | None) -> dict[str, Any]:
    """What a node wrote to the state: its ``outputs``, then its outcome (``state.updated``)."""
    if success:
        return {**outputs, SUCCESS_KEY: True}
    return {**outputs, SUCCESS_KEY: False, ERROR_KEY: error}


def _times(text: str) -> Times:
    pairs = array.array("d", base64.b64decode(text))
    if sys.byteorder != "little":
        pairs.byteswap()
    return pairs


def _table_row(
    run_id: str, values: Sequence[Any], started: float, duration: float, at: float
) -> dict[str, Any]:
    """A row as the checkpoints table holds it: JSON columns as text (a join has no times)."""
    row: dict[str, Any] = dict.fromkeys(CHECKPOINT_COLUMNS)
    if len(values) == PLAIN_ROW:
        seq, node, key, value, target = values
        row |= _PLAIN
        row |= {"seq": seq, "node": node, "outputs": {key: value}, "next": [target]}
    else:
        row.update(zip(ROW_COLUMNS, values, strict=False))
    outputs = row.pop("outputs")
    joined = started != started  # NaN
    row |= {
        "run_id": run_id,
        "started": None if joined else started,
        "duration": None if joined else duration,
        "at": at,
    }
    if row["kind"] == "node":
        row["updates"] = updates_of(outputs, row["success"], row["error"])
    return _encoded(row)


def _encoded(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its JSON columns as text (an old page's ``updates`` is text already)."""
    for column in _JSON_COLUMNS:
        value = row[column]
        if value is not None and not isinstance(value, str):
            row[column] = _ENCODE(value)
    return row
