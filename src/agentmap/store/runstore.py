"""The run store: every run, its checkpoints and its history, in SQLite or PostgreSQL.

One store, one set of SQL statements for both databases (``schema.py``); ``database.py`` sends
them. A store that can't be opened or read is a ``StoreError`` naming it; the file is never
changed, let alone replaced.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from agentmap.exceptions import RunNotFoundError, StoreError
from agentmap.store import schema
from agentmap.store.codec import loads
from agentmap.store.database import (
    Connection,
    Database,
    Params,
    Row,
    errors,
    is_missing_table,
    open_database,
    placeholders,
    translate_database_error,
)
from agentmap.store.records import (
    NODE_RESULTS_FROM,
    STATUSES,
    Checkpoint,
    RunRecord,
    Status,
    still_running,
)
from agentmap.store.schema import CheckpointRow, Times, page_params, page_rows, times
from agentmap.store.writer import CheckpointWriter, Statement

logger = logging.getLogger(__name__)

_HEX = re.compile("[0-9a-f]{1,32}")
_PG_LOCK = 0x61676D6170  # PostgreSQL advisory lock held while migrating or pruning ("agmap")
_LISTED = ", ".join(
    c for c in schema.RUN_COLUMNS if c not in ("initial_state", "final_state", "summary")
)


class RunStore:
    """Runs and their checkpoints. Open one with ``RunStore.open(url)`` (or ``open_run_store``).

    >>> with RunStore.open("sqlite:///.agentmap/runs.db") as store:  # doctest: +SKIP
    ...     [run.status for run in store.list(limit=3)]
    ['succeeded', 'waiting', 'failed']
    """

    def __init__(
        self, database: Database, busy_timeout: float = 30.0, retention_days: float = 0
    ) -> None:
        self.database = database
        self.location = database.location
        self.retention_days = retention_days
        self._busy_timeout = busy_timeout
        self._maintained = False
        self._last_pruned: str | None = None  # read when the store was opened
        self._writer: CheckpointWriter | None = None
        self.flush_interval, self.flush_batch = 0.05, 256  # storage.flush_*: the writer's
        self.event_listeners: list[Callable[[set[str]], None]] = []
        """Told the ids of the jobs whose new events this store just committed (the service's
        live event streams listen here; other processes' events are found by polling)."""

    @classmethod
    def open(cls, url: str, *, busy_timeout: float = 30.0, retention_days: float = 0) -> RunStore:
        """Open (creating and upgrading as needed) the store at ``url``.

        ``retention_days`` (0: keep every run) is applied by ``maintain``, when runs are written.
        """
        store = cls(open_database(url, busy_timeout), busy_timeout, retention_days)
        try:
            with store.translated_errors():
                store._migrate()
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        """Commit what the checkpoint writer holds, and release the store's connections."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.database.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def checkpoint_writer(
        self, interval: float | None = None, batch: int | None = None
    ) -> CheckpointWriter:
        """The writer thread of ``durability: async`` (one per store, made on first use; by
        default with the store's ``flush_interval`` and ``flush_batch``)."""
        if self._writer is None or self._writer.failed:
            self._writer = CheckpointWriter(
                self.writer,
                self.translated_errors,
                self.insert_checkpoints,
                self.flush_interval if interval is None else interval,
                self.flush_batch if batch is None else batch,
                committed=self._statements_committed,
            )
        return self._writer

    def events_written(self, job_ids: set[str]) -> None:
        """Tell the listeners that jobs ``job_ids`` have new events in the store."""
        for listener in list(self.event_listeners):
            try:
                listener(job_ids)
            except Exception:  # a listener's failure is its own, not the writer's
                logger.warning("event listener %r failed", listener, exc_info=True)

    def _statements_committed(self, statements: list[Statement]) -> None:
        if self.event_listeners:
            jobs = {s.params["job_id"] for s in statements if s.sql == schema.INSERT_EVENT}
            if jobs:
                self.events_written(jobs)

    def flush_checkpoints(self) -> None:
        """Commit what the checkpoint writer holds now (runs whose end was deferred)."""
        if self._writer is not None:
            self._writer.flush()

    def insert_checkpoints(
        self, connection: Connection, runs: list[str], rows: list[CheckpointRow], pairs: Times
    ) -> None:
        """Add a batch of checkpoints in ``connection``'s transaction: a page per run (``runs``
        holds each row's run id, ``pairs`` its times)."""
        first = runs[0]
        if runs.count(first) == len(runs):  # one run's rows (the usual): no sorting out
            connection.execute(schema.INSERT_PAGE, page_params(first, rows, pairs))
            return
        by_run: dict[str, tuple[list[CheckpointRow], Times]] = {}
        for i, (run_id, row) in enumerate(zip(runs, rows, strict=True)):
            run_rows, run_times = by_run.setdefault(run_id, ([], times()))
            run_rows.append(row)
            run_times.extend(pairs[2 * i : 2 * i + 2])
        pages = [page_params(run_id, *page) for run_id, page in by_run.items()]
        connection.execute_many(schema.INSERT_PAGE, pages)

    def writer(self) -> Connection:
        """A connection whose transactions take the write lock as they begin (SQLite)."""
        with self.translated_errors():
            return self.database.connect(write=True)

    def reader(self) -> Connection:
        """A connection for reading."""
        with self.translated_errors():
            return self.database.connect()

    def maintain(self) -> None:
        """Apply the retention once per store opened (called as a run is recorded)."""
        if self._maintained:
            return
        self._maintained = True
        if self.retention_days:
            self.prune_if_due(self.retention_days)

    def get(self, run_id: str) -> RunRecord:
        """The run ``run_id`` (or the only run whose id starts with it), in full."""
        prefix = run_id.lower()
        rows: builtins.list[Row] = []
        if _HEX.fullmatch(prefix):  # ids are hex: anything else names no run
            # A range, not LIKE, so the primary key's index finds the prefix.
            query = (
                f"SELECT * FROM {schema.RUNS} WHERE id >= :low AND id < :high ORDER BY id LIMIT 2"
            )
            with self.translated_errors(), self.reader() as connection:
                rows = connection.execute(query, {"low": prefix, "high": prefix + "g"})
                _with_node_hashes(connection, rows)
        if not rows:
            raise RunNotFoundError(
                f"no run '{run_id}' in the run store {self.location} — "
                "`agentmap runs list` shows the runs it holds",
                file=self.location,
            )
        exact = [row for row in rows if row["id"] == prefix]
        if len(rows) > 1 and not exact:
            raise RunNotFoundError(
                f"'{run_id}' is the start of more than one run id — give more of it",
                file=self.location,
            )
        with self.translated_errors():
            record = _record((exact or rows)[0], full=True)
        summary = record.summary
        if summary is not None and summary.pop(NODE_RESULTS_FROM, None) == "checkpoints":
            summary["node_results"] = [
                _node_result(c) for c in self.checkpoints(record.id) if c.kind == "node"
            ]
        return record

    def list(
        self,
        *,
        graph: str | None = None,
        status: Status | None = None,
        limit: int | None = 20,
        subgraphs: bool = False,
    ) -> builtins.list[RunRecord]:
        """Runs, newest first; ``graph`` / ``status`` filter, ``limit`` caps (None: all).

        A subgraph's runs are parts of their parent's run, so they are listed only with
        ``subgraphs=True``.
        """
        where, params = where_runs(graph, status)
        if not subgraphs:
            where += " AND parent_run_id IS NULL" if where else " WHERE parent_run_id IS NULL"
        query = f"SELECT {_LISTED} FROM {schema.RUNS}{where} ORDER BY started_at DESC"
        crashed_or_running = status in ("running", "crashed")
        if limit is not None and not crashed_or_running:
            query += f" LIMIT {int(limit)}"
        with self.translated_errors(), self.reader() as connection:
            rows = _with_node_hashes(connection, connection.execute(query, params))
            records = [_record(row) for row in rows]
        if crashed_or_running:  # which "running" runs crashed is only known by their processes
            records = [record for record in records if record.status == status]
        return records[:limit] if limit is not None else records

    def runs_of(self, ids: Sequence[str]) -> builtins.list[RunRecord]:
        """The runs with these ids (those that exist), in full but for their node results."""
        records: builtins.list[RunRecord] = []
        with self.translated_errors(), self.reader() as connection:
            for start in range(0, len(ids), 500):
                names, params = placeholders("id", ids[start : start + 500])
                query = f"SELECT * FROM {schema.RUNS} WHERE id IN {names}"
                rows = _with_node_hashes(connection, connection.execute(query, params))
                records += [_record(row, full=True) for row in rows]
        return records

    def child_run(self, parent_run_id: str, node: str) -> RunRecord | None:
        """The latest run of the subgraph that node ``node`` of run ``parent_run_id`` started."""
        query = (
            f"SELECT id FROM {schema.RUNS} WHERE parent_run_id = :parent AND parent_node = :node "
            "ORDER BY started_at DESC LIMIT 1"
        )
        with self.translated_errors(), self.reader() as connection:
            rows = connection.execute(query, {"parent": parent_run_id, "node": node})
        return self.get(rows[0]["id"]) if rows else None

    def checkpoints(self, run_id: str) -> builtins.list[Checkpoint]:
        """Every checkpoint of run ``run_id``, in the order they were written."""
        with self.translated_errors(), self.reader() as connection:
            rows = checkpoint_rows(connection, "run_id = :run_id", {"run_id": run_id})
            return [_checkpoint(row) for row in rows]

    def prune(self, days: float, *, now: float | None = None) -> int:
        """Delete runs that ended more than ``days`` days ago; return how many.

        Waiting runs are kept however old (someone still has to answer them), and so are runs
        still running. A run that crashed counts as ended when it was last heard of.
        """
        cutoff = (time.time() if now is None else now) - days * 86400
        query = (
            f"SELECT id, status, pid, host, process_start FROM {schema.RUNS} "
            "WHERE COALESCE(finished_at, updated_at) < :cutoff AND status <> 'waiting'"
        )
        with self.translated_errors(), self.writer() as connection:
            self._one_at_a_time(connection)
            doomed = [
                row["id"]
                for row in connection.execute(query, {"cutoff": cutoff})
                if row["status"] != "running"
                or not still_running(row["host"], row["pid"], row["process_start"])
            ]
            for start in range(0, len(doomed), 500):
                ids, params = placeholders("id", doomed[start : start + 500])
                for table in (schema.CHECKPOINTS, schema.PAGES):
                    connection.execute(f"DELETE FROM {table} WHERE run_id IN {ids}", params)
                connection.execute(f"DELETE FROM {schema.EVENTS} WHERE job_id IN {ids}", params)
                connection.execute(f"DELETE FROM {schema.RUNS} WHERE id IN {ids}", params)
            self._last_pruned = repr(time.time())
            _set_meta(connection, "last_pruned", self._last_pruned)
            connection.commit()
        if doomed:
            logger.info(
                "pruned %d runs older than %g days from %s", len(doomed), days, self.location
            )
        return len(doomed)

    def prune_if_due(self, days: float) -> None:
        """Prune at most once a day, so retention holds without anyone running ``runs prune``."""
        last = self._last_pruned
        if last is None or time.time() - float(last) > 86400:
            self.prune(days)

    @contextlib.contextmanager
    def translated_errors(self) -> Iterator[None]:
        """Turn a database error into a ``StoreError`` that names the store and a fix.

        A stored value that is not the JSON agentmap wrote is a damaged store, too.
        """
        try:
            yield
        except errors() as exc:
            raise translate_database_error(exc, self.location, self._busy_timeout) from exc
        except json.JSONDecodeError as exc:
            raise StoreError(
                f"the run store {self.location} holds a damaged record (not JSON: {exc.msg}) — "
                "it was left as it is; move it aside or point storage.url elsewhere",
                file=self.location,
            ) from exc

    def _migrate(self) -> None:
        with self.reader() as connection:
            meta = self._meta(connection)
            if meta is None:  # a new (or foreign) database: look at its tables
                version = self._version(connection)
            else:
                version = _checked_version(int(meta.get("schema_version") or 0), self.location)
                self._last_pruned = meta.get("last_pruned")
            connection.rollback()
        if version == schema.LATEST:
            self.database.enable_wal()
            return
        with self.writer() as connection:
            self._one_at_a_time(connection)
            version = self._version(connection)  # again, now holding the lock
            if version == 0:
                connection.execute(schema.CREATE_META)
            for migration in schema.MIGRATIONS[version:]:
                for statement in migration:
                    connection.execute(statement)
            _set_meta(connection, "schema_version", str(schema.LATEST))
            connection.commit()
        self.database.enable_wal()  # only now that the database is known to be ours
        if version:
            logger.info(
                "upgraded the run store %s from version %d to %d",
                self.location,
                version,
                schema.LATEST,
            )

    def _meta(self, connection: Connection) -> dict[str, str] | None:
        """The store's meta rows in one query (the common case), or None with no meta table."""
        try:
            rows = connection.execute(f"SELECT key, value FROM {schema.META}")
        except errors() as exc:
            if not is_missing_table(exc):
                raise
            connection.rollback()
            return None
        return {row["key"]: row["value"] for row in rows}

    def _version(self, connection: Connection) -> int:
        """The store's schema version: 0 for a new, empty database."""
        tables = self.database.table_names(connection)  # one look: another process may commit
        if schema.META not in tables:
            if tables:
                raise StoreError(
                    f"{self.location} is a database, but not an agentmap run store (it has "
                    f"tables {', '.join(sorted(tables)[:5])}) — point storage.url at another "
                    "database",
                    file=self.location,
                )
            return 0
        rows = connection.execute(f"SELECT value FROM {schema.META} WHERE key = 'schema_version'")
        return _checked_version(int(rows[0]["value"]) if rows else 0, self.location)

    def _one_at_a_time(self, connection: Connection) -> None:
        """Make this transaction the only one migrating or pruning the store until it ends.

        SQLite's ``BEGIN IMMEDIATE`` already does; on PostgreSQL two processes opening a new
        store at once would both create its tables (and two prunes both write ``last_pruned``).
        """
        if self.database.dialect == "postgresql":
            connection.execute("SELECT pg_advisory_xact_lock(:key)", {"key": _PG_LOCK})


def where_runs(graph: str | None, status: Status | None) -> tuple[str, dict[str, Any]]:
    """`` WHERE ...`` choosing runs of ``graph`` with ``status`` (crashed: stored as running)."""
    clauses, params = [], {}
    if graph is not None:
        clauses.append("graph_name = :graph")
        params["graph"] = graph
    if status is not None:
        clauses.append("status = :status")
        params["status"] = "running" if status == "crashed" else status
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _set_meta(connection: Connection, key: str, value: str) -> None:
    connection.execute(f"DELETE FROM {schema.META} WHERE key = :key", {"key": key})
    connection.execute(
        f"INSERT INTO {schema.META} (key, value) VALUES (:key, :value)",
        {"key": key, "value": value},
    )


def _checked_version(version: int, location: str) -> int:
    if version > schema.LATEST:
        raise StoreError(
            f"the run store {location} was made by a newer agentmap (store version {version}; "
            f"this agentmap knows up to {schema.LATEST}) — upgrade agentmap, or point "
            "storage.url at another store",
            file=location,
        )
    return version


def _with_node_hashes(connection: Connection, rows: builtins.list[Row]) -> builtins.list[Row]:
    """``rows`` of the runs table with their node hashes in: a run made since store version 8
    has '' there, its graph's are kept once (``schema.NODE_HASHES``)."""
    wanted = sorted({row["graph_hash"] for row in rows if row["node_hashes"] == ""})
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        names, params = placeholders("hash", wanted[start : start + 500])
        query = (
            f"SELECT graph_hash, node_hashes FROM {schema.NODE_HASHES} WHERE graph_hash IN {names}"
        )
        found |= {
            row["graph_hash"]: row["node_hashes"] for row in connection.execute(query, params)
        }
    for row in rows:
        if row["node_hashes"] == "":
            row["node_hashes"] = found.get(row["graph_hash"], "{}")
    return rows


def _record(data: Row, full: bool = False) -> RunRecord:
    status: Status = data["status"] if data["status"] in STATUSES else "failed"
    if status == "running" and not still_running(data["host"], data["pid"], data["process_start"]):
        status = "crashed"
    return RunRecord(
        id=data["id"],
        graph_name=data["graph_name"],
        graph_file=data["graph_file"],
        entry=data["entry"],
        graph_hash=data["graph_hash"],
        status=status,
        started_at=data["started_at"],
        updated_at=data["updated_at"],
        finished_at=data["finished_at"],
        duration=data["duration"],
        error=data["error"],
        pid=data["pid"],
        host=data["host"],
        checkpoints=bool(data["checkpoints"]),
        version=data["version"],
        node_hashes=json.loads(data["node_hashes"] or "{}"),
        initial_state=loads(data["initial_state"]) if full else None,
        final_state=loads(data["final_state"]) if full else None,
        summary=json.loads(data["summary"]) if full and data["summary"] else None,
        waiting=tuple(json.loads(data["waiting"] or "[]")),
        parent_run_id=data["parent_run_id"],
        parent_node=data["parent_node"],
    )


def checkpoint_rows(connection: Connection, where: str, params: Params) -> builtins.list[Row]:
    """The checkpoint rows of the runs ``where`` picks (a condition on ``run_id``), in run and
    ``seq`` order — written one by one (``durability: sync``) or in pages."""
    single = connection.execute(
        f"SELECT * FROM {schema.CHECKPOINTS} WHERE {where} ORDER BY run_id, seq", params
    )
    pages = connection.execute(
        f"SELECT run_id, body, at FROM {schema.PAGES} WHERE {where} ORDER BY run_id, first_seq",
        params,
    )
    if not pages:
        return single
    rows = single + [
        row for page in pages for row in page_rows(page["run_id"], page["body"], page["at"])
    ]
    rows.sort(key=lambda row: (row["run_id"], row["seq"]))
    return rows


def _node_result(checkpoint: Checkpoint) -> dict[str, Any]:
    """A node's result as a summary holds it, from the node's checkpoint."""
    result: dict[str, Any] = {
        "node": checkpoint.node,
        "success": checkpoint.success,
        "duration": checkpoint.duration,
        "started": checkpoint.started,
        "error": checkpoint.error,
    }
    if checkpoint.attempt != 1:
        result["attempt"] = checkpoint.attempt
    return result


def _checkpoint(data: Row) -> Checkpoint:
    return Checkpoint(
        seq=data["seq"],
        kind=data["kind"],
        branch=data["branch"],
        node=data["node"],
        attempt=data["attempt"] or 1,
        success=None if data["success"] is None else bool(data["success"]),
        error=data["error"],
        started=data["started"],
        duration=data["duration"],
        updates=loads(data["updates"]),
        next=tuple(json.loads(data["next"] or "[]")),
        fork=data["fork"],
        children=tuple(json.loads(data["children"] or "[]")),
        merged=tuple(json.loads(data["merged"] or "[]")),
    )
