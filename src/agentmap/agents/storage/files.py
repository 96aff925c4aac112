"""Where a storage node's file is, and reading and writing it within the project's rules.

A relative path is taken from the project folder — the folder of ``agentmap_config.yaml``, or
the current folder when there is none — as AgentMap takes its data paths from the project it
runs in. (``file:`` prompts are taken from the graph's folder instead: a prompt belongs to its
graph, a data file to the project.) ``security.allowed_paths`` applies to every file a storage
node reads or writes, and ``limits.max_file_mb`` and the regular-file check to every file read.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from agentmap.config import Settings
from agentmap.exceptions import AgentError
from agentmap.security import AllowedPaths, project_folder
from agentmap.userfiles import DEFAULT_MAX_FILE_MB, read_user_file


@dataclass(frozen=True)
class FileRules:
    """The project folder relative paths start from, and what may be read or written."""

    folder: Path
    allowed: AllowedPaths
    max_mb: float = DEFAULT_MAX_FILE_MB

    @classmethod
    def of(cls, settings: Settings | None) -> FileRules:
        """The rules ``settings`` set (the defaults and the current folder without any)."""
        if settings is None:
            return cls(Path.cwd(), AllowedPaths(None))
        return cls(project_folder(settings), AllowedPaths.of(settings), settings.limits.max_file_mb)

    def locate(self, written: str, what: str) -> Path:
        """The file a node names, once ``security.allowed_paths`` allows it."""
        path = Path(written)
        path = path if path.is_absolute() else self.folder / path
        if (refused := self.allowed.refusal(path, what)) is not None:
            raise AgentError(refused)
        return self.allowed.target(path)

    def read_bytes(self, path: Path, what: str) -> bytes:
        """The file's bytes; a missing, unreadable, odd or too big file is an ``AgentError``
        (the node fails with its message)."""
        try:
            return read_user_file(
                path, error=AgentError, max_mb=self.max_mb, display=f"{what} {path}", what=what
            )
        except FileNotFoundError:
            raise AgentError(f"{what} {path} does not exist — {_RELATIVE}") from None
        except IsADirectoryError:
            raise AgentError(f"{what} {path} is a folder, not a file") from None
        except PermissionError:
            raise AgentError(f"{what} {path} can't be read: permission denied") from None
        except OSError as exc:
            raise AgentError(f"can't read {what} {path} ({exc.strerror or exc})") from exc

    def read_text(self, path: Path, what: str, encoding: str) -> str:
        """The file's text in ``encoding`` (a UTF-8 byte-order mark is dropped)."""
        data = self.read_bytes(path, what)
        try:
            return data.decode("utf-8-sig" if encoding.lower() in _UTF8 else encoding)
        except LookupError:
            raise AgentError(f"unknown encoding '{encoding}' — fix Context 'encoding'") from None
        except UnicodeDecodeError as exc:
            raise AgentError(
                f"{what} {path} is not {encoding} text (byte {exc.start}) — set Context "
                "'encoding' to the file's encoding"
            ) from exc


_UTF8 = frozenset({"utf-8", "utf8", "utf-8-sig", "utf_8"})
_RELATIVE = "a relative path is taken from the project folder (where agentmap_config.yaml is)"


def write_atomically(path: Path, data: bytes, what: str) -> None:
    """Replace ``path`` with ``data`` in one step, creating its folders: a run stopped midway
    leaves the old file or the new one, never half of either."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except PermissionError:
        raise AgentError(f"can't write {what} {path}: permission denied") from None
    except OSError as exc:
        raise AgentError(f"can't write {what} {path} ({exc.strerror or exc})") from exc


def append_bytes(path: Path, data: bytes, what: str) -> None:
    """Add ``data`` at the end of ``path`` (made, with its folders, if missing)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as file:
            file.write(data)
    except PermissionError:
        raise AgentError(f"can't write {what} {path}: permission denied") from None
    except OSError as exc:
        raise AgentError(f"can't write {what} {path} ({exc.strerror or exc})") from exc
