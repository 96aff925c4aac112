"""Watch a graph's files and say when one was saved, so a run can be repeated on every save."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from threading import Event

from agentmap.config import Settings


@dataclass(frozen=True, slots=True)
class WatchTargets:
    """What a run depends on: the graph file, the config and prompts files, code folders."""

    files: frozenset[Path]
    folders: frozenset[Path]

    def matters(self, path: Path) -> bool:
        """Whether a change to ``path`` can change the run's outcome."""
        return path in self.files or (path.suffix == ".py" and path.parent in self.folders)

    def roots(self) -> list[Path]:
        """The existing folders to watch (whole folders, since editors save by renaming)."""
        parents = {f.parent for f in self.files} | set(self.folders)
        return sorted(p for p in parents if p.is_dir())


def watch_targets(graph_file: Path, settings: Settings) -> WatchTargets:
    """The files a run of ``graph_file`` reads, under ``settings``."""
    files = {graph_file.resolve(), settings.paths.prompts.resolve()}
    if settings.source is not None:
        files.add(settings.source.resolve())
    folders = {settings.paths.custom_agents.resolve(), settings.paths.functions.resolve()}
    return WatchTargets(frozenset(files), frozenset(folders))


def saves(targets: WatchTargets, stop: Event | None = None) -> Iterator[list[Path]]:
    """Yield the changed files each time one of ``targets`` is saved (until ``stop`` is set)."""
    from watchfiles import watch  # only a --watch run pays for it

    for changes in watch(
        *targets.roots(),
        watch_filter=lambda _, path: targets.matters(Path(path)),
        debounce=200,
        stop_event=stop,
        raise_interrupt=False,
    ):
        yield sorted({Path(path) for _, path in changes})
