"""Checkpoints committed in batches while runs go on (``durability: async``).

Runs hand rows over and carry on. A batch is written by whoever finds it due: the run that
hands over the ``batch``-th waiting row (a quick run writes batches between its nodes, on its
own thread, without waiting for another); else a timer thread, once the oldest row has waited
``interval`` seconds (a run in the middle of a long node, or one whose nodes are slow enough
that a batch doesn't fill in time). So a checkpoint is committed at most ``interval`` seconds
(plus the time to write the batch before it) after its node ended, and never more than
``batch`` rows are uncommitted. ``flush`` returns once every row handed over
before it is committed (a run calls it before it records its end, a pause or a failure).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from agentmap.exceptions import StoreError
from agentmap.store.database import Connection
from agentmap.store.schema import CheckpointRow, Times, times


class Statement(NamedTuple):
    """A statement written in the next batch, in order with the other statements (a run's
    record as it starts and as it ends: many runs ending together then share one commit)."""

    sql: str
    params: dict[str, Any]


class CheckpointWriter:
    """Batches of checkpoint rows, written in order through one connection of its own."""

    def __init__(
        self,
        connect: Callable[[], Connection],
        translated: Callable[[], contextlib.AbstractContextManager[None]],
        insert: Callable[[Connection, list[str], list[CheckpointRow], Times], None],
        interval: float,
        batch: int,
        committed: Callable[[list[Statement]], None] | None = None,
    ) -> None:
        self._connect = connect
        self._translated = translated
        self._insert = insert
        self._interval = interval
        self._batch = batch
        self._committed = committed
        # What waits to be written: statements in order, and checkpoints with their runs' ids
        # and times side by side (a checkpoint costs a run a few appends, no tuple of its own).
        self._statements: list[Statement] = []
        self._runs: list[str] = []
        self._rows: list[CheckpointRow] = []
        self._times = times()
        self._due = 0.0  # when the waiting rows must be written by (monotonic)
        self._taken = 0  # rows being written right now
        # A plain lock, taken with ``with`` (no Python frame: a run takes it once per node);
        # the timer waits on a condition of the same lock.
        self._lock = threading.Lock()
        self._held = threading.Condition(self._lock)  # guards what waits
        self._writing = threading.Lock()  # one batch written at a time, in the order taken
        self._connection: Connection | None = None
        self._error: StoreError | None = None
        self._timer: threading.Thread | None = None
        self._until: float | None = None  # when the timer wakes next (None: when told to)
        self._closing = False

    @property
    def failed(self) -> bool:
        """Whether a write failed: this writer takes no more rows."""
        return self._error is not None

    def put(self, statement: Statement, within: float | None = None) -> None:
        """Hand ``statement`` over; writes the batch here when it is due. ``within``: commit
        it within this many seconds rather than the writer's interval (a job's events, which
        someone may be watching live)."""
        now = time.monotonic()
        deadline = now + (self._interval if within is None else within)
        with self._lock:
            self._raise_error()
            self._statements.append(statement)
            waiting = len(self._statements) + len(self._rows)
            if waiting == 1 or deadline < self._due:
                self._due = deadline
                self._wake_timer()
            due = waiting + self._taken >= self._batch or now >= self._due
        if due:
            self.flush()

    def checkpoint(self, run_id: str, row: CheckpointRow, started: float, duration: float) -> None:
        """Hand over a checkpoint of run ``run_id``; writes the batch here when it is due.

        A run calls this after every node, so it does no more than it must: the clock is read
        only for the first row a batch waits for (the timer writes the batch when that is due;
        rows that came before were due no later), and the lock is taken without ``with`` (which
        takes twice as long)."""
        lock = self._lock
        lock.acquire()
        try:
            if self._error is not None:
                self._raise_error()
            self._runs.append(run_id)
            self._rows.append(row)
            self._times.append(started)
            self._times.append(duration)
            waiting = len(self._statements) + len(self._rows)
            if waiting == 1:
                self._due = time.monotonic() + self._interval
                self._wake_timer()
            full = waiting + self._taken >= self._batch
        finally:
            lock.release()
        if full:
            self.flush()

    def flush(self) -> None:
        """Return once every row handed over so far is committed (``StoreError`` if not)."""
        with self._writing:  # a batch another thread took first is written before these
            with self._lock:
                self._raise_error()
                statements, runs, rows, pairs = (
                    self._statements,
                    self._runs,
                    self._rows,
                    self._times,
                )
                self._statements, self._runs, self._rows, self._times = [], [], [], times()
                self._taken = len(statements) + len(rows)
            try:
                if statements or rows:
                    self._write(statements, runs, rows, pairs)
            finally:
                with self._lock:
                    self._taken = 0

    def close(self) -> None:
        """Commit what is left, stop the timer and let the connection go."""
        with self._held:
            self._closing = True
            self._held.notify_all()
            timer = self._timer
        if timer is not None:
            timer.join()
        with contextlib.suppress(StoreError):
            self.flush()
        with self._writing:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _wake_timer(self) -> None:
        """Make sure the timer counts down to ``_due`` (called holding the rows). A timer
        already waiting until no later than that looks again when it wakes: it is only woken
        when it waits for rows, or for later — not once per batch, which a quick run fills
        every few milliseconds (waking a thread takes the run's interpreter lock from it)."""
        if self._timer is None:
            self._timer = threading.Thread(target=self._time, name="agentmap-checkpoints")
            self._timer.daemon = True
            self._timer.start()
        elif self._until is None or self._due < self._until:
            self._held.notify_all()

    def _time(self) -> None:
        """The timer: writes rows that fell due while their run is busy."""
        while True:
            with self._held:
                while not (self._statements or self._rows) and not self._closing:
                    self._until = None
                    self._held.wait()
                if self._closing:
                    return
                left = self._due - time.monotonic()
                if left > 0:
                    self._until = self._due
                    self._held.wait(left)
                    continue  # look again: the run may have written them meanwhile
            with contextlib.suppress(StoreError):  # the run that puts or flushes next hears of it
                self.flush()

    def _write(
        self, statements: list[Statement], runs: list[str], rows: list[CheckpointRow], pairs: Times
    ) -> None:
        """Write a batch in one transaction (called holding ``_writing``): the statements in
        the order they came, then the checkpoints (one transaction: the order between the two
        can't be seen)."""
        try:
            with self._translated():
                if self._connection is None:
                    self._connection = self._connect()
                for statement in statements:
                    self._connection.execute(statement.sql, statement.params)
                if rows:
                    self._insert(self._connection, runs, rows, pairs)
                self._connection.commit()
            if self._committed is not None and statements:
                self._committed(statements)
        except StoreError as exc:
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    self._connection.rollback()
            with self._lock:
                self._error = exc
            raise

    def _raise_error(self) -> None:
        if self._error is not None:
            raise StoreError(self._error.message, file=self._error.file) from self._error
