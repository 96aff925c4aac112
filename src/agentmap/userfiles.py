"""The files a user points agentmap at: read only when they are regular files of a sane size.

A graph, a ``file:`` prompt, ``--state @file``, ``--config``, the prompts registry or a batch's
inputs can be given as any path. Read as they are, a FIFO waits for a writer for ever, a device
such as ``/dev/zero`` never ends (until memory does) and a huge file fills memory before any
message is printed. Every such read comes through here first, so each is refused at once with
the file, what it is, and the setting that allows bigger files (``limits.max_file_mb``).

The OS's own errors (no such file, a folder, no permission) are not translated here: each
caller already says those in its own words and exception class.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from agentmap.exceptions import AgentMapError

DEFAULT_MAX_FILE_MB: float = 100
"""The default of ``limits.max_file_mb``: the largest file agentmap reads, in megabytes."""

SETTING = "limits.max_file_mb"
_SAVE_IT = "save its contents to a file and give that file"
_NUL = "{shown}: the path holds a NUL character, which no file name can — check the path"
_MB = 1_000_000
# Opening a FIFO for reading waits for a writer; with O_NONBLOCK it returns at once, so the
# file's type can be checked first. It changes nothing for a regular file.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_user_file(
    path: Path,
    *,
    error: type[AgentMapError],
    max_mb: float = DEFAULT_MAX_FILE_MB,
    display: str | None = None,
    what: str = "a file",
    fix: str = _SAVE_IT,
) -> bytes:
    """The bytes of ``path`` — refused with ``error`` unless it is a regular file of at most
    ``max_mb`` megabytes.

    The type and size are taken from the opened file (no window for the path to change in
    between), and no more than the limit is ever read, even from a file that grows meanwhile.
    ``display`` is how messages name the file (its path by default), ``what`` says what it is
    for ("a graph file") and ``fix`` what to do instead of a pipe. ``OSError`` (missing, a
    folder, no permission) is raised as it is.
    """
    shown = str(path) if display is None else display
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK)
    except ValueError:  # the only one os.open raises: a NUL in the path
        raise error(_NUL.format(shown=shown), file=shown) from None
    try:  # before fdopen, which refuses a folder in words of its own
        size = _checked(os.fstat(fd), path, shown, error, max_mb, what, fix)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as file:
        data = _read_at_most(file, _limit(max_mb) + 1, size + 1)
    if len(data) > _limit(max_mb):  # it grew while being read
        raise _too_big(len(data), shown, error, max_mb, what)
    return data


def check_user_file(
    path: Path,
    *,
    error: type[AgentMapError],
    max_mb: float = DEFAULT_MAX_FILE_MB,
    display: str | None = None,
    what: str = "a file",
    fix: str = _SAVE_IT,
) -> None:
    """Refuse ``path`` as ``read_user_file`` would, without reading it: for files another library
    opens by their path (pandas, zipfile). ``OSError`` is raised as it is."""
    shown = str(path) if display is None else display
    try:
        info = os.stat(path)
    except ValueError:  # the only one os.stat raises: a NUL in the path
        raise error(_NUL.format(shown=shown), file=shown) from None
    _checked(info, path, shown, error, max_mb, what, fix)


def _checked(
    info: os.stat_result,
    path: Path,
    shown: str,
    error: type[AgentMapError],
    max_mb: float,
    what: str,
    fix: str,
) -> int:
    """The file's size, once it is known to be a regular file within the limit."""
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise error(
            f"{shown}: is {kind}, not a regular file — agentmap reads {what} only from a "
            f"regular file, as a pipe or device may never end; {fix}",
            file=shown,
        )
    if info.st_size > _limit(max_mb):
        raise _too_big(info.st_size, shown, error, max_mb, what)
    return info.st_size


def _read_at_most(file: BinaryIO, cap: int, first: int) -> bytes:
    """Up to ``cap`` bytes, asking first for ``first`` (the stated size, plus one to see the end).

    Not one ``read(cap)``: that would set aside ``cap`` bytes for every small file. And not
    trusting the stated size either: files in /proc state 0 bytes and still have text.
    """
    parts: list[bytes] = []
    total = 0
    want = max(first, 1 << 16)
    while total < cap:
        part = file.read(min(want, cap - total))
        if not part:
            break
        parts.append(part)
        total += len(part)
    return b"".join(parts)


def _limit(max_mb: float) -> int:
    return int(max_mb * _MB)


def _too_big(
    size: int, shown: str, error: type[AgentMapError], max_mb: float, what: str
) -> AgentMapError:
    shown_size = f"{size / _MB:,.1f} MB" if size >= _MB else f"{size:,} bytes"
    return error(
        f"{shown}: is {shown_size}, more than the {max_mb:g} MB {SETTING} allows for {what} — "
        f"raise {SETTING} (AGENTMAP_LIMITS__MAX_FILE_MB) if it is meant to be this big",
        file=shown,
    )
