"""Load a graph file: read it in its format, check it, and pick the graph to run."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from agentmap.agents.catalog import AgentCatalog
from agentmap.exceptions import GraphFileError, GraphSelectionError, GraphValidationError, Problem
from agentmap.functions import FunctionCatalog
from agentmap.graph.csv_reader import read_csv_rows
from agentmap.graph.model import Graph, GraphFile, Node
from agentmap.graph.subgraphs import check_subgraphs, context_error, spec_of
from agentmap.graph.table import parse_table
from agentmap.graph.validation import check_graph
from agentmap.prompts import PromptCatalog
from agentmap.suggest import did_you_mean

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


def read_graph_file(path: Path) -> tuple[GraphFile, list[Problem]]:
    """Read any supported graph file into the graph model, with the problems its rows have."""
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

        return read_workbook(path, display)
    if suffix in STRUCTURED_SUFFIXES:
        from agentmap.graph.yaml_reader import read_structured_graphs

        return read_structured_graphs(path, display)
    return parse_table(read_csv_rows(path, display), file=display)


def validate_file(
    path: Path,
    agents: AgentCatalog,
    functions: FunctionCatalog,
    prompts: PromptCatalog,
    graph: str | None = None,
    reducers: Mapping[str, str] | None = None,
) -> ValidationReport:
    """Read ``path`` and check every graph in it (or just ``graph``), collecting all problems."""
    graph_file, problems = read_graph_file(path)
    if graph is not None and graph_file.graphs:
        select_graph(graph_file, graph)  # an unknown name is an error in itself
    for name, g in graph_file.graphs.items():
        if graph is None or name == graph:
            problems.extend(check_graph(g, agents, functions, prompts, reducers))
    relevant = sorted(
        (p for p in problems if graph is None or p.graph in (None, graph)),
        key=lambda p: (p.row or 0, p.cell or ""),
    )
    return ValidationReport(
        file=graph_file,
        checked=tuple(n for n in graph_file.graphs if graph is None or n == graph),
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
    ) -> None:
        self._catalogs = (agents, functions, prompts)
        self._reducers = dict(reducers or {})
        self._files: dict[Path, GraphFile] = {}
        self._children: dict[tuple[str, str], Graph] = {}

    def validate(self, path: Path, graph: str | None = None) -> ValidationReport:
        """Every problem of the file (or of ``graph``) and of the subgraphs it runs."""
        report = validate_file(path, *self._catalogs, graph=graph, reducers=self._reducers)
        seen: set[tuple[str, str]] = set()
        extra: list[Problem] = []
        for name in report.checked:
            extra.extend(
                check_subgraphs(report.file.graphs[name], self._resolve, self._check, seen)
            )
        if not extra:
            return report
        errors = sorted([*report.errors, *extra], key=lambda p: (p.file or "", p.row or 0))
        return replace(report, errors=tuple(errors))

    def load(self, path: Path, graph: str | None = None, start: str | None = None) -> Graph:
        """One graph, checked, ready to run; ``GraphValidationError`` lists every problem."""
        report = self.validate(path, graph)
        report.raise_for_errors()
        return select_graph(report.file, graph, start)

    def subgraph(self, parent: Graph, node: Node) -> Graph:
        """The (checked) graph a ``graph`` node of ``parent`` runs."""
        child = self._resolve(parent, node)
        key = (child.file or "", child.name)
        if key not in self._children:
            self._children[key] = self.load(Path(child.file or ""), child.name)
        return self._children[key]

    def _resolve(self, parent: Graph, node: Node) -> Graph:
        spec = spec_of(parent, node)
        if spec.file is None:
            raise context_error(
                parent,
                node,
                f"graph '{parent.name}' was not read from a file, so there is no file to find "
                f"graph '{spec.graph}' in — name its file: "
                f'{{"graph": "file.csv::{spec.graph}"}}',
            )
        path = spec.file
        if path not in self._files:
            self._files[path], _ = read_graph_file(path)
        return select_graph(self._files[path], spec.graph)

    def _check(self, child: Graph) -> list[Problem]:
        report = validate_file(
            Path(child.file or ""), *self._catalogs, graph=child.name, reducers=self._reducers
        )
        return list(report.errors)
