"""A writer thread that commits checkpoint rows in batches while runs go on (``durability: async``).

Runs hand it rows and carry on; it commits whatever has arrived — from every run of the store —
in one transaction, at the latest ``interval`` seconds after a row arrived (given the time to write
the batch before). Never more than ``batch`` rows are uncommitted: past that a run waits for
the writer, so what a crash can lose is bounded by count as well as by time. ``flush`` returns
once every row handed over before it is committed (a run calls it before it records its end, a
pause or a failure).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence

from agentmap.exceptions import StoreError
from agentmap.store.database import Connection
from agentmap.store.schema import CheckpointRow


class CheckpointWriter:
    """Commits checkpoint rows on a thread of its own, started when the first row comes."""

    def __init__(
        self,
        connect: Callable[[], Connection],
        translated: Callable[[], contextlib.AbstractContextManager[None]],
        insert: Callable[[Connection, Sequence[CheckpointRow]], None],
        interval: float,
        batch: int,
    ) -> None:
        self._connect = connect
        self._translated = translated
        self._insert = insert
        self._interval = interval
        self._batch = batch
        self._rows: list[CheckpointRow] = []
        self._changed = threading.Condition()
        self._queued = 0  # rows handed over, ever
        self._settled = 0  # rows committed (or lost to an error), ever
        self._error: StoreError | None = None
        self._thread: threading.Thread | None = None
        self._closing = False
        self._wanted = 0  # rows a flush waits for: the writer doesn't wait for more to come

    def put(self, row: CheckpointRow) -> None:
        """Hand ``row`` over; waits only while ``batch`` rows are not yet committed."""
        with self._changed:
            self._raise_error()
            self._rows.append(row)
            self._queued += 1
            if self._thread is None:
                self._start()
            elif len(self._rows) == 1:
                self._changed.notify_all()  # the writer sleeps until a row comes
            if self._queued - self._settled >= self._batch:  # too many not yet committed
                self._changed.notify_all()
                while self._queued - self._settled >= self._batch and self._error is None:
                    self._changed.wait()
                self._raise_error()

    def flush(self) -> None:
        """Return once every row handed over so far is committed (``StoreError`` if not)."""
        with self._changed:
            target = self._wanted = self._queued
            self._changed.notify_all()
            while self._settled < target and self._error is None:
                self._changed.wait()
            self._raise_error()

    def close(self) -> None:
        """Commit what is left and stop the thread."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="agentmap-checkpoints", daemon=True)
        self._thread.start()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise StoreError(self._error.message, file=self._error.file) from self._error

    @property
    def failed(self) -> bool:
        """Whether a write failed: this writer takes no more rows."""
        return self._error is not None

    def _loop(self) -> None:
        try:
            with self._translated():
                connection = self._connect()
        except StoreError as exc:
            self._fail(exc)
            return
        try:
            while self._write_next(connection):
                pass
        finally:
            connection.close()

    def _fail(self, error: StoreError) -> None:
        with self._changed:
            self._error = error
            self._settled = self._queued  # nobody waits for rows that will never be written
            self._rows = []
            self._changed.notify_all()

    def _urgent(self) -> bool:
        """Whether the rows waiting must be written now: enough of them, or asked for."""
        return (
            len(self._rows) >= self._batch
            or self._closing
            or self._wanted > self._settled
            or self._queued - self._settled >= self._batch
        )

    def _write_next(self, connection: Connection) -> bool:
        """Wait for rows (up to ``interval`` once one is here), write them; False: stop."""
        with self._changed:
            while not self._rows and not self._closing:
                self._changed.wait()
            if not self._urgent():
                self._changed.wait(self._interval)  # let a batch gather, unless it's wanted
            rows, self._rows = self._rows, []
            self._changed.notify_all()  # a run waiting for room can go on
        error = self._write(connection, rows) if rows else None
        if error is not None:
            self._fail(error)
            return False
        with self._changed:
            self._settled += len(rows)
            self._changed.notify_all()
            return not (self._closing and not self._rows)

    def _write(self, connection: Connection, rows: list[CheckpointRow]) -> StoreError | None:
        try:
            with self._translated():
                self._insert(connection, rows)
                connection.commit()
        except StoreError as exc:
            with contextlib.suppress(Exception):
                connection.rollback()
            return exc
        return None
