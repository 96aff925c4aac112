"""The journal of one run: its record in the store, and a checkpoint after every node.

It is told of the few points where a run's position changes: the run starts, a node finishes
(its writes and where the run goes next), branches join, the run stops. When checkpoints reach
the database is ``storage.durability``:

- ``sync``: each checkpoint is committed before the next node starts; a process killed at any
  moment re-runs at most the nodes that were running.
- ``async``: checkpoints go to the store's ``CheckpointWriter``, which commits them in batches
  at most ``flush_interval`` seconds after they arrive, never more than ``flush_batch`` of them
  uncommitted; a kill may also re-run the nodes of that last batch.
- ``exit``: checkpoints are kept in memory and written when the run stops (ends, waits for a
  person, fails or is cancelled); a killed run starts again from its beginning.

Whatever the mode, a run's end, pause or failure is committed, with every checkpoint before
it, before the run returns.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from agentmap._version import __version__
from agentmap.exceptions import RunError, StateError
from agentmap.store import schema
from agentmap.store.codec import SCALAR_TYPES, UnsavableValue, dumps, encode_json, kept
from agentmap.store.records import Status, fingerprint_json, this_process
from agentmap.store.schema import CheckpointRow, checkpoint_params, cut_page, page_params, times
from agentmap.store.writer import Statement


class Durability(NamedTuple):
    """When checkpoints reach the database (``storage.durability`` and its two limits)."""

    mode: Literal["sync", "async", "exit"] = "sync"
    flush_interval: float = 0.05
    flush_batch: int = 256


_SYNC = Durability()
"""The default: ``sync`` (each checkpoint committed before the next node starts)."""

if TYPE_CHECKING:
    from agentmap.graph.model import Graph
    from agentmap.store.database import Connection
    from agentmap.store.runstore import RunStore

_NO_TIME = float("nan")  # a join's times: it has none

_FIX = (
    "keep state values to JSON types (text, numbers, true/false, null, lists, tuples, "
    "mappings with text keys), or set storage.checkpoints: off"
)


class RunJournal:
    """Writes one run to the store. Make one with ``start`` (a new run) or ``reopen`` (resume)."""

    def __init__(
        self,
        store: RunStore,
        connection: Connection | None,
        run_id: str,
        checkpoints: bool,
        seq: int,
        durability: Durability = _SYNC,
        deferred: bool = False,
    ) -> None:
        self.store = store
        self.deferred = deferred  # async: the caller commits the run's end (see finish)
        self.run_id = run_id
        self.checkpoints = checkpoints
        self.durability = durability
        self._connection = connection
        self._seq = seq
        self.nodes = 0  # node checkpoints of the run (those a resume kept included)
        # exit: the checkpoints not yet made into a page, and the pages made, until the run
        # stops. A page is made of every flush_batch checkpoints, as with async: a long run's
        # checkpoints are kept as text, not as the objects they were made of (which the
        # cycle collector would otherwise look through again and again).
        self._held: list[CheckpointRow] = []
        self._held_times = times()
        self._pages: list[dict[str, Any]] = []
        self._writer = (
            store.checkpoint_writer(durability.flush_interval, durability.flush_batch)
            if durability.mode == "async" and checkpoints
            else None
        )
        # Where a checkpoint goes, chosen once: a run writes one per node.
        self._write: Callable[[CheckpointRow, float, float], None]
        if self._writer is not None:
            self._write = functools.partial(self._writer.checkpoint, run_id)
        elif durability.mode == "exit":
            self._write = self._hold
        else:
            self._write = self._commit

    @classmethod
    def start(
        cls,
        store: RunStore,
        run_id: str,
        graph: Graph,
        initial: Mapping[str, Any],
        *,
        checkpoints: bool,
        parent: tuple[str, str] | None = None,
        durability: Durability = _SYNC,
        deferred: bool = False,
    ) -> RunJournal:
        """Record a new run as ``running``; ``parent`` (run id, node) for a subgraph's run."""
        digest, nodes = fingerprint_json(graph)
        state = _initial_json(initial, checkpoints)
        host, pid, started = this_process()
        now = time.time()
        row: dict[str, Any] = dict.fromkeys(schema.RUN_COLUMNS)  # NULL unless set below
        row |= {
            "id": run_id,
            "graph_name": graph.name,
            "graph_file": _absolute(str(graph.file), os.getcwd()) if graph.file else None,
            "entry": graph.entry,
            "graph_hash": digest,
            "node_hashes": "",  # kept once per graph (schema.NODE_HASHES)
            "status": "running",
            "initial_state": state,
            "started_at": now,
            "updated_at": now,
            "pid": pid,
            "host": host,
            "process_start": started,
            "checkpoints": checkpoints,
            "version": __version__,
            "parent_run_id": parent[0] if parent else None,
            "parent_node": parent[1] if parent else None,
        }
        store.maintain()
        hashes = Statement(schema.INSERT_NODE_HASHES, {"graph_hash": digest, "node_hashes": nodes})
        if durability.mode == "async" and checkpoints:
            # The run's record goes in the writer's next batch, ahead of its checkpoints.
            journal = cls(store, None, run_id, checkpoints, 0, durability, deferred)
            assert journal._writer is not None
            journal._writer.put(hashes)
            journal._writer.put(Statement(schema.INSERT_RUN, row))
            return journal
        connection = store.writer()
        try:
            with store.translated_errors():
                connection.execute(hashes.sql, hashes.params)
                connection.execute(schema.INSERT_RUN, row)
                connection.commit()
        except BaseException:
            connection.close()
            raise
        return cls(store, connection, run_id, checkpoints, 0, durability)

    @classmethod
    def reopen(
        cls,
        store: RunStore,
        run_id: str,
        graph: Graph,
        *,
        checkpoints: bool,
        seq: int,
        drop_from: int | None = None,
        durability: Durability = _SYNC,
        deferred: bool = False,
    ) -> RunJournal:
        """Mark a stored run ``running`` again; checkpoints from ``drop_from`` on are dropped."""
        connection = store.writer()
        try:
            with store.translated_errors():
                _reopen(connection, run_id, graph, checkpoints, drop_from)
        except BaseException:
            connection.close()
            raise
        return cls(store, connection, run_id, checkpoints, seq, durability, deferred)

    def node(
        self,
        branch: int,
        node: str,
        attempt: int,
        success: bool,
        error: str | None,
        started: float,
        duration: float,
        outputs: Mapping[str, Any],
        next_nodes: tuple[str, ...],
        fork: int | None = None,
        children: list[int] | None = None,
    ) -> None:
        """Checkpoint: ``branch`` ran ``node``, wrote ``outputs`` (and its outcome, ``success``
        and ``error``: ``schema.updates_of``) and goes on to ``next_nodes``.

        ``outputs`` and ``children`` are kept until the checkpoint is written: give ones
        nobody changes after (the values in ``outputs`` may change: they are copied unless
        they can't)."""
        if not self.checkpoints:
            return
        self.nodes += 1
        self._seq += 1
        if (  # a plain node checkpoint (see CheckpointRow): the one a run makes most
            len(outputs) == 1
            and len(next_nodes) == 1
            and success
            and attempt == 1
            and branch == 0
            and fork is None
        ):
            for key, value in outputs.items():
                if type(value) in SCALAR_TYPES and type(key) is str:
                    self._write((self._seq, node, key, value, next_nodes[0]), started, duration)
                    return
        try:
            written = kept(outputs)
        except UnsavableValue as exc:
            raise RunError(
                f"can't checkpoint node '{node}': state key {exc} — {_FIX}", node=node
            ) from None
        seq = self._seq
        row: CheckpointRow = (
            seq,
            "node",
            branch,
            node,
            attempt,
            success,
            error,
            written,
            next_nodes,
        )
        if fork is not None:  # (a row ends at its last column that isn't null)
            row += (fork, children)
        self._write(row, started, duration)

    def join(self, node: str, merged: Sequence[int], branch: int) -> None:
        """Checkpoint: the branches ``merged`` joined at ``node`` as ``branch``."""
        if not self.checkpoints:
            return
        self._seq += 1
        row = (self._seq, "join", branch, node, *(None,) * 7, list(merged))
        self._write(row, _NO_TIME, _NO_TIME)

    def finish(
        self,
        status: Status,
        final_state: Mapping[str, Any] | None,
        summary: Mapping[str, Any],
        error: str | None = None,
        waiting: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Record how the run ended (or that it waits for answers), then let go of the store.

        Committed before it returns — unless the journal is ``deferred`` (``async`` only): then
        it goes in the writer's next batch, and whoever deferred it flushes the writer
        (``RunStore.flush_checkpoints``) before telling anyone the run ended. A worker ending
        many runs at once so commits them all together."""
        now = time.time()
        values = {
            "status": status,
            "final_state": _lenient(final_state) if final_state is not None else None,
            "summary": _summary_json(summary),
            "error": error,
            "waiting": json.dumps(list(waiting), default=repr) if waiting else None,
            "updated_at": now,
            "finished_at": None if status == "waiting" else now,
            "duration": summary.get("total_duration"),
        }
        try:
            if self._writer is not None:  # with every run ending meanwhile: one commit
                assignments = ", ".join(f"{column} = :{column}" for column in values)
                self._writer.put(
                    Statement(
                        f"UPDATE {schema.RUNS} SET {assignments} WHERE id = :run_id",
                        {**values, "run_id": self.run_id},
                    )
                )
                if not self.deferred:
                    self._writer.flush()
                return
            assert self._connection is not None
            with self.store.translated_errors():
                if self._held:
                    self._page()
                if self._pages:
                    now = time.time()
                    for page in self._pages:
                        page["at"] = now
                    self._connection.execute_many(schema.INSERT_PAGE, self._pages)
                    self._pages = []
                assignments = ", ".join(f"{column} = :{column}" for column in values)
                self._connection.execute(
                    f"UPDATE {schema.RUNS} SET {assignments} WHERE id = :run_id",
                    {**values, "run_id": self.run_id},
                )
                self._connection.commit()
        finally:
            self.close()

    def close(self) -> None:
        """Give the connection back (idempotent)."""
        if self._connection is not None:
            self._connection.close()

    def _hold(self, row: CheckpointRow, started: float, duration: float) -> None:
        """``exit``: the checkpoint waits in memory for the run to stop."""
        self._held.append(row)
        self._held_times.append(started)
        self._held_times.append(duration)
        if len(self._held) >= self.durability.flush_batch:
            self._page()

    def _page(self) -> None:
        """``exit``: make the checkpoints held into a page, kept until the run stops."""
        self._pages.append(page_params(self.run_id, self._held, self._held_times))
        self._held, self._held_times = [], times()

    def _commit(self, row: CheckpointRow, started: float, duration: float) -> None:
        """``sync``: the checkpoint is committed before the run goes on."""
        assert self._connection is not None
        params = checkpoint_params(self.run_id, row, started, duration, time.time())
        with self.store.translated_errors():
            self._connection.write_one(schema.INSERT_CHECKPOINT, params)


def _reopen(
    connection: Connection,
    run_id: str,
    graph: Graph,
    checkpoints: bool,
    drop_from: int | None,
) -> None:
    digest, nodes = fingerprint_json(graph)
    host, pid, started = this_process()
    if drop_from is not None:
        _drop_checkpoints(connection, run_id, drop_from)
    connection.execute(schema.INSERT_NODE_HASHES, {"graph_hash": digest, "node_hashes": nodes})
    connection.execute(
        f"UPDATE {schema.RUNS} SET status = 'running', graph_hash = :hash, node_hashes = '', "
        "error = NULL, waiting = NULL, finished_at = NULL, updated_at = :now, pid = :pid, "
        "host = :host, process_start = :started, checkpoints = :checkpoints WHERE id = :run_id",
        {
            "hash": digest,
            "now": time.time(),
            "pid": pid,
            "host": host,
            "started": started,
            "checkpoints": checkpoints,
            "run_id": run_id,
        },
    )
    connection.commit()


def _drop_checkpoints(connection: Connection, run_id: str, drop_from: int) -> None:
    """Forget run ``run_id``'s checkpoints from ``drop_from`` on (a page is cut where it must)."""
    where = {"run_id": run_id, "seq": drop_from}
    connection.execute(
        f"DELETE FROM {schema.CHECKPOINTS} WHERE run_id = :run_id AND seq >= :seq", where
    )
    connection.execute(
        f"DELETE FROM {schema.PAGES} WHERE run_id = :run_id AND first_seq >= :seq", where
    )
    cut = connection.execute(
        f"SELECT first_seq, body FROM {schema.PAGES} "
        "WHERE run_id = :run_id AND first_seq < :seq AND last_seq >= :seq",
        where,
    )
    for page in cut:
        connection.execute(
            f"DELETE FROM {schema.PAGES} WHERE run_id = :run_id AND first_seq = :first",
            {"run_id": run_id, "first": page["first_seq"]},
        )
        connection.execute(schema.INSERT_PAGE, cut_page(run_id, page["body"], drop_from))


@functools.lru_cache(maxsize=256)
def _absolute(file: str, cwd: str) -> str:
    """``file`` as an absolute path with links resolved (from ``cwd``): a worker starting
    thousands of runs of one graph resolves it once."""
    return str((Path(cwd) / file).resolve())


def _initial_json(initial: Mapping[str, Any], checkpoints: bool) -> str:
    if not checkpoints:
        return _lenient(initial)
    try:
        return dumps(initial)
    except UnsavableValue as exc:
        raise StateError(f"can't record the run: the initial state's key {exc} — {_FIX}") from None


def _summary_json(summary: Mapping[str, Any]) -> str:
    """A run's summary as JSON, what JSON can't hold as its repr: the encoder made once is
    tried first (a 100,000-node run's summary lists every node it ran)."""
    try:
        return encode_json(summary)
    except UnsavableValue:
        return json.dumps(summary, default=repr, separators=(",", ":"))


def _lenient(state: Mapping[str, Any]) -> str:
    """State as JSON for history: what JSON can't hold exactly is kept as its repr."""
    try:
        return dumps(state)
    except UnsavableValue:
        return json.dumps(dict(state), default=repr, separators=(",", ":"))
