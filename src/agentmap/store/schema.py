"""The run store's tables, and the versioned migrations that create and upgrade them.

Plain SQL that SQLite and PostgreSQL both accept. Each migration moves a store from one version
to the next and never rewrites rows it didn't add. A store is upgraded when it is opened; a
store newer than this agentmap is refused rather than guessed at. Add a migration at the end of
``MIGRATIONS``; never edit one that shipped.
"""

from __future__ import annotations

import json
from typing import Any

META = "agentmap_meta"
RUNS = "agentmap_runs"
CHECKPOINTS = "agentmap_checkpoints"

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

MIGRATIONS: tuple[tuple[str, ...], ...] = (_CREATE_TABLES, _INDEX_HISTORY, _SUBGRAPH_RUNS)
"""Migration ``i`` (its statements, in order) takes a store from version ``i`` to ``i + 1``."""
LATEST = len(MIGRATIONS)


def insert(table: str, columns: tuple[str, ...]) -> str:
    """``INSERT INTO table (a, b) VALUES (:a, :b)``."""
    names = ", ".join(columns)
    values = ", ".join(f":{column}" for column in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({values})"


INSERT_RUN = insert(RUNS, RUN_COLUMNS)
INSERT_CHECKPOINT = insert(CHECKPOINTS, CHECKPOINT_COLUMNS)

CheckpointRow = tuple[Any, ...]
"""A checkpoint's values in ``CHECKPOINT_COLUMNS`` order: ``updates`` as JSON text already,
``next``, ``children`` and ``merged`` as lists of names or ids (or None)."""

_JSON_COLUMNS = frozenset(("next", "children", "merged"))
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode

# SQLite: a whole batch of checkpoints in one statement, from one JSON array. One call into
# SQLite per batch (Python's lock is let go for all of it) instead of one per row. ``updates``
# travels as a JSON string holding its text: state values may hold what strict JSON can't
# (NaN), which the codec reads back but SQLite's JSON functions would refuse.
INSERT_CHECKPOINTS_JSON = (
    f"INSERT INTO {CHECKPOINTS} ({', '.join(CHECKPOINT_COLUMNS)}) SELECT "
    + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(CHECKPOINT_COLUMNS)))
    + " FROM json_each(:rows)"
)


def checkpoint_params(row: CheckpointRow) -> dict[str, Any]:
    """A checkpoint row as the parameters of ``INSERT_CHECKPOINT`` (JSON columns as text)."""
    return {
        column: _ENCODE(value) if column in _JSON_COLUMNS and value is not None else value
        for column, value in zip(CHECKPOINT_COLUMNS, row, strict=True)
    }
