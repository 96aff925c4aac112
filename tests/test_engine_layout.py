"""The engine's shape, checked: compile once then run, a loop on one screen, hooks around it,
no import cycles, the container kept to container.py, the store free of the engine."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import agentmap
from agentmap import Agent, Graph, Node, run_graph
from agentmap.container import build_container
from agentmap.runner import GraphRunnerService
from helpers import csv_row, run_in

SRC = Path(agentmap.__file__).resolve().parent
ENGINE = {
    "agentmap.attempts",
    "agentmap.branches",
    "agentmap.dispatch",
    "agentmap.driving",
    "agentmap.durability",
    "agentmap.events",
    "agentmap.pauses",
    "agentmap.plan",
    "agentmap.resume",
    "agentmap.runner",
    "agentmap.state",
    "agentmap.subruns",
    "agentmap.tracking",
}


def modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        if "templates" in path.parts:  # files `agentmap init` writes into a project
            continue
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """Every agentmap module ``name`` imports — at the top, in functions, for types only."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in known:
                    yield full
                elif base in known:
                    yield base


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: set(imports(name, path, known)) - {name} for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative enough here)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in graph:
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_back_even_for_types_only() -> None:
    assert cycles(import_graph()) == []


def test_the_store_holds_rows_and_imports_no_engine_module() -> None:
    graph = import_graph()
    store = {name: deps for name, deps in graph.items() if name.startswith("agentmap.store")}
    assert store
    assert {name: sorted(deps & ENGINE) for name, deps in store.items() if deps & ENGINE} == {}


def test_only_container_py_knows_dependency_injector() -> None:
    users = [
        name
        for name, path in modules().items()
        if "dependency_injector" in path.read_text("utf-8")
        and name
        not in ("agentmap.container", "agentmap._injector")  # it imports it for the container
    ]
    assert users == []


def test_no_public_function_takes_a_container() -> None:
    for name in agentmap.__all__:
        value = getattr(agentmap, name)
        if inspect.isfunction(value):
            assert "Container" not in str(inspect.signature(value)), name


def test_the_run_loop_fits_on_one_screen() -> None:
    source = textwrap.dedent(inspect.getsource(GraphRunnerService._walk))
    lines = [line for line in source.splitlines() if line.strip()]
    assert len(lines) <= 30, "\n".join(lines)


def test_the_engine_never_imports_the_loader() -> None:
    graph = import_graph()
    assert sorted(m for m in ENGINE if "agentmap.graph.loader" in graph[m]) == []


class CountingAgent(Agent):
    """Counts how many agents of its type were built."""

    built = 0

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        type(self).built += 1

    def process(self, inputs: object) -> str:
        return "ok"


def test_a_graph_is_compiled_once_however_often_it_runs(project: Path) -> None:
    CountingAgent.built = 0
    container = build_container({"storage": {"url": "none"}}, agents={"counting": CountingAgent})
    graph = Graph(
        name="G",
        nodes={
            "A": Node(name="A", agent_type="counting", edge="B", outputs=("a",)),
            "B": Node(name="B", agent_type="counting", outputs=("b",)),
        },
        entry="A",
    )
    runner = container.runner()
    for _ in range(3):
        assert runner.run(graph).final_state["b"] == "ok"
    assert CountingAgent.built == 2  # one agent per node, built once


def test_a_subgraph_is_read_before_the_run_not_while_it_runs(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    child = graph_csv(csv_row("Child", "Hi", "echo", inputs="x", output="y"), name="child.csv")
    parent = graph_csv(
        csv_row("Parent", "Start", "echo", edge="Sub", inputs="x", output="x"),
        csv_row(
            "Parent",
            "Sub",
            "graph",
            context={"graph": "child.csv::Child"},
            inputs="x",
            output="out",
        ),
    )
    container = build_container({"storage": {"url": "none"}})
    graph = container.loader().load(parent, "Parent")
    runner = container.runner()
    runner.compile(graph)
    child.unlink()  # gone: a run that still read it would fail
    result = run_in(container, graph, {"x": "hi"})
    assert result.success
    assert result.final_state["out"]["y"] == "hi"


def test_an_agent_type_is_registered_from_python_with_one_argument(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    class ShoutAgent(Agent):
        def process(self, inputs: dict[str, object]) -> str:
            return str(inputs["text"]).upper()

    path = graph_csv(csv_row("G", "Shout", "shout", inputs="text", output="loud"))
    result = run_graph(path, {"text": "hi"}, agents={"shout": ShoutAgent})
    assert result.final_state["loud"] == "HI"


@pytest.mark.parametrize(
    "name",
    ["Output", "Usage", "LLMError", "TransientLLMError", "NodeOutputChunk", "ValidationReport"],
)
def test_the_agent_protocol_types_are_public(name: str) -> None:
    assert getattr(agentmap, name).__name__ == name


def test_what_the_cli_does_a_script_can_do_with_the_public_functions(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    made = agentmap.init_project(project / "new")
    assert (project / "new" / "agentmap_config.yaml").exists() and made
    path = graph_csv(csv_row("G", "Start", "shout", edge="End"), csv_row("G", "End", "echo"))
    assert agentmap.scaffold_graph(path).written == (project / "agents" / "shout.py",)
    converted = agentmap.convert_graph(path, project / "flow.yaml")
    assert list(converted.graphs) == ["G"]
    graph = agentmap.load_graph(project / "flow.yaml")
    assert agentmap.to_mermaid(graph).startswith("flowchart")
    assert "digraph" in agentmap.to_dot(graph)
    assert agentmap.graph_json_schema()["type"] == "object"
