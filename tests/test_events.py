"""Lifecycle events: what a run emits, how handlers get them, and what is built on them.

Runs use an injected ``FakeClock`` (time stands still unless a retry waits), so every event
field — times and durations included — is exact.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from typer.testing import CliRunner

from agentmap import (
    Event,
    ExecutionSummary,
    NodeCompleted,
    NodeFailed,
    NodeRetrying,
    NodeStarted,
    RunCancelled,
    RunCompleted,
    RunError,
    RunFailed,
    RunStarted,
)
from agentmap import events as events_module
from agentmap.agents.catalog import AgentCatalog
from agentmap.cli.app import app
from agentmap.config import SuccessPolicySettings, TrackingSettings
from agentmap.container import Container, build_container
from agentmap.events import EventBus
from agentmap.runner import Clock
from agentmap.tracking import ExecutionTrackingService
from helpers import FakeClock, arun_in, csv_row, in_terminal, run_in

AGENTMAP = Path(sys.executable).parent / "agentmap"
DURATION = re.compile(r" \d+\.\d ms")
RESUME_LINE = re.compile(r"to carry this run on: agentmap resume [0-9a-f]{32}\n")


class Flaky:
    """Raises on its first ``failures`` calls, then succeeds."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def process(self, inputs: Mapping[str, Any]) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise ValueError(f"flaky {self.calls}")
        return f"ok on attempt {self.calls}"


def row(node: str, agent_type: str = "success", *, graph: str = "G", **cells: Any) -> str:
    return csv_row(graph, node, agent_type, **cells)


def container_for(
    agents: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    clock: Clock | None = None,
) -> Container:
    container = build_container(dict(config or {}))
    container.agents.override(providers.Object(AgentCatalog(dict(agents or {}))))
    container.clock.override(providers.Object(clock or FakeClock()))
    return container


def kinds(events: list[Any]) -> list[tuple[str, ...]]:
    """``(event type, graph, node)`` of each event (node only for node events)."""
    return [(type(e).__name__, e.graph, *((e.node,) if hasattr(e, "node") else ())) for e in events]


@pytest.fixture
def two_nodes(graph_csv: Callable[..., Path]) -> Path:
    return graph_csv(
        row("Start", "echo", edge="End", inputs="input", output="echoed"),
        row("End", output="done"),
    )


@pytest.fixture
def parent_and_child(graph_csv: Callable[..., Path]) -> Path:
    return graph_csv(
        row("Sub", "graph", inputs="input", output="child", context={"graph": "Child"}),
        row("Work", "echo", inputs="input", output="echoed", graph="Child"),
    )


# --- what a run emits ------------------------------------------------------------------------


def test_a_two_node_run_emits_this_exact_sequence(two_nodes: Path) -> None:
    seen: list[Event] = []
    result = run_in(container_for(), two_nodes, "hi", handlers=[seen.append])
    run_id = result.run_id
    assert run_id
    assert seen == [
        RunStarted(run_id, "G", {"input": "hi"}, None),
        NodeStarted(run_id, "G", "Start", 1, {"input": "hi"}, 100.0),
        NodeCompleted(run_id, "G", "Start", 1, "hi", 0.0, 100.0, None),
        NodeStarted(run_id, "G", "End", 1, {}, 100.0),
        NodeCompleted(run_id, "G", "End", 1, "End succeeded", 0.0, 100.0, None),
        RunCompleted(run_id, "G", True, 0.0),
    ]


def test_a_retried_node_emits_node_retrying_with_the_delay(graph_csv: Callable[..., Path]) -> None:
    path = graph_csv(
        row(
            "Flaky",
            "flaky",
            edge="End",
            output="flaky",
            context={"retry": {"type": "fixed", "delay": 0.5}},
        ),
        row("End"),
    )
    seen: list[Event] = []
    container = container_for({"flaky": Flaky(failures=1).process})
    result = run_in(container, path, handlers=[seen.append])
    r = result.run_id
    assert seen == [
        RunStarted(r, "G", {}, None),
        NodeStarted(r, "G", "Flaky", 1, {}, 100.0),
        NodeRetrying(r, "G", "Flaky", 1, "flaky 1", 0.5, 0.0, 100.0),
        NodeStarted(r, "G", "Flaky", 2, {}, 100.5),
        NodeCompleted(r, "G", "Flaky", 2, "ok on attempt 2", 0.0, 100.5, None),
        NodeStarted(r, "G", "End", 1, {}, 100.5),
        NodeCompleted(r, "G", "End", 1, "End succeeded", 0.0, 100.5, None),
        RunCompleted(r, "G", True, 0.5),
    ]


def test_a_failing_node_emits_node_failed(graph_csv: Callable[..., Path]) -> None:
    path = graph_csv(
        row("Check", "failure", success="End", failure="Handler", prompt="nope"),
        row("End"),
        row("Handler"),
    )
    seen: list[Event] = []
    result = run_in(container_for(), path, handlers=[seen.append])
    r = result.run_id
    assert seen == [
        RunStarted(r, "G", {}, None),
        NodeStarted(r, "G", "Check", 1, {}, 100.0),
        NodeFailed(r, "G", "Check", 1, "nope", None, 0.0, 100.0, None),
        NodeStarted(r, "G", "Handler", 1, {}, 100.0),
        NodeCompleted(r, "G", "Handler", 1, "Handler succeeded", 0.0, 100.0, None),
        RunCompleted(r, "G", True, 0.0),  # Check's failure is routed to Handler
    ]


def test_a_run_stopped_by_max_steps_emits_run_failed(graph_csv: Callable[..., Path]) -> None:
    path = graph_csv(row("A", edge="B"), row("B", edge="A"))
    seen: list[Event] = []
    container = container_for(config={"execution": {"max_steps": 3}})
    with pytest.raises(RunError) as caught:
        run_in(container, path, handlers=[seen.append])
    message = (
        "graph 'G' ran 3 steps without finishing (a loop that never exits?) — fix the routing "
        "or raise execution.max_steps"
    )
    assert caught.value.message == message
    r = seen[0].run_id
    assert kinds(seen) == [
        ("RunStarted", "G"),
        ("NodeStarted", "G", "A"),
        ("NodeCompleted", "G", "A"),
        ("NodeStarted", "G", "B"),
        ("NodeCompleted", "G", "B"),
        ("NodeStarted", "G", "A"),
        ("NodeCompleted", "G", "A"),
        ("RunFailed", "G"),
    ]
    assert seen[-1] == RunFailed(r, "G", message, 0.0)


def test_a_cancelled_run_emits_run_cancelled(graph_csv: Callable[..., Path]) -> None:
    path = graph_csv(row("Start", edge="Block"), row("Block", "block"), row("End"))
    seen: list[Event] = []

    async def main() -> RunCancelled:
        started = asyncio.Event()

        async def block(inputs: Mapping[str, Any]) -> None:
            started.set()
            await asyncio.sleep(30)

        container = container_for({"block": block})
        task = asyncio.create_task(arun_in(container, path, handlers=[seen.append]))
        await asyncio.wait_for(started.wait(), 5)
        task.cancel()
        with pytest.raises(RunCancelled) as caught:
            await task
        return caught.value

    error = asyncio.run(main())
    assert error.message == "run of graph 'G' was cancelled"
    assert error.result is not None
    assert error.result.summary.execution_path == ("Start", "Block")
    assert error.result.summary.unfinished == ("Block",)
    r = seen[0].run_id
    assert kinds(seen) == [
        ("RunStarted", "G"),
        ("NodeStarted", "G", "Start"),
        ("NodeCompleted", "G", "Start"),
        ("NodeStarted", "G", "Block"),
        ("RunCancelled", "G"),
    ]
    assert seen[-1] == events_module.RunCancelled(r, "G", 0.0)


# --- handlers --------------------------------------------------------------------------------


def test_sync_and_async_handlers_both_receive_every_event(two_nodes: Path) -> None:
    sync_seen: list[Event] = []
    async_seen: list[Event] = []

    async def slow(event: Event) -> None:
        await asyncio.sleep(0.02)  # still at work when the run itself is done
        async_seen.append(event)

    run_in(container_for(), two_nodes, "hi", handlers=[sync_seen.append, slow])
    assert len(sync_seen) == 6
    assert {id(e) for e in async_seen} == {id(e) for e in sync_seen}  # the same event objects


def test_async_handlers_are_awaited_before_arun_graph_returns(two_nodes: Path) -> None:
    done: list[str] = []

    async def slow(event: Event) -> None:
        await asyncio.sleep(0.02)
        done.append(type(event).__name__)

    async def main() -> int:
        await arun_in(container_for(), two_nodes, "hi", handlers=[slow])
        return len(done)

    assert asyncio.run(main()) == 6


def test_a_raising_sync_handler_never_breaks_the_run_and_is_logged(
    two_nodes: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("handler bug")

    with caplog.at_level(logging.WARNING, logger="agentmap.events"):
        result = run_in(container_for(), two_nodes, "hi", handlers=[broken, seen.append])
    assert result.success is True
    assert result.final_state == {
        "input": "hi",
        "echoed": "hi",
        "done": "End succeeded",
        "last_action_success": True,
    }
    assert len(seen) == 6
    records = [r for r in caplog.records if r.name == "agentmap.events"]
    assert [r.levelname for r in records] == ["WARNING"] * 6
    names = [type(e).__name__ for e in seen]
    for record, name in zip(records, names, strict=True):
        assert re.fullmatch(
            rf"event handler <function .*broken at 0x\w+> failed on {name}", record.getMessage()
        )
        assert record.exc_info is not None
        assert isinstance(record.exc_info[1], RuntimeError)


def test_a_raising_async_handler_never_breaks_the_run_and_is_logged(
    two_nodes: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(event: Event) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("async handler bug")

    with caplog.at_level(logging.WARNING, logger="agentmap.events"):
        result = run_in(container_for(), two_nodes, "hi", handlers=[broken])
    assert result.success is True
    records = [r for r in caplog.records if r.name == "agentmap.events"]
    assert len(records) == 6
    assert all(r.levelname == "WARNING" for r in records)
    assert all(
        re.fullmatch(r"event handler <function .*broken at 0x\w+> failed", r.getMessage())
        for r in records
    )


def test_a_raising_handler_does_not_stop_a_failing_run_from_being_reported(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(row("A", edge="B"), row("B", edge="A"))

    def broken(event: Event) -> None:
        raise RuntimeError("handler bug")

    container = container_for(config={"execution": {"max_steps": 2}})
    with pytest.raises(RunError, match="ran 2 steps"):
        run_in(container, path, handlers=[broken])


def test_a_handler_subscribed_on_the_containers_event_bus_receives_every_event(
    two_nodes: Path,
) -> None:
    container = container_for()
    seen: list[Event] = []
    container.events().subscribe(seen.append)
    result = run_in(container, two_nodes, "hi")
    assert kinds(seen) == [
        ("RunStarted", "G"),
        ("NodeStarted", "G", "Start"),
        ("NodeCompleted", "G", "Start"),
        ("NodeStarted", "G", "End"),
        ("NodeCompleted", "G", "End"),
        ("RunCompleted", "G"),
    ]
    assert {e.run_id for e in seen} == {result.run_id}


def test_bus_and_run_handlers_each_receive_every_event_once(two_nodes: Path) -> None:
    container = container_for()
    on_bus: list[Event] = []
    on_run: list[Event] = []
    container.events().subscribe(on_bus.append)
    run_in(container, two_nodes, "hi", handlers=[on_run.append])
    assert len(on_bus) == 6
    assert on_bus == on_run


def test_unsubscribing_from_the_event_bus_stops_the_events(two_nodes: Path) -> None:
    container = container_for()
    seen: list[Event] = []
    unsubscribe = container.events().subscribe(seen.append)
    run_in(container, two_nodes, "hi")
    assert len(seen) == 6
    unsubscribe()
    run_in(container, two_nodes, "hi")
    assert len(seen) == 6


def test_a_handler_subscribed_after_a_run_receives_the_next_runs_events(two_nodes: Path) -> None:
    container = container_for()
    run_in(container, two_nodes, "hi")
    seen: list[Event] = []
    container.events().subscribe(seen.append)
    result = run_in(container, two_nodes, "hi")
    assert len(seen) == 6
    assert {e.run_id for e in seen} == {result.run_id}


def test_event_bus_subscribe_returns_its_unsubscribe() -> None:
    bus = EventBus()

    def first(event: Event) -> None: ...

    async def second(event: Event) -> None: ...

    drop_first = bus.subscribe(first)
    assert bus.has_async is False
    bus.subscribe(second)
    assert bus.handlers == (first, second)
    assert bus.has_async is True
    drop_first()
    assert bus.handlers == (second,)


# --- subgraph runs ---------------------------------------------------------------------------

SUBGRAPH_EVENTS = [
    ("RunStarted", "G"),
    ("NodeStarted", "G", "Sub"),
    ("RunStarted", "Child"),
    ("NodeStarted", "Child", "Work"),
    ("NodeCompleted", "Child", "Work"),
    ("RunCompleted", "Child"),
    ("NodeCompleted", "G", "Sub"),
    ("RunCompleted", "G"),
]


def assert_child_run_nested(seen: list[Event], parent_run_id: str) -> None:
    assert kinds(seen) == SUBGRAPH_EVENTS
    child_started = seen[2]
    assert isinstance(child_started, RunStarted)
    assert child_started.parent_run_id == parent_run_id
    assert child_started.run_id != parent_run_id
    assert child_started.state == {"input": "hi"}
    assert {e.run_id for e in seen[2:6]} == {child_started.run_id}
    assert {e.run_id for e in (*seen[:2], *seen[6:])} == {parent_run_id}


def test_a_subgraph_run_emits_run_started_with_the_parent_run_id_on_the_bus(
    parent_and_child: Path,
) -> None:
    container = container_for()
    seen: list[Event] = []
    container.events().subscribe(seen.append)
    result = run_in(container, f"{parent_and_child}::G", "hi")
    assert_child_run_nested(seen, result.run_id)


def test_a_subgraph_runs_events_reach_the_handlers_passed_to_the_run(
    parent_and_child: Path,
) -> None:
    seen: list[Event] = []
    result = run_in(container_for(), f"{parent_and_child}::G", "hi", handlers=[seen.append])
    assert_child_run_nested(seen, result.run_id)


# --- tracking is built on events -------------------------------------------------------------


def test_execution_tracker_handle_gives_the_same_summary_as_direct_calls() -> None:
    clock = FakeClock()
    service = ExecutionTrackingService(
        TrackingSettings(track_inputs=True, track_outputs=True),
        SuccessPolicySettings(),
        clock=clock.now,
    )
    by_events, direct = service.create_tracker("G"), service.create_tracker("G")
    now = clock.now()  # a node's events carry its times on the run's clock, the tracker's
    for event in [
        RunStarted("r", "G", {"x": 1}),
        NodeStarted("r", "G", "A", 1, {"x": 1}, now),
        NodeCompleted("r", "G", "A", 1, "out", 0.0, now),
        NodeStarted("r", "G", "B", 1, {}, now),
        NodeRetrying("r", "G", "B", 1, "boom 1", 0.5, 0.0, now),
        NodeStarted("r", "G", "B", 2, {}, now),
        NodeFailed("r", "G", "B", 2, "boom 2", None, 0.0, now),
        RunCompleted("r", "G", False, 0.5),
    ]:
        by_events.handle(event)
    direct.track_node_start("A", {"x": 1})
    direct.track_node_complete("A", True, "out")
    direct.track_node_start("B", {})
    direct.track_node_retry("B", "boom 1", 1)
    direct.track_node_start("B", {}, attempt=2)
    direct.track_node_complete("B", False, None, "boom 2", attempt=2)
    summary = no_start_time(by_events.get_summary())
    assert summary == no_start_time(direct.get_summary())
    assert summary.execution_path == ("A", "B")
    assert [(r.node, r.success, r.error, r.attempt) for r in summary.node_results] == [
        ("A", True, None, 1),
        ("B", False, "boom 1", 1),
        ("B", False, "boom 2", 2),
    ]
    assert summary.failed_nodes == ("B",)
    assert summary.success is False


def no_start_time(summary: ExecutionSummary) -> ExecutionSummary:
    return replace(summary, start_time=0.0)


def test_a_runs_summary_is_its_events_replayed_into_a_tracker(
    graph_csv: Callable[..., Path],
) -> None:
    path = graph_csv(
        row("Start", edge="Flaky"),
        row(
            "Flaky",
            "flaky",
            success="End",
            failure="Handler",
            context={"retry": {"type": "fixed", "delay": 0.5}},
        ),
        row("End", "failure", prompt="no"),
        row("Handler"),
    )
    clock = FakeClock()
    container = container_for({"flaky": Flaky(failures=1).process}, clock=clock)
    seen: list[Event] = []
    result = run_in(container, path, handlers=[seen.append])
    replay_clock = FakeClock()
    tracker = container.tracking().create_tracker("G", clock=replay_clock.now)
    for event in seen:  # the replay's clock reads what the event says the time was
        if isinstance(event, NodeStarted):
            replay_clock.time = event.time
        elif isinstance(event, NodeCompleted | NodeFailed | NodeRetrying):
            replay_clock.time = event.time + event.duration
        tracker.handle(event)
    replayed = tracker.get_summary()
    assert no_start_time(replayed) == no_start_time(result.summary)
    assert result.summary.execution_path == ("Start", "Flaky", "End")


# --- agentmap run --trace --------------------------------------------------------------------

TRACE_AGENTS = """
from agentmap import Agent


class FlakyAgent(Agent):
    def process(self, inputs):
        self.tries = getattr(self, "tries", 0) + 1
        if self.tries == 1:
            raise ValueError("flaky 1")
        return "ok"
"""

TRACE_LINES = [
    "▶ Start",
    "✔ Start <t>",
    "▶ Flaky",
    "↻ Flaky attempt 1 failed: flaky 1; retry in 0.01s",
    "▶ Flaky (attempt 2)",
    "✔ Flaky <t>",
    "▶ Check",
    "✘ Check <t>: nope",
]


@pytest.fixture
def trace_project(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> Path:
    write_file("agents/flaky.py", TRACE_AGENTS)
    graph_csv(
        row("Start", edge="Flaky"),
        row(
            "Flaky",
            "flaky",
            edge="Check",
            output="flaky",
            context={"retry": {"type": "fixed", "delay": 0.01}},
        ),
        row("Check", "failure", prompt="nope"),
    )
    return project


def no_durations(text: str) -> list[str]:
    return [DURATION.sub(" <t>", line) for line in text.splitlines()]


@pytest.fixture
def no_forced_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")


def test_run_trace_prints_plain_lines_when_stdout_is_not_a_terminal(
    trace_project: Path, no_forced_terminal: None
) -> None:
    result = CliRunner().invoke(app, ["run", "flow.csv", "--trace"])
    assert result.exit_code == 1, result.output
    lines = no_durations(result.stdout)
    assert lines[: len(TRACE_LINES)] == TRACE_LINES
    assert lines[len(TRACE_LINES)].startswith("✘ G failed in ")
    assert result.stderr == ""  # Check is a `failure` node: resuming would only fail it again


def test_run_trace_with_json_traces_on_stderr_and_prints_one_json_document(
    trace_project: Path, no_forced_terminal: None
) -> None:
    result = CliRunner().invoke(app, ["run", "flow.csv", "--trace", "--json"])
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert no_durations(result.stderr) == TRACE_LINES  # no resume hint: Check fails by design
    assert document["summary"]["execution_path"] == ["Start", "Flaky", "Check"]
    assert [
        (r["node"], r["success"], r.get("attempt", 1)) for r in document["summary"]["node_results"]
    ] == [("Start", True, 1), ("Flaky", False, 1), ("Flaky", True, 2), ("Check", False, 1)]


def test_run_trace_from_the_installed_command(trace_project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMAP_")}
    env.pop("FORCE_COLOR", None)
    done = subprocess.run(
        [str(AGENTMAP), "run", "flow.csv", "--trace", "--json"],
        cwd=trace_project,
        env=env | {"NO_COLOR": "1"},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert no_durations(done.stderr) == TRACE_LINES
    assert document["summary"]["execution_path"] == ["Start", "Flaky", "Check"]


def test_trace_in_a_terminal_is_a_live_table_of_every_node(project: Path) -> None:
    (project / "flow.csv").write_text(
        "GraphName,Node,AgentType,Edge,Input_Fields,Output_Field\n"
        "Main,Start,echo,Next,input,a\n"
        "Main,Next,echo,,a,b\n",
        encoding="utf-8",
    )
    agentmap = Path(sys.executable).parent / "agentmap"
    env = {**os.environ, "COLUMNS": "120"}
    output = in_terminal(
        [str(agentmap), "run", "flow.csv", "--trace", "--state", '"x"'], project, env
    )
    table = output[output.index("Trace") : output.index("Main succeeded")]
    cells = [[c.strip() for c in line.split("│")] for line in table.splitlines() if "│" in line]
    finished = [row[:2] for row in cells if row[0] in ("Start", "Next")][-2:]
    assert finished == [["Start", "success"], ["Next", "success"]]
    assert "▶" not in output  # a live table, not the plain lines a pipe gets
