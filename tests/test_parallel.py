"""Parallel branches: ``A|B|C`` fans out, the join rule fans in, branch states merge by rules.

Agents run in-process (an ``AgentCatalog`` override); the CLI checks write real agent files
into the ``project`` fixture. Where threads make the order of branch nodes vary, the tests
assert what is fixed: the start first, the join last and once, each branch node once.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from typer.testing import CliRunner

from agentmap import (
    Agent,
    ConfigError,
    ExecutionResult,
    Failure,
    GraphValidationError,
    RunError,
)
from agentmap.agents.catalog import AgentCatalog
from agentmap.cli.app import app
from agentmap.container import Container, build_container
from agentmap.functions import FunctionCatalog
from helpers import csv_row, run_in, validate_in

CONFLICT_FIX = (
    'write different keys, or declare a reducer (Context {"reduce": "append"} on the writing '
    "node, or execution.reducers)"
)

# --- agents and helpers ----------------------------------------------------------------------


def settings_of(agent: Agent) -> Mapping[str, Any]:
    return agent.context if isinstance(agent.context, Mapping) else {}


class PutAgent(Agent):
    """Returns Context ``value`` (default: its node name in lower case).

    Context ``sleep`` blocks the thread first; ``fail`` returns that ``Failure`` instead.
    """

    def process(self, inputs: Mapping[str, Any]) -> Any:
        settings = settings_of(self)
        time.sleep(float(settings.get("sleep", 0)))
        if "fail" in settings:
            return Failure(settings["fail"])
        return settings.get("value", self.name.lower())


class NapAgent(Agent):
    """``async``: awaits Context ``sleep`` seconds, then returns its node name in lower case."""

    async def process(self, inputs: Mapping[str, Any]) -> Any:
        await asyncio.sleep(float(settings_of(self).get("sleep", 0)))
        return self.name.lower()


class DecAgent(Agent):
    """``n - 1``: the body of a counter loop."""

    def process(self, inputs: Mapping[str, Any]) -> int:
        return int(inputs["n"]) - 1


class Gauge:
    """A blocking agent that counts how many of its calls run at the same time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.running = 0
        self.peak = 0
        self._lock = threading.Lock()

    def process(self, inputs: Mapping[str, Any]) -> str:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(self.seconds)
        with self._lock:
            self.running -= 1
        return "done"


def until_zero(state: Mapping[str, Any], success: str | None, failure: str | None) -> str | None:
    """Loop (``success``) while ``n`` is above zero, then leave (``failure``)."""
    return success if state["n"] > 0 else failure


def to_join(state: Mapping[str, Any], success: str | None, failure: str | None) -> str:
    return "Join"


AGENTS: dict[str, Any] = {"put": PutAgent, "nap": NapAgent, "dec": DecAgent}
FUNCTIONS: dict[str, Any] = {"until_zero": until_zero, "to_join": to_join}


def row(node: str, agent_type: str = "put", *, graph: str = "G", **cells: Any) -> str:
    return csv_row(graph, node, agent_type, **cells)


def container_for(
    config: Mapping[str, Any] | None = None, agents: Mapping[str, Any] | None = None
) -> Container:
    container = build_container(dict(config or {}))
    container.agents.override(providers.Object(AgentCatalog({**AGENTS, **(agents or {})})))
    container.functions.override(providers.Object(FunctionCatalog(FUNCTIONS)))
    return container


def run(
    path: Path,
    state: Any = None,
    *,
    config: Mapping[str, Any] | None = None,
    agents: Mapping[str, Any] | None = None,
) -> ExecutionResult:
    return run_in(container_for(config, agents), path, state)


def assert_fan_in(path: tuple[str, ...], start: str, middle: list[str], join: str) -> None:
    """``start`` first, ``join`` last and once, the branch nodes (with repeats) in between."""
    assert path[0] == start
    assert path[-1] == join
    assert path.count(join) == 1
    assert sorted(path[1:-1]) == sorted(middle)


def fan_out_abc(graph_csv: Callable[..., Path], agent_type: str = "put") -> Path:
    return graph_csv(
        row("Start", edge="A|B|C", output="start"),
        row("A", agent_type, edge="Join", output="a"),
        row("B", agent_type, edge="Join", output="b"),
        row("C", agent_type, edge="Join", output="c"),
        row("Join", "echo", inputs="a|b|c", output="joined"),
    )


# --- fan-out and fan-in ----------------------------------------------------------------------


def test_join_runs_once_after_all_branches_on_the_merged_state(
    graph_csv: Callable[..., Path],
) -> None:
    result = run(fan_out_abc(graph_csv))
    assert_fan_in(result.summary.execution_path, "Start", ["A", "B", "C"], "Join")
    assert result.final_state == {
        "start": "start",
        "a": "a",
        "b": "b",
        "c": "c",
        "joined": {"a": "a", "b": "b", "c": "c"},
        "last_action_success": True,
    }
    assert result.success is True


def test_branches_start_from_the_state_before_the_split(graph_csv: Callable[..., Path]) -> None:
    path = graph_csv(
        row("Start", edge="A|B", output="start"),
        row("A", "echo", edge="Join", inputs="start", output="a"),
        row("B", "echo", edge="Join", inputs="start|input", output="b"),
        row("Join", "echo", inputs="a|b", output="joined"),
    )
    result = run(path, {"input": "hi"})
    assert result.final_state["joined"] == {"a": "start", "b": {"start": "start", "input": "hi"}}


def test_async_branches_run_concurrently(graph_csv: Callable[..., Path]) -> None:
    names = [f"B{i}" for i in range(1, 6)]
    path = graph_csv(
        row("Start", edge="|".join(names)),
        *(row(n, "nap", edge="Join", output=n.lower(), context={"sleep": 0.2}) for n in names),
        row("Join", "echo", inputs="|".join(n.lower() for n in names), output="joined"),
    )
    began = time.perf_counter()
    result = run(path)
    took = time.perf_counter() - began
    assert took < 0.8, f"5 branches awaiting 0.2 s took {took:.2f} s: they ran one by one"
    assert_fan_in(result.summary.execution_path, "Start", names, "Join")
    assert result.final_state["joined"] == {n.lower(): n.lower() for n in names}


def test_blocking_sync_branches_run_concurrently_in_the_thread_pool(
    graph_csv: Callable[..., Path],
) -> None:
    gauge = Gauge(0.2)
    names = [f"B{i}" for i in range(1, 6)]
    path = graph_csv(
        row("Start", edge="|".join(names)),
        *(row(n, "gauge", edge="Join", output=n.lower()) for n in names),
        row("Join", "echo", inputs="|".join(n.lower() for n in names), output="joined"),
    )
    began = time.perf_counter()
    result = run(path, agents={"gauge": gauge.process})
    took = time.perf_counter() - began
    assert gauge.peak == 5
    assert took < 0.8, f"5 branches blocking 0.2 s took {took:.2f} s: they ran one by one"
    assert result.final_state["joined"] == {n.lower(): "done" for n in names}


def test_max_concurrency_bounds_how_many_blocking_branches_run_at_once(
    graph_csv: Callable[..., Path],
) -> None:
    gauge = Gauge(0.2)
    names = [f"B{i}" for i in range(1, 5)]
    path = graph_csv(
        row("Start", edge="|".join(names)),
        *(row(n, "gauge", edge="Join", output=n.lower()) for n in names),
        row("Join", "echo", inputs="|".join(n.lower() for n in names), output="joined"),
    )
    began = time.perf_counter()
    result = run(
        path, config={"execution": {"max_concurrency": 2}}, agents={"gauge": gauge.process}
    )
    took = time.perf_counter() - began
    assert gauge.peak == 2
    assert took >= 0.4
    assert_fan_in(result.summary.execution_path, "Start", names, "Join")


def test_by_default_fifty_blocking_branches_run_at_once(graph_csv: Callable[..., Path]) -> None:
    barrier = threading.Barrier(50, timeout=5)  # breaks unless all 50 calls wait at once

    def meet(inputs: Mapping[str, Any]) -> str:
        barrier.wait()
        return "met"

    names = [f"B{i}" for i in range(1, 51)]
    path = graph_csv(
        row("Start", edge="|".join(names)),
        *(row(n, "meet", edge="Join", output=n.lower()) for n in names),
        row("Join", "echo", inputs="|".join(n.lower() for n in names), output="joined"),
    )
    result = run(path, agents={"meet": meet})
    assert result.summary.failed_nodes == ()
    assert result.final_state["joined"] == {n.lower(): "met" for n in names}
    assert_fan_in(result.summary.execution_path, "Start", names, "Join")


# --- the join rule ---------------------------------------------------------------------------


def test_a_branch_that_ends_without_reaching_the_join_does_not_block_it(
    graph_csv: Callable[..., Path],
) -> None:
    joined = threading.Event()

    def join(inputs: Mapping[str, Any]) -> str:
        joined.set()
        return "joined"

    def wait_for_join(inputs: Mapping[str, Any]) -> str:
        return "join ran first" if joined.wait(5) else "join waited for me"

    path = graph_csv(
        row("Start", edge="A|B", output="start"),
        row("A", edge="Join", output="a"),
        row("B", "wait_for_join", output="b"),
        row("Join", "join", inputs="a", output="joined"),
    )
    result = run(path, agents={"join": join, "wait_for_join": wait_for_join})
    path_taken = result.summary.execution_path
    assert path_taken[0] == "Start"
    assert sorted(path_taken) == ["A", "B", "Join", "Start"]
    assert path_taken.index("A") < path_taken.index("Join")
    assert result.final_state == {
        "start": "start",
        "a": "a",
        "b": "join ran first",
        "joined": "joined",
        "last_action_success": True,
    }


def test_a_branch_that_goes_elsewhere_first_is_waited_for_at_the_join(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row("Start", edge="A|B", output="start"),
        row("A", edge="Join", output="a"),
        row("B", edge="B2", output="b", context={"sleep": 0.1}),
        row("B2", edge="Join", output="b2"),
        row("Join", "echo", inputs="a|b|b2", output="joined"),
    )
    result = run(path)
    path_taken = result.summary.execution_path
    assert_fan_in(path_taken, "Start", ["A", "B", "B2"], "Join")
    assert path_taken.index("B") < path_taken.index("B2")
    assert result.final_state["joined"] == {"a": "a", "b": "b", "b2": "b2"}


def test_a_counter_loop_inside_a_branch_runs_to_its_exit_before_the_join(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row("Start", edge="A|Count", output="start"),
        row("A", edge="Join", output="a"),
        row(
            "Count",
            "dec",
            edge="func:until_zero",
            success="Count",
            failure="Join",
            inputs="n",
            output="n",
        ),
        row("Join", "echo", inputs="a|n", output="joined"),
    )
    result = run(path, {"n": 3})
    assert_fan_in(result.summary.execution_path, "Start", ["A", "Count", "Count", "Count"], "Join")
    assert result.final_state == {
        "n": 0,
        "start": "start",
        "a": "a",
        "joined": {"a": "a", "n": 0},
        "last_action_success": True,
    }


def test_a_branching_loop_inside_a_branch_runs_to_its_exit_before_the_join(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row("Start", edge="A|Count", output="start"),
        row("A", edge="Join", output="a"),
        row("Count", "dec", edge="Check", inputs="n", output="n"),
        row("Check", "branching", success="Count", failure="Join", inputs="n"),
        row("Join", "echo", inputs="a|n", output="joined"),
    )
    result = run(path, {"n": 2})
    loop = ["Count", "Check", "Count", "Check"]
    assert_fan_in(result.summary.execution_path, "Start", ["A", *loop], "Join")
    branch = [n for n in result.summary.execution_path if n in {"Count", "Check"}]
    assert branch == loop
    assert result.final_state == {
        "n": 0,
        "start": "start",
        "a": "a",
        "joined": {"a": "a", "n": 0},
        "error": "Check: 'n' is 0",
        "last_action_success": True,
    }


def test_a_fan_out_nested_inside_a_branch_joins_before_the_outer_join(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row("Start", edge="A|B", output="start"),
        row("A", edge="A1|A2", output="a"),
        row("A1", edge="AJ", output="a1"),
        row("A2", edge="AJ", output="a2"),
        row("AJ", "echo", edge="Join", inputs="a1|a2", output="aj"),
        row("B", edge="Join", output="b", context={"sleep": 0.05}),
        row("Join", "echo", inputs="aj|b", output="joined"),
    )
    result = run(path)
    path_taken = result.summary.execution_path
    assert_fan_in(path_taken, "Start", ["A", "A1", "A2", "AJ", "B"], "Join")
    assert path_taken.count("AJ") == 1
    assert path_taken.index("A") < min(path_taken.index("A1"), path_taken.index("A2"))
    assert max(path_taken.index("A1"), path_taken.index("A2")) < path_taken.index("AJ")
    assert result.final_state == {
        "start": "start",
        "a": "a",
        "a1": "a1",
        "a2": "a2",
        "aj": {"a1": "a1", "a2": "a2"},
        "b": "b",
        "joined": {"aj": {"a1": "a1", "a2": "a2"}, "b": "b"},
        "last_action_success": True,
    }


def test_a_join_that_is_also_one_of_the_parallel_targets_runs_once_after_the_others(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row("Start", edge="A|Join", output="start"),
        row("A", edge="Join", output="a", context={"sleep": 0.05}),
        row("Join", "echo", inputs="a", output="joined"),
    )
    result = run(path)
    assert result.summary.execution_path == ("Start", "A", "Join")
    assert result.final_state == {
        "start": "start",
        "a": "a",
        "joined": "a",
        "last_action_success": True,
    }


def test_branches_meeting_at_a_shared_node_run_it_once_on_the_merged_state(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row("Start", edge="A|B", output="start"),
        row("A", edge="Meet", output="a"),
        row("B", edge="Meet", output="b", context={"sleep": 0.05}),
        row("Meet", "echo", edge="End", inputs="a|b", output="met"),
        row("End", "echo", inputs="met", output="done"),
    )
    result = run(path)
    assert_fan_in(result.summary.execution_path[:-1], "Start", ["A", "B"], "Meet")
    assert result.summary.execution_path[-1] == "End"
    assert result.final_state["done"] == {"a": "a", "b": "b"}


def test_a_fan_out_inside_a_loop_forks_and_joins_on_every_pass(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row("Count", "dec", edge="A|B", inputs="n", output="n"),
        row("A", edge="Join", output="a"),
        row("B", edge="Join", output="b"),
        row(
            "Join",
            "echo",
            edge="func:until_zero",
            success="Count",
            failure="End",
            inputs="a|b",
            output="joined",
        ),
        row("End"),
    )
    result = run(path, {"n": 2})
    path_taken = result.summary.execution_path
    assert len(path_taken) == 9
    for start in (0, 4):
        assert_fan_in(path_taken[start : start + 4], "Count", ["A", "B"], "Join")
    assert path_taken[-1] == "End"
    assert result.final_state == {
        "n": 0,
        "a": "a",
        "b": "b",
        "joined": {"a": "a", "b": "b"},
        "last_action_success": True,
    }


def test_branches_that_end_separately_are_merged_into_the_final_state(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row("Start", edge="A|B|C", output="start"),
        row("A", output="a", context={"sleep": 0.05}),
        row("B", output="b"),
        row("C", output="c"),
    )
    result = run(path)
    assert result.summary.execution_path[0] == "Start"
    assert sorted(result.summary.execution_path[1:]) == ["A", "B", "C"]
    assert result.final_state == {
        "start": "start",
        "a": "a",
        "b": "b",
        "c": "c",
        "last_action_success": True,
    }
    assert result.success is True


# --- conflicting writes ----------------------------------------------------------------------


def test_conflicting_writes_seen_in_the_table_are_a_validation_error(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row("Start", edge="A|B"),
        row("A", edge="Join", output="x"),
        row("B", edge="Join", output="x"),
        row("Join", "echo", inputs="x", output="joined"),
    )
    report = validate_in(container_for(), path)
    assert [(p.row, p.cell, p.field, p.message) for p in report.errors] == [
        (
            2,
            "D2",
            "Edge",
            "parallel branches 'A' and 'B' both write 'x' before they join — write different "
            'keys, or declare a reducer (Context {"reduce": "append"} on the writing nodes, or '
            "execution.reducers)",
        )
    ]
    with pytest.raises(GraphValidationError):
        run(path)


def test_a_declared_reducer_makes_a_static_conflict_valid(graph_csv: Callable[..., Path]) -> None:
    path = graph_csv(
        row("Start", edge="A|B"),
        row("A", edge="Join", output="x"),
        row("B", edge="Join", output="x"),
        row("Join", "echo", inputs="x", output="joined"),
    )
    report = validate_in(container_for({"execution": {"reducers": {"x": "sum"}}}), path)
    assert report.errors == ()


def conflict_at_run_time(graph_csv: Callable[..., Path]) -> Path:
    """A and B both write ``x``; A reaches the join through a ``func:`` route, so only the run
    can see the conflict."""
    return graph_csv(
        row("Start", edge="A|B", output="start"),
        row("A", edge="func:to_join", output="x", context={"value": "from a"}),
        row("B", edge="Join", output="x", context={"value": "from b"}),
        row("Join", "echo", inputs="x", output="joined"),
    )


def test_conflicting_writes_seen_only_at_run_time_are_a_run_error(
    graph_csv: Callable[..., Path],
) -> None:
    path = conflict_at_run_time(graph_csv)
    assert validate_in(container_for(), path).errors == ()
    with pytest.raises(RunError) as caught:
        run(path)
    error = caught.value
    assert error.message == (
        f"branches started at 'A' and 'B' both wrote 'x' differently; they join at 'Join' — "
        f"{CONFLICT_FIX}"
    )
    assert (error.graph, error.node) == ("G", "Join")
    assert error.result is not None
    assert error.result.success is False
    assert error.result.summary.execution_path[0] == "Start"
    assert sorted(error.result.summary.execution_path) == ["A", "B", "Start"]


def test_conflicting_writes_of_branches_that_end_apart_are_a_run_error_at_the_end(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row("Start", edge="A|B", output="start"),
        row("A", edge="func:until_zero", output="x", context={"value": 1}),
        row("B", output="x", context={"value": 2}),
    )
    with pytest.raises(RunError) as caught:
        run(path, {"n": 0})
    assert caught.value.message == (
        f"branches started at 'A' and 'B' both wrote 'x' differently; they join at the end of the "
        f"run — {CONFLICT_FIX}"
    )
    assert caught.value.result is not None
    assert caught.value.result.success is False


def test_branches_writing_the_same_value_do_not_conflict(graph_csv: Callable[..., Path]) -> None:
    path = graph_csv(
        row("Start", edge="A|B", output="start"),
        row("A", edge="func:to_join", output="x", context={"value": "same"}),
        row("B", edge="Join", output="x", context={"value": "same"}),
        row("Join", "echo", inputs="x", output="joined"),
    )
    result = run(path)
    assert result.final_state["joined"] == "same"


def test_a_run_time_conflict_exits_1_from_the_cli_with_the_partial_result(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file(
        "agents/put.py",
        """
        from agentmap import Agent


        class PutAgent(Agent):
            def process(self, inputs):
                return self.context["value"]
        """,
    )
    write_file(
        "functions/routes.py",
        """
        def to_join(state, success, failure):
            return "Join"
        """,
    )
    conflict_at_run_time(graph_csv)
    result = CliRunner().invoke(app, ["run", "flow.csv", "--json", "--state", '{"input": 1}'])
    assert result.exit_code == 1, result.output
    message = (
        f"branches started at 'A' and 'B' both wrote 'x' differently; they join at 'Join' "
        f"— {CONFLICT_FIX}"
    )
    document = json.loads(result.stdout)
    assert result.stderr == (
        f"error: {message}\nto carry this run on: agentmap resume {document['run_id']}\n"
    )
    assert document["error"] == message
    assert document["success"] is False
    assert document["summary"]["success"] is False
    assert sorted(document["summary"]["execution_path"]) == ["A", "B", "Start"]
    assert document["final_state"]["input"] == 1


# --- reducers --------------------------------------------------------------------------------

NOTHING = object()  # no value for the key before the split

REDUCER_TABLE = [
    pytest.param("append", "s", "a", "b", ["s", "a", "b"], id="append"),
    pytest.param("append", [0], "a", "b", [0, "a", "b"], id="append-to-a-list"),
    pytest.param("append", NOTHING, "a", "b", ["a", "b"], id="append-without-a-value-before"),
    pytest.param("extend", [0], [1, 2], [3], [0, 1, 2, 3], id="extend"),
    pytest.param("extend", NOTHING, [1, 2], [3], [1, 2, 3], id="extend-without-a-value-before"),
    pytest.param("merge", {"s": 0}, {"a": 1}, {"b": 2}, {"s": 0, "a": 1, "b": 2}, id="merge"),
    pytest.param("merge", {"k": 0}, {"k": 1}, {"k": 2}, {"k": 2}, id="merge-later-branch-wins"),
    pytest.param("sum", 1, 2, 3, 6, id="sum"),
    pytest.param("sum", NOTHING, 2, 3, 5, id="sum-without-a-value-before"),
    pytest.param("max", 5, 2, 9, 9, id="max"),
    pytest.param("max", 10, 2, 9, 10, id="max-keeps-the-value-before"),
    pytest.param("min", 5, 7, 3, 3, id="min"),
    pytest.param("min", 1, 7, 3, 1, id="min-keeps-the-value-before"),
    pytest.param("last", 0, 1, 2, 2, id="last-in-branch-order"),
]


def reducer_graph(
    graph_csv: Callable[..., Path], before: Any, a: Any, b: Any, reduce: Mapping[str, Any]
) -> Path:
    """Start writes ``before`` to ``x`` (unless NOTHING); A (slower) and B write ``a`` and ``b``."""
    start = row("Start", edge="A|B", output="start")
    if before is not NOTHING:
        start = row("Start", edge="A|B", output="x", context={"value": before})
    return graph_csv(
        start,
        row("A", edge="Join", output="x", context={"value": a, "sleep": 0.05, **reduce}),
        row("B", edge="Join", output="x", context={"value": b, **reduce}),
        row("Join", "echo", inputs="x", output="joined"),
    )


@pytest.mark.parametrize(("rule", "before", "a", "b", "expected"), REDUCER_TABLE)
def test_a_reducer_in_context_merges_a_shared_key(
    graph_csv: Callable[..., Path], rule: str, before: Any, a: Any, b: Any, expected: Any
) -> None:
    result = run(reducer_graph(graph_csv, before, a, b, {"reduce": rule}))
    assert result.final_state["x"] == expected
    assert result.final_state["joined"] == expected
    assert_fan_in(result.summary.execution_path, "Start", ["A", "B"], "Join")


@pytest.mark.parametrize(("rule", "before", "a", "b", "expected"), REDUCER_TABLE)
def test_a_reducer_in_config_merges_a_shared_key(
    graph_csv: Callable[..., Path], rule: str, before: Any, a: Any, b: Any, expected: Any
) -> None:
    config = {"execution": {"reducers": {"x": rule}}}
    result = run(reducer_graph(graph_csv, before, a, b, {}), config=config)
    assert result.final_state["x"] == expected
    assert result.final_state["joined"] == expected


def test_a_reducer_that_cannot_combine_the_values_is_a_run_error(
    graph_csv: Callable[..., Path],
) -> None:
    path = reducer_graph(graph_csv, [0], "not a list", [1], {"reduce": "extend"})
    with pytest.raises(RunError, match="'x'") as caught:
        run(path)
    assert "extend needs lists, got a str" in caught.value.message
    assert caught.value.result is not None


# --- last_action_success and error across branches -------------------------------------------

OUTCOME_TABLE = [
    pytest.param(None, None, {"error": None, "last_action_success": True}, id="none-fails"),
    pytest.param("A failed", None, {"error": "A failed", "last_action_success": False}, id="a"),
    pytest.param(None, "B failed", {"error": "B failed", "last_action_success": False}, id="b"),
    pytest.param(
        "A failed",
        "B failed",
        {"error": "A failed; B failed", "last_action_success": False},
        id="both-in-branch-order",
    ),
]


@pytest.mark.parametrize(("a_fails", "b_fails", "seen_at_join"), OUTCOME_TABLE)
def test_branch_outcomes_merge_at_the_join(
    graph_csv: Callable[..., Path],
    a_fails: str | None,
    b_fails: str | None,
    seen_at_join: dict[str, Any],
) -> None:
    a_context: dict[str, Any] = {"sleep": 0.05}  # A finishes last; its error still comes first
    path = graph_csv(
        row("Start", edge="A|B", output="start"),
        row(
            "A", edge="Join", output="a", context=a_context | ({"fail": a_fails} if a_fails else {})
        ),
        row("B", edge="Join", output="b", context={"fail": b_fails} if b_fails else None),
        row("Join", "echo", inputs="error|last_action_success", output="seen"),
    )
    result = run(path)
    assert_fan_in(result.summary.execution_path, "Start", ["A", "B"], "Join")
    assert result.final_state["seen"] == seen_at_join
    assert result.final_state["last_action_success"] is True  # Join itself succeeded
    assert result.final_state.get("error") == seen_at_join["error"]
    failed = {n for n, fails in (("A", a_fails), ("B", b_fails)) if fails}
    assert set(result.summary.failed_nodes) == failed
    assert result.success is (not failed)


def test_two_failing_branches_that_end_separately_merge_their_errors(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row("Start", edge="A|B", output="start"),
        row("A", context={"fail": "A failed", "sleep": 0.05}),
        row("B", context={"fail": "B failed"}),
    )
    result = run(path)
    assert result.final_state == {
        "start": "start",
        "last_action_success": False,
        "error": "A failed; B failed",
    }
    assert result.success is False


# --- validation ------------------------------------------------------------------------------

VALIDATION_TABLE = [
    pytest.param(
        [row("Start", edge="A|Jion"), row("A"), row("Join")],
        "D2",
        "no node named 'Jion' in graph 'G' — did you mean 'Join'?",
        id="unknown-target",
    ),
    pytest.param(
        [row("Start", edge="A|func:to_join"), row("A"), row("Join")],
        "D2",
        "'A|func:to_join': parallel targets must be node names (not empty, not func:) — a routing "
        "function picks one node",
        id="func-in-a-parallel-cell",
    ),
    pytest.param(
        [row("Start", success="A|"), row("A")],
        "E2",
        "'A|': parallel targets must be node names (not empty, not func:) — a routing function "
        "picks one node",
        id="empty-target",
    ),
    pytest.param(
        [row("Start", failure="A|B|A"), row("A"), row("B")],
        "F2",
        "'A|B|A' names 'A' twice — name each once",
        id="duplicate-target",
    ),
    pytest.param(
        [row("Start", edge="A", context={"reduce": "apend"}, output="x"), row("A")],
        "J2",
        "unknown reducer 'apend' — did you mean 'append'? (reducers: append, extend, merge, sum, "
        "max, min, last)",
        id="unknown-reducer",
    ),
    pytest.param(
        [row("Start", edge="A", context={"reduce": "sum"}), row("A")],
        "J2",
        "reduce applies to the node's outputs, but it has none",
        id="reducer-without-outputs",
    ),
    pytest.param(
        [
            row("Start", edge="A|B"),
            row("A", edge="Join", output="x", context={"reduce": "append"}),
            row("B", edge="Join", output="x", context={"reduce": "sum"}),
            row("Join"),
        ],
        "J4",
        "'x' is reduced with 'sum' here but 'append' at node 'A' — declare one reducer per key",
        id="two-reducers-for-one-key",
    ),
]


@pytest.mark.parametrize(("rows", "cell", "message"), VALIDATION_TABLE)
def test_parallel_settings_problems_are_validation_errors(
    graph_csv: Callable[..., Path], rows: list[str], cell: str, message: str
) -> None:
    report = validate_in(container_for(), graph_csv(*rows))
    assert [(p.cell, p.message) for p in report.errors] == [(cell, message)]


def test_an_unknown_reducer_in_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        build_container({"execution": {"reducers": {"x": "apend"}}})
    assert caught.value.message == (
        "settings: execution.reducers.x: Input should be 'append', 'extend', 'merge', 'sum', "
        "'max', 'min' or 'last' (got 'apend')"
    )
