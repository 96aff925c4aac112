"""Subgraphs: a node of agent type ``graph`` runs another graph of the same or another file.

Context names the child (``{"graph": "Child"}``, ``{"graph": "child.csv::Child"}``);
Input_Fields map parent keys to the child's initial state; Context ``outputs`` or Output_Field
map the child's final state back. The child's tracking is nested in the parent's node result,
and recursion is refused before anything runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from agentmap import (
    ExecutionResult,
    GraphValidationError,
    RunCancelled,
)
from agentmap.agents.catalog import AgentCatalog
from agentmap.container import Container, build_container
from agentmap.results import ExecutionSummary
from helpers import arun_in, csv_row, load_in, run_in, validate_in


def greet(inputs: Mapping[str, Any]) -> str:
    return f"hello {inputs['who']}"


def shout(inputs: Mapping[str, Any]) -> str:
    return str(inputs["text"]).upper()


async def nap(inputs: Mapping[str, Any]) -> str:
    await asyncio.sleep(0.5)
    return "rested"


def row(graph: str, node: str, agent_type: str = "success", **cells: Any) -> str:
    return csv_row(graph, node, agent_type, **cells)


def container() -> Container:
    built = build_container({})
    built.agents.override(
        providers.Object(AgentCatalog({"greet": greet, "shout": shout, "nap": nap}))
    )
    return built


def run(source: str | Path, state: Any = None) -> ExecutionResult:
    return run_in(container(), source, state)


def sub_result(result: ExecutionResult, node: str) -> ExecutionSummary:
    """The child run's summary nested in ``node``'s (only) result."""
    (record,) = [r for r in result.summary.node_results if r.node == node]
    assert record.subgraph is not None, f"{node} has no nested summary"
    return record.subgraph


def problems(report_or_error: Any) -> list[tuple[str | None, int | None, str | None, str]]:
    found = getattr(report_or_error, "errors", None) or report_or_error.problems
    return [(p.file, p.row, p.cell, p.message) for p in found]


CHILD_ROWS = (
    row("Child", "Greet", "greet", edge="Mark", inputs="who", output="greeting"),
    row("Child", "Mark", "echo", inputs="extra", output="marked"),
)


# --- running a child graph -------------------------------------------------------------------


def test_a_graph_node_runs_a_graph_of_the_same_file(graph_csv: Callable[..., Path]) -> None:
    path = graph_csv(
        row("Parent", "Start", "echo", edge="Sub", inputs="input", output="name"),
        row(
            "Parent",
            "Sub",
            "graph",
            edge="End",
            inputs="name:who",
            output="child",
            context={"graph": "Child"},
        ),
        row("Parent", "End", "echo", inputs="child", output="done"),
        *CHILD_ROWS,
    )
    result = run(f"{path}::Parent", "Ada")
    child_final = {
        "who": "Ada",
        "greeting": "hello Ada",
        "marked": None,
        "last_action_success": True,
    }
    assert result.summary.execution_path == ("Start", "Sub", "End")
    assert result.final_state == {
        "input": "Ada",
        "name": "Ada",
        "child": child_final,
        "done": child_final,
        "last_action_success": True,
    }
    assert result.success is True


@pytest.mark.parametrize("reference", ["child.csv::Child", "child.csv"])
def test_a_graph_node_runs_a_graph_of_another_file_next_to_the_parent_file(
    project: Path, graph_csv: Callable[..., Path], reference: str
) -> None:
    graph_csv(row("Child", "Decoy", "echo", inputs="who", output="greeting"), name="child.csv")
    graph_csv(*CHILD_ROWS, name="flows/child.csv")
    parent = graph_csv(
        row(
            "Parent",
            "Sub",
            "graph",
            inputs="name:who",
            output="greeting|marked",
            context={"graph": reference},
        ),
        name="flows/parent.csv",
    )
    assert (project / "child.csv").is_file()  # the decoy, beside the current directory
    result = run(parent.relative_to(project), {"name": "Ada"})
    assert sub_result(result, "Sub").execution_path == ("Greet", "Mark")
    assert result.final_state == {
        "name": "Ada",
        "greeting": "hello Ada",
        "marked": None,
        "last_action_success": True,
    }


def test_input_fields_map_parent_keys_to_the_childs_initial_state(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row(
            "Parent",
            "Sub",
            "graph",
            inputs="name:who|note:extra|flag",
            output="child",
            context={"graph": "Child"},
        ),
        *CHILD_ROWS,
    )
    result = run(f"{path}::Parent", {"name": "Ada", "note": "n", "flag": 1, "other": "x"})
    assert result.final_state["child"] == {
        "who": "Ada",
        "extra": "n",
        "flag": 1,
        "greeting": "hello Ada",
        "marked": "n",
        "last_action_success": True,
    }


@pytest.mark.parametrize(
    ("output_field", "outputs", "written"),
    [
        pytest.param(
            "child",
            None,
            {
                "child": {
                    "who": "Ada",
                    "extra": "n",
                    "greeting": "hello Ada",
                    "marked": "n",
                    "last_action_success": True,
                }
            },
            id="one-key-gets-the-whole-final-state",
        ),
        pytest.param(
            "greeting|marked",
            None,
            {"greeting": "hello Ada", "marked": "n"},
            id="several-keys-get-those-child-keys",
        ),
        pytest.param(
            "hello|tag",
            {"hello": "greeting", "tag": "marked"},
            {"hello": "hello Ada", "tag": "n"},
            id="context-outputs-renames",
        ),
        pytest.param(
            "hello",
            {"hello": "greeting"},
            {"hello": "hello Ada"},
            id="context-outputs-one-key",
        ),
    ],
)
def test_output_mapping_writes_the_childs_final_state_to_parent_keys(
    graph_csv: Callable[..., Path],
    output_field: str,
    outputs: dict[str, str] | None,
    written: dict[str, Any],
) -> None:
    context: dict[str, Any] = {"graph": "Child"}
    if outputs is not None:
        context["outputs"] = outputs
    path = graph_csv(
        row(
            "Parent",
            "Sub",
            "graph",
            inputs="name:who|note:extra",
            output=output_field,
            context=context,
        ),
        *CHILD_ROWS,
    )
    result = run(f"{path}::Parent", {"name": "Ada", "note": "n"})
    assert result.final_state == {
        "name": "Ada",
        "note": "n",
        **written,
        "last_action_success": True,
    }


# --- tracking --------------------------------------------------------------------------------


def test_the_childs_tracking_is_nested_in_the_parents_node_result(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row("Parent", "Start", edge="Sub"),
        row("Parent", "Sub", "graph", inputs="name:who", context={"graph": "Child"}),
        *CHILD_ROWS,
    )
    result = run(f"{path}::Parent", {"name": "Ada"})
    assert result.summary.execution_path == ("Start", "Sub")
    child = sub_result(result, "Sub")
    assert child.graph_name == "Child"
    assert child.execution_path == ("Greet", "Mark")
    assert [(r.node, r.success) for r in child.node_results] == [("Greet", True), ("Mark", True)]
    assert child.success is True
    document = result.to_dict()["summary"]["node_results"]
    assert "subgraph" not in document[0]
    assert document[1]["subgraph"]["graph_name"] == "Child"
    assert document[1]["subgraph"]["execution_path"] == ["Greet", "Mark"]


def test_nested_subgraphs_nest_their_tracking_and_pass_values_through(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row(
            "Parent",
            "Sub",
            "graph",
            inputs="text",
            output="loud|quiet",
            context={"graph": "Child", "outputs": {"loud": "shouted", "quiet": "words"}},
        ),
        row("Child", "First", edge="Deeper"),
        row(
            "Child",
            "Deeper",
            "graph",
            inputs="text:words",
            output="shouted|words",
            context={"graph": "Grandchild"},
        ),
        row("Grandchild", "Shout", "shout", inputs="words:text", output="shouted"),
    )
    result = run(f"{path}::Parent", {"text": "hi"})
    assert result.final_state == {
        "text": "hi",
        "loud": "HI",
        "quiet": "hi",
        "last_action_success": True,
    }
    child = sub_result(result, "Sub")
    assert child.execution_path == ("First", "Deeper")
    (deeper,) = [r for r in child.node_results if r.node == "Deeper"]
    assert deeper.subgraph is not None
    assert deeper.subgraph.graph_name == "Grandchild"
    assert deeper.subgraph.execution_path == ("Shout",)
    assert deeper.subgraph.node_results[0].subgraph is None


# --- a failing child -------------------------------------------------------------------------


def test_a_failing_child_fails_the_parent_node_with_its_error_and_follows_failure_next(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row(
            "Parent",
            "Sub",
            "graph",
            success="End",
            failure="Handler",
            output="child",
            context={"graph": "Child"},
        ),
        row("Parent", "End"),
        row("Parent", "Handler", "echo", inputs="error", output="handled"),
        row("Child", "Charge", "failure", prompt="card declined"),
    )
    result = run(f"{path}::Parent")
    assert result.summary.execution_path == ("Sub", "Handler")
    (sub,) = [r for r in result.summary.node_results if r.node == "Sub"]
    assert (sub.success, sub.error) == (False, "card declined")
    assert sub.subgraph is not None
    assert sub.subgraph.success is False
    assert sub.subgraph.failed_nodes == ("Charge",)
    assert result.final_state == {
        "child": {"last_action_success": False, "error": "card declined"},
        "error": "card declined",
        "handled": "card declined",
        "last_action_success": True,
    }
    assert result.summary.failed_nodes == ("Sub",)
    assert result.summary.handled_failures == ("Sub",)
    assert result.success is True  # the parent routes Sub's failure to Handler


def test_a_graph_nodes_timeout_fails_it_when_the_child_runs_too_long(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row(
            "Parent",
            "Sub",
            "graph",
            success="End",
            failure="Handler",
            output="child",
            context={"graph": "Child", "timeout": 0.1},
        ),
        row("Parent", "End"),
        row("Parent", "Handler"),
        row("Child", "Nap", "nap", output="napped"),
    )
    result = run(f"{path}::Parent")
    assert result.summary.execution_path == ("Sub", "Handler")
    (sub,) = [r for r in result.summary.node_results if r.node == "Sub"]
    assert (sub.success, sub.error) == (False, "timed out after 0.1s")
    assert result.final_state == {"error": "timed out after 0.1s", "last_action_success": True}


def test_cancelling_the_run_while_a_child_runs_cancels_the_parent_run(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row("Parent", "Start", edge="Sub"),
        row("Parent", "Sub", "graph", success="End", failure="Handler", context={"graph": "Child"}),
        row("Parent", "End"),
        row("Parent", "Handler"),
        row("Child", "Block", "block"),
    )

    async def main() -> RunCancelled:
        started = asyncio.Event()

        async def block(inputs: Mapping[str, Any]) -> None:
            started.set()
            await asyncio.sleep(5)

        built = container()
        built.agents.override(providers.Object(AgentCatalog({"block": block})))
        task = asyncio.create_task(arun_in(built, f"{path}::Parent"))
        await asyncio.wait_for(started.wait(), 5)
        task.cancel()
        with pytest.raises(RunCancelled) as caught:
            await task
        return caught.value

    error = asyncio.run(main())
    assert error.message == "run of graph 'Parent' was cancelled"
    assert error.result is not None
    assert error.result.summary.execution_path == ("Start", "Sub")
    assert error.result.summary.unfinished == ("Sub",)


# --- validation ------------------------------------------------------------------------------


def test_a_graph_running_itself_is_rejected(graph_csv: Callable[..., Path]) -> None:
    path = graph_csv(
        row("A", "Start", edge="Again"), row("A", "Again", "graph", context={"graph": "A"})
    )
    with pytest.raises(GraphValidationError) as caught:
        load_in(container(), path)
    assert problems(caught.value) == [
        (str(path), 3, "J3", "subgraphs can't recurse: A → A — break the cycle")
    ]


def test_two_graphs_running_each_other_are_rejected(graph_csv: Callable[..., Path]) -> None:
    path = graph_csv(
        row("A", "RunB", "graph", context={"graph": "B"}),
        row("B", "RunA", "graph", context={"graph": "A"}),
    )
    with pytest.raises(GraphValidationError) as caught:
        load_in(container(), f"{path}::A")
    assert problems(caught.value) == [
        (str(path), 3, "J3", "subgraphs can't recurse: A → B → A — break the cycle")
    ]
    assert problems(validate_in(container(), path)) == [
        (str(path), 2, "J2", "subgraphs can't recurse: B → A → B — break the cycle"),
        (str(path), 3, "J3", "subgraphs can't recurse: A → B → A — break the cycle"),
    ]


@pytest.mark.parametrize("back", ["a.csv::A", "../flows/a.csv::A"])
def test_graphs_of_two_files_running_each_other_are_rejected(
    project: Path, graph_csv: Callable[..., Path], back: str
) -> None:
    a = graph_csv(row("A", "RunB", "graph", context={"graph": "b.csv::B"}), name="flows/a.csv")
    b = graph_csv(row("B", "RunA", "graph", context={"graph": back}), name="flows/b.csv")
    report = validate_in(container(), a.relative_to(project))
    assert [(Path(p.file or "").resolve(), p.row, p.cell, p.message) for p in report.errors] == [
        (b.resolve(), 2, "J2", "subgraphs can't recurse: A → B → A — break the cycle")
    ]


@pytest.mark.parametrize(
    ("context", "output", "message"),
    [
        pytest.param(
            {"graph": "Chlid"},
            "",
            "no graph named 'Chlid' in {file} — did you mean 'Child'? (it holds: Parent, Child)",
            id="no-such-graph",
        ),
        pytest.param(
            {"graph": "missing.csv::Child"},
            "",
            "{folder}/missing.csv: no such file — check the path",
            id="no-such-file",
        ),
        pytest.param(
            {"graph": "child.csv::Nope"},
            "",
            "no graph named 'Nope' in {folder}/child.csv (it holds: Child)",
            id="no-such-graph-in-the-other-file",
        ),
        pytest.param(
            {"graph": ""},
            "",
            'a graph node needs Context {"graph": "Name"} or {"graph": "file.csv::Name"}',
            id="empty-reference",
        ),
        pytest.param(
            {"outputs": {"a": "b"}},
            "a",
            'a graph node needs Context {"graph": "Name"} or {"graph": "file.csv::Name"}',
            id="no-reference",
        ),
        pytest.param(
            {"graph": "Child", "outputs": {"a": "greeting"}},
            "b",
            "Context \"outputs\" maps ['a'] but Output_Field is b — list the same keys in both",
            id="outputs-and-output-field-differ",
        ),
        pytest.param(
            {"graph": "Child", "outputs": ["greeting"]},
            "greeting",
            'Context "outputs" must map parent keys to child keys (text)',
            id="outputs-not-a-mapping",
        ),
    ],
)
def test_a_bad_child_reference_is_a_validation_error_at_the_context_cell(
    project: Path,
    graph_csv: Callable[..., Path],
    context: dict[str, Any],
    output: str,
    message: str,
) -> None:
    graph_csv(*CHILD_ROWS, name="flows/child.csv")
    path = graph_csv(
        row("Parent", "Sub", "graph", output=output, context=context),
        *CHILD_ROWS,
        name="flows/parent.csv",
    )
    source = path.relative_to(project)
    report = validate_in(container(), f"{source}::Parent")
    expected = message.replace("{file}", str(source)).replace("{folder}", str(source.parent))
    assert problems(report) == [(str(source), 2, "J2", expected)]


def test_a_child_graphs_own_errors_are_reported_when_validating_the_parent(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(
        row("Child", "Work", "nosuch", edge="Nowhere"),
        name="flows/child.csv",
    )
    parent = graph_csv(
        row("Parent", "Sub", "graph", context={"graph": "child.csv::Child"}),
        name="flows/parent.csv",
    )
    source = parent.relative_to(project)
    child = str(source.parent / "child.csv")
    report = validate_in(container(), source)
    assert problems(report) == [
        (
            child,
            2,
            "C2",
            f"unknown agent type 'nosuch' — fix the spelling, or run `agentmap scaffold {child}` "
            "to write a stub for it",
        ),
        (child, 2, "D2", "no node named 'Nowhere' in graph 'Child'"),
    ]
    with pytest.raises(GraphValidationError):
        run(source)
