"""Connections to the store's database: one set of SQL statements, two ways to send them.

The store writes plain SQL (``:name`` parameters) that SQLite and PostgreSQL both accept. A
SQLite file is reached through Python's own ``sqlite3``; a server through SQLAlchemy, which
brings the drivers and pooling. (Importing SQLAlchemy takes longer than a small run, so the
embedded default doesn't: ``agentmap run`` stays quick.)

SQLite runs in WAL mode with a busy timeout, and a writing connection takes the write lock when
its transaction begins (``BEGIN IMMEDIATE``), so many processes can share one file without
"database is locked".
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from agentmap.distribution import install_hint
from agentmap.exceptions import StoreError

if TYPE_CHECKING:
    import sqlalchemy as sa

Row = dict[str, Any]  # column name -> value, in the order selected
Params = Mapping[str, Any]


class Connection(Protocol):
    """What the store needs of a connection (a context manager that closes it)."""

    def execute(self, sql: str, params: Params | None = None) -> list[Row]: ...
    def execute_many(self, sql: str, rows: Sequence[Params]) -> None: ...
    def write_one(self, sql: str, params: Params) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Connection: ...
    def __exit__(self, *_: object) -> None: ...


class Database(Protocol):
    """A store's database: hands out connections; ``location`` names it in messages."""

    location: str

    @property
    def dialect(self) -> Literal["sqlite", "postgresql"]: ...
    def connect(self, *, write: bool = False) -> Connection: ...
    def enable_wal(self) -> None: ...
    def table_names(self, connection: Connection) -> list[str]: ...
    def close(self) -> None: ...


def open_database(url: str, busy_timeout: float) -> Database:
    """The database ``url`` names: ``sqlite:///path`` (a file), else a server via SQLAlchemy."""
    if url.startswith("sqlite:"):
        return SQLiteDatabase(_sqlite_path(url), busy_timeout)
    return ServerDatabase(url)


def errors() -> tuple[type[Exception], ...]:
    """The exception classes a database call may raise (SQLAlchemy's only if it is loaded)."""
    loaded = sys.modules.get("sqlalchemy.exc")
    server = (loaded.SQLAlchemyError,) if loaded is not None else ()
    return (sqlite3.Error, *server)


# --- what went wrong: by the driver's error class and code, never by its message's words ---------

Fault = Literal[
    "statement",
    "unreadable",
    "unopenable",
    "locked",
    "busy",
    "io",
    "unreachable",
    "refused",
    "other",
]
"""What a database error means for the store (``statement``: the SQL itself failed)."""

_SQLITE_FAULTS: dict[int, Fault] = {
    sqlite3.SQLITE_ERROR: "statement",  # no such table or column, a syntax error
    sqlite3.SQLITE_CORRUPT: "unreadable",
    sqlite3.SQLITE_NOTADB: "unreadable",  # also an encrypted database
    sqlite3.SQLITE_CANTOPEN: "unopenable",
    sqlite3.SQLITE_READONLY: "unopenable",
    sqlite3.SQLITE_PERM: "unopenable",
    sqlite3.SQLITE_AUTH: "unopenable",
    sqlite3.SQLITE_BUSY: "locked",
    sqlite3.SQLITE_LOCKED: "locked",
    sqlite3.SQLITE_IOERR: "io",
    sqlite3.SQLITE_FULL: "io",
}
"""SQLite's primary result codes (``sqlite_errorcode & 0xFF``) and what they mean here."""

_SQLSTATE_FAULTS: tuple[tuple[str, Fault], ...] = (
    ("42P01", "statement"),  # undefined_table
    ("08", "unreachable"),  # connection_exception and its kinds
    ("57P", "unreachable"),  # the server is shutting down or starting up
    ("28", "refused"),  # invalid_authorization_specification: a wrong user or password
    ("3D000", "refused"),  # invalid_catalog_name: no such database
    ("42501", "refused"),  # insufficient_privilege
    ("55P03", "busy"),  # lock_not_available
    ("40P01", "busy"),  # deadlock_detected
    ("57014", "busy"),  # query_canceled: a statement or lock timeout
    ("53", "io"),  # insufficient_resources: disk full, out of memory
)
"""PostgreSQL SQLSTATE codes (or their classes, by prefix) and what they mean here."""


def fault_of(error: Exception) -> Fault:
    """What ``error`` (a ``sqlite3`` or SQLAlchemy error) means, from its class and codes."""
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)  # absent on the module's own errors
        return _SQLITE_FAULTS.get(code & 0xFF, "other") if isinstance(code, int) else "other"
    driver = getattr(error, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
    state = getattr(driver, "sqlstate", None) or getattr(driver, "pgcode", None)  # psycopg 3 / 2
    if isinstance(state, str):
        for prefix, fault in _SQLSTATE_FAULTS:
            if state.startswith(prefix):
                return fault
    exc = sys.modules.get("sqlalchemy.exc")
    if exc is not None and isinstance(error, exc.OperationalError | exc.InterfaceError):
        return "unreachable"  # no SQLSTATE: the connection failed before the server answered
    return "other"


def is_missing_table(error: Exception) -> bool:
    """Whether ``error`` may be a query's table not existing.

    SQLite has no code of its own for that: ``SQLITE_ERROR`` is any fault of the statement,
    which for a fixed, known-good query means its table is missing. Callers look at the tables
    next (``table_names``) rather than take this as certain.
    """
    return fault_of(error) == "statement"


_MESSAGES: dict[Fault, str] = {
    "unreadable": "{location} is not a readable agentmap run store ({reason}) — it was left as "
    "it is; move it aside (a new store is made on the next run) or point storage.url elsewhere",
    "unopenable": "can't open the run store {location} ({reason}) — check the path is a writable "
    "file, or set storage.url (or 'none' to run without a store)",
    "locked": "the run store {location} stayed locked for {timeout}s ({reason}) — another "
    "process holds it; raise storage.busy_timeout if this is expected",
    "busy": "the run store {location} is busy ({reason}) — another session holds what this one "
    "needs; try again",
    "io": "can't read or write the run store {location} ({reason}) — check the disk has room and "
    "works, or set storage.url (or 'none' to run without a store)",
    "unreachable": "can't use the run store {location} ({reason}) — check storage.url and the "
    "server",
    "refused": "the server refused the run store {location} ({reason}) — check the user, "
    "password and database name in storage.url, and that the user may use that database",
    "statement": "the run store {location} failed: {reason}",
    "other": "the run store {location} failed: {reason}",
}


def translate_database_error(error: Exception, location: str, busy_timeout: float) -> StoreError:
    """The ``StoreError`` for a database error: what went wrong with store ``location``, and a fix.

    The store's one translation of its drivers' errors (``sqlite3``, SQLAlchemy and the
    PostgreSQL driver under it); ``RunStore.translated_errors`` applies it.
    """
    message = _MESSAGES[fault_of(error)].format(
        location=location, reason=_reason(error), timeout=f"{busy_timeout:g}"
    )
    return StoreError(message, file=location)


def _reason(error: Exception) -> str:
    """The driver's own first line, for the message (never to decide what went wrong)."""
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# --- SQLite, through the standard library -------------------------------------------------------


_IDLE = 64  # idle SQLite connections kept per store


class SQLiteDatabase:
    """A SQLite file. Idle connections are kept: closing the last one checkpoints the WAL."""

    dialect: Literal["sqlite"] = "sqlite"

    def __init__(self, path: str, busy_timeout: float) -> None:
        self.location = path
        self._busy_timeout = busy_timeout
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        _make_folder(Path(path))

    def connect(self, *, write: bool = False) -> _SQLiteConnection:
        return _SQLiteConnection(self._take(), self, write)

    def enable_wal(self) -> None:
        """Put the file in WAL mode (it stays so). Only for a store known to be ours: switching
        a database of something else would rewrite its header."""
        raw = self._take()
        try:
            raw.execute("PRAGMA journal_mode = WAL")
        finally:
            self.release(raw)

    def table_names(self, connection: Connection) -> list[str]:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return [row["name"] for row in rows]

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for raw in idle:
            raw.close()

    def release(self, raw: sqlite3.Connection) -> None:
        """Keep ``raw`` for the next ``connect`` (up to ``_IDLE``: a worker running many jobs
        at once would otherwise open a connection per run)."""
        if raw.in_transaction:
            raw.rollback()
        with self._lock:
            if len(self._idle) < _IDLE:
                self._idle.append(raw)
                return
        raw.close()

    def _take(self) -> sqlite3.Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._new()

    def _new(self) -> sqlite3.Connection:
        raw = sqlite3.connect(
            self.location,
            timeout=self._busy_timeout,
            isolation_level=None,  # transactions are begun by _SQLiteConnection, not the driver
            check_same_thread=False,  # a run may be driven from another thread than its start
        )
        try:  # with WAL, NORMAL: a commit survives a killed process
            raw.execute("PRAGMA synchronous = NORMAL")
        except BaseException:  # a corrupt file: closed now, not whenever its traceback is freed
            raw.close()
            raise
        return raw


class _SQLiteConnection:
    def __init__(self, raw: sqlite3.Connection, database: SQLiteDatabase, write: bool) -> None:
        self._raw = raw
        self._database = database
        self._write = write

    def execute(self, sql: str, params: Params | None = None) -> list[Row]:
        self._begin()
        cursor = self._raw.execute(sql, params or {})
        if cursor.description is None:  # not a query
            return []
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        self._begin()
        self._raw.executemany(sql, rows)

    def write_one(self, sql: str, params: Params) -> None:
        """One statement committed on its own: SQLite's autocommit takes the write lock (and
        waits the busy timeout for it) just as ``BEGIN IMMEDIATE`` would, in one call."""
        if self._raw.in_transaction:
            self._raw.execute(sql, params)
            self._raw.commit()
        else:
            self._raw.execute(sql, params)

    def commit(self) -> None:
        self._raw.commit()

    def rollback(self) -> None:
        self._raw.rollback()

    def close(self) -> None:
        if self._raw is not None:
            raw, self._raw = self._raw, None  # type: ignore[assignment]
            self._database.release(raw)

    def __enter__(self) -> _SQLiteConnection:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _begin(self) -> None:
        if not self._raw.in_transaction:
            self._raw.execute("BEGIN IMMEDIATE" if self._write else "BEGIN")


def _sqlite_path(url: str) -> str:
    """The file of ``sqlite:///relative`` or ``sqlite:////absolute``.

    Not ``:memory:``: each connection would get a database of its own (settings refuse it).
    """
    rest = url.removeprefix("sqlite://").partition("?")[0]
    path = rest[1:] if rest.startswith("/") else rest
    if path in ("", ":memory:"):
        raise StoreError(
            f"storage.url {url!r}: an in-memory store can't be shared by connections — give a "
            "file (sqlite:///path), or 'none' to record nothing"
        )
    return path


def _make_folder(file: Path) -> None:
    """The store's folder and file, made on first use, private to their owner: they hold every
    run's state. agentmap's own folder ignores itself in git."""
    folder = file.parent
    if not folder.is_dir():
        try:  # two first runs may make it at once: whichever comes second finds it made
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"can't make the folder {folder} for the run store ({exc.strerror}) — make it, "
                "or set storage.url to a writable place (or 'none' to run without a store)",
                file=str(file),
            ) from exc
        if folder.name == ".agentmap":
            ignore = folder / ".gitignore"
            with contextlib.suppress(FileExistsError), ignore.open("x", encoding="utf-8") as out:
                out.write("# made by agentmap: run history is local\n*\n")
    with contextlib.suppress(OSError):  # exists already (left as it is), or SQLite will say why
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        # An empty file is an empty SQLite database; its -wal and -shm files get its mode.


# --- servers, through SQLAlchemy -----------------------------------------------------------------


class ServerDatabase:
    """A database server (PostgreSQL) through a pooled SQLAlchemy engine."""

    dialect: Literal["postgresql"] = "postgresql"

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        try:
            parsed = sa.engine.make_url(url)
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"storage.url {url!r} is not a database URL ({exc})") from exc
        self.location = parsed.render_as_string(hide_password=True)
        if parsed.get_backend_name() != "postgresql":
            raise StoreError(
                f"storage.url {self.location}: the run store works with SQLite "
                "(sqlite:///path) or PostgreSQL (postgresql://...)",
                file=self.location,
            )
        try:
            self.engine = sa.create_engine(parsed, pool_size=5, max_overflow=-1, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise StoreError(
                f"the run store {self.location} needs the database driver '{exc.name}' — "
                f"install it with: {install_hint('postgres')}",
                file=self.location,
            ) from exc
        except sa.exc.NoSuchModuleError as exc:
            raise StoreError(
                f"storage.url {self.location}: SQLAlchemy knows no driver "
                f"'{parsed.get_driver_name()}' — write postgresql+psycopg:// (or postgresql://)",
                file=self.location,
            ) from exc
        self._statements: dict[str, sa.TextClause] = {}

    def connect(self, *, write: bool = False) -> _ServerConnection:
        return _ServerConnection(self.engine.connect(), self._statements)

    def enable_wal(self) -> None:
        """Nothing to do: WAL is SQLite's."""

    def table_names(self, connection: Connection) -> list[str]:
        rows = connection.execute(
            "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()"
        )
        return [row["tablename"] for row in rows]

    def close(self) -> None:
        self.engine.dispose()


class _ServerConnection:
    def __init__(self, connection: sa.Connection, statements: dict[str, sa.TextClause]) -> None:
        self._connection = connection
        self._statements = statements

    def execute(self, sql: str, params: Params | None = None) -> list[Row]:
        result = self._connection.execute(self._text(sql), dict(params or {}))
        return [dict(row) for row in result.mappings()] if result.returns_rows else []

    def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        self._connection.execute(self._text(sql), [dict(row) for row in rows])

    def write_one(self, sql: str, params: Params) -> None:
        self._connection.execute(self._text(sql), dict(params))
        self._connection.commit()

    def commit(self) -> None:
        self._connection.commit()

    def rollback(self) -> None:
        self._connection.rollback()

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> _ServerConnection:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _text(self, sql: str) -> sa.TextClause:
        statement = self._statements.get(sql)
        if statement is None:
            import sqlalchemy as sa

            statement = self._statements[sql] = sa.text(sql)
        return statement


def placeholders(prefix: str, values: Iterable[Any]) -> tuple[str, dict[str, Any]]:
    """``(:p0, :p1, ...)`` and its parameters, for ``IN`` with a list (both databases)."""
    params = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return "(" + ", ".join(f":{name}" for name in params) + ")", params
