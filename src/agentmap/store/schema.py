"""The run store's tables, and the versioned migrations that create and upgrade them.

Plain SQL that SQLite and PostgreSQL both accept. Each migration moves a store from one version
to the next and never rewrites rows it didn't add. A store is upgraded when it is opened; a
store newer than this agentmap is refused rather than guessed at. Add a migration at the end of
``MIGRATIONS``; never edit one that shipped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from agentmap.store.codec import encode_json

META = "agentmap_meta"
RUNS = "agentmap_runs"
CHECKPOINTS = "agentmap_checkpoints"
PAGES = "agentmap_checkpoint_pages"
JOBS = "agentmap_jobs"
EVENTS = "agentmap_job_events"
GRAPHS = "agentmap_graphs"

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
    "node_hashes",  # JSON: node -> hash of its row
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

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    _CREATE_TABLES,
    _INDEX_HISTORY,
    _SUBGRAPH_RUNS,
    _CHECKPOINT_PAGES,
    _JOBS,
    _JOB_ANSWERS,
    _JOB_EVENTS_AND_GRAPHS,
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
EVENT_COLUMNS = ("job_id", "seq", "at", "kind", "node", "data")
INSERT_EVENT = (
    # the job's next number, taken in the same statement: writers of one job take turns (a
    # worker while it holds the job; the API while nobody does), and SQLite writes one at a time
    f"INSERT INTO {EVENTS} (job_id, seq, at, kind, node, data) "
    "SELECT CAST(:job_id AS VARCHAR(32)), COALESCE(MAX(seq), 0) + 1, :at, :kind, :node, :data "
    f"FROM {EVENTS} WHERE job_id = :job_id"
)

CheckpointRow = tuple[Any, ...]
"""A checkpoint's values in ``CHECKPOINT_COLUMNS`` order, as a page holds them: ``updates`` as
JSON text already (encoded as the node ends: text holds no object a later change could reach);
``next``, ``children`` and ``merged`` as lists; ``started`` and ``duration`` as the text of the
numbers (``repr``, exact: JSON's encoder writes floats through a Python call each, several
times slower); ``at`` None (the page's own ``at`` says when it was written)."""

_JSON_COLUMNS = frozenset(("next", "children", "merged"))
_ENCODE = encode_json


def checkpoint_params(row: CheckpointRow, at: float) -> dict[str, Any]:
    """A checkpoint row as the parameters of ``INSERT_CHECKPOINT``, written at ``at``."""
    params = _table_row(row)
    params["at"] = at
    return params


def _table_row(row: CheckpointRow) -> dict[str, Any]:
    """``row`` as the checkpoints table holds it: JSON columns as text, numbers as numbers."""
    params = {
        column: _ENCODE(value) if column in _JSON_COLUMNS and value is not None else value
        for column, value in zip(CHECKPOINT_COLUMNS, row, strict=True)
    }
    for column in ("started", "duration"):
        if isinstance(params[column], str):
            params[column] = float(params[column])
    return params


def page_params(rows: Sequence[CheckpointRow]) -> dict[str, Any]:
    """One run's consecutive checkpoint ``rows`` as the parameters of ``INSERT_PAGE``."""
    return {
        "run_id": rows[0][0],
        "first_seq": rows[0][1],
        "last_seq": rows[-1][1],
        "nodes": sum(1 for row in rows if row[2] == "node"),
        "body": _ENCODE([row[1:] for row in rows]),
        "at": time.time(),
    }


def page_rows(run_id: str, body: str, at: float) -> list[dict[str, Any]]:
    """The checkpoints a page written at ``at`` holds, as rows of the checkpoints table."""
    rows = []
    for values in json.loads(body):
        row = _table_row((run_id, *values))
        row["at"] = at
        rows.append(row)
    return rows
