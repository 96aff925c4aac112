"""Load a graph file: read it in its format, check it, and pick the graph to run."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from agentmap.agents.catalog import AgentCatalog
from agentmap.exceptions import GraphFileError, GraphSelectionError, GraphValidationError, Problem
from agentmap.functions import FunctionCatalog
from agentmap.graph.csv_reader import iter_csv_rows
from agentmap.graph.model import Graph, GraphFile, Node
from agentmap.graph.subgraph_forms import read_agentmap_forms
from agentmap.graph.subgraphs import (
    check_subgraphs,
    context_error,
    references,
    spec_of,
    target_of,
)
from agentmap.graph.table import parse_table
from agentmap.graph.validation import check_graph
from agentmap.prompts import PromptCatalog
from agentmap.security import AllowedPaths
from agentmap.suggest import did_you_mean
from agentmap.userfiles import DEFAULT_MAX_FILE_MB

WORKBOOK_SUFFIXES = (".xlsx", ".ods")
STRUCTURED_SUFFIXES = (".yaml", ".yml", ".json")
SUFFIXES = (".csv", *WORKBOOK_SUFFIXES, *STRUCTURED_SUFFIXES)
GRAPH_SEPARATOR = "::"


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The outcome of checking a graph file: the graphs read, and every error and warning."""

    file: GraphFile
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    checked: tuple[str, ...] = ()  # the graphs that were checked (all, or the one asked for)

    @property
    def ok(self) -> bool:
        """True when nothing stops the graph(s) from running."""
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise ``GraphValidationError`` listing every error, if there is any."""
        if self.errors:
            raise GraphValidationError(self.errors, self.warnings)


def split_source(source: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """``"flow.csv::Main"`` → ``(Path("flow.csv"), "Main")``; a plain path selects no graph."""
    text = os.fspath(source)
    path, sep, graph = text.partition(GRAPH_SEPARATOR)
    return Path(path), (graph.strip() or None) if sep else None


def resolve_source(source: str | os.PathLike[str], graph: str | None) -> tuple[Path, str | None]:
    """The file and graph meant by a source (``flow.csv::Main``) and a ``--graph`` option."""
    path, named = split_source(source)
    if graph and named and graph != named:
        raise GraphSelectionError(
            f"{os.fspath(source)} names graph '{named}' but --graph asks for '{graph}' — give "
            "one of them",
            file=str(path),
        )
    return path, graph or named


def read_graph_file(
    path: Path, max_mb: float = DEFAULT_MAX_FILE_MB
) -> tuple[GraphFile, list[Problem]]:
    """Read any supported graph file into the graph model, with the problems its rows have.

    Only a regular file of at most ``max_mb`` megabytes is read (``limits.max_file_mb``).
    ``graph`` nodes written AgentMap's way (``{workflow=::Sub}``, ``child=parent``) come back
    in our form, whatever the file's format.
    """
    graph_file, problems = _read_in_format(path, max_mb)
    graph_file, found = read_agentmap_forms(graph_file)
    return graph_file, [*problems, *found] if found else problems


def _read_in_format(path: Path, max_mb: float) -> tuple[GraphFile, list[Problem]]:
    display = str(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise GraphFileError(
            f"{display}: agentmap can't read '{suffix or 'extensionless'}' files — use a graph "
            f"file ending in {', '.join(SUFFIXES)}",
            file=display,
        )
    # Readers of other formats are imported on demand: a CSV run never pays for them.
    if suffix in WORKBOOK_SUFFIXES:
        from agentmap.graph.workbook_reader import read_workbook

        return read_workbook(path, display, max_mb)
    if suffix in STRUCTURED_SUFFIXES:
        from agentmap.graph.yaml_reader import read_structured_graphs

        return read_structured_graphs(path, display, max_mb)
    rows = iter_csv_rows(path, display, max_mb)
    read = parse_table(rows, file=display)  # node by node: the rows are never all held
    for _ in rows:  # the file's own checks come after its last row, read or not
        pass
    return read


class FileRead(NamedTuple):
    """A graph file as read, with its reading problems grouped by graph (``None``: the file's),
    so checking one graph of a file of many doesn't go through every other graph's problems."""

    file: GraphFile
    problems: tuple[Problem, ...]
    by_graph: Mapping[str | None, tuple[Problem, ...]]

    @classmethod
    def of(cls, graph_file: GraphFile, problems: list[Problem]) -> FileRead:
        """Group ``problems`` (as ``read_graph_file`` returns them) by their graph."""
        grouped: dict[str | None, list[Problem]] = {}
        for problem in problems:
            grouped.setdefault(problem.graph, []).append(problem)
        by_graph = {name: tuple(found) for name, found in grouped.items()}
        return cls(graph_file, tuple(problems), by_graph)

    def problems_of(self, graph: str | None) -> list[Problem]:
        """The problems that concern ``graph`` (every one, for ``None``): the file's, then its."""
        if graph is None:
            return list(self.problems)
        return [*self.by_graph.get(None, ()), *self.by_graph.get(graph, ())]


def validate_file(
    path: Path,
    agents: AgentCatalog,
    functions: FunctionCatalog,
    prompts: PromptCatalog,
    graph: str | None = None,
    reducers: Mapping[str, str] | None = None,
    max_mb: float = DEFAULT_MAX_FILE_MB,
) -> ValidationReport:
    """Read ``path`` and check every graph in it (or just ``graph``), collecting all problems."""
    read = FileRead.of(*read_graph_file(path, max_mb))
    return check_file(read, agents, functions, prompts, graph, reducers)


def check_file(
    read: FileRead,
    agents: AgentCatalog,
    functions: FunctionCatalog,
    prompts: PromptCatalog,
    graph: str | None = None,
    reducers: Mapping[str, str] | None = None,
) -> ValidationReport:
    """Check every graph of a file already read (or just ``graph``), collecting all problems.

    Only the graph asked for is looked at, never the file's others: a file of a thousand
    graphs, each running the next, is checked one graph at a time.
    """
    graph_file = read.file
    if graph is None:
        checked = tuple(graph_file.graphs)
    elif graph_file.graphs:
        checked = (select_graph(graph_file, graph).name,)  # an unknown name is an error itself
    else:
        checked = ()
    problems = read.problems_of(graph)
    for name in checked:
        problems.extend(check_graph(graph_file.graphs[name], agents, functions, prompts, reducers))
    relevant = sorted(problems, key=lambda p: (p.row or 0, p.cell or ""))
    return ValidationReport(
        file=graph_file,
        checked=checked,
        errors=tuple(p for p in relevant if p.severity == "error"),
        warnings=tuple(p for p in relevant if p.severity == "warning"),
    )


def select_graph(graph_file: GraphFile, name: str | None, start: str | None = None) -> Graph:
    """The graph called ``name`` (or the file's only graph), entered at ``start`` if given."""
    graphs = graph_file.graphs
    if name is None:
        if len(graphs) != 1:
            raise GraphSelectionError(
                f"{graph_file.path} holds {len(graphs)} graphs: {', '.join(graphs)} — choose one "
                f"with --graph NAME or {graph_file.path}::NAME",
                file=graph_file.path,
            )
        name = next(iter(graphs))
    graph = graphs.get(name)
    if graph is None:
        raise GraphSelectionError(
            f"no graph named '{name}' in {graph_file.path}{did_you_mean(name, graphs)} "
            f"(it holds: {', '.join(graphs) or 'no graphs'})",
            file=graph_file.path,
            graph=name,
        )
    if start is None:
        return graph
    if start not in graph.nodes:
        raise GraphSelectionError(
            f"--start: no node named '{start}' in graph '{name}'{did_you_mean(start, graph.nodes)}",
            file=graph_file.path,
            graph=name,
            node=start,
        )
    return graph.with_entry(start)


class GraphLoader:
    """Reads and checks graph files against the project's agents, functions and prompts.

    It also follows ``graph`` nodes: a file is valid only if the graphs it runs exist, are
    valid themselves, and never run themselves again (checked before anything runs).
    """

    def __init__(
        self,
        agents: AgentCatalog,
        functions: FunctionCatalog,
        prompts: PromptCatalog,
        reducers: Mapping[str, str] | None = None,
        max_file_mb: float = DEFAULT_MAX_FILE_MB,
        allowed: AllowedPaths | None = None,
    ) -> None:
        self._catalogs = (agents, functions, prompts)
        self._reducers = dict(reducers or {})
        self._max_mb = max_file_mb
        self._allowed = allowed or AllowedPaths(None)  # the folders subgraph files may be in
        self._files: dict[Path, FileRead] = {}  # subgraph files read for runs
        self._children: dict[tuple[str, str], Graph] = {}

    def validate(self, path: Path, graph: str | None = None) -> ValidationReport:
        """Every problem of the file (or of ``graph``) and of the subgraphs it runs.

        Each file is read once per call, however many of the graphs it holds are run (and each
        graph checked once): checking a chain of subgraphs costs what its graphs add up to.
        """
        return self._validate(path, graph, [])

    def load(self, path: Path, graph: str | None = None, start: str | None = None) -> Graph:
        """One graph, checked, ready to run; ``GraphValidationError`` lists every problem.

        The subgraphs it runs were checked with it, so they are kept for ``subgraph``: a run of
        a chain of subgraphs does not check each one's rest of the chain again.
        """
        children: list[Graph] = []
        report = self._validate(path, graph, children)
        report.raise_for_errors()
        for child in children:
            self._children.setdefault((child.file or "", child.name), child)
        return select_graph(report.file, graph, start)

    def _validate(self, path: Path, graph: str | None, children: list[Graph]) -> ValidationReport:
        """``validate``, adding each subgraph checked to ``children``."""
        files: dict[Path, FileRead] = {}
        report = check_file(
            self._read(path, files), *self._catalogs, graph=graph, reducers=self._reducers
        )

        def check(child: Graph) -> list[Problem]:
            children.append(child)
            return self._check(child, files)

        seen: set[tuple[str, str]] = set()
        extra: list[Problem] = []
        for name in report.checked:
            extra.extend(
                check_subgraphs(
                    report.file.graphs[name],
                    lambda parent, node, reference: self._resolve(parent, node, reference, files),
                    check,
                    seen,
                )
            )
        if not extra:
            return report

        def ordered(found: list[Problem]) -> tuple[Problem, ...]:
            return tuple(sorted(found, key=lambda p: (p.file or "", p.row or 0)))

        errors = [*report.errors, *(p for p in extra if p.severity == "error")]
        warnings = [*report.warnings, *(p for p in extra if p.severity == "warning")]
        return replace(report, errors=ordered(errors), warnings=ordered(warnings))

    def subgraph(self, parent: Graph, node: Node, reference: str | None = None) -> Graph:
        """The (checked) graph a ``graph`` node of ``parent`` runs (for a ``graph_field``
        node, the one its choice ``reference`` names)."""
        if reference is None:
            reference = references(node, spec_of(parent, node))[0]
        child = self._resolve(parent, node, reference, self._files)
        key = (child.file or "", child.name)
        if key not in self._children:
            self._children[key] = self.load(Path(child.file or ""), child.name)
        return self._children[key]

    def _resolve(
        self, parent: Graph, node: Node, reference: str, files: dict[Path, FileRead]
    ) -> Graph:
        file, name = target_of(parent, reference)
        if file is None:
            raise context_error(
                parent,
                node,
                f"graph '{parent.name}' was not read from a file, so there is no file to find "
                f"graph '{name}' in — name its file: "
                f'{{"graph": "file.csv::{name}"}}',
            )
        if (refused := self._allowed.refusal(file, "subgraph file")) is not None:
            raise context_error(parent, node, refused)
        return select_graph(self._read(file, files).file, name)

    def _check(self, child: Graph, files: dict[Path, FileRead]) -> list[Problem]:
        read = self._read(Path(child.file or ""), files)
        report = check_file(read, *self._catalogs, graph=child.name, reducers=self._reducers)
        return list(report.errors)

    def _read(self, path: Path, files: dict[Path, FileRead]) -> FileRead:
        """``path`` read (once: ``files`` keeps what was read)."""
        read = files.get(path)
        if read is None:
            read = files[path] = FileRead.of(*read_graph_file(path, self._max_mb))
        return read
