"""Context keys of built-in agents: a key no one reads is refused at its cell (a misspelt
setting would otherwise be ignored without a word); AgentMap's keys that mean nothing here are
warnings; custom agents accept any key unless they declare ``context_keys``."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentmap import load_graph, validate_graph
from agentmap.agents.catalog import AgentCatalog, KeyProblem, _builtins
from agentmap.cli.app import app
from agentmap.functions import FunctionCatalog
from agentmap.graph.validation import check_graph
from agentmap.prompts import PromptCatalog

GraphCsv = Callable[..., Path]
ENGINE = "every node reads reduce, retry, timeout"


@pytest.fixture(autouse=True)
def _in_project(project: Path) -> Path:
    return project


def _row(agent_type: str, context: Mapping[str, Any] | str, node: str = "Start") -> str:
    """A row with Input_Fields ``x``, Output_Field ``out`` and ``context`` in J."""
    cell = context if isinstance(context, str) else json.dumps(context)
    return f'Main,{node},{agent_type},,,,x,out,,"{cell.replace(chr(34), chr(34) * 2)}",'


def _context_problems(graph_csv: GraphCsv, *rows: str) -> list[tuple[str, str, str]]:
    graph_csv(*rows)
    report = validate_graph("flow.csv")
    return [
        (p.severity, p.cell or "", p.message)
        for p in (*report.errors, *report.warnings)
        if p.field == "Context"
    ]


# --- refused ---------------------------------------------------------------------------------


def test_misspelt_key_of_a_builtin_is_an_error_at_its_cell(graph_csv: GraphCsv) -> None:
    problems = _context_problems(graph_csv, _row("branching", {"sucess_values": "OK"}))

    assert problems == [
        (
            "error",
            "J2",
            "Context key 'sucess_values' means nothing to agent type 'branching' — did you mean "
            "'success_values'? (it reads default_result, equals, failure_values, fallback_fields, "
            f"field, success_field, success_values; {ENGINE}) — fix the key or delete it",
        )
    ]


def test_misspelt_engine_key_is_an_error_naming_the_engine_key(graph_csv: GraphCsv) -> None:
    problems = _context_problems(graph_csv, _row("echo", {"retyr": {"type": "fixed"}}))

    assert problems == [
        (
            "error",
            "J2",
            "Context key 'retyr' means nothing to agent type 'echo' — did you mean 'retry'? (it "
            f"reads no keys of its own; {ENGINE}) — fix the key or delete it",
        )
    ]


@pytest.mark.parametrize(
    ("agent_type", "key", "meant"),
    [
        ("human", "interaction_typ", "interaction_type"),
        ("summary", "seperator", "separator"),
        ("llm", "temprature", "temperature"),
        ("success", "timout", "timeout"),
    ],
)
def test_misspelt_keys_of_other_builtins_are_errors(
    graph_csv: GraphCsv, agent_type: str, key: str, meant: str
) -> None:
    problems = _context_problems(graph_csv, _row(agent_type, {key: 1}))

    assert [(severity, cell) for severity, cell, _ in problems] == [("error", "J2")]
    assert problems[0][2].startswith(
        f"Context key '{key}' means nothing to agent type '{agent_type}' — did you mean '{meant}'?"
    )


def test_a_refused_key_stops_the_run_before_it_starts(graph_csv: GraphCsv) -> None:
    graph_csv(_row("branching", {"failure_value": "ERROR"}))

    result = CliRunner().invoke(app, ["run", "flow.csv", "--state", '{"x": "ERROR"}'])

    assert result.exit_code == 2
    assert "J2 Context: Context key 'failure_value'" in result.stderr


# --- accepted with a warning -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent_type", "key", "fix"),
    [
        ("echo", "description", "the Description column says this here"),
        ("branching", "output_field", "the Output_Field column says this here"),
        (
            "success",
            "keywords",
            "an orchestrator here matches a node on its name, Description and Prompt",
        ),
        ("suspend", "external_ref", "delete it to silence this"),
        ("human", "send_suspend_message", "delete it to silence this"),
        ("summary", "include_keys", "delete it to silence this"),
    ],
)
def test_agentmap_keys_that_mean_nothing_here_are_warnings(
    graph_csv: GraphCsv, agent_type: str, key: str, fix: str
) -> None:
    problems = _context_problems(graph_csv, _row(agent_type, {key: "x"}))

    assert problems == [
        (
            "warning",
            "J2",
            f"Context key '{key}' is AgentMap's and means nothing to agent type '{agent_type}': "
            f"it is ignored ({fix})",
        )
    ]


def test_a_warned_key_does_not_stop_loading(graph_csv: GraphCsv) -> None:
    graph_csv(_row("suspend", {"reason": "external_batch_job", "external_ref": "batch"}))

    assert list(load_graph("flow.csv").nodes) == ["Start"]


def test_validate_shows_the_warning_and_exits_0(graph_csv: GraphCsv) -> None:
    graph_csv(_row("echo", {"description": "Echo the input"}))

    result = CliRunner().invoke(app, ["validate", "flow.csv"])

    assert result.exit_code == 0
    assert result.stderr == (
        "warning flow.csv:2 J2 Context: Context key 'description' is AgentMap's and means nothing "
        "to agent type 'echo': it is ignored (the Description column says this here)\n"
    )


# --- accepted --------------------------------------------------------------------------------


def test_engine_keys_are_accepted_on_every_builtin(graph_csv: GraphCsv) -> None:
    context = {"retry": {"type": "fixed", "max_retries": 2}, "timeout": 5, "reduce": "append"}

    assert _context_problems(graph_csv, _row("echo", context)) == []


@pytest.mark.parametrize(
    "context",
    [
        {"model": "gpt-4o", "anything": 1},
        "general",
        "model=gpt-4o; tone=dry",
    ],
    ids=["json", "plain-text", "pairs"],
)
def test_the_default_placeholder_accepts_any_context(
    graph_csv: GraphCsv, context: dict[str, Any] | str
) -> None:
    assert _context_problems(graph_csv, _row("default", context)) == []


def test_plain_text_context_of_a_builtin_is_not_keys(graph_csv: GraphCsv) -> None:
    assert _context_problems(graph_csv, _row("echo", "general")) == []


CUSTOM = """\
from agentmap import Agent
from agentmap.agents.builtins import BranchingAgent


class FreeAgent(Agent):
    def process(self, inputs):
        return self.context


class StrictBranchingAgent(BranchingAgent):
    '''A subclass of a built-in that reads a key of its own.'''

    def process(self, inputs):
        return super().process(inputs)


class LevelAgent(Agent):
    context_keys = frozenset({"level"})

    def process(self, inputs):
        return self.context["level"]
"""


def test_custom_agents_accept_any_key(project: Path, graph_csv: GraphCsv) -> None:
    (project / "agents" / "custom.py").write_text(textwrap.dedent(CUSTOM))

    problems = _context_problems(
        graph_csv,
        _row("free", {"whatever": 1}),
        _row("strict_branching", {"threshold": 3}, node="Second"),
    )

    assert problems == []


def test_a_custom_agent_declaring_context_keys_is_checked(
    project: Path, graph_csv: GraphCsv
) -> None:
    (project / "agents" / "custom.py").write_text(textwrap.dedent(CUSTOM))

    problems = _context_problems(graph_csv, _row("level", {"levl": 2}))

    assert problems == [
        (
            "error",
            "J2",
            "Context key 'levl' means nothing to agent type 'level' — did you mean 'level'? (it "
            f"reads level; {ENGINE}) — fix the key or delete it",
        )
    ]


def test_every_builtin_but_the_placeholder_declares_its_context_keys() -> None:
    undeclared = [cls.type_name() for cls in _builtins() if cls.context_keys is None]

    assert undeclared == ["default"]


# --- cost --------------------------------------------------------------------------------------


class CountingCatalog(AgentCatalog):
    """The real catalog, counting how often validation asks it about Context keys."""

    asked = 0

    def context_key_problems(self, agent_type: str, keys: frozenset[str]) -> list[KeyProblem]:
        self.asked += 1
        return super().context_key_problems(agent_type, keys)


def test_keys_are_checked_once_per_agent_type_and_key_set(graph_csv: GraphCsv) -> None:
    rows = [_row("echo", {"timeout": 5}, node=f"E{i}") for i in range(200)]
    rows += [_row("echo", {"timeout": 5, "retry": None}, node=f"R{i}") for i in range(200)]
    rows += [_row("success", {"timeout": 5}, node=f"S{i}") for i in range(200)]
    graph_csv(*rows)
    graph = load_graph("flow.csv")
    catalog = CountingCatalog()

    check_graph(graph, catalog, FunctionCatalog(), PromptCatalog())

    assert catalog.asked == 3
