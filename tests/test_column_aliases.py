"""Column headers: AgentMap's aliases load into the right column, and a header that looks like a
known one never drops its cells silently."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from agentmap import validate_graph
from agentmap.graph.columns import _ALIASES, TOOL_COLUMNS, fold
from agentmap.graph.loader import read_graph_file

REPO = Path(__file__).resolve().parent.parent
WriteFile = Callable[..., Path]

BASE = {"GraphName": "Main", "Node": "Start"}


@pytest.mark.parametrize(
    ("header", "value", "field"),
    [
        ("prompt_template", "Say hi", "prompt"),
        ("Template", "Say hi", "prompt"),
        ("Instructions", "Say hi", "prompt"),
        ("Details", "What it does", "description"),
        ("Config", "plain words", "context"),
        ("Configuration", "plain words", "context"),
        ("Target", "End", "edge"),
        ("SuccessTarget", "End", "success_next"),
        ("FailureTarget", "End", "failure_next"),
        ("ToolSource", "tools.py", "tool_source"),
        ("ToolFile", "tools.py", "tool_source"),
        ("ToolModule", "tools.py", "tool_source"),
        ("AvailableTools", "add", "tools"),
        ("Tools", "add", "tools"),
        ("ToolList", "add", "tools"),
    ],
)
def test_agentmap_alias_header_loads_into_its_column(
    write_file: WriteFile, header: str, value: str, field: str
) -> None:
    path = write_file("flow.csv", f"GraphName,Node,{header}\nMain,Start,{value}\nMain,End,\n")

    graph_file, problems = read_graph_file(path)

    assert [p for p in problems if p.severity == "error"] == []
    expected = ((value, ""),) if field == "tools" else value
    assert getattr(graph_file.graphs["Main"].nodes["Start"], field) == expected


@pytest.mark.parametrize(
    ("graph_header", "node_header"),
    [
        ("WorkflowName", "Step"),
        ("workflow_name", "StepName"),
        ("graph_name", "name"),
        ("Workflow", "NodeName"),
    ],
)
def test_agentmap_graph_and_node_aliases_name_the_graph_and_its_nodes(
    write_file: WriteFile, graph_header: str, node_header: str
) -> None:
    path = write_file("flow.csv", f"{graph_header},{node_header}\nOrders,Take\nOrders,Ship\n")

    graph_file, problems = read_graph_file(path)

    assert problems == []
    assert list(graph_file.graphs["Orders"].nodes) == ["Take", "Ship"]


def test_a_table_in_agentmaps_alias_spelling_runs_as_written(write_file: WriteFile) -> None:
    path = write_file(
        "aliases.csv",
        """
        graph_name,node_name,agent,next_on_success,on_failure,prompt_template,Inputs,Output
        Shop,Greet,echo,Done,Oops,Welcome {who},who,greeting
        Shop,Done,echo,,,All set,greeting,final
        Shop,Oops,echo,,,Something went wrong,error,final
        """,
    )

    graph = read_graph_file(path)[0].graphs["Shop"]
    greet = graph.nodes["Greet"]

    assert (greet.agent_type, greet.success_next, greet.failure_next) == ("echo", "Done", "Oops")
    assert (greet.prompt, greet.inputs, greet.outputs) == (
        "Welcome {who}",
        (("who", "who"),),
        ("greeting",),
    )


def test_a_misspelt_header_over_cells_is_an_error_with_did_you_mean(write_file: WriteFile) -> None:
    path = write_file("flow.csv", "GraphName,Node,Promt\nMain,Start,\nMain,End,Say goodbye\n")

    report = validate_graph(path.name)

    assert [str(p) for p in report.errors] == [
        "flow.csv:1 C1: unknown column 'Promt' — did you mean 'Prompt'? Its cells (the first in "
        "row 3) would be ignored: rename the header to 'Prompt', or to a name that looks like no "
        "column if they are notes"
    ]


@pytest.mark.parametrize(
    ("header", "column"),
    [("Sucess_Next", "Success_Next"), ("Instrucions", "Prompt"), ("Contxt", "Context")],
)
def test_a_header_like_a_column_or_an_alias_names_the_column(
    write_file: WriteFile, header: str, column: str
) -> None:
    path = write_file("flow.csv", f"GraphName,Node,{header}\nMain,Start,x\n")

    [error] = validate_graph(path).errors

    assert error.message.startswith(f"unknown column '{header}' — did you mean '{column}'?")
    assert error.cell == "C1"


def test_a_misspelt_header_over_empty_cells_is_only_a_warning(write_file: WriteFile) -> None:
    path = write_file("flow.csv", "GraphName,Node,Promt\nMain,Start,\n")

    report = validate_graph(path.name)

    assert report.errors == ()
    assert [str(p) for p in report.warnings] == [
        "flow.csv:1 C1: unknown column 'Promt' is ignored — did you mean 'Prompt'?"
    ]


def test_a_header_like_no_column_is_a_warning_whatever_it_holds(write_file: WriteFile) -> None:
    path = write_file("flow.csv", "GraphName,Node,Notes\nMain,Start,check this later\n")

    report = validate_graph(path.name)

    assert report.errors == ()
    assert [str(p) for p in report.warnings] == ["flow.csv:1 C1: unknown column 'Notes' is ignored"]


def test_a_misspelt_yaml_key_keeps_its_suggestion(write_file: WriteFile) -> None:
    path = write_file(
        "flow.yaml",
        """
        graphs:
          Main:
            nodes:
              - name: Start
                tool_sorce: tools.py
        """,
    )

    [problem] = read_graph_file(path)[1]

    assert problem.message == "unknown key 'tool_sorce' — did you mean 'tool_source'?"


def _tool_columns_table() -> dict[str, set[str]]:
    lines = (REPO / "docs" / "graphs.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if "tool-columns-table" in line)
    rows = []
    for line in lines[start + 3 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return {row[0]: {a.strip() for a in row[1].split(",") if a.strip()} for row in rows}


def test_the_tool_columns_reference_lists_each_column_and_alias_the_loader_accepts() -> None:
    documented = _tool_columns_table()

    assert list(documented) == list(TOOL_COLUMNS)
    for column, aliases in documented.items():
        accepted = {key for key, value in _ALIASES.items() if value == column} - {fold(column)}
        assert {fold(alias) for alias in aliases} == accepted, column
