"""Jobs in the run store: queued, taken by one worker at a time under a lease, settled.

The store is the system of record for jobs as for runs: a worker takes a job in one
transaction (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's ``FOR UPDATE SKIP LOCKED``), so two
workers never both take it; it holds the job only while it renews its lease, and a job whose
lease lapsed (its worker died) is taken again by the next worker that looks. A worker settles a
job only while it still holds it, so a worker that was merely slow can't overwrite the work of
the one that took the job over.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import re
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from agentmap.exceptions import JobNotFoundError
from agentmap.store import schema
from agentmap.store.codec import loads
from agentmap.store.database import Connection, Row, placeholders
from agentmap.store.runstore import RunStore

JobState = Literal["queued", "running", "waiting", "retrying", "completed", "failed", "cancelled"]
JOB_STATES: tuple[JobState, ...] = (
    "queued",
    "running",
    "waiting",
    "retrying",
    "completed",
    "failed",
    "cancelled",
)
ENDED: tuple[JobState, ...] = ("completed", "failed", "cancelled")

_HEX = re.compile("[0-9a-f]{1,32}")
_TAKEABLE = (
    "((state IN ('queued', 'retrying') AND not_before <= :now) "
    "OR (state = 'running' AND lease_until < :now))"
)
# A job waiting for a person is carried on by `agentmap resume`, outside the job layer: its
# run's status then says how it went on.
_FROM_RUN: dict[str, JobState] = {
    "succeeded": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
    "running": "running",
    "crashed": "running",
}
_SELECT = (
    f"SELECT j.*, r.status AS run_status, r.finished_at AS run_finished_at "
    f"FROM {schema.JOBS} j LEFT JOIN {schema.RUNS} r ON r.id = j.id"
)


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One job as the store holds it (``inputs`` decoded only when asked for in full)."""

    id: str
    name: str | None
    graph_file: str
    graph_name: str | None
    tags: tuple[str, ...]
    priority: int
    retry_policy: dict[str, Any] | None
    max_retries: int
    state: JobState
    attempt: int
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    not_before: float
    worker: str | None
    lease_until: float | None
    cancel_requested: bool
    error: str | None
    nodes_done: int
    running_nodes: tuple[str, ...]
    batch_id: str | None
    batch_row: int | None
    inputs: dict[str, Any] | None = None
    fresh: bool = False  # taken for the first time: it has no run yet (claim says)
    answer: dict[str, Any] | None = None  # {"node", "value"}: what to carry a waiting run on with
    graph_id: str | None = None  # the registered graph it ran (AgentMapApp.register_graph)
    graph_version: str | None = None


@dataclass(frozen=True, slots=True)
class JobEvent:
    """Something that happened to a job: ``seq`` counts from 1 per job, in order."""

    job_id: str
    seq: int
    at: float
    kind: str
    node: str | None
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """As JSON: the event's own fields, then what its kind carries."""
        return {
            **self.data,
            "job_id": self.job_id,
            "seq": self.seq,
            "at": self.at,
            "kind": self.kind,
            "node": self.node,
        }


def event_params(
    job_id: str, kind: str, node: str | None = None, at: float | None = None, **data: Any
) -> dict[str, Any]:
    """The parameters of ``schema.INSERT_EVENT`` for one event."""
    return {
        "job_id": job_id,
        "at": time.time() if at is None else at,
        "kind": kind,
        "node": node,
        "data": json.dumps(data, default=str, ensure_ascii=False),
    }


@dataclass(frozen=True, slots=True)
class JobNumbers:
    """What monitoring shows of the jobs in a store."""

    by_state: dict[str, int]
    takeable: int
    retries: int
    workers: int
    durations: builtins.list[float]  # of the runs of jobs that ended


class JobStore:
    """The jobs of one run store. Cheap to make: it holds no connection of its own."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.location = store.location

    def add(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Record new jobs (``JOB_COLUMNS`` each), all or none, in one transaction."""
        with self.store.translated_errors(), self.store.writer() as connection:
            if len(rows) == 1:
                connection.execute(schema.INSERT_JOB, rows[0])
            else:
                connection.execute_many(schema.INSERT_JOB, rows)
            connection.commit()

    def get(self, job_id: str, *, full: bool = False) -> JobRecord:
        """The job ``job_id`` (or the only job whose id starts with it)."""
        prefix = job_id.strip().lower()
        rows: builtins.list[Row] = []
        if _HEX.fullmatch(prefix):
            query = f"{_SELECT} WHERE j.id >= :low AND j.id < :high ORDER BY j.id LIMIT 2"
            with self.store.translated_errors(), self.store.reader() as connection:
                rows = connection.execute(query, {"low": prefix, "high": prefix + "g"})
        exact = [row for row in rows if row["id"] == prefix]
        if not rows or (len(rows) > 1 and not exact):
            why = "is the start of more than one job id — give more of it" if rows else ""
            raise JobNotFoundError(
                f"'{job_id}' {why}"
                if why
                else f"no job '{job_id}' in the run store {self.location} — "
                "`agentmap jobs list` shows the jobs it holds",
                file=self.location,
            )
        with self.store.translated_errors():
            return _record((exact or rows)[0], full=full)

    def takeable(self, limit: int = 1000) -> builtins.list[tuple[str, tuple[str, ...]]]:
        """(id, tags) of jobs a worker could take now, best first — for a dispatcher that
        hands them to workers elsewhere (Dask) rather than taking them itself."""
        query = (
            f"SELECT id, tags FROM {schema.JOBS} j WHERE {_TAKEABLE} "
            f"ORDER BY priority DESC, created_at LIMIT {int(limit)}"
        )
        with self.store.translated_errors(), self.store.reader() as connection:
            rows = connection.execute(query, {"now": time.time()})
        return [(row["id"], tuple(json.loads(row["tags"]))) for row in rows]

    def numbers(self) -> JobNumbers:
        """Counts by state, the queue's depth, retries, live workers, and run durations."""
        now = {"now": time.time()}
        with self.store.translated_errors(), self.store.reader() as connection:
            states = connection.execute(
                f"SELECT state, COUNT(*) AS n FROM {schema.JOBS} GROUP BY state"
            )
            takeable = connection.execute(
                f"SELECT COUNT(*) AS n FROM {schema.JOBS} j WHERE {_TAKEABLE}", now
            )
            retries = connection.execute(
                f"SELECT COALESCE(SUM(attempt - 1), 0) AS n FROM {schema.JOBS} WHERE attempt > 1"
            )
            workers = connection.execute(
                f"SELECT COUNT(DISTINCT worker) AS n FROM {schema.JOBS} "
                "WHERE state = 'running' AND lease_until >= :now",
                now,
            )
            durations = connection.execute(
                f"SELECT r.duration FROM {schema.RUNS} r JOIN {schema.JOBS} j ON j.id = r.id "
                "WHERE r.duration IS NOT NULL"
            )
        return JobNumbers(
            by_state={row["state"]: int(row["n"]) for row in states},
            takeable=int(takeable[0]["n"]),
            retries=int(retries[0]["n"]),
            workers=int(workers[0]["n"]),
            durations=[float(row["duration"]) for row in durations],
        )

    def workers(self) -> builtins.list[dict[str, Any]]:
        """The workers holding jobs now: name, jobs held, when their lease runs out."""
        with self.store.translated_errors(), self.store.reader() as connection:
            rows = connection.execute(
                f"SELECT worker, COUNT(*) AS jobs, MAX(lease_until) AS lease_until "
                f"FROM {schema.JOBS} WHERE state = 'running' AND worker IS NOT NULL "
                "GROUP BY worker ORDER BY worker"
            )
        now = time.time()
        return [
            {
                "worker": row["worker"],
                "jobs": int(row["jobs"]),
                "lease_until": row["lease_until"],
                "alive": (row["lease_until"] or 0) >= now,
            }
            for row in rows
        ]

    def tags_for(self, ids: Collection[str]) -> dict[str, tuple[str, ...]]:
        """The tags of those of runs ``ids`` that are jobs (run id → its job's tags)."""
        found: dict[str, tuple[str, ...]] = {}
        ids = builtins.list(ids)
        with self.store.translated_errors(), self.store.reader() as connection:
            for start in range(0, len(ids), 500):
                names, params = placeholders("id", ids[start : start + 500])
                query = f"SELECT id, tags FROM {schema.JOBS} WHERE id IN {names}"
                for row in connection.execute(query, params):
                    found[row["id"]] = tuple(json.loads(row["tags"]))
        return found

    def list(
        self,
        *,
        states: Collection[JobState] = (),
        tags: Collection[str] = (),
        graph: str | None = None,
        limit: int | None = 20,
        before: float | None = None,
        batch_id: str | None = None,
        cursor: tuple[float, str] | None = None,
    ) -> builtins.list[JobRecord]:
        """Jobs, newest first: in one of ``states``, carrying every tag of ``tags``, of graph
        (file or name) ``graph``, created before ``before``, of batch ``batch_id``."""
        clauses: builtins.list[str] = []
        params: dict[str, Any] = {}
        if graph is not None:
            clauses.append("(j.graph_name = :graph OR j.graph_file = :graph)")
            params["graph"] = graph
        if before is not None:
            clauses.append("j.created_at < :before")
            params["before"] = before
        if batch_id is not None:
            clauses.append("j.batch_id = :batch")
            params["batch"] = batch_id
        if cursor is not None:  # after the page that ended with this job: stable under inserts
            clauses.append("(j.created_at < :c_at OR (j.created_at = :c_at AND j.id < :c_id))")
            params |= {"c_at": cursor[0], "c_id": cursor[1]}
        for i, tag in enumerate(sorted(set(tags))):
            clauses.append(f"j.tags LIKE :tag{i}")
            params[f"tag{i}"] = "%" + json.dumps(tag) + "%"
        stored = _stored_states(states)
        if stored:
            names, values = placeholders("state", sorted(stored))
            clauses.append(f"j.state IN {names}")
            params |= values
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        order = (
            " ORDER BY j.batch_row"
            if batch_id is not None
            else " ORDER BY j.created_at DESC, j.id DESC"
        )
        query = f"{_SELECT}{where}{order}"
        exact = not states or set(states) == set(stored)  # a stored state may read as another
        if limit is not None and exact:
            query += f" LIMIT {int(limit)}"
        with self.store.translated_errors(), self.store.reader() as connection:
            records = [_record(row) for row in connection.execute(query, params)]
        if not exact:
            records = [record for record in records if record.state in states]
        return records[:limit] if limit is not None else records

    def claim(
        self,
        worker: str,
        count: int,
        lease: float,
        *,
        fits: Collection[str] | None = None,
        only: Collection[str] | None = None,
        batch: str | None = None,
    ) -> tuple[builtins.list[JobRecord], builtins.list[str]]:
        """Take up to ``count`` jobs for ``worker``: the highest priority, then the oldest.

        Returns the jobs taken (in full) and the ids of jobs found cancelled while nobody held
        them, now settled as such. ``fits``: only jobs whose tags are all in it; ``only``: only
        these job ids; ``batch``: only the jobs of that batch. A job whose lease lapsed is taken
        at the same attempt (it carries on); a queued or retrying one at the next.
        """
        now = time.time()
        query = f"SELECT * FROM {schema.JOBS} j WHERE {_TAKEABLE}"
        params: dict[str, Any] = {"now": now}
        if only is not None:
            names, values = placeholders("only", sorted(only))
            query += f" AND j.id IN {names}"
            params |= values
        if batch is not None:
            query += " AND j.batch_id = :batch"
            params["batch"] = batch
        query += " ORDER BY priority DESC, created_at"
        if fits is None:
            query += f" LIMIT {int(count)}"
        if self.store.database.dialect == "postgresql":
            query += " FOR UPDATE SKIP LOCKED"
        taken: builtins.list[JobRecord] = []
        cancelled: builtins.list[str] = []
        with self.store.translated_errors(), self.store.writer() as connection:
            for row in connection.execute(query, params):
                if len(taken) == count:
                    break
                if fits is not None and not set(json.loads(row["tags"])) <= set(fits):
                    continue
                if row["cancel_requested"]:
                    _settle_cancelled(connection, row["id"], now)
                    cancelled.append(row["id"])
                    continue
                attempt = row["attempt"] if row["state"] == "running" else row["attempt"] + 1
                fresh = row["state"] == "queued" and row["attempt"] == 0
                row |= {
                    "state": "running",
                    "worker": worker,
                    "lease_until": now + lease,
                    "attempt": attempt,
                    "started_at": row["started_at"] or now,
                    "updated_at": now,
                    "run_status": None,
                    "run_finished_at": None,
                }
                taken.append(dataclasses.replace(_record(row, full=True), fresh=fresh))
            if taken:
                connection.execute_many(
                    f"UPDATE {schema.JOBS} SET state = 'running', worker = :worker, "
                    "lease_until = :lease_until, attempt = :attempt, started_at = :started_at, "
                    "updated_at = :updated_at WHERE id = :id",
                    [
                        {
                            "id": job.id,
                            "worker": worker,
                            "lease_until": job.lease_until,
                            "attempt": job.attempt,
                            "started_at": job.started_at,
                            "updated_at": now,
                        }
                        for job in taken
                    ],
                )
                connection.execute_many(
                    schema.INSERT_EVENT,
                    [
                        event_params(
                            job.id, "job_started", at=now, attempt=job.attempt, worker=worker
                        )
                        for job in taken
                    ],
                )
            connection.commit()
        if taken or cancelled:
            self.store.events_written({job.id for job in taken} | set(cancelled))
        return taken, cancelled

    def renew(
        self, worker: str, lease: float, progress: Mapping[str, tuple[int, Sequence[str]]]
    ) -> builtins.list[str]:
        """Extend the lease of every job ``worker`` holds, record ``progress`` (job → nodes
        done, nodes running), and return the ids of its jobs someone asked to cancel."""
        now = time.time()
        with self.store.translated_errors(), self.store.writer() as connection:
            connection.execute(
                f"UPDATE {schema.JOBS} SET lease_until = :until "
                "WHERE worker = :worker AND state = 'running'",
                {"until": now + lease, "worker": worker},
            )
            if progress:
                connection.execute_many(
                    f"UPDATE {schema.JOBS} SET nodes_done = :done, running_nodes = :running, "
                    "updated_at = :now WHERE id = :id AND worker = :worker",
                    [
                        {
                            "id": job_id,
                            "done": done,
                            "running": json.dumps(list(running)),
                            "now": now,
                            "worker": worker,
                        }
                        for job_id, (done, running) in progress.items()
                    ],
                )
            asked = _asked_to_cancel(connection, worker)
            connection.commit()
        return asked

    def cancel_requests(self, worker: str) -> builtins.list[str]:
        """The ids of ``worker``'s running jobs that someone asked to cancel."""
        with self.store.translated_errors(), self.store.reader() as connection:
            return _asked_to_cancel(connection, worker)

    def settle(
        self,
        job_id: str,
        worker: str,
        state: JobState,
        *,
        error: str | None = None,
        not_before: float = 0.0,
        nodes_done: int | None = None,
    ) -> bool:
        """Record how ``worker``'s attempt at ``job_id`` ended; False if it no longer held it.

        ``running`` gives the job back (its lease lapses now, so the next worker carries it on).
        """
        held = self.settle_many(worker, [Settlement(job_id, state, error, not_before, nodes_done)])
        return job_id in held

    def settle_many(self, worker: str, settlements: Sequence[Settlement]) -> set[str]:
        """Settle several of ``worker``'s jobs in one transaction; the ids it still held (the
        others were taken over, and are left as their new worker has them)."""
        now = time.time()
        held: set[str] = set()
        with self.store.translated_errors(), self.store.writer() as connection:
            for settlement in settlements:
                values = _settled(settlement, worker, now)
                assignments = ", ".join(f"{column} = :{column}" for column in values)
                rows = connection.execute(
                    f"UPDATE {schema.JOBS} SET {assignments} "
                    "WHERE id = :id AND worker = :holder AND state = 'running' RETURNING id",
                    {**values, "id": settlement.job_id, "holder": worker},
                )
                if rows:
                    held.add(settlement.job_id)
                    connection.execute(schema.INSERT_EVENT, _settled_event(settlement, now))
            connection.commit()
        if held:
            self.store.events_written(held)
        return held

    def request_cancel(self, job_id: str) -> JobRecord:
        """Cancel a job: at once unless a worker runs it, which is asked to stop it instead."""
        record = self.get(job_id)
        now = time.time()
        with self.store.translated_errors(), self.store.writer() as connection:
            connection.execute(
                f"UPDATE {schema.JOBS} SET cancel_requested = :yes, updated_at = :now "
                "WHERE id = :id",
                {"id": record.id, "yes": True, "now": now},
            )
            if record.state in ("queued", "retrying", "waiting") or (
                record.state == "running" and (record.lease_until or 0) < now
            ):
                _settle_cancelled(connection, record.id, now)
                settled = True
            else:
                settled = False
            connection.commit()
        if settled:
            self.store.events_written({record.id})
        return self.get(record.id)

    def batch_rows(self, batch_id: str, *, full: bool = False) -> builtins.list[JobRecord]:
        """The jobs of batch ``batch_id`` (or the only batch whose id starts with it), in row
        order."""
        prefix = batch_id.strip().lower()
        if not _HEX.fullmatch(prefix):
            return []
        with self.store.translated_errors(), self.store.reader() as connection:
            found = connection.execute(
                f"SELECT DISTINCT batch_id FROM {schema.JOBS} "
                "WHERE batch_id >= :low AND batch_id < :high LIMIT 2",
                {"low": prefix, "high": prefix + "g"},
            )
            if len(found) != 1:
                return []
            rows = connection.execute(
                f"{_SELECT} WHERE j.batch_id = :batch ORDER BY j.batch_row",
                {"batch": found[0]["batch_id"]},
            )
            return [_record(row, full=full) for row in rows]

    def batch_counts(self, batch_id: str) -> dict[str, int]:
        """How many of batch ``batch_id``'s jobs are in each state (as stored)."""
        with self.store.translated_errors(), self.store.reader() as connection:
            rows = connection.execute(
                f"SELECT state, COUNT(*) AS n FROM {schema.JOBS} WHERE batch_id = :batch "
                "GROUP BY state",
                {"batch": batch_id},
            )
        return {row["state"]: int(row["n"]) for row in rows}

    def batch_open(self, batch_id: str) -> int:
        """How many of the batch's jobs may still run (queued, running or retrying)."""
        with self.store.translated_errors(), self.store.reader() as connection:
            rows = connection.execute(
                f"SELECT COUNT(*) AS n FROM {schema.JOBS} WHERE batch_id = :batch "
                "AND state IN ('queued', 'running', 'retrying')",
                {"batch": batch_id},
            )
        return int(rows[0]["n"])

    def requeue(self, batch_id: str) -> int:
        """Queue the batch's failed and cancelled jobs again, as next attempts; how many."""
        now = time.time()
        with self.store.translated_errors(), self.store.writer() as connection:
            rows = connection.execute(
                f"UPDATE {schema.JOBS} SET state = 'queued', not_before = 0, "
                "cancel_requested = :no, finished_at = NULL, updated_at = :now "
                "WHERE batch_id = :batch AND state IN ('failed', 'cancelled') RETURNING id",
                {"batch": batch_id, "now": now, "no": False},
            )
            for row in rows:
                connection.execute(schema.INSERT_EVENT, event_params(row["id"], "job_queued"))
            connection.commit()
        if rows:
            self.store.events_written({row["id"] for row in rows})
        return len(rows)

    def answer(self, job_id: str, answer: str) -> bool:
        """Queue waiting job ``job_id`` again with ``answer`` (JSON) for its next attempt;
        False if it was no longer waiting."""
        with self.store.translated_errors(), self.store.writer() as connection:
            rows = connection.execute(
                f"UPDATE {schema.JOBS} SET answer = :answer, state = 'queued', not_before = 0, "
                "updated_at = :now WHERE id = :id AND state = 'waiting' RETURNING id",
                {"answer": answer, "now": time.time(), "id": job_id},
            )
            if rows:
                node = loads(answer).get("node") if answer else None
                connection.execute(schema.INSERT_EVENT, event_params(job_id, "job_answered", node))
            connection.commit()
        if rows:
            self.store.events_written({job_id})
        return bool(rows)

    def events(self, job_id: str, after: int = 0, limit: int = 1000) -> builtins.list[JobEvent]:
        """Job ``job_id``'s events after number ``after``, oldest first, at most ``limit``."""
        with self.store.translated_errors(), self.store.reader() as connection:
            rows = connection.execute(
                f"SELECT * FROM {schema.EVENTS} WHERE job_id = :id AND seq > :after "
                f"ORDER BY seq LIMIT {int(limit)}",
                {"id": job_id, "after": after},
            )
        return [_event(row) for row in rows]

    def last_events(self, job_ids: Collection[str]) -> dict[str, int]:
        """The number of each job's latest event (jobs with none are left out)."""
        found: dict[str, int] = {}
        ordered = sorted(job_ids)
        with self.store.translated_errors(), self.store.reader() as connection:
            for start in range(0, len(ordered), 500):
                names, params = placeholders("id", ordered[start : start + 500])
                rows = connection.execute(
                    f"SELECT job_id, MAX(seq) AS seq FROM {schema.EVENTS} "
                    f"WHERE job_id IN {names} GROUP BY job_id",
                    params,
                )
                found.update((row["job_id"], int(row["seq"])) for row in rows)
        return found

    def events_since(self, at: float, limit: int = 1000) -> builtins.list[JobEvent]:
        """Every job's events stamped at or after ``at``, in time order (for a feed of all
        jobs; an event's stamp is when it happened, so a reader keeps a margin)."""
        with self.store.translated_errors(), self.store.reader() as connection:
            rows = connection.execute(
                f"SELECT * FROM {schema.EVENTS} WHERE at >= :at ORDER BY at, job_id, seq "
                f"LIMIT {int(limit)}",
                {"at": at},
            )
        return [_event(row) for row in rows]

    def tally_events_since(
        self, at: float, limit: int = 10_000
    ) -> builtins.list[tuple[JobEvent, str | None]]:
        """Every job's events stamped at or after ``at`` with their job's graph name, in
        time order (what the service's metrics count)."""
        with self.store.translated_errors(), self.store.reader() as connection:
            rows = connection.execute(
                f"SELECT e.*, j.graph_name AS graph FROM {schema.EVENTS} e "
                f"LEFT JOIN {schema.JOBS} j ON j.id = e.job_id WHERE e.at >= :at "
                f"ORDER BY e.at, e.job_id, e.seq LIMIT {int(limit)}",
                {"at": at},
            )
        return [(_event(row), row["graph"]) for row in rows]

    def forget_run(self, job_id: str) -> None:
        """Drop the job's run (a run without checkpoints can only start over)."""
        with self.store.translated_errors(), self.store.writer() as connection:
            for table, column in (
                (schema.CHECKPOINTS, "run_id"),
                (schema.PAGES, "run_id"),
                (schema.RUNS, "id"),
            ):
                connection.execute(f"DELETE FROM {table} WHERE {column} = :id", {"id": job_id})
            connection.commit()


class Settlement(NamedTuple):
    """How one attempt at a job ended, as its worker settles it."""

    job_id: str
    state: JobState
    error: str | None = None
    not_before: float = 0.0
    nodes_done: int | None = None


def _settled(settlement: Settlement, worker: str, now: float) -> dict[str, Any]:
    """The job columns a settlement sets."""
    state = settlement.state
    values: dict[str, Any] = {
        "state": state,
        "updated_at": now,
        "worker": None,
        "lease_until": None,
        "running_nodes": None,
    }
    if state != "running":
        values["answer"] = None  # used (or no longer wanted)
    if state == "running":  # given back: its lease lapses now
        values |= {"worker": worker, "lease_until": 0.0}
    if state in ENDED:
        values["finished_at"] = now
    if state in ("retrying", "failed"):
        values["error"] = settlement.error
    if state == "retrying":
        values["not_before"] = settlement.not_before
    if settlement.nodes_done is not None:
        values["nodes_done"] = settlement.nodes_done
    return values


_SETTLED_KINDS: dict[str, str] = {
    "completed": "job_finished",
    "failed": "job_finished",
    "cancelled": "job_finished",
    "waiting": "job_waiting",
    "retrying": "job_retrying",
    "running": "job_released",  # given back by a worker that stopped, to be carried on
}


def _settled_event(settlement: Settlement, now: float) -> dict[str, Any]:
    data: dict[str, Any] = {"state": settlement.state}
    if settlement.error is not None:
        data["error"] = settlement.error
    if settlement.state == "retrying":
        data["not_before"] = settlement.not_before
    return event_params(settlement.job_id, _SETTLED_KINDS[settlement.state], at=now, **data)


def _asked_to_cancel(connection: Connection, worker: str) -> builtins.list[str]:
    rows = connection.execute(
        f"SELECT id FROM {schema.JOBS} "
        "WHERE worker = :worker AND state = 'running' AND cancel_requested = :yes",
        {"worker": worker, "yes": True},
    )
    return [row["id"] for row in rows]


def _settle_cancelled(connection: Connection, job_id: str, now: float) -> None:
    connection.execute(
        f"UPDATE {schema.JOBS} SET state = 'cancelled', finished_at = :now, updated_at = :now, "
        "worker = NULL, lease_until = NULL, running_nodes = NULL WHERE id = :id",
        {"id": job_id, "now": now},
    )
    connection.execute(  # a run waiting for a person, or stopped by a worker that died
        f"UPDATE {schema.RUNS} SET status = 'cancelled', finished_at = :now, updated_at = :now "
        "WHERE id = :id AND status IN ('waiting', 'running')",
        {"id": job_id, "now": now},
    )
    connection.execute(
        schema.INSERT_EVENT, event_params(job_id, "job_finished", at=now, state="cancelled")
    )


def _stored_states(states: Collection[JobState]) -> set[str]:
    """The states stored for jobs that read as ``states`` (a waiting job's run may have gone
    on since: it reads as its run says)."""
    stored: set[str] = set(states)
    if stored & {"completed", "failed", "cancelled", "running"}:
        stored.add("waiting")
    return stored if states else set()


def _event(row: Row) -> JobEvent:
    return JobEvent(
        job_id=row["job_id"],
        seq=int(row["seq"]),
        at=row["at"],
        kind=row["kind"],
        node=row["node"],
        data=json.loads(row["data"]),
    )


def _record(row: Row, full: bool = False) -> JobRecord:
    state: JobState = row["state"] if row["state"] in JOB_STATES else "failed"
    finished_at = row["finished_at"]
    if state == "waiting" and row.get("run_status") in _FROM_RUN:
        state = _FROM_RUN[row["run_status"]]
        finished_at = row.get("run_finished_at")
    policy = row["retry_policy"]
    running = row["running_nodes"]
    return JobRecord(
        id=row["id"],
        name=row["name"],
        graph_file=row["graph_file"],
        graph_name=row["graph_name"],
        tags=tuple(json.loads(row["tags"])),
        priority=row["priority"],
        retry_policy=json.loads(policy) if policy else None,
        max_retries=row["max_retries"],
        state=state,
        attempt=row["attempt"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        started_at=row["started_at"],
        finished_at=finished_at,
        not_before=row["not_before"],
        worker=row["worker"],
        lease_until=row["lease_until"],
        cancel_requested=bool(row["cancel_requested"]),
        error=row["error"],
        nodes_done=row["nodes_done"],
        running_nodes=tuple(json.loads(running)) if running and state == "running" else (),
        batch_id=row["batch_id"],
        batch_row=row["batch_row"],
        inputs=loads(row["inputs"]) if full else None,
        answer=loads(row["answer"]) if full and row.get("answer") else None,
        graph_id=row.get("graph_id"),
        graph_version=row.get("graph_version"),
    )
