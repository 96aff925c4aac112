"""Which files a graph may make agentmap read: ``security.allowed_paths``.

A graph names files besides itself — ``file:`` prompts, subgraph files — and, as written, any
path works: ``file:../../etc/passwd``, an absolute path, or a symlink inside the project that
points out of it. On the command line that is the user reading their own files, so it stays
allowed unless ``security.allowed_paths`` is set. The HTTP service runs graphs its clients
name or post, so it always enforces a list (the project folder and the graphs folder, when the
setting is unset): a file outside is refused with the cell that named it and the setting that
would allow it.

``AllowedPaths.check`` is the one check, for anything that reads a file a graph names (data
agents that read or write files call it too: the storage agents do, for each file).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from agentmap.config import Settings

SETTING = "security.allowed_paths"
VARIABLE = "AGENTMAP_SECURITY__ALLOWED_PATHS"


class AllowedPaths:
    """The folders files may be read from (``None``: anywhere).

    >>> AllowedPaths(None).refusal(Path("/etc/passwd")) is None
    True
    """

    def __init__(self, folders: Iterable[Path] | None) -> None:
        # resolved once: a folder given through a symlink still holds what it points at
        self.folders = None if folders is None else tuple(f.resolve() for f in folders)

    @classmethod
    def of(cls, settings: Settings) -> AllowedPaths:
        """The allowed folders ``settings`` set, relative ones taken from the config file's
        folder (the current folder when there is no file)."""
        folders = settings.security.allowed_paths
        if folders is None:
            return cls(None)
        return cls(project_folder(settings) / folder for folder in folders)

    @property
    def enforced(self) -> bool:
        """Whether any file is refused at all."""
        return self.folders is not None

    def refusal(self, path: Path, what: str = "file") -> str | None:
        """Why ``path`` may not be read (None: it may), after following its symlinks."""
        if self.folders is None:
            return None
        try:
            real = path.resolve()
        except ValueError:  # a NUL in the path: it names no file, and reading it says so
            return None
        except (OSError, RuntimeError) as exc:  # a symlink loop, say: where it leads is unknown
            return f"{what} {path} can't be followed to a file ({exc}) — fix the path"
        if any(real.is_relative_to(folder) for folder in self.folders):
            return None
        shown = str(path) if real == path else f"{path} (which is {real})"
        listed = ", ".join(str(folder) for folder in self.folders) or "none"
        return (
            f"{what} {shown} is outside the folders agentmap may read files from ({listed}) — "
            f"move it into one of them, or add its folder to {SETTING} ({VARIABLE}) if this "
            "graph is trusted"
        )

    def target(self, path: Path) -> Path:
        """The path to read once ``refusal`` allowed ``path``: with its symlinks followed when
        paths are checked, so a link changed after the check can't lead out."""
        if self.folders is None:
            return path
        try:
            return path.resolve()
        except (OSError, RuntimeError, ValueError):  # reading it says what is wrong
            return path


def project_folder(settings: Settings) -> Path:
    """The folder of the config file (the current folder without one): what relative
    ``security.allowed_paths`` are taken from, and what the HTTP service allows by default."""
    return (settings.source.parent if settings.source else Path.cwd()).resolve()


def enforced(settings: Settings) -> Settings:
    """``settings`` with ``security.allowed_paths`` set: the project and graphs folders when
    it is unset. The HTTP service runs with these, as its graphs may come from anyone."""
    if settings.security.allowed_paths is not None:
        return settings
    folders = (project_folder(settings), Path(settings.paths.graphs).resolve())
    security = settings.security.model_copy(update={"allowed_paths": folders})
    return settings.model_copy(update={"security": security})
