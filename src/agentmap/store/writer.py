"""Checkpoints committed in batches while runs go on (``durability: async``).

Runs hand rows over and carry on. A batch is written by whoever finds it due: the run itself,
when ``batch`` rows wait or the oldest has waited ``interval`` seconds (a quick run writes
batches between its nodes, on its own thread, without waiting for another); else a timer
thread, when the run is in the middle of a long node. So a checkpoint is committed at most
``interval`` seconds (plus the time to write the batch before it) after its node ended, and
never more than ``batch`` rows are uncommitted. ``flush`` returns once every row handed over
before it is committed (a run calls it before it records its end, a pause or a failure).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from agentmap.exceptions import StoreError
from agentmap.store.database import Connection
from agentmap.store.schema import CheckpointRow


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
        insert: Callable[[Connection, Sequence[CheckpointRow]], None],
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
        self._rows: list[CheckpointRow | Statement] = []
        self._due = 0.0  # when the waiting rows must be written by (monotonic)
        self._taken = 0  # rows being written right now
        self._held = threading.Condition(threading.Lock())  # guards the rows
        self._writing = threading.Lock()  # one batch written at a time, in the order taken
        self._connection: Connection | None = None
        self._error: StoreError | None = None
        self._timer: threading.Thread | None = None
        self._closing = False

    @property
    def failed(self) -> bool:
        """Whether a write failed: this writer takes no more rows."""
        return self._error is not None

    def put(self, row: CheckpointRow | Statement, within: float | None = None) -> None:
        """Hand ``row`` over; writes the batch here when it is due. ``within``: commit it
        within this many seconds rather than the writer's interval (a job's events, which
        someone may be watching live)."""
        now = time.monotonic()
        deadline = now + (self._interval if within is None else within)
        with self._held:
            self._raise_error()
            self._rows.append(row)
            if len(self._rows) == 1 or deadline < self._due:
                self._due = deadline
                self._wake_timer()
            due = len(self._rows) + self._taken >= self._batch or now >= self._due
        if due:
            self.flush()

    def flush(self) -> None:
        """Return once every row handed over so far is committed (``StoreError`` if not)."""
        with self._writing:  # a batch another thread took first is written before these
            with self._held:
                self._raise_error()
                rows, self._rows = self._rows, []
                self._taken = len(rows)
            try:
                if rows:
                    self._write(rows)
            finally:
                with self._held:
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
        """Make sure the timer counts down for the rows now waiting (called holding the rows)."""
        if self._timer is None:
            self._timer = threading.Thread(target=self._time, name="agentmap-checkpoints")
            self._timer.daemon = True
            self._timer.start()
        else:
            self._held.notify_all()

    def _time(self) -> None:
        """The timer: writes rows that fell due while their run is busy."""
        while True:
            with self._held:
                while not self._rows and not self._closing:
                    self._held.wait()
                if self._closing:
                    return
                left = self._due - time.monotonic()
                if left > 0:
                    self._held.wait(left)
                    continue  # look again: the run may have written them meanwhile
            with contextlib.suppress(StoreError):  # the run that puts or flushes next hears of it
                self.flush()

    def _write(self, rows: list[CheckpointRow | Statement]) -> None:
        """Write ``rows`` in one transaction (called holding ``_writing``): the statements in
        the order they came, then the checkpoints (one transaction: the order between the two
        can't be seen)."""
        checkpoints = [row for row in rows if not isinstance(row, Statement)]
        try:
            with self._translated():
                if self._connection is None:
                    self._connection = self._connect()
                for row in rows:
                    if isinstance(row, Statement):
                        self._connection.execute(row.sql, row.params)
                if checkpoints:
                    self._insert(self._connection, checkpoints)
                self._connection.commit()
            if self._committed is not None and len(checkpoints) < len(rows):
                self._committed([row for row in rows if isinstance(row, Statement)])
        except StoreError as exc:
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    self._connection.rollback()
            with self._held:
                self._error = exc
            raise

    def _raise_error(self) -> None:
        if self._error is not None:
            raise StoreError(self._error.message, file=self._error.file) from self._error
