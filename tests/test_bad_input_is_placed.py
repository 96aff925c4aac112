"""Input that used to end in "this is a bug in agentmap" (exit 70): settings, states and graph
cells. Each is now a placed message: exit 2 for settings and states, a validation problem (exit
1 from validate) for a graph."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentmap.cli.app import app
from helpers import csv_row

runner = CliRunner()


@pytest.fixture
def hello(project: Path, graph_csv: Callable[..., Path]) -> Path:
    return graph_csv(csv_row("Hello", "Start", "echo", inputs="input", output="echoed"))


@pytest.mark.parametrize("fmt", ["%(", "{message}", "%(nosuchfield)s"])
def test_a_logging_format_logging_cannot_use_is_a_config_error(hello: Path, fmt: str) -> None:
    result = runner.invoke(app, ["validate", str(hello)], env={"AGENTMAP_LOGGING__FORMAT": fmt})
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: AGENTMAP_LOGGING__FORMAT: logging.format: not a logging format ("
    )
    assert "use %-style fields, such as '%(levelname)s %(name)s: %(message)s'" in result.stderr


def test_a_success_policy_that_takes_no_summary_is_refused_before_the_run(hello: Path) -> None:
    env = {
        "AGENTMAP_EXECUTION__SUCCESS_POLICY__TYPE": "custom",
        "AGENTMAP_EXECUTION__SUCCESS_POLICY__CUSTOM_FUNCTION": "os:getcwd",
    }
    result = runner.invoke(app, ["run", str(hello), "--state", '"hi"'], env=env)
    assert (result.exit_code, result.stderr) == (
        2,
        "error: execution.success_policy.custom_function: 'os:getcwd' can't be called with one "
        "argument — a success policy takes the run's ExecutionSummary and returns True or "
        "False\n",
    )
    assert not (hello.parent / ".agentmap").exists()  # nothing ran


def test_a_state_number_longer_than_python_reads_is_a_state_error(hello: Path) -> None:
    state = '{"input": ' + "9" * 5000 + "}"
    result = runner.invoke(app, ["run", str(hello), "--state", state])
    assert (result.exit_code, result.stderr) == (
        2,
        "error: --state: a number has more digits than can be read (4300 at most) — pass it as "
        'text, "12345…"\n',
    )


def test_converting_to_xlsx_without_openpyxl_says_what_to_install(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "flow.csv").write_text("GraphName,Node,AgentType\nMain,Start,echo\n")
    code = (
        "import sys; sys.modules['openpyxl'] = None\n"  # as if openpyxl were not installed
        "from agentmap import convert_graph\n"
        "try:\n    convert_graph('flow.csv', 'flow.xlsx')\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout == (
        "GraphFileError flow.xlsx: writing .xlsx workbooks needs openpyxl — install it with "
        "pip install 'agentmap-runner[spreadsheet]'\n"
    )


def test_a_state_with_half_a_character_is_a_state_error(hello: Path) -> None:
    result = runner.invoke(app, ["run", str(hello), "--state", '{"input": "\\ud800"}'])
    assert (result.exit_code, result.stderr) == (
        2,
        "error: --state: holds '\\ud800', half of a character (a lone surrogate), which no "
        "output or store can hold — give whole characters\n",
    )
    assert not (hello.parent / ".agentmap").exists()  # refused before anything ran


def test_context_json_nested_too_deeply_is_a_placed_problem(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    deep = '{"a": ' * 1000 + "1" + "}" * 1000
    path = graph_csv('G,A,echo,,,,x,y,,"' + deep.replace('"', '""') + '",')
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert (
        f"{path}:2 J2 Context: Context is JSON nested too deeply to read — flatten it (a few "
        "levels are plenty)"
    ) in result.stdout + result.stderr


def test_a_json_graph_nested_too_deeply_is_a_placed_problem(project: Path) -> None:
    path = project / "deep.json"
    path.write_text('{"graphs": ' + "[" * 1000 + "]" * 1000 + "}")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:1: JSON nested too deeply to read — flatten it" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'G,A,echo,,"first node\nG,B,echo,,second node\n',
            "a quoted cell opened on row 2 is never closed, so the 1 line(s) after it went into "
            'that one cell — close the quote (") where the cell should end',
        ),
        (
            'G,A,echo,,"never closed\n',
            'a quoted cell opened on row 2 is never closed — close the quote (") where the cell '
            "should end",
        ),
    ],
    ids=["swallows-a-row", "at-the-end"],
)
def test_a_quote_never_closed_is_an_error_at_its_row_not_lost_rows(
    project: Path, text: str, message: str
) -> None:
    path = project / "flow.csv"
    path.write_text("GraphName,Node,AgentType,Edge,Prompt\n" + text)
    result = runner.invoke(app, ["validate", str(path)])
    assert (result.exit_code, result.stderr) == (2, f"error: {path}:2: {message}\n")


def test_a_quote_never_closed_is_found_even_when_the_header_stops_the_reading(
    project: Path,
) -> None:
    """Rows are turned into nodes as they are read; a header without Node ends that early,
    but the file's checks of its quotes still run over every line."""
    path = project / "flow.csv"
    path.write_text('GraphName,AgentType,Prompt\nG,echo,"never closed\nG,echo,more\n')
    result = runner.invoke(app, ["validate", str(path)])
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {path}:2: a quoted cell opened on row 2 is never closed, so the 1 line(s) after "
        'it went into that one cell — close the quote (") where the cell should end\n',
    )


@pytest.mark.parametrize(
    "text",
    ['G,A,echo,B,"multi\nline ""quoted"" prompt"\nG,B,echo,,second\n', 'G,A,echo,,5" screen\n'],
    ids=["closed-multi-line-cell", "a-quote-inside-a-plain-cell"],
)
def test_quotes_that_close_or_sit_inside_a_cell_are_fine(project: Path, text: str) -> None:
    path = project / "flow.csv"
    path.write_text("GraphName,Node,AgentType,Edge,Prompt\n" + text)
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0
