"""The run loop: outcomes pick the next node, state is never mutated, loops and limits, async."""

from __future__ import annotations

import asyncio
import copy
import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import agentmap
from agentmap import Graph, Node, RunError, arun_graph, load_graph, run_graph

AGENTS = '''
from agentmap import Agent, Failure, agent


class OkAgent(Agent):
    def process(self, inputs):
        return f"{self.name} ok"


class BoomAgent(Agent):
    def process(self, inputs):
        raise ValueError(self.prompt or "boom")


class SoftFailAgent(Agent):
    def process(self, inputs):
        return Failure(self.prompt or "soft failure", value=inputs.get("n"))


class BareFailAgent(Agent):
    def process(self, inputs):
        return Failure("bare failure")


class PairAgent(Agent):
    def process(self, inputs):
        return {"a": 1, "b": 2, "extra": 3}


class PartialAgent(Agent):
    def process(self, inputs):
        return {"a": 1}


class ScalarAgent(Agent):
    def process(self, inputs):
        return 5


class DecAgent(Agent):
    """n - 1, failing (with the value) when it reaches zero: a loop body."""

    def process(self, inputs):
        n = int(inputs["n"]) - 1
        return Failure("reached zero", value=n) if n == 0 else n


class AsyncUpperAgent(Agent):
    async def process(self, inputs):
        return str(inputs["text"]).upper()


@agent("async_exclaim")
async def async_exclaim(inputs):
    return str(inputs["text"]) + "!"


class AsyncBoomAgent(Agent):
    async def process(self, inputs):
        raise RuntimeError("async boom")
'''

RECORDING_AGENTS = """
import run_recorder
from agentmap import Agent


class RecordAgent(Agent):
    def process(self, inputs):
        run_recorder.CALLS.append(("agent", self.name, inputs, dict(inputs)))
        return f"{self.name} saw {sorted(inputs)}"
"""

FUNCTIONS = """
import run_recorder


def choose(state, success_target, failure_target):
    run_recorder.CALLS.append(("choose", state, dict(state), success_target, failure_target))
    return success_target if state["last_action_success"] else failure_target


def go(state, success_target, failure_target):
    run_recorder.CALLS.append(("go", state, dict(state), success_target, failure_target))
    return state.get("go")
"""


def row(
    node: str,
    agent_type: str = "ok",
    *,
    edge: str = "",
    success: str = "",
    failure: str = "",
    inputs: str = "",
    output: str = "",
    prompt: str = "",
    graph: str = "G",
) -> str:
    return f"{graph},{node},{agent_type},{edge},{success},{failure},{inputs},{output},{prompt},,"


@pytest.fixture
def recorder(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """A module agents and functions append their calls to; the test reads ``CALLS``."""
    lib = project / "lib"
    lib.mkdir()
    (lib / "run_recorder.py").write_text("CALLS = []\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(lib))
    sys.modules.pop("run_recorder", None)
    yield importlib.import_module("run_recorder")
    sys.modules.pop("run_recorder", None)


@pytest.fixture
def flow(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> Callable[..., Path]:
    """Write the test agents into the project and a graph CSV from rows; return its path."""
    write_file("agents/test_agents.py", AGENTS)

    def write(*rows: str) -> Path:
        return graph_csv(*rows)

    return write


@pytest.fixture
def recording(
    flow: Callable[..., Path], write_file: Callable[..., Path], recorder: ModuleType
) -> ModuleType:
    """Also write the recording agent and the routing functions; return the recorder."""
    write_file("agents/recording.py", RECORDING_AGENTS)
    write_file("functions/route.py", FUNCTIONS)
    return recorder


# --- routing on outcomes -------------------------------------------------------------------


def test_success_routes_to_success_next(flow: Callable[..., Path]) -> None:
    path = flow(row("A", success="B", failure="C"), row("B"), row("C"))
    assert run_graph(path).summary.execution_path == ("A", "B")


def test_failure_routes_to_failure_next(flow: Callable[..., Path]) -> None:
    path = flow(row("A", "boom", success="B", failure="C"), row("B"), row("C"))
    assert run_graph(path).summary.execution_path == ("A", "C")


def test_success_follows_edge(flow: Callable[..., Path]) -> None:
    path = flow(row("A", edge="B"), row("B"))
    assert run_graph(path).summary.execution_path == ("A", "B")


def test_failure_follows_edge_too(flow: Callable[..., Path]) -> None:
    path = flow(row("A", "boom", edge="B"), row("B"))
    assert run_graph(path).summary.execution_path == ("A", "B")


@pytest.mark.parametrize(
    ("agent_type", "success", "failure"),
    [
        pytest.param("ok", "", "C", id="success-without-success_next"),
        pytest.param("boom", "B", "", id="failure-without-failure_next"),
        pytest.param("ok", "", "", id="no-routing-at-all"),
    ],
)
def test_no_applicable_target_ends_the_run_there(
    flow: Callable[..., Path], agent_type: str, success: str, failure: str
) -> None:
    path = flow(row("A", agent_type, success=success, failure=failure), row("B"), row("C"))
    result = run_graph(path)
    assert result.summary.execution_path == ("A",)


def test_run_that_ends_after_a_failure_returns_a_failed_result(flow: Callable[..., Path]) -> None:
    path = flow(row("A", "boom", success="B", prompt="bad input"), row("B"))
    result = run_graph(path)
    assert result.success is False
    assert result.final_state == {"last_action_success": False, "error": "bad input"}


def test_success_after_failure_sets_last_action_success_true(flow: Callable[..., Path]) -> None:
    path = flow(row("A", "boom", failure="B"), row("B", output="b"))
    result = run_graph(path)
    assert result.final_state["last_action_success"] is True


def test_failure_after_success_sets_last_action_success_false(flow: Callable[..., Path]) -> None:
    path = flow(row("A", success="B", output="a"), row("B", "boom"))
    result = run_graph(path)
    assert result.final_state["last_action_success"] is False


def test_each_node_sees_the_previous_nodes_own_outcome(
    recording: ModuleType, flow: Callable[..., Path]
) -> None:
    path = flow(
        row("A", "boom", failure="B"),
        row("B", success="func:go"),
        row("C", "record", inputs="last_action_success"),
    )
    run_graph(path, {"go": "C"})
    seen = [call for call in recording.CALLS if call[0] == "go"]
    assert seen[0][2]["last_action_success"] is True
    agent_calls = [call for call in recording.CALLS if call[0] == "agent"]
    assert agent_calls[0][3] == {"last_action_success": True}


def test_raised_exception_message_lands_in_the_state_error(flow: Callable[..., Path]) -> None:
    path = flow(row("A", "boom", failure="B", prompt="disk is full"), row("B"))
    result = run_graph(path)
    assert result.final_state["error"] == "disk is full"


def test_raised_exception_message_lands_in_the_node_result(flow: Callable[..., Path]) -> None:
    path = flow(row("A", "boom", failure="B", prompt="disk is full"), row("B"))
    first = run_graph(path).summary.node_results[0]
    assert (first.node, first.success, first.error) == ("A", False, "disk is full")


def test_raised_exception_routes_to_failure_next(flow: Callable[..., Path]) -> None:
    path = flow(row("A", "boom", success="B", failure="C"), row("B"), row("C", output="c"))
    result = run_graph(path)
    assert result.summary.execution_path == ("A", "C")
    assert result.final_state == {
        "last_action_success": True,
        "error": "boom",
        "c": "C ok",
    }


def test_async_exception_routes_to_failure_next(flow: Callable[..., Path]) -> None:
    path = flow(row("A", "async_boom", failure="B"), row("B"))
    result = run_graph(path)
    assert result.summary.execution_path == ("A", "B")
    assert result.final_state["error"] == "async boom"


def test_returned_failure_fails_without_raising(flow: Callable[..., Path]) -> None:
    path = flow(
        row(
            "A", "soft_fail", success="B", failure="C", inputs="n", output="out", prompt="too small"
        ),
        row("B"),
        row("C"),
    )
    result = run_graph(path, {"n": 3})
    assert result.summary.execution_path == ("A", "C")
    assert result.summary.node_results[0].error == "too small"


def test_returned_failure_value_goes_to_the_output_field(flow: Callable[..., Path]) -> None:
    path = flow(row("A", "soft_fail", inputs="n", output="out", prompt="too small"))
    result = run_graph(path, {"n": 3})
    assert result.final_state == {
        "n": 3,
        "out": 3,
        "last_action_success": False,
        "error": "too small",
    }


def test_returned_failure_without_value_writes_no_output(flow: Callable[..., Path]) -> None:
    path = flow(row("A", "bare_fail", output="out"))
    result = run_graph(path)
    assert result.final_state == {"last_action_success": False, "error": "bare failure"}


def test_failure_is_exported_from_agentmap() -> None:
    failure = agentmap.Failure("msg", value=7)
    assert (failure.error, failure.value) == ("msg", 7)


# --- outputs -------------------------------------------------------------------------------


def test_output_field_with_several_keys_takes_them_from_a_mapping(
    flow: Callable[..., Path],
) -> None:
    path = flow(row("A", "pair", output="a|b"))
    result = run_graph(path)
    assert result.final_state == {"a": 1, "b": 2, "last_action_success": True}


def test_output_field_missing_key_is_a_node_failure(flow: Callable[..., Path]) -> None:
    path = flow(row("Split", "partial", success="B", failure="C", output="a|b"), row("B"), row("C"))
    result = run_graph(path)
    assert result.summary.execution_path == ("Split", "C")
    assert (
        result.summary.node_results[0].error
        == "node 'Split' did not return 'b' (its Output_Field is a|b)"
    )


def test_output_field_missing_key_writes_no_partial_output(flow: Callable[..., Path]) -> None:
    path = flow(row("Split", "partial", output="a|b"))
    result = run_graph(path)
    assert result.final_state == {
        "last_action_success": False,
        "error": "node 'Split' did not return 'b' (its Output_Field is a|b)",
    }


def test_output_field_with_several_keys_and_no_mapping_is_a_node_failure(
    flow: Callable[..., Path],
) -> None:
    path = flow(row("Split", "scalar", failure="C", output="a|b"), row("C"))
    result = run_graph(path)
    assert result.summary.execution_path == ("Split", "C")
    assert result.final_state["error"] == (
        "node 'Split' must return a mapping with keys a|b (its Output_Field), but returned a int"
    )


def test_single_output_field_stores_the_whole_value(flow: Callable[..., Path]) -> None:
    path = flow(row("A", "pair", output="all"))
    assert run_graph(path).final_state["all"] == {"a": 1, "b": 2, "extra": 3}


def test_node_without_output_field_writes_only_its_outcome(flow: Callable[..., Path]) -> None:
    path = flow(row("A"))
    assert run_graph(path, {"x": 1}).final_state == {"x": 1, "last_action_success": True}


def test_input_field_with_alias_passes_state_key_as_parameter(
    recording: ModuleType, flow: Callable[..., Path]
) -> None:
    path = flow(row("A", "record", inputs="user:name|missing"))
    run_graph(path, {"user": "ada"})
    assert recording.CALLS[0][3] == {"name": "ada", "missing": None}


# --- immutability --------------------------------------------------------------------------


def test_no_state_or_inputs_mapping_is_ever_mutated(
    recording: ModuleType, flow: Callable[..., Path]
) -> None:
    path = flow(
        row("A", "record", success="B", inputs="input", output="a"),
        row("B", "record", success="func:go", inputs="input|a", output="input"),
        row("C", "record", edge="func:choose", inputs="input|a|go", output="a"),
    )
    initial = {"input": "hi", "items": [1, 2], "go": "C"}
    snapshot = copy.deepcopy(initial)
    result = run_graph(path, initial)
    assert result.summary.execution_path == ("A", "B", "C")
    assert initial == snapshot
    assert len(recording.CALLS) == 5
    for call in recording.CALLS:
        if call[0] == "agent":
            _, _, inputs, seen = call
            assert dict(inputs) == seen
        else:
            _, state, seen, *_ = call
            assert dict(state) == seen


def test_final_state_is_not_the_callers_dict(flow: Callable[..., Path]) -> None:
    path = flow(row("A", output="a"))
    initial = {"input": "hi"}
    result = run_graph(path, initial)
    assert result.final_state is not initial
    assert initial == {"input": "hi"}


def test_states_handed_to_routing_functions_are_read_only(
    recording: ModuleType, flow: Callable[..., Path]
) -> None:
    path = flow(row("A", edge="func:go"), row("B"))
    run_graph(path, {"go": "B"})
    state = recording.CALLS[0][1]
    with pytest.raises(TypeError):
        state["go"] = "A"


# --- loops and limits ----------------------------------------------------------------------


def test_loop_runs_until_its_exit(flow: Callable[..., Path]) -> None:
    path = flow(
        row("Tick", "dec", success="Tick", failure="Done", inputs="n", output="n"),
        row("Done", output="done"),
    )
    result = run_graph(path, {"n": 3})
    assert result.summary.execution_path == ("Tick", "Tick", "Tick", "Done")
    assert result.final_state == {
        "n": 0,
        "last_action_success": True,
        "error": "reached zero",
        "done": "Done ok",
    }


def test_exceeding_max_steps_raises_run_error(flow: Callable[..., Path]) -> None:
    path = flow(row("A", edge="A"))
    with pytest.raises(RunError, match="ran 5 steps without finishing") as caught:
        run_graph(path, config={"execution": {"max_steps": 5}})
    assert (caught.value.graph, caught.value.node) == ("G", "A")


def test_run_error_from_max_steps_carries_the_partial_result(flow: Callable[..., Path]) -> None:
    path = flow(row("A", edge="B", output="a"), row("B", edge="A", output="b"))
    with pytest.raises(RunError) as caught:
        run_graph(path, {"input": "x"}, config={"execution": {"max_steps": 5}})
    result = caught.value.result
    assert result is not None
    assert result.summary.execution_path == ("A", "B", "A", "B", "A")
    assert result.final_state == {
        "input": "x",
        "a": "A ok",
        "last_action_success": True,
        "b": "B ok",
    }


def test_run_of_exactly_max_steps_finishes(flow: Callable[..., Path]) -> None:
    path = flow(row("A", edge="B"), row("B", edge="C"), row("C"))
    result = run_graph(path, config={"execution": {"max_steps": 3}})
    assert result.summary.execution_path == ("A", "B", "C")


def test_a_loop_stopped_by_max_steps_is_called_a_loop(flow: Callable[..., Path]) -> None:
    path = flow(row("A", edge="B"), row("B", success="C", failure="A"), row("C", edge="B"))
    with pytest.raises(RunError) as caught:
        run_graph(path, config={"execution": {"max_steps": 4}})
    assert caught.value.message == (
        "graph 'G' ran 4 steps without finishing (a loop that never exits?) — fix the routing "
        "or raise execution.max_steps"
    )


def test_a_graph_with_no_loop_longer_than_max_steps_says_so(flow: Callable[..., Path]) -> None:
    path = flow(
        row("A", edge="B|C"), row("B", edge="D"), row("C", edge="D"), row("D", edge="E"), row("E")
    )
    with pytest.raises(RunError) as caught:
        run_graph(path, config={"execution": {"max_steps": 2}})
    assert caught.value.message == (
        "graph 'G' ran 2 steps without finishing: it has no loop, but 5 nodes can be reached "
        "from its entry 'A', more steps than execution.max_steps (2) allows — raise "
        "execution.max_steps"
    )


def test_a_routing_function_counts_as_a_possible_loop(
    recording: ModuleType, flow: Callable[..., Path]
) -> None:
    path = flow(
        row("A", edge="B"), row("B", edge="func:choose", success="C", failure="C"), row("C")
    )
    with pytest.raises(RunError, match="a loop that never exits"):
        run_graph(path, {"input": "x"}, config={"execution": {"max_steps": 1}})


def _chain(length: int) -> Graph:
    names = [f"N{i}" for i in range(length)]
    nodes = {
        name: Node(name=name, agent_type="success", edge=names[i + 1] if i + 1 < length else None)
        for i, name in enumerate(names)
    }
    return Graph(name="Chain", nodes=nodes, entry="N0")


def test_hundred_thousand_node_chain_runs_with_max_steps_raised(project: Path) -> None:
    result = run_graph(_chain(100_000), config={"execution": {"max_steps": 100_000}})
    path = result.summary.execution_path
    assert len(path) == 100_000
    assert (path[0], path[-1]) == ("N0", "N99999")
    assert result.success is True


def test_long_chain_stops_at_the_default_max_steps(project: Path) -> None:
    with pytest.raises(RunError) as caught:
        run_graph(_chain(10_001))
    assert caught.value.result is not None
    assert len(caught.value.result.summary.execution_path) == 10_000
    assert "it has no loop, but 10,001 nodes can be reached from its entry 'N0'" in (
        caught.value.message
    )


# --- func: routing -------------------------------------------------------------------------


def test_edge_function_gets_state_and_the_rows_targets(
    recording: ModuleType, flow: Callable[..., Path]
) -> None:
    path = flow(row("A", edge="func:choose", success="B", failure="C"), row("B"), row("C"))
    result = run_graph(path, {"input": "x"})
    assert result.summary.execution_path == ("A", "B")
    _, _, state, success_target, failure_target = recording.CALLS[0]
    assert state == {"input": "x", "last_action_success": True}
    assert (success_target, failure_target) == ("B", "C")


def test_edge_function_is_called_on_failure_too(
    recording: ModuleType, flow: Callable[..., Path]
) -> None:
    path = flow(row("A", "boom", edge="func:choose", success="B", failure="C"), row("B"), row("C"))
    result = run_graph(path)
    assert result.summary.execution_path == ("A", "C")


def test_edge_function_without_targets_gets_none(
    recording: ModuleType, flow: Callable[..., Path]
) -> None:
    path = flow(row("A", edge="func:go"), row("B"))
    result = run_graph(path, {"go": "B"})
    assert result.summary.execution_path == ("A", "B")
    assert recording.CALLS[0][3:] == (None, None)


@pytest.mark.parametrize(
    ("agent_type", "calls", "expected_path"),
    [
        pytest.param("ok", 1, ("A", "B"), id="success-calls-it"),
        pytest.param("boom", 0, ("A", "C"), id="failure-does-not"),
    ],
)
def test_success_next_function_is_called_only_on_success(
    recording: ModuleType,
    flow: Callable[..., Path],
    agent_type: str,
    calls: int,
    expected_path: tuple[str, ...],
) -> None:
    path = flow(row("A", agent_type, success="func:go", failure="C"), row("B"), row("C"))
    result = run_graph(path, {"go": "B"})
    assert result.summary.execution_path == expected_path
    assert len(recording.CALLS) == calls


@pytest.mark.parametrize(
    ("agent_type", "calls", "expected_path"),
    [
        pytest.param("boom", 1, ("A", "C"), id="failure-calls-it"),
        pytest.param("ok", 0, ("A", "B"), id="success-does-not"),
    ],
)
def test_failure_next_function_is_called_only_on_failure(
    recording: ModuleType,
    flow: Callable[..., Path],
    agent_type: str,
    calls: int,
    expected_path: tuple[str, ...],
) -> None:
    path = flow(row("A", agent_type, success="B", failure="func:go"), row("B"), row("C"))
    result = run_graph(path, {"go": "C"})
    assert result.summary.execution_path == expected_path
    assert len(recording.CALLS) == calls


def test_success_next_function_gets_the_rows_failure_next_as_failure_target(
    recording: ModuleType, flow: Callable[..., Path]
) -> None:
    path = flow(row("A", success="func:go", failure="C"), row("B"), row("C"))
    run_graph(path, {"go": "B"})
    assert recording.CALLS[0][3:] == (None, "C")


def test_routing_function_returning_unknown_node_is_a_run_error(
    recording: ModuleType, flow: Callable[..., Path]
) -> None:
    path = flow(row("A", edge="func:go"), row("B"))
    with pytest.raises(RunError) as caught:
        run_graph(path, {"go": "Nowhere"})
    message = str(caught.value)
    assert "routing function 'go'" in message
    assert "'Nowhere'" in message
    assert caught.value.result is not None
    assert caught.value.result.summary.execution_path == ("A",)


def test_routing_function_returning_none_ends_the_run(
    recording: ModuleType, flow: Callable[..., Path]
) -> None:
    path = flow(row("A", edge="func:go"), row("B"))
    result = run_graph(path, {})
    assert result.summary.execution_path == ("A",)
    assert result.success is True


# --- async and entry points ----------------------------------------------------------------


def test_async_agent_runs_through_run_graph(flow: Callable[..., Path]) -> None:
    path = flow(
        row("A", "async_upper", edge="B", inputs="text", output="upper"),
        row("B", "async_exclaim", inputs="upper:text", output="loud"),
    )
    result = run_graph(path, {"text": "hi"})
    assert result.final_state == {
        "text": "hi",
        "upper": "HI",
        "last_action_success": True,
        "loud": "HI!",
    }


def test_async_agent_runs_through_arun_graph(flow: Callable[..., Path]) -> None:
    path = flow(row("A", "async_upper", inputs="text", output="upper"))
    result = asyncio.run(arun_graph(path, {"text": "hi"}))
    assert result.final_state == {"text": "hi", "upper": "HI", "last_action_success": True}


def test_sync_graph_runs_through_arun_graph(flow: Callable[..., Path]) -> None:
    path = flow(row("A", output="a"))
    result = asyncio.run(arun_graph(path))
    assert result.final_state == {"a": "A ok", "last_action_success": True}


def test_run_graph_with_async_agents_works_inside_a_running_event_loop(
    flow: Callable[..., Path],
) -> None:
    path = flow(row("A", "async_upper", inputs="text", output="upper"))

    async def main() -> Any:
        return run_graph(path, {"text": "hi"})

    result = asyncio.run(main())
    assert result.final_state == {"text": "hi", "upper": "HI", "last_action_success": True}


def test_run_graph_with_sync_agents_works_inside_a_running_event_loop(
    flow: Callable[..., Path],
) -> None:
    path = flow(row("A", output="a"))

    async def main() -> Any:
        return run_graph(path)

    assert asyncio.run(main()).final_state == {"a": "A ok", "last_action_success": True}


def test_run_graph_accepts_a_graph_object(flow: Callable[..., Path]) -> None:
    graph = load_graph(flow(row("A", edge="B", output="a"), row("B", output="b")))
    result = run_graph(graph, {"input": 1})
    assert result.graph_name == "G"
    assert result.final_state == {"input": 1, "a": "A ok", "last_action_success": True, "b": "B ok"}


def test_run_graph_with_graph_object_and_start_begins_there(flow: Callable[..., Path]) -> None:
    graph = load_graph(flow(row("A", edge="B"), row("B")))
    result = run_graph(graph, start="B")
    assert result.summary.execution_path == ("B",)


def test_run_graph_turns_a_bare_value_into_input(flow: Callable[..., Path]) -> None:
    path = flow(row("A", "echo", inputs="input", output="echoed"))
    result = run_graph(path, "hello")
    assert result.final_state == {"input": "hello", "echoed": "hello", "last_action_success": True}


def test_result_to_dict_is_json_ready(flow: Callable[..., Path]) -> None:
    path = flow(row("A", output="a"))
    document = run_graph(path).to_dict()
    assert document["graph_name"] == "G"
    assert document["success"] is True
    assert document["final_state"] == {"a": "A ok", "last_action_success": True}
    assert document["summary"]["execution_path"] == ["A"]
