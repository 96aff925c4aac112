"""Resilience per node and per run: retry policies, timeouts, and Ctrl-C.

Retry waits go through an injected ``FakeClock`` (its ``sleep`` records the delay and moves
time on without sleeping), so tracking times and delays are exact. Ctrl-C is a real SIGINT
sent to a real ``agentmap run`` process.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from typer.testing import CliRunner

from agentmap import (
    ExecutionResult,
    ExponentialBackoffRetryPolicy,
    Failure,
    FixedDelayRetryPolicy,
    NodeResult,
    RetryPolicy,
    RunError,
)
from agentmap.agents.catalog import AgentCatalog
from agentmap.cli.app import app
from agentmap.container import Container, build_container
from agentmap.runner import Clock
from helpers import FakeClock, clean_env, csv_row, ctrl_c_works, run_in, validate_in

AGENTMAP = Path(sys.executable).parent / "agentmap"


class Flaky:
    """An agent that raises ``ValueError`` on its first ``failures`` calls, then succeeds."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def process(self, inputs: Mapping[str, Any]) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise ValueError(f"flaky {self.calls}")
        return f"ok on attempt {self.calls}"


class FlakyServiceError(ConnectionError):
    """A user-defined exception, to name by its qualified name in ``retry_on``."""


def row(node: str, agent_type: str = "success", *, graph: str = "G", **cells: Any) -> str:
    return csv_row(graph, node, agent_type, **cells)


def container_for(
    agents: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
    clock: Clock | None = None,
) -> Container:
    container = build_container(dict(config or {}))
    container.agents.override(providers.Object(AgentCatalog(dict(agents))))
    if clock is not None:
        container.clock.override(providers.Object(clock))
    return container


def flaky_graph(graph_csv: Callable[..., Path], context: Mapping[str, Any] | None = None) -> Path:
    """Start → Flaky → End; Flaky's failure goes to Handler."""
    return graph_csv(
        row("Start", edge="Flaky"),
        row("Flaky", "flaky", success="End", failure="Handler", output="flaky", context=context),
        row("End"),
        row("Handler"),
    )


def results(result: ExecutionResult, node: str) -> list[tuple[bool, str | None, int]]:
    """``(success, error, attempt)`` of each run of ``node``."""
    return [(r.success, r.error, r.attempt) for r in result.summary.node_results if r.node == node]


# --- RetryPolicy: delays ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "attempt", "max_retries", "delay"),
    [
        pytest.param(FixedDelayRetryPolicy(delay=2), 1, 3, 2.0, id="fixed-first"),
        pytest.param(FixedDelayRetryPolicy(delay=2), 3, 3, 2.0, id="fixed-last"),
        pytest.param(FixedDelayRetryPolicy(delay=2), 4, 3, None, id="fixed-past-max"),
        pytest.param(FixedDelayRetryPolicy(delay=0.25), 1, 1, 0.25, id="fixed-fraction"),
        pytest.param(FixedDelayRetryPolicy(delay=2), 1, 0, None, id="fixed-no-retries"),
        pytest.param(ExponentialBackoffRetryPolicy(initial_delay=0.5), 1, 5, 0.5, id="exp-1"),
        pytest.param(ExponentialBackoffRetryPolicy(initial_delay=0.5), 2, 5, 1.0, id="exp-2"),
        pytest.param(ExponentialBackoffRetryPolicy(initial_delay=0.5), 3, 5, 2.0, id="exp-3"),
        pytest.param(ExponentialBackoffRetryPolicy(initial_delay=0.5), 4, 5, 4.0, id="exp-4"),
        pytest.param(ExponentialBackoffRetryPolicy(initial_delay=0.5), 6, 5, None, id="exp-past"),
        pytest.param(
            ExponentialBackoffRetryPolicy(initial_delay=0.5, max_delay=3), 4, 5, 3.0, id="capped"
        ),
        pytest.param(
            ExponentialBackoffRetryPolicy(initial_delay=0.5, max_delay=3),
            10,
            10,
            3.0,
            id="stays-capped",
        ),
        pytest.param(
            ExponentialBackoffRetryPolicy(initial_delay=1, multiplier=3), 3, 3, 9.0, id="times-3"
        ),
    ],
)
def test_get_retry_delay(
    policy: RetryPolicy, attempt: int, max_retries: int, delay: float | None
) -> None:
    assert policy.get_retry_delay(attempt, max_retries) == delay


def test_get_retry_delay_defaults_to_the_policys_max_retries() -> None:
    policy = FixedDelayRetryPolicy(delay=1, max_retries=2)
    assert [policy.get_retry_delay(n) for n in (1, 2, 3)] == [1.0, 1.0, None]


def test_fixed_jitter_stays_within_its_fraction_and_follows_the_seed() -> None:
    policy = FixedDelayRetryPolicy(delay=1, jitter=0.1, rng=random.Random(1))
    again = FixedDelayRetryPolicy(delay=1, jitter=0.1, rng=random.Random(1))
    delays = [policy.get_retry_delay(1, 3) for _ in range(50)]
    assert delays == [again.get_retry_delay(1, 3) for _ in range(50)]
    assert all(d is not None and 0.9 <= d <= 1.1 for d in delays)
    assert len(set(delays)) == 50
    assert delays[:3] == pytest.approx([0.9268728488224802, 1.0694867473874465, 1.0527549237953229])


def test_exponential_jitter_stays_within_its_fraction_of_each_delay() -> None:
    policy = ExponentialBackoffRetryPolicy(
        initial_delay=1, multiplier=2, jitter=0.5, max_retries=4, rng=random.Random(1)
    )
    delays = [policy.get_retry_delay(n) for n in (1, 2, 3, 4, 5)]
    assert delays == pytest.approx(
        [0.6343642441124012, 2.6948674738744653, 5.055098475906457, 6.040552205915374, None]
    )
    for n, delay in enumerate(delays[:4], 1):
        assert delay is not None
        assert 0.5 * 2 ** (n - 1) <= delay <= 1.5 * 2 ** (n - 1)


# --- RetryPolicy: dicts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "data"),
    [
        pytest.param(
            FixedDelayRetryPolicy(delay=2, jitter=0.1, max_retries=5, retry_on=["TimeoutError"]),
            {
                "type": "fixed",
                "max_retries": 5,
                "retry_on": ["TimeoutError"],
                "delay": 2.0,
                "jitter": 0.1,
            },
            id="fixed",
        ),
        pytest.param(
            FixedDelayRetryPolicy(),
            {"type": "fixed", "max_retries": 3, "delay": 1.0, "jitter": 0.0},
            id="fixed-defaults",
        ),
        pytest.param(
            ExponentialBackoffRetryPolicy(
                initial_delay=0.2, max_delay=5, multiplier=3, jitter=0.2, max_retries=4
            ),
            {
                "type": "exponential",
                "max_retries": 4,
                "initial_delay": 0.2,
                "max_delay": 5.0,
                "multiplier": 3.0,
                "jitter": 0.2,
            },
            id="exponential",
        ),
        pytest.param(
            ExponentialBackoffRetryPolicy(),
            {
                "type": "exponential",
                "max_retries": 3,
                "initial_delay": 0.5,
                "max_delay": 30.0,
                "multiplier": 2.0,
                "jitter": 0.0,
            },
            id="exponential-defaults",
        ),
    ],
)
def test_to_dict_and_from_dict_round_trip(policy: RetryPolicy, data: dict[str, Any]) -> None:
    assert policy.to_dict() == data
    again = RetryPolicy.from_dict(data)
    assert type(again) is type(policy)
    assert again == policy
    assert again.to_dict() == data


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"type": "fixed"}, FixedDelayRetryPolicy),
        ({"type": "exponential"}, ExponentialBackoffRetryPolicy),
        ({"type": "fixed", "delay": 3}, FixedDelayRetryPolicy),
    ],
)
def test_from_dict_type_picks_the_class(data: dict[str, Any], kind: type[RetryPolicy]) -> None:
    assert type(RetryPolicy.from_dict(data)) is kind


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            {"type": "linear"},
            "retry type must be one of fixed, exponential (got 'linear')",
            id="unknown-type",
        ),
        pytest.param(
            {"delay": 1}, "retry type must be one of fixed, exponential (got None)", id="no-type"
        ),
        pytest.param(
            {"type": "fixed", "dealy": 1},
            "unknown fixed retry setting 'dealy' — did you mean 'delay'? (fixed policies take "
            "delay, jitter, max_retries, retry_on)",
            id="unknown-setting",
        ),
        pytest.param(
            {"type": "exponential", "delay": 1},
            "unknown exponential retry setting 'delay' — did you mean 'max_delay'? (exponential "
            "policies take initial_delay, max_delay, multiplier, jitter, max_retries, retry_on)",
            id="setting-of-the-other-type",
        ),
        pytest.param(
            {"type": "fixed", "max_retries": -1},
            "max_retries must be 0 or more",
            id="negative-max-retries",
        ),
    ],
)
def test_from_dict_rejects_a_bad_dict_with_value_error(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        RetryPolicy.from_dict(data)
    assert str(caught.value) == message


# --- retry_on --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_on", "error", "retried"),
    [
        pytest.param([], ValueError("x"), True, id="empty-retries-everything"),
        pytest.param(["ValueError"], ValueError("x"), True, id="simple-name"),
        pytest.param(["ValueError"], KeyError("x"), False, id="other-type"),
        pytest.param(["LookupError"], KeyError("x"), True, id="base-class-name"),
        pytest.param(["KeyError"], LookupError("x"), False, id="subclass-does-not-cover-base"),
        pytest.param(["builtins.ValueError"], ValueError("x"), True, id="qualified-name"),
        pytest.param(["TimeoutError"], TimeoutError(), True, id="timeout"),
        pytest.param(["KeyError", "TimeoutError"], TimeoutError(), True, id="any-listed"),
        pytest.param(
            [f"{FlakyServiceError.__module__}.FlakyServiceError"],
            FlakyServiceError("x"),
            True,
            id="qualified-user-class",
        ),
        pytest.param(["FlakyServiceError"], FlakyServiceError("x"), True, id="simple-user-class"),
        pytest.param(["ConnectionError"], FlakyServiceError("x"), True, id="user-class-base"),
        pytest.param(["other.FlakyServiceError"], FlakyServiceError("x"), False, id="wrong-module"),
    ],
)
def test_retry_on_retries_only_the_listed_exception_types(
    retry_on: list[str], error: Exception, retried: bool
) -> None:
    policy = FixedDelayRetryPolicy(retry_on=retry_on)
    assert policy.retries(error) is retried


@pytest.mark.parametrize(
    ("retry_on", "sleeps", "flaky"),
    [
        pytest.param(
            ["ValueError"],
            [1.0, 1.0],
            [(False, "flaky 1", 1), (False, "flaky 2", 2), (True, None, 3)],
            id="listed",
        ),
        pytest.param(["KeyError"], [], [(False, "flaky 1", 1)], id="not-listed"),
    ],
)
def test_a_run_retries_only_the_listed_exception_types(
    graph_csv: Callable[..., Path],
    retry_on: list[str],
    sleeps: list[float],
    flaky: list[tuple[bool, str | None, int]],
) -> None:
    clock, agent = FakeClock(), Flaky(failures=2)
    retry = {"type": "fixed", "delay": 1, "retry_on": retry_on}
    path = flaky_graph(graph_csv, {"retry": retry})
    result = run_in(container_for({"flaky": agent.process}, clock=clock), path)
    assert clock.sleeps == sleeps
    assert results(result, "Flaky") == flaky


# --- retries in a run ------------------------------------------------------------------------


def test_a_node_failing_twice_succeeds_on_the_third_attempt_after_the_policys_delays(
    graph_csv: Callable[..., Path],
) -> None:
    clock, agent = FakeClock(), Flaky(failures=2)
    retry = {"type": "exponential", "initial_delay": 0.5, "max_retries": 3}
    path = flaky_graph(graph_csv, {"retry": retry})
    result = run_in(container_for({"flaky": agent.process}, clock=clock), path)
    assert clock.sleeps == [0.5, 1.0]
    assert agent.calls == 3
    assert result.summary.execution_path == ("Start", "Flaky", "End")
    assert result.summary.node_results == (
        NodeResult("Start", True, 0.0, 0.0),
        NodeResult("Flaky", False, 0.0, 0.0, "flaky 1", attempt=1),
        NodeResult("Flaky", False, 0.0, 0.5, "flaky 2", attempt=2),
        NodeResult("Flaky", True, 0.0, 1.5, attempt=3),
        NodeResult("End", True, 0.0, 1.5),
    )
    assert result.summary.failed_nodes == ()
    assert result.summary.total_duration == 1.5
    assert result.success is True
    assert result.final_state == {"flaky": "ok on attempt 3", "last_action_success": True}


def test_a_node_that_keeps_failing_fails_after_max_retries_and_follows_failure_next(
    graph_csv: Callable[..., Path],
) -> None:
    clock, agent = FakeClock(), Flaky(failures=10)
    path = flaky_graph(graph_csv, {"retry": {"type": "fixed", "delay": 2, "max_retries": 2}})
    result = run_in(container_for({"flaky": agent.process}, clock=clock), path)
    assert clock.sleeps == [2.0, 2.0]
    assert result.summary.execution_path == ("Start", "Flaky", "Handler")
    assert results(result, "Flaky") == [
        (False, "flaky 1", 1),
        (False, "flaky 2", 2),
        (False, "flaky 3", 3),
    ]
    assert result.summary.failed_nodes == ("Flaky",)
    assert result.final_state == {"last_action_success": True, "error": "flaky 3"}


FIXED_1 = {"type": "fixed", "delay": 1}
FIXED_2 = {"type": "fixed", "delay": 2}
FIXED_3 = {"type": "fixed", "delay": 3}
RECOVERED = ("Start", "Flaky", "End")
GAVE_UP = ("Start", "Flaky", "Handler")


@pytest.mark.parametrize(
    ("context", "execution", "sleeps", "path"),
    [
        pytest.param({"retry": FIXED_1}, {}, [1.0, 1.0], RECOVERED, id="node-context"),
        pytest.param({}, {"retry_by_graph": {"G": FIXED_2}}, [2.0, 2.0], RECOVERED, id="by-graph"),
        pytest.param({}, {"retry": FIXED_3}, [3.0, 3.0], RECOVERED, id="config-default"),
        pytest.param(
            {},
            {"retry_by_graph": {"G": FIXED_2}, "retry": FIXED_3},
            [2.0, 2.0],
            RECOVERED,
            id="by-graph-over-default",
        ),
        pytest.param(
            {},
            {"retry_by_graph": {"Other": FIXED_2}, "retry": FIXED_3},
            [3.0, 3.0],
            RECOVERED,
            id="another-graphs-policy-does-not-apply",
        ),
        pytest.param(
            {"retry": FIXED_1},
            {"retry_by_graph": {"G": FIXED_2}, "retry": FIXED_3},
            [1.0, 1.0],
            RECOVERED,
            id="context-over-config",
        ),
        pytest.param(
            {"retry": None},
            {"retry_by_graph": {"G": FIXED_2}, "retry": FIXED_3},
            [],
            GAVE_UP,
            id="context-null-turns-it-off",
        ),
        pytest.param(
            {"retry": {**FIXED_1, "max_retries": 1}}, {}, [1.0], GAVE_UP, id="too-few-retries"
        ),
        pytest.param({}, {}, [], GAVE_UP, id="no-policy-no-retry"),
    ],
)
def test_where_the_retry_policy_comes_from(
    graph_csv: Callable[..., Path],
    context: dict[str, Any],
    execution: dict[str, Any],
    sleeps: list[float],
    path: tuple[str, ...],
) -> None:
    clock, agent = FakeClock(), Flaky(failures=2)
    container = container_for(
        {"flaky": agent.process}, config={"execution": execution}, clock=clock
    )
    result = run_in(container, flaky_graph(graph_csv, context or None))
    assert clock.sleeps == sleeps
    assert result.summary.execution_path == path
    assert agent.calls == len(sleeps) + 1


def test_an_agent_returning_failure_is_not_retried(graph_csv: Callable[..., Path]) -> None:
    calls: list[Mapping[str, Any]] = []

    def refuse(inputs: Mapping[str, Any]) -> Failure:
        calls.append(inputs)
        return Failure("refused")

    clock = FakeClock()
    path = graph_csv(
        row("Start", edge="Flaky"),
        row("Flaky", "refuse", success="End", failure="Handler", context={"retry": FIXED_1}),
        row("End"),
        row("Handler"),
    )
    result = run_in(container_for({"refuse": refuse}, clock=clock), path)
    assert len(calls) == 1
    assert clock.sleeps == []
    assert result.summary.execution_path == ("Start", "Flaky", "Handler")
    assert results(result, "Flaky") == [(False, "refused", 1)]


# --- node timeouts ---------------------------------------------------------------------------


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of the test, so a blocking agent left running in a thread finishes."""
    event = threading.Event()
    yield event
    event.set()


def slow_agents(release: threading.Event) -> dict[str, Any]:
    async def slow_async(inputs: Mapping[str, Any]) -> str:
        await asyncio.sleep(5)
        return "finished"

    def slow_sync(inputs: Mapping[str, Any]) -> str:
        release.wait(1.5)
        return "finished"

    return {"slow_async": slow_async, "slow_sync": slow_sync}


@pytest.mark.parametrize("agent_type", ["slow_async", "slow_sync"])
def test_a_node_timeout_is_a_failure_routed_to_failure_next(
    graph_csv: Callable[..., Path], release: threading.Event, agent_type: str
) -> None:
    path = graph_csv(
        row("Start", edge="Slow"),
        row(
            "Slow",
            agent_type,
            success="End",
            failure="Handler",
            output="slow",
            context={"timeout": 0.1},
        ),
        row("End"),
        row("Handler"),
    )
    result = run_in(container_for(slow_agents(release)), path)
    assert result.summary.execution_path == ("Start", "Slow", "Handler")
    assert results(result, "Slow") == [(False, "timed out after 0.1s", 1)]
    assert result.final_state == {"last_action_success": True, "error": "timed out after 0.1s"}


def test_a_timed_out_node_is_retried_when_a_policy_applies(graph_csv: Callable[..., Path]) -> None:
    calls = 0

    async def slow_once(inputs: Mapping[str, Any]) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(5)
        return f"ok on attempt {calls}"

    clock = FakeClock()
    retry = {"type": "fixed", "delay": 0.5, "retry_on": ["TimeoutError"]}
    path = graph_csv(
        row("Start", edge="Slow"),
        row(
            "Slow",
            "slow_once",
            success="End",
            failure="Handler",
            output="slow",
            context={"timeout": 0.1, "retry": retry},
        ),
        row("End"),
        row("Handler"),
    )
    result = run_in(container_for({"slow_once": slow_once}, clock=clock), path)
    assert clock.sleeps == [0.5]
    assert result.summary.execution_path == ("Start", "Slow", "End")
    assert result.summary.node_results == (
        NodeResult("Start", True, 0.0, 0.0),
        NodeResult("Slow", False, 0.0, 0.0, "timed out after 0.1s", attempt=1),
        NodeResult("Slow", True, 0.0, 0.5, attempt=2),
        NodeResult("End", True, 0.0, 0.5),
    )
    assert result.final_state == {"slow": "ok on attempt 2", "last_action_success": True}


# --- run timeouts ----------------------------------------------------------------------------


def slow_chain(graph_csv: Callable[..., Path], agent_type: str) -> Path:
    return graph_csv(
        row("Start", "echo", edge="Slow", inputs="input", output="echoed"),
        row("Slow", agent_type, edge="End", output="slow"),
        row("End"),
    )


@pytest.mark.parametrize("agent_type", ["slow_async", "slow_sync"])
def test_a_run_timeout_stops_the_run_with_a_run_error_and_the_partial_path(
    graph_csv: Callable[..., Path], release: threading.Event, agent_type: str
) -> None:
    path = slow_chain(graph_csv, agent_type)
    began = time.perf_counter()
    with pytest.raises(RunError) as caught:
        run_in(container_for(slow_agents(release)), path, "hi", timeout=0.2)
    assert time.perf_counter() - began < 1.2, "the run waited for the agent"
    error = caught.value
    assert error.message == "run of graph 'G' timed out after 0.2s"
    assert error.result is not None
    assert error.result.success is False
    assert error.result.summary.execution_path == ("Start", "Slow")
    assert error.result.summary.unfinished == ("Slow",)
    assert error.result.final_state == {
        "input": "hi",
        "echoed": "hi",
        "last_action_success": True,
    }


def test_execution_timeout_in_config_bounds_a_run(
    graph_csv: Callable[..., Path], release: threading.Event
) -> None:
    container = container_for(slow_agents(release), config={"execution": {"timeout": 0.2}})
    with pytest.raises(RunError, match=r"^run of graph 'G' timed out after 0.2s$"):
        run_in(container, slow_chain(graph_csv, "slow_async"), "hi")


SLOW_AGENT_FILE = """
import asyncio

from agentmap import Agent


class SlowAsyncAgent(Agent):
    async def process(self, inputs):
        await asyncio.sleep(5)
        return "finished"
"""


def test_run_timeout_option_exits_1_with_timed_out_and_the_partial_path(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file("agents/slow.py", SLOW_AGENT_FILE)
    slow_chain(graph_csv, "slow_async")
    result = CliRunner().invoke(
        app, ["run", "flow.csv", "--state", '"hi"', "--timeout", "0.2", "--json"]
    )
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert result.stderr == (
        "error: run of graph 'G' timed out after 0.2s\n"
        f"to carry this run on: agentmap resume {document['run_id']}\n"
    )
    assert document["error"] == "run of graph 'G' timed out after 0.2s"
    assert document["success"] is False
    assert document["summary"]["execution_path"] == ["Start", "Slow"]
    assert document["summary"]["unfinished"] == ["Slow"]
    assert document["final_state"] == {"input": "hi", "echoed": "hi", "last_action_success": True}


def test_run_timeout_option_must_be_positive(project: Path, graph_csv: Callable[..., Path]) -> None:
    graph_csv(row("Start"))
    result = CliRunner().invoke(app, ["run", "flow.csv", "--timeout", "0"])
    assert result.exit_code == 2
    assert "--timeout" in result.stderr
    assert "must be more than 0 seconds" in result.stderr


# --- bad settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("context", "message"),
    [
        pytest.param(
            {"retry": 3},
            'bad retry policy: write it as an object such as {"type": "fixed", "delay": 1}',
            id="retry-not-an-object",
        ),
        pytest.param(
            {"retry": {"type": "linear"}},
            "bad retry policy: retry type must be one of fixed, exponential (got 'linear')",
            id="retry-unknown-type",
        ),
        pytest.param(
            {"retry": {"delay": 1}},
            "bad retry policy: retry type must be one of fixed, exponential (got None)",
            id="retry-without-type",
        ),
        pytest.param(
            {"retry": {"type": "fixed", "max_retries": -1}},
            "bad retry policy: max_retries must be 0 or more",
            id="retry-negative-max-retries",
        ),
        pytest.param(
            {"retry": {"type": "fixed", "dealy": 1}},
            "bad retry policy: unknown fixed retry setting 'dealy' — did you mean 'delay'? "
            "(fixed policies take delay, jitter, max_retries, retry_on)",
            id="retry-unknown-setting",
        ),
        pytest.param(
            {"timeout": 0}, "timeout must be a number of seconds > 0, not 0", id="timeout-zero"
        ),
        pytest.param(
            {"timeout": -1.5},
            "timeout must be a number of seconds > 0, not -1.5",
            id="timeout-negative",
        ),
        pytest.param(
            {"timeout": "soon"},
            "timeout must be a number of seconds > 0, not 'soon'",
            id="timeout-not-a-number",
        ),
    ],
)
def test_bad_retry_and_timeout_context_are_validation_errors_at_the_context_cell(
    graph_csv: Callable[..., Path], context: dict[str, Any], message: str
) -> None:
    path = graph_csv(row("Start", edge="Work"), row("Work", context=context))
    report = validate_in(container_for({}), path)
    assert [(p.row, p.cell, p.field, p.message) for p in report.errors] == [
        (3, "J3", "Context", message)
    ]


@pytest.mark.parametrize(
    "context",
    [
        pytest.param({"timeout": 0.5}, id="timeout-number"),
        pytest.param({"timeout": "2"}, id="timeout-text-number"),
        pytest.param({"retry": None}, id="retry-null"),
        pytest.param({"retry": {"type": "exponential", "retry_on": ["OSError"]}}, id="retry"),
    ],
)
def test_good_retry_and_timeout_context_are_valid(
    graph_csv: Callable[..., Path], context: dict[str, Any]
) -> None:
    path = graph_csv(row("Start", edge="Work"), row("Work", context=context))
    assert validate_in(container_for({}), path).errors == ()


# --- Ctrl-C: a real SIGINT to a real process --------------------------------------------------

BLOCKING_AGENTS = """
import asyncio
import time
from pathlib import Path

from agentmap import Agent


class BlockAgent(Agent):
    def process(self, inputs):
        Path(f"started-{self.name}").touch()
        time.sleep(30)
        return "finished"


class AsyncBlockAgent(Agent):
    async def process(self, inputs):
        Path(f"started-{self.name}").touch()
        await asyncio.sleep(30)
        return "finished"


class AsyncEchoAgent(Agent):
    async def process(self, inputs):
        return inputs["input"]
"""


def interrupt(cwd: Path, args: list[str], blocking: list[str]) -> tuple[int, str, str, float]:
    """Start ``agentmap run ARGS``, wait until the ``blocking`` nodes run, send SIGINT.

    Returns the exit code, stdout, stderr and the seconds from the signal to the exit.
    """
    process = subprocess.Popen(
        [str(AGENTMAP), "run", *args],
        cwd=cwd,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        preexec_fn=ctrl_c_works,
    )
    try:
        deadline = time.monotonic() + 20
        while not all((cwd / f"started-{name}").exists() for name in blocking):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the blocking nodes never started"
            time.sleep(0.02)
        time.sleep(0.05)  # into the agent's sleep
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
        return process.returncode, out, err, time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


SIGINT_GRAPHS = [
    pytest.param(
        [
            row("Start", "echo", edge="Block", inputs="input", output="echoed"),
            row("Block", "block", edge="End", output="blocked"),
            row("End"),
        ],
        ["Start", "Block"],
        ["Block"],
        ["Block"],
        id="sync-agents-no-event-loop",
    ),
    pytest.param(
        [
            row("Start", "async_echo", edge="Block", inputs="input", output="echoed"),
            row("Block", "block", edge="End", output="blocked"),
            row("End"),
        ],
        ["Start", "Block"],
        ["Block"],
        ["Block"],
        id="sync-agent-on-the-event-loop",
    ),
    pytest.param(
        [
            row("Start", "echo", edge="Block", inputs="input", output="echoed"),
            row("Block", "async_block", edge="End", output="blocked"),
            row("End"),
        ],
        ["Start", "Block"],
        ["Block"],
        ["Block"],
        id="async-agent",
    ),
    pytest.param(
        [
            row("Start", "echo", edge="Block", inputs="input", output="echoed"),
            row("Block", "block", edge="End", output="blocked", context={"timeout": 60}),
            row("End"),
        ],
        ["Start", "Block"],
        ["Block"],
        ["Block"],
        id="sync-agent-with-a-timeout-in-a-thread",
    ),
    pytest.param(
        [
            row("Start", "echo", edge="A|B", inputs="input", output="echoed"),
            row("A", "block", edge="Join", output="a"),
            row("B", "block", edge="Join", output="b"),
            row("Join"),
        ],
        ["Start", "A", "B"],
        ["A", "B"],
        ["A", "B"],
        id="parallel-blocking-branches",
    ),
    pytest.param(
        [
            row("Start", "echo", edge="Sub", inputs="input", output="echoed"),
            row("Sub", "graph", success="End", failure="Handler", context={"graph": "Child"}),
            row("End"),
            row("Handler"),
            row("Block", "async_block", output="blocked", graph="Child"),
        ],
        ["Start", "Sub"],
        ["Sub"],
        ["Block"],
        id="agent-in-a-subgraph",
    ),
]


@pytest.mark.parametrize(("rows", "path", "unfinished", "blocking"), SIGINT_GRAPHS)
def test_sigint_cancels_the_run_with_exit_130_and_the_partial_path(
    project: Path,
    write_file: Callable[..., Path],
    graph_csv: Callable[..., Path],
    rows: list[str],
    path: list[str],
    unfinished: list[str],
    blocking: list[str],
) -> None:
    """``blocking``: the agents (nodes of this graph or a child's) that block when SIGINT comes."""
    write_file("agents/blocking.py", BLOCKING_AGENTS)
    graph_csv(*rows)
    code, out, err, took = interrupt(
        project, ["flow.csv::G", "--json", "--state", '"hi"'], blocking=blocking
    )
    assert code == 130, err
    assert took < 5, f"exit took {took:.1f} s after SIGINT"
    document = json.loads(out)
    assert err == (
        "error: run of graph 'G' was cancelled\n"
        f"to carry this run on: agentmap resume {document['run_id']}\n"
    )
    assert document["error"] == "run of graph 'G' was cancelled"
    assert document["success"] is False
    summary = document["summary"]
    assert summary["execution_path"][0] == "Start"
    assert sorted(summary["execution_path"]) == sorted(path)
    assert sorted(summary["unfinished"]) == sorted(unfinished)
    assert [r["node"] for r in summary["node_results"]] == ["Start"]
    assert document["final_state"] == {"input": "hi", "echoed": "hi", "last_action_success": True}


def test_sigint_shows_the_interrupted_node_in_the_path_table(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file("agents/blocking.py", BLOCKING_AGENTS)
    graph_csv(
        row("Start", "echo", edge="Block", inputs="input", output="echoed"),
        row("Block", "block", edge="End", output="blocked"),
        row("End"),
    )
    code, out, err, _ = interrupt(project, ["flow.csv", "--state", '"hi"'], blocking=["Block"])
    assert code == 130
    assert re.fullmatch(
        "error: run of graph 'G' was cancelled\n"
        "to carry this run on: agentmap resume [0-9a-f]{32}\n",
        err,
    ), err
    lines = [" ".join(line.replace("│", " ").split()) for line in out.splitlines()]
    assert lines[0].startswith("✘ G failed in ")
    assert lines[0].endswith(" (2 nodes)")
    assert "Block interrupted" in lines
    assert any(line.startswith("1 Start success ") for line in lines)
