"""End to end: every example graph in graphs/, with the repository's agents and functions."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentmap import ExecutionResult, load_graph, resume_run, run_graph
from agentmap.config import load_settings
from helpers import REPO_STORE


@pytest.fixture(autouse=True)
def _no_agentmap_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the files these tests name, never from the outer environment; runs
    go to the session's store, not the repository's .agentmap/."""
    for name in list(os.environ):
        if name.startswith("AGENTMAP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AGENTMAP_STORAGE__URL", REPO_STORE["url"])


def run_example(repo: Path, name: str, state: Any, **options: Any) -> ExecutionResult:
    options.setdefault("config", repo / "agentmap_config.yaml")
    return run_graph(repo / "graphs" / name, state, **options)


def repo_config(repo: Path, **execution: Any) -> dict[str, Any]:
    """A settings mapping using the repository's agents and functions, with ``execution`` keys."""
    return {
        "execution": execution,
        "paths": {"custom_agents": str(repo / "agents"), "functions": str(repo / "functions")},
        "storage": {"url": REPO_STORE["url"]},
    }


# --- hello.csv -----------------------------------------------------------------------------


def test_hello_final_state(repo: Path) -> None:
    result = run_example(repo, "hello.csv", {"input": "hi"})
    assert result.final_state == {
        "input": "hi",
        "echoed": "hi",
        "last_action_success": True,
        "response": "Respond was asked: Say hello to the user (inputs: echoed='hi')",
    }
    assert list(result.final_state) == ["input", "echoed", "last_action_success", "response"]


def test_hello_state_evolves_input_then_echoed_then_response(repo: Path) -> None:
    result = run_example(
        repo,
        "hello.csv",
        {"input": "hi"},
        config=repo_config(repo, tracking={"track_inputs": True, "track_outputs": True}),
    )
    steps = [(r.node, dict(r.inputs or {}), r.output) for r in result.summary.node_results]
    assert steps == [
        ("Start", {"input": "hi"}, "hi"),
        (
            "Respond",
            {"echoed": "hi"},
            "Respond was asked: Say hello to the user (inputs: echoed='hi')",
        ),
    ]


def test_hello_path_and_success(repo: Path) -> None:
    result = run_example(repo, "hello.csv", {"input": "hi"})
    assert result.graph_name == "Hello"
    assert result.summary.execution_path == ("Start", "Respond")
    assert result.success is True


def test_hello_needs_no_graph_name(repo: Path) -> None:
    assert (
        load_graph(repo / "graphs" / "hello.csv", config=repo / "agentmap_config.yaml").entry
        == "Start"
    )


# --- error_handling.csv --------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    path: tuple[str, ...]
    final_state: dict[str, Any]
    success_handled: bool
    success_all_nodes: bool
    success_final_node: bool


ERROR_HANDLING = {
    # clean data: summed at once
    "1,2,3": Scenario(
        ("ProcessData", "Success"),
        {"data": "1,2,3", "result": 6.0, "last_action_success": True, "final_result": 6.0},
        success_handled=True,
        success_all_nodes=True,
        success_final_node=True,
    ),
    # a bad item: cleaned away, and the retry succeeds
    "1,x,3": Scenario(
        ("ProcessData", "HandleError", "Retry", "Success"),
        {
            "data": "1,x,3",
            "last_action_success": True,
            "error": "'x' is not a number",
            "cleaned_data": "1,3",
            "result": 4.0,
            "final_result": 4.0,
        },
        success_handled=True,
        success_all_nodes=False,
        success_final_node=True,
    ),
    # nothing left after cleaning: the retry fails too
    "x,y": Scenario(
        ("ProcessData", "HandleError", "Retry", "FinalFailure"),
        {
            "data": "x,y",
            "last_action_success": False,
            "error": "Could not process the data even after cleaning it",
            "cleaned_data": "",
        },
        success_handled=False,
        success_all_nodes=False,
        success_final_node=False,
    ),
}

scenarios = pytest.mark.parametrize("data", list(ERROR_HANDLING))


@scenarios
def test_error_handling_path(repo: Path, data: str) -> None:
    result = run_example(repo, "error_handling.csv", {"data": data})
    assert result.summary.execution_path == ERROR_HANDLING[data].path


@scenarios
def test_error_handling_final_state(repo: Path, data: str) -> None:
    result = run_example(repo, "error_handling.csv", {"data": data})
    assert result.final_state == ERROR_HANDLING[data].final_state


@scenarios
def test_error_handling_success_under_the_default_handled_policy(repo: Path, data: str) -> None:
    result = run_example(repo, "error_handling.csv", {"data": data})
    assert result.success is ERROR_HANDLING[data].success_handled


@scenarios
def test_error_handling_success_under_all_nodes(repo: Path, data: str) -> None:
    config = repo_config(repo, success_policy="all_nodes")
    result = run_example(repo, "error_handling.csv", {"data": data}, config=config)
    assert result.success is ERROR_HANDLING[data].success_all_nodes


@scenarios
def test_error_handling_can_be_resumed_only_where_running_again_could_help(
    repo: Path, data: str
) -> None:
    # "x,y" ends at FinalFailure, a `failure` agent: running it again fails it again
    result = run_example(repo, "error_handling.csv", {"data": data})
    assert result.resumable is False


@scenarios
def test_error_handling_success_under_final_node(repo: Path, data: str) -> None:
    config = repo_config(repo, success_policy="final_node")
    result = run_example(repo, "error_handling.csv", {"data": data}, config=config)
    assert result.summary.execution_path == ERROR_HANDLING[data].path
    assert result.final_state == ERROR_HANDLING[data].final_state
    assert result.success is ERROR_HANDLING[data].success_final_node


@scenarios
def test_error_handling_success_under_final_node_settings(repo: Path, data: str) -> None:
    settings = load_settings(
        repo / "agentmap_config.yaml",
        environ={
            "AGENTMAP_EXECUTION__SUCCESS_POLICY": "final_node",
            "AGENTMAP_STORAGE__URL": REPO_STORE["url"],
        },
    )
    result = run_example(repo, "error_handling.csv", {"data": data}, config=settings)
    assert result.success is ERROR_HANDLING[data].success_final_node


def test_error_handling_records_each_failure(repo: Path) -> None:
    result = run_example(repo, "error_handling.csv", {"data": "x,y"})
    failures = [(r.node, r.error) for r in result.summary.node_results if not r.success]
    assert failures == [
        ("ProcessData", "'x' is not a number"),
        ("Retry", "no numbers to process"),
        ("FinalFailure", "Could not process the data even after cleaning it"),
    ]


# --- routing.csv ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "category", "node", "reply"),
    [
        ("I want a refund", "billing", "Billing", "Answer a billing question"),
        ("The app crashes on start", "bug", "Bug", "Open a bug report"),
        ("Hello there", "other", "Other", "Route to a human"),
    ],
)
def test_triage_routes_each_category(
    repo: Path, message: str, category: str, node: str, reply: str
) -> None:
    result = run_example(repo, "routing.csv", {"message": message}, graph="Triage")
    assert result.summary.execution_path == ("Classify", node)
    assert result.final_state == {
        "message": message,
        "category": category,
        "last_action_success": True,
        "reply": f"{node} was asked: {reply} (inputs: message={message!r})",
    }
    assert result.success is True


def test_approval_yes_approves(repo: Path) -> None:
    result = run_example(repo, "routing.csv", {"approved": "yes"}, graph="Approval")
    assert result.summary.execution_path == ("Check", "Approve")
    assert result.final_state == {
        "approved": "yes",
        "decision": "yes",
        "last_action_success": True,
        "outcome": "Approve succeeded",
    }
    assert result.success is True


def test_approval_no_rejects(repo: Path) -> None:
    result = run_example(repo, "routing.csv", {"approved": "no"}, graph="Approval")
    assert result.summary.execution_path == ("Check", "Reject")
    assert result.final_state == {
        "approved": "no",
        "decision": "no",
        "last_action_success": True,
        "error": "Check: 'approved' is 'no'",
        "outcome": "no",
    }
    assert result.success is True  # the graph routes the rejection to Reject


def test_approval_no_succeeds_under_final_node(repo: Path) -> None:
    result = run_example(
        repo,
        "routing.csv",
        {"approved": "no"},
        graph="Approval",
        config=repo_config(repo, success_policy="final_node"),
    )
    assert result.success is True


def test_countdown_loops_until_zero(repo: Path) -> None:
    result = run_example(repo, "routing.csv", {"count": 3}, graph="Countdown")
    assert result.summary.execution_path == ("Tick", "Tick", "Tick", "Done")
    assert result.final_state == {"count": 0, "last_action_success": True, "final_count": 0}
    assert result.success is True


def test_countdown_selected_with_file_suffix(repo: Path) -> None:
    result = run_example(repo, "routing.csv::Countdown", {"count": 1})
    assert result.summary.execution_path == ("Tick", "Done")


def test_routing_file_holds_exactly_three_graphs(repo: Path) -> None:
    config = repo / "agentmap_config.yaml"
    entries = {
        name: load_graph(repo / "graphs" / "routing.csv", name, config=config).entry
        for name in ("Triage", "Approval", "Countdown")
    }
    assert entries == {"Triage": "Classify", "Approval": "Check", "Countdown": "Tick"}


# --- branching.csv -------------------------------------------------------------------------


def test_branching_yes_is_approved(repo: Path) -> None:
    result = run_example(repo, "branching.csv", {"approved": "yes"})
    assert result.summary.execution_path == ("Ask", "Decide", "Approved")
    assert result.final_state == {
        "approved": "yes",
        "answer": "yes",
        "last_action_success": True,
        "decision": "yes",
        "message": "Approved was asked: Approved with answer yes (inputs: answer='yes')",
    }
    assert result.success is True


def test_branching_no_is_rejected_with_a_clear_reason(repo: Path) -> None:
    result = run_example(repo, "branching.csv", {"approved": "no"})
    assert result.summary.execution_path == ("Ask", "Decide", "Rejected")
    assert result.final_state == {
        "approved": "no",
        "answer": "no",
        "last_action_success": False,
        "decision": "no",
        "error": "Rejected: the answer was 'no'",
    }
    assert result.success is False


def test_branching_no_fails_under_final_node_too(repo: Path) -> None:
    config = repo_config(repo, success_policy="final_node")
    assert run_example(repo, "branching.csv", {"approved": "no"}, config=config).success is False


# --- approval.csv: a person approves or rejects ---------------------------------------------


@pytest.mark.parametrize(
    ("answer", "written"),
    [
        (True, {"approved": True, "published": "Sale"}),
        (False, {"approved": False, "revise": "rejected"}),
    ],
)
def test_approval_waits_for_a_person_then_publishes_or_revises(
    repo: Path, tmp_path: Path, answer: bool, written: dict[str, Any]
) -> None:
    config = {"storage": {"url": f"sqlite:///{tmp_path / 'runs.db'}"}}
    waiting = run_graph(repo / "graphs" / "approval.csv", "Sale", config=config)
    assert waiting.status == "waiting"
    assert [(w.node, w.pause.question) for w in waiting.waiting] == [
        ("Review", "Publish this? Sale")
    ]
    done = resume_run(waiting.run_id, answer, config=config)
    assert {key: done.final_state[key] for key in written} == written


# --- coverage of graphs/ -------------------------------------------------------------------


def test_every_example_graph_is_exercised_here(repo: Path) -> None:
    text = Path(__file__).read_text(encoding="utf-8")
    referenced = set(re.findall(r'"([\w.-]+\.csv)', text))
    examples = {path.name for path in (repo / "graphs").rglob("*.csv")}
    assert examples
    assert examples - referenced == set()


# --- graphs/chat.csv: model agents, replayed offline from their committed cassette -------


def test_chat_example_replays_offline_with_token_usage_in_the_run_table(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from agentmap.cli.app import app

    monkeypatch.chdir(repo)
    graph = str(Path("graphs") / "chat.csv")
    state = '{"message": "I was charged twice for my last invoice"}'
    result = CliRunner().invoke(
        app,
        ["run", graph, "--replay", "graphs/chat.cassette.jsonl", "--state", state],
    )
    assert result.exit_code == 0, result.output
    assert "Total tokens (prompt + completion): 20 + 12" in result.stdout
    as_json = CliRunner().invoke(
        app,
        [
            "run",
            "graphs/chat.csv",
            "--replay",
            "graphs/chat.cassette.jsonl",
            "--json",
            "--state",
            state,
        ],
    )
    document = json.loads(as_json.stdout)
    assert document["summary"]["execution_path"] == ["Route", "Billing", "Wrap"]
    assert document["final_state"]["reply"] == (
        "[Billing] Sorry about that: I have refunded the second charge to your card."
    )
    assert document["summary"]["usage"] == {
        "prompt_tokens": 20,
        "completion_tokens": 12,
        "model": "llama3.2",
    }
