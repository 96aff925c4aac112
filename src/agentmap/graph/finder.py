"""Find a graph by its name among the project's graph files, as AgentMap's runner does.

Everything else in agentmap is given a graph's file; ``GraphRunnerService.run_graph`` (code
written for AgentMap: ``runner.run_graph("MyWorkflow", state)``) is given only a name, and
this finds the one file of the graphs folder that holds it.
"""

from __future__ import annotations

import os
from pathlib import Path

from agentmap.exceptions import GraphFileError, GraphSelectionError
from agentmap.graph.loader import (
    GRAPH_SEPARATOR,
    SUFFIXES,
    GraphLoader,
    read_graph_file,
    split_source,
)
from agentmap.graph.model import Graph
from agentmap.suggest import did_you_mean


def locate_graph(folder: Path, source: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """The file and graph ``source`` means, for code that names a graph rather than its file.

    A name (``"MyWorkflow"``) is looked for in every graph file under ``folder`` (the project's
    graphs folder, ``paths.graphs``), as AgentMap finds a graph by name: it must be in exactly
    one, else ``GraphSelectionError`` names the files that hold it (or graphs of similar
    names). A file — ``flow.csv::Main``, anything ending in a graph suffix, or a path object —
    is taken as given, else inside ``folder``. Files are read afresh on each call, so a graph
    added or changed since is found.
    """
    text = os.fspath(source)
    path, graph = split_source(text)
    if (
        isinstance(source, os.PathLike)
        or GRAPH_SEPARATOR in text
        or path.suffix.lower() in SUFFIXES
    ):
        if path.is_absolute() or path.exists() or not (folder / path).exists():
            return path, graph  # (a missing file: the loader says so, naming the path given)
        return folder / path, graph
    name = text.strip()
    if not folder.is_dir():
        raise GraphSelectionError(
            f"no graph named '{name}' can be found: the graphs folder {folder} does not exist — "
            f"set paths.graphs, or name the graph's file (flow.csv::{name})",
            graph=name,
        )
    held: dict[Path, tuple[str, ...]] = {}
    unreadable: list[str] = []
    for file in sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES):
        try:
            graph_file, problems = read_graph_file(file)
        except GraphFileError:
            graph_file, problems = None, []
        if graph_file is None or (not graph_file.graphs and problems):
            unreadable.append(file.relative_to(folder).as_posix())  # (bad YAML, say)
        else:
            held[file] = tuple(graph_file.graphs)
    files = [file for file, names in held.items() if name in names]
    if len(files) == 1:
        return files[0], name
    if files:
        listed = ", ".join(file.relative_to(folder).as_posix() for file in files)
        first = files[0].relative_to(folder).as_posix()
        raise GraphSelectionError(
            f"graph '{name}' is in {len(files)} files of {folder}: {listed} — name the one to "
            f"run: '{first}::{name}'",
            graph=name,
        )
    known = sorted({n for names in held.values() for n in names})
    skipped = f"; {len(unreadable)} file(s) could not be read: {', '.join(unreadable)}"
    raise GraphSelectionError(
        f"no graph named '{name}' in the graph files of {folder}{did_you_mean(name, known)} "
        f"(they hold: {', '.join(known) or 'no graphs'}{skipped if unreadable else ''})",
        graph=name,
    )


class GraphFinder:
    """Finds a project's graphs by name (``locate_graph``) and loads them, checked.

    The runner is handed one (as a plain callable) rather than the loader itself: the engine
    runs graphs and never reads graph files.
    """

    def __init__(self, loader: GraphLoader, folder: Path) -> None:
        self._loader = loader
        self._folder = folder

    def __call__(self, source: str | os.PathLike[str]) -> Graph:
        """The graph ``source`` names (see ``locate_graph``), checked and ready to run."""
        path, name = locate_graph(self._folder, source)
        return self._loader.load(path, name)
