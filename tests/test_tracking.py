"""Execution tracking: the path, per-node results, what is recorded, and success policies."""

from __future__ import annotations

import dataclasses
import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentmap import ConfigError, ExecutionSummary, Graph, Node, NodeResult, run_graph
from agentmap.agents.catalog import AgentCatalog
from agentmap.config import SuccessPolicySettings, TrackingSettings
from agentmap.events import NodeCompleted, NodeFailed, NodeStarted
from agentmap.functions import FunctionCatalog
from agentmap.plan import Compiler, RunPolicy
from agentmap.prompts import PromptCatalog
from agentmap.runner import GraphRunnerService
from agentmap.tracking import ExecutionTrackingService

AGENTS = """
from agentmap import Agent


class BoomAgent(Agent):
    def process(self, inputs):
        raise ValueError("kaput")
"""

COUNT_AGENT = """
from agentmap import Agent


class CountAgent(Agent):
    def process(self, inputs):
        return inputs["n"] + 1
"""

UNTIL_THREE = """
def until_three(state, success_target, failure_target):
    return "A" if state["n"] < 3 else None
"""

POLICY_FUNCTIONS = """
def ran_two_nodes(summary):
    return len(summary.execution_path) == 2


def inverted(summary):
    return not summary.success
"""

POLICY_MODULE = """
def recovered_from_start(summary):
    return summary.final_node_success is True and summary.failed_nodes == ("Start",)
"""


@pytest.fixture
def policy_module(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An importable module (not in the functions folder) holding a success policy."""
    lib = project / "lib"
    lib.mkdir()
    (lib / "tracking_policies.py").write_text(POLICY_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(lib))
    sys.modules.pop("tracking_policies", None)
    yield "tracking_policies"
    sys.modules.pop("tracking_policies", None)


@pytest.fixture
def handled_failure(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> Path:
    """Start fails (Failure agent), Failure_Next goes to Recover, which succeeds."""
    write_file("functions/policies.py", POLICY_FUNCTIONS)
    return graph_csv(
        "Main,Start,failure,,,Recover,,,Start broke,,",
        "Main,Recover,success,,,,,,,,",
    )


@pytest.fixture
def flow(project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]) -> Path:
    """Echo text, then a node that raises, handled by a final echo."""
    write_file("agents/boom.py", AGENTS)
    return graph_csv(
        "Main,Echo,echo,,Boom,,text,echoed,,,",
        "Main,Boom,boom,,,Done,echoed,,,,",
        "Main,Done,echo,,,,echoed,done,,,",
    )


def tracking(**keys: Any) -> dict[str, Any]:
    return {"execution": {"tracking": keys}}


# --- path and node results -----------------------------------------------------------------


def test_summary_records_the_execution_path(flow: Path) -> None:
    summary = run_graph(flow, {"text": "hi"}).summary
    assert summary.execution_path == ("Echo", "Boom", "Done")


def test_summary_has_one_result_per_node_run_with_outcome_and_error(flow: Path) -> None:
    results = run_graph(flow, {"text": "hi"}).summary.node_results
    assert [(r.node, r.success, r.error) for r in results] == [
        ("Echo", True, None),
        ("Boom", False, "kaput"),
        ("Done", True, None),
    ]


def test_node_durations_are_not_negative(flow: Path) -> None:
    summary = run_graph(flow, {"text": "hi"}).summary
    assert all(r.duration >= 0 for r in summary.node_results)
    assert summary.total_duration >= 0


def test_summary_lists_failed_nodes_and_final_node_outcome(flow: Path) -> None:
    summary = run_graph(flow, {"text": "hi"}).summary
    assert summary.failed_nodes == ("Boom",)
    assert summary.final_node_success is True
    assert summary.graph_name == "Main"


def test_node_in_a_loop_has_one_result_per_visit(
    project: Path, graph_csv: Callable[..., Path], write_file: Callable[..., Path]
) -> None:
    write_file("agents/count.py", COUNT_AGENT)
    write_file("functions/loop.py", UNTIL_THREE)
    path = graph_csv("Main,A,count,,func:until_three,,n,n,,,")
    results = run_graph(path, {"n": 0}).summary.node_results
    assert [(r.node, r.success) for r in results] == [("A", True)] * 3


def test_inputs_and_outputs_are_not_recorded_by_default(flow: Path) -> None:
    first = run_graph(flow, {"text": "hi"}).summary.node_results[0]
    assert (first.inputs, first.output) == (None, None)
    assert "inputs" not in first.to_dict() and "output" not in first.to_dict()


def test_inputs_are_recorded_with_track_inputs(flow: Path) -> None:
    results = run_graph(
        flow, {"text": "hi"}, config=tracking(track_inputs=True)
    ).summary.node_results
    assert [r.inputs for r in results] == [{"text": "hi"}, {"echoed": "hi"}, {"echoed": "hi"}]
    assert [r.output for r in results] == [None, None, None]


def test_outputs_are_recorded_with_track_outputs(flow: Path) -> None:
    results = run_graph(
        flow, {"text": "hi"}, config=tracking(track_outputs=True)
    ).summary.node_results
    assert [r.output for r in results] == ["hi", None, "hi"]
    assert [r.inputs for r in results] == [None, None, None]


def test_recorded_inputs_and_output_appear_in_to_dict(flow: Path) -> None:
    config = tracking(track_inputs=True, track_outputs=True)
    first = run_graph(flow, {"text": "hi"}, config=config).summary.node_results[0]
    data = first.to_dict()
    assert (data["inputs"], data["output"]) == ({"text": "hi"}, "hi")


def test_disabled_tracking_keeps_no_node_results(flow: Path) -> None:
    summary = run_graph(flow, {"text": "hi"}, config=tracking(enabled=False)).summary
    assert summary.node_results == ()


def test_disabled_tracking_keeps_the_path_and_failed_nodes(flow: Path) -> None:
    summary = run_graph(flow, {"text": "hi"}, config=tracking(enabled=False)).summary
    assert summary.execution_path == ("Echo", "Boom", "Done")
    assert summary.failed_nodes == ("Boom",)


def test_summary_to_dict_holds_path_results_and_total_duration(flow: Path) -> None:
    data = run_graph(flow, {"text": "hi"}).summary.to_dict()
    assert data["execution_path"] == ["Echo", "Boom", "Done"]
    assert [r["node"] for r in data["node_results"]] == ["Echo", "Boom", "Done"]
    assert data["failed_nodes"] == ["Boom"]
    assert data["handled_failures"] == ["Boom"]
    assert data["success"] is True  # Boom's failure is routed to Done
    assert isinstance(data["total_duration"], float)


# --- success policies ----------------------------------------------------------------------


@pytest.mark.parametrize("enabled", [True, False], ids=["tracking-on", "tracking-off"])
@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        pytest.param({"type": "handled"}, True, id="handled"),
        pytest.param({"type": "all_nodes"}, False, id="all_nodes"),
        pytest.param("final_node", True, id="final_node"),
        pytest.param(
            {"type": "critical_nodes", "critical_nodes": ["Start"]},
            False,
            id="critical_nodes-failed-node-listed",
        ),
        pytest.param(
            {"type": "critical_nodes", "critical_nodes": ["Recover"]},
            True,
            id="critical_nodes-failed-node-not-listed",
        ),
        pytest.param(
            {"type": "critical_nodes", "critical_nodes": ["NeverRan"]},
            True,
            id="critical_nodes-listed-node-did-not-run",
        ),
        pytest.param(
            {"type": "custom", "custom_function": "ran_two_nodes"},
            True,
            id="custom-function-in-functions-folder",
        ),
        pytest.param(
            {"type": "custom", "custom_function": "inverted"},
            True,
            id="custom-gets-all_nodes-verdict-in-summary",
        ),
    ],
)
def test_success_policy_decides_a_run_with_a_handled_failure(
    handled_failure: Path, policy: Any, expected: bool, enabled: bool
) -> None:
    config = {"execution": {"success_policy": policy, "tracking": {"enabled": enabled}}}
    result = run_graph(handled_failure, config=config)
    assert result.summary.execution_path == ("Start", "Recover")
    assert result.success is expected
    assert result.summary.success is expected


def test_default_success_policy_counts_a_routed_failure_as_recovered(
    handled_failure: Path,
) -> None:
    result = run_graph(handled_failure)
    assert result.summary.handled_failures == ("Start",)
    assert result.success is True


def test_default_success_policy_fails_a_run_an_edge_carried_past_a_failure(
    graph_csv: Callable[..., Path],
) -> None:
    # Edge goes on whatever the outcome: nothing in the graph answers Start's failure
    flow = graph_csv("Main,Start,failure,Recover,,,,,Start broke,,", "Main,Recover,success,,,,,,,,")
    result = run_graph(flow)
    assert result.summary.execution_path == ("Start", "Recover")
    assert result.summary.handled_failures == ()
    assert result.success is False


def test_default_success_policy_counts_a_failure_a_routing_function_saw_as_handled(
    write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file(
        "functions/routes.py",
        "def choose(state, success, failure):\n"
        "    return success if state.get('last_action_success') else failure\n",
    )
    flow = graph_csv(
        "Main,Start,failure,func:choose,Done,Recover,,,Start broke,,",
        "Main,Done,success,,,,,,,,",
        "Main,Recover,success,,,,,,,,",
    )
    result = run_graph(flow)
    assert result.summary.execution_path == ("Start", "Recover")
    assert result.success is True


def test_custom_policy_given_as_module_and_function(
    handled_failure: Path, policy_module: str
) -> None:
    policy = {"type": "custom", "custom_function": f"{policy_module}:recovered_from_start"}
    result = run_graph(handled_failure, config={"execution": {"success_policy": policy}})
    assert result.success is True


def test_custom_policy_given_as_dotted_path(handled_failure: Path, policy_module: str) -> None:
    policy = {"type": "custom", "custom_function": f"{policy_module}.recovered_from_start"}
    result = run_graph(handled_failure, config={"execution": {"success_policy": policy}})
    assert result.success is True


def test_custom_policy_without_a_function_is_a_config_error(handled_failure: Path) -> None:
    with pytest.raises(ConfigError, match=r"execution\.success_policy\.custom_function"):
        run_graph(handled_failure, config={"execution": {"success_policy": "custom"}})


def test_custom_policy_without_a_function_fails_when_the_service_is_made() -> None:
    with pytest.raises(ConfigError, match="custom_function must name a function"):
        ExecutionTrackingService(TrackingSettings(), SuccessPolicySettings(type="custom"))


def test_custom_policy_that_cannot_be_imported_is_a_config_error() -> None:
    settings = SuccessPolicySettings(type="custom", custom_function="no_such_module_xyz:decide")
    with pytest.raises(ConfigError, match="no_such_module_xyz:decide"):
        ExecutionTrackingService(TrackingSettings(), settings)


def test_custom_policy_naming_no_function_is_a_config_error() -> None:
    settings = SuccessPolicySettings(type="custom", custom_function="not_a_function")
    with pytest.raises(ConfigError, match="'not_a_function'"):
        ExecutionTrackingService(TrackingSettings(), settings)


# --- the tracker, with an injected clock ---------------------------------------------------


def fake_clock(*times: float) -> Callable[[], float]:
    values = iter(times)
    return lambda: next(values)


def test_tracker_durations_come_from_the_injected_clock() -> None:
    # t0, A start, A end, B start, B end, summary
    clock = fake_clock(100.0, 101.0, 103.5, 110.0, 110.25, 112.0)
    service = ExecutionTrackingService(TrackingSettings(), SuccessPolicySettings(), clock=clock)
    tracker = service.create_tracker("Main")
    tracker.track_node_start("A", {"x": 1})
    tracker.track_node_complete("A", True, "out")
    tracker.track_node_start("B")
    tracker.track_node_complete("B", False, None, "bad")
    summary = tracker.get_summary()
    assert summary.node_results == (
        NodeResult("A", True, 2.5, 1.0, None),
        NodeResult("B", False, 0.25, 10.0, "bad"),
    )
    assert summary.total_duration == 12.0


def test_tracker_summary_for_a_failed_run() -> None:
    clock = fake_clock(0.0, 1.0, 2.0, 3.0)
    service = ExecutionTrackingService(TrackingSettings(), SuccessPolicySettings(), clock=clock)
    tracker = service.create_tracker("Main")
    tracker.track_node_start("A")
    tracker.track_node_complete("A", False, None, "bad")
    summary = tracker.get_summary()
    assert isinstance(summary, ExecutionSummary)
    assert (summary.graph_name, summary.execution_path, summary.failed_nodes) == (
        "Main",
        ("A",),
        ("A",),
    )
    assert (summary.final_node_success, summary.success) == (False, False)


def test_tracker_keeps_inputs_and_output_when_asked() -> None:
    settings = TrackingSettings(track_inputs=True, track_outputs=True)
    service = ExecutionTrackingService(
        settings, SuccessPolicySettings(), clock=fake_clock(0, 1, 2, 3)
    )
    tracker = service.create_tracker("Main")
    tracker.track_node_start("A", {"x": 1})
    tracker.track_node_complete("A", True, "out")
    assert tracker.get_summary().node_results == (
        NodeResult("A", True, 1, 1, None, {"x": 1}, "out"),
    )


def test_empty_run_is_not_a_success() -> None:
    service = ExecutionTrackingService(TrackingSettings(), SuccessPolicySettings())
    summary = service.create_tracker("Main").get_summary()
    assert (summary.execution_path, summary.success, summary.final_node_success) == (
        (),
        False,
        None,
    )


def test_create_tracker_takes_a_graph() -> None:
    graph = Graph(name="Flow", nodes={"A": Node(name="A")}, entry="A")
    service = ExecutionTrackingService(TrackingSettings(), SuccessPolicySettings())
    assert service.create_tracker(graph).get_summary().graph_name == "Flow"


def test_a_node_is_timed_as_its_events_say() -> None:
    # The run measures a node once, on its clock, and says so in the node's events: the
    # tracker keeps those times rather than reading the clock again (handlers and tracker agree).
    service = ExecutionTrackingService(clock=fake_clock(100.0, 999.0))
    tracker = service.create_tracker("Main")  # t0: 100
    tracker.handle(NodeStarted("r", "Main", "A", 1, {}, 105.0))
    tracker.handle(NodeCompleted("r", "Main", "A", 1, "out", 2.5, 105.0))
    tracker.handle(NodeStarted("r", "Main", "B", 1, {}, 108.0))
    tracker.handle(NodeFailed("r", "Main", "B", 1, "bad", None, 0.25, 108.0))
    assert [(r.node, r.started, r.duration) for r in tracker.get_summary().node_results] == [
        ("A", 5.0, 2.5),
        ("B", 8.0, 0.25),
    ]


def test_runner_durations_are_exact_with_an_injected_clock(project: Path) -> None:
    ticks = itertools.count()
    service = ExecutionTrackingService(
        TrackingSettings(), SuccessPolicySettings(), clock=lambda: float(next(ticks))
    )
    compiler = Compiler(AgentCatalog(), FunctionCatalog(), PromptCatalog(), RunPolicy())
    runner = GraphRunnerService(compiler, service)
    graph = Graph(
        name="Pair",
        nodes={
            "A": Node(name="A", agent_type="success", edge="B"),
            "B": Node(name="B", agent_type="success"),
        },
        entry="A",
    )
    summary = runner.run(graph).summary
    assert [(r.node, r.duration, r.started) for r in summary.node_results] == [
        ("A", 1.0, 1.0),
        ("B", 1.0, 3.0),
    ]
    assert summary.total_duration == 5.0


# --- results kept as rows, made NodeResults when read ------------------------------------------


def test_a_summary_keeps_the_results_it_was_taken_with() -> None:
    service = ExecutionTrackingService(clock=fake_clock(0, 1, 2, 3, 4, 5, 6))
    tracker = service.create_tracker("Main")
    tracker.track_node_start("A")
    tracker.track_node_complete("A", True)
    early = tracker.get_summary()
    tracker.track_node_start("B")
    tracker.track_node_complete("B", False, None, "bad")
    assert [r.node for r in early.node_results] == ["A"]
    assert [r.node for r in tracker.get_summary().node_results] == ["A", "B"]


def test_every_field_of_a_result_is_read_back() -> None:
    settings = TrackingSettings(track_inputs=True, track_outputs=True)
    clock = fake_clock(0, 1, 2, 3, 4, 5, 6)
    tracker = ExecutionTrackingService(settings, clock=clock).create_tracker("Main")
    child = ExecutionTrackingService().create_tracker("Child").get_summary()
    tracker.track_node_start("A", {"x": 1})
    tracker.track_node_retry("A", "boom", 1)
    tracker.track_node_start("A", {"x": 1}, attempt=2)
    tracker.track_node_complete("A", True, "out", attempt=2, subgraph=child)
    assert tracker.get_summary().node_results == (
        NodeResult("A", False, 1, 1, "boom", {"x": 1}, None, 1),
        NodeResult("A", True, 1, 3, None, {"x": 1}, "out", 2, child),
    )
    assert tracker.last == NodeResult("A", True, 1, 3, None, {"x": 1}, "out", 2, child)


def test_a_summarys_results_are_made_once_and_kept() -> None:
    tracker = ExecutionTrackingService().create_tracker("Main")
    tracker.track_node_start("A")
    tracker.track_node_complete("A", True)
    summary = tracker.get_summary()
    assert summary.node_results is summary.node_results


def test_a_summary_judged_again_keeps_everything_but_its_verdict() -> None:
    tracker = ExecutionTrackingService().create_tracker("Main")
    tracker.track_node_start("A")
    tracker.track_node_complete("A", True)
    summary = tracker.get_summary()
    failed = summary.judged(False)
    assert (summary.success, failed.success) == (True, False)
    assert failed == dataclasses.replace(summary, success=False)


@pytest.mark.parametrize(
    ("settings", "child", "expected"),
    [
        (TrackingSettings(), False, (2, True)),
        (TrackingSettings(track_outputs=True), False, (2, False)),
        (TrackingSettings(track_inputs=True), False, (2, False)),
        (TrackingSettings(), True, (2, False)),
    ],
)
def test_a_summary_says_whether_its_results_hold_only_outcomes(
    settings: TrackingSettings, child: bool, expected: tuple[int, bool]
) -> None:
    tracker = ExecutionTrackingService(settings).create_tracker("Main")
    sub = ExecutionTrackingService().create_tracker("Child").get_summary() if child else None
    tracker.track_node_start("A", {"x": 1})
    tracker.track_node_complete("A", False, None, "bad")
    tracker.track_node_start("B", {"x": 1})
    tracker.track_node_complete("B", True, "out", subgraph=sub)
    summary = tracker.get_summary()
    assert summary.outcomes_only() == expected
    read = dataclasses.replace(summary)  # results made NodeResults: the same answer
    assert read.outcomes_only() == expected
