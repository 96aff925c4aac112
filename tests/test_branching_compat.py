"""The branching agent reads AgentMap's Context keys — success_field, success_values,
failure_values, default_result, fallback_fields — as AgentMap does, beside our field/equals."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentmap import Failure, run_graph, validate_graph
from agentmap.agents.builtins import BranchingAgent

GraphCsv = Callable[..., Path]


@pytest.fixture(autouse=True)
def _in_project(project: Path) -> Path:
    return project


# --- deciding: one row per rule ------------------------------------------------------------

DECISIONS = [
    pytest.param(
        {"success_values": ["OK"], "failure_values": ["ERROR"]},
        {"status": "ERROR"},
        False,
        id="failure-value-fails",
    ),
    pytest.param(
        {"success_values": ["OK"], "failure_values": ["ERROR"]},
        {"status": " ok "},
        True,
        id="values-ignore-case-and-spaces",
    ),
    pytest.param({"success_values": "OK, DONE"}, {"status": "done"}, True, id="comma-text-list"),
    pytest.param(
        {"success_values": [200, 201]}, {"code": "201"}, True, id="number-listed-text-given"
    ),
    pytest.param({"success_values": "200,201"}, {"code": 200}, True, id="text-listed-number-given"),
    pytest.param({"success_values": "200"}, {"code": 200.0}, True, id="whole-float-is-its-integer"),
    pytest.param(
        {"failure_values": ["ERROR"]}, {"status": "PENDING"}, True, id="unlisted-text-succeeds"
    ),
    pytest.param(
        {"failure_values": ["ERROR"], "default_result": False},
        {"status": "PENDING"},
        False,
        id="unlisted-text-takes-default-result",
    ),
    pytest.param(
        {"success_values": "OK", "default_result": "false"},
        {"n": 7},
        True,
        id="unlisted-number-by-its-truth",
    ),
    pytest.param(
        {"success_values": "OK", "default_result": "true"},
        {"n": 0},
        False,
        id="unlisted-zero-fails",
    ),
    pytest.param(
        {"failure_values": ["ERROR"]},
        {"status": "false"},
        True,
        id="a-failure-list-replaces-the-default-words",
    ),
    pytest.param(
        {"success_field": "status", "failure_values": "ERROR"},
        {"first": "OK", "status": "ERROR"},
        False,
        id="success-field-picks-the-input",
    ),
    pytest.param(
        {"fallback_fields": ["progress"]},
        {"status": None, "progress": "yes"},
        True,
        id="missing-field-reads-a-fallback",
    ),
    pytest.param(
        {"fallback_fields": "backup, progress"},
        {"status": None, "progress": "no"},
        False,
        id="fallbacks-as-comma-text",
    ),
    pytest.param({}, {"status": None, "input": "no"}, False, id="agentmap-default-fallbacks"),
    pytest.param({"default_result": True}, {"status": None}, True, id="nothing-found-default"),
    pytest.param({"default_result": "no"}, {"status": None}, False, id="default-result-as-text"),
    pytest.param({}, {"flag": "f"}, False, id="agentmap-failure-word-f"),
    pytest.param({}, {"flag": "Succeed"}, True, id="agentmap-success-word"),
    pytest.param({"field": "b", "equals": 200}, {"a": 1, "b": "200"}, True, id="equals-number"),
    pytest.param({"equals": "yes"}, {"a": "YES"}, False, id="equals-stays-exact"),
]


@pytest.mark.parametrize(("context", "inputs", "succeeds"), DECISIONS)
def test_branching_decides_as_its_context_says(
    context: dict[str, Any], inputs: dict[str, Any], succeeds: bool
) -> None:
    result = BranchingAgent(name="Check", context=context).process(inputs)

    assert isinstance(result, Failure) is not succeeds


def test_branching_success_returns_the_value_tested() -> None:
    agent = BranchingAgent(name="Check", context={"fallback_fields": ["progress"]})

    assert agent.process({"status": None, "progress": 100}) == 100


def test_branching_failure_names_the_field_and_keeps_the_value() -> None:
    agent = BranchingAgent(name="Check", context={"failure_values": ["ERROR"]})

    assert agent.process({"status": "ERROR"}) == Failure(
        "Check: 'status' is 'ERROR'", value="ERROR"
    )


def test_branching_with_nothing_found_and_no_default_fails() -> None:
    agent = BranchingAgent(name="Check", context={"fallback_fields": ["progress"]})

    assert agent.process({"status": None}) == Failure("Check: 'status' is None", value=None)


def test_branching_with_a_bad_context_fails_each_run_saying_why() -> None:
    agent = BranchingAgent(name="Check", context={"default_result": "maybe"})

    assert agent.process({"status": "OK"}) == Failure(
        "Check: default_result must be true or false, not 'maybe'"
    )


# --- in a graph ------------------------------------------------------------------------------


def _status_graph(graph_csv: GraphCsv, context: dict[str, Any] | str) -> Path:
    """Check branches on ``status`` to Passed or Failed; a str Context is the cell as written."""
    cell = context if isinstance(context, str) else json.dumps(context)
    quoted = '"' + cell.replace('"', '""') + '"'
    return graph_csv(
        f"Main,Check,branching,,Passed,Failed,status,,,{quoted},",
        "Main,Passed,success,,,,,,,,",
        "Main,Failed,success,,,,,,,,",
    )


AGENTMAP_CONTEXT = {
    "success_field": "status",
    "success_values": ["OK", "DONE"],
    "failure_values": ["ERROR", "FAILED"],
    "default_result": False,
}
PAIRS_CONTEXT = (
    "success_field=status; success_values=OK,DONE; failure_values=ERROR,FAILED; "
    "default_result=false"
)


@pytest.mark.parametrize("context", [AGENTMAP_CONTEXT, PAIRS_CONTEXT], ids=["json", "pairs"])
@pytest.mark.parametrize(
    ("status", "branch"),
    [("ERROR", "Failed"), ("done", "Passed"), ("PENDING", "Failed"), ("ok", "Passed")],
)
def test_status_routes_to_the_branch_agentmap_keys_name(
    graph_csv: GraphCsv, context: dict[str, Any] | str, status: str, branch: str
) -> None:
    path = _status_graph(graph_csv, context)

    result = run_graph(path, {"status": status})

    assert result.summary.execution_path == ("Check", branch)


def test_agentmap_keys_validate_without_a_word(graph_csv: GraphCsv) -> None:
    _status_graph(graph_csv, {**AGENTMAP_CONTEXT, "fallback_fields": ["state"]})

    report = validate_graph("flow.csv")

    assert (report.errors, report.warnings) == ((), ())


@pytest.mark.parametrize(
    ("answer", "branch"), [("yes", "SuccessPath"), ("no", "FailurePath"), ("maybe", "SuccessPath")]
)
def test_branching_without_context_routes_as_agentmaps_example(
    graph_csv: GraphCsv, answer: str, branch: str
) -> None:
    path = graph_csv(
        "Branching,Startup,branching,,SuccessPath,FailurePath,input,startResponse,,,",
        "Branching,SuccessPath,echo,,,,startResponse,finalResponse,,,",
        "Branching,FailurePath,echo,,,,startResponse,finalResponse,,,",
    )

    result = run_graph(path, {"input": answer})

    assert result.summary.execution_path == ("Startup", branch)
    assert result.final_state["finalResponse"] == answer


# --- refused before the run ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("context", "message"),
    [
        pytest.param(
            {"default_result": "maybe"},
            "default_result must be true or false, not 'maybe'",
            id="default-result-not-a-truth",
        ),
        pytest.param(
            {"success_values": ["OK"], "failure_values": "ok,ERROR"},
            "'ok' is in both success_values and failure_values — keep it in one",
            id="value-in-both-lists",
        ),
        pytest.param(
            {"equals": "OK", "success_values": ["OK"]},
            "equals is the one value meaning success — give it, or the value lists, not both",
            id="equals-with-lists",
        ),
        pytest.param(
            {"field": "status", "success_field": "state"},
            "field and success_field name different inputs — keep one",
            id="two-fields",
        ),
        pytest.param(
            {"success_values": [{"code": 200}]},
            "success_values must list text, numbers or booleans (a list, or text with the values "
            "separated by commas), not [{'code': 200}]",
            id="values-not-scalars",
        ),
        pytest.param(
            {"fallback_fields": [1]},
            "fallback_fields must list input names, not [1]",
            id="fallbacks-not-names",
        ),
        pytest.param(
            {"success_field": ""}, "success_field must name an input, not ''", id="empty-field"
        ),
    ],
)
def test_bad_branching_context_is_an_error_at_its_cell(
    graph_csv: GraphCsv, context: dict[str, Any], message: str
) -> None:
    _status_graph(graph_csv, context)

    report = validate_graph("flow.csv")

    assert [(p.row, p.cell, p.field, p.message) for p in report.errors] == [
        (2, "J2", "Context", message)
    ]
