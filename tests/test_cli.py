"""The ``agentmap`` command line, as a user meets it: commands, flags, exit codes and messages.

Runs in-process through ``typer.testing.CliRunner`` (stdout and stderr kept apart); the
real-subprocess checks of the installed command are in ``test_cli_subprocess.py``.
Exit codes: 0 = the graph succeeded / the file is valid, 1 = the graph ran and failed (or the
file has problems), 2 = bad input, reported in one clear message with no traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from typer.testing import CliRunner, Result

from agentmap._version import __version__
from agentmap.cli.app import app
from agentmap.config import Settings
from agentmap.graph.loader import SUFFIXES

runner = CliRunner()

HELLO_FINAL_STATE = {
    "input": "hi",
    "echoed": "hi",
    "last_action_success": True,
    "response": "Respond was asked: Say hello to the user (inputs: echoed='hi')",
}
NEXT_HINT = 'agentmap run graphs/hello.csv --state \'{"input": "hi"}\''
BAD_STATE_HINT = 'pass a JSON object such as \'{"input": "hi"}\', @file.json, or - for stdin'
LOOP_ROWS = ("Loop,A,echo,B,,,input,input,,,", "Loop,B,echo,A,,,input,input,,,")
MAX_STEPS_ERROR = (
    "graph 'Loop' ran {n} steps without finishing (a loop that never exits?) — fix the routing "
    "or raise execution.max_steps"
)
RESUME_LINE = r"to carry this run on: agentmap resume [0-9a-f]{32}\n"
DURATION = re.compile(r" *\d+(?:\.\d+)? (?:µs|ms|s)\b")


# --- helpers, fixtures


def cli(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """Invoke ``agentmap ARGS``; an exception escaping the CLI (not an exit) fails the test."""
    result = runner.invoke(app, list(args), input=input, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def json_of(result: Result) -> dict[str, Any]:
    """The whole of stdout parsed as one JSON document (fails on anything else in stdout)."""
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    return document


def resume_line(document: dict[str, Any]) -> str:
    """The last stderr line of a run that failed or stopped: how to carry it on."""
    assert re.fullmatch("[0-9a-f]{32}", document["run_id"])
    return f"to carry this run on: agentmap resume {document['run_id']}\n"


def no_durations(text: str) -> str:
    """Replace every duration (``48 µs``, ``1.5 ms``) and its padding with `` <t>``."""
    return DURATION.sub(" <t>", text)


def table(text: str, title: str) -> list[list[str]]:
    """The body rows of the rich table titled ``title``, cells stripped.

    Rows rich wrapped onto a continuation line (first cell empty) are joined back, so the
    result does not depend on the terminal width.
    """
    lines = [line.rstrip() for line in text.splitlines()]
    rows: list[list[str]] = []
    for line in lines[lines.index(title) + 3 :]:
        if "│" not in line:
            break
        cells = [cell.strip() for cell in line.split("│")]
        if rows and not cells[0]:
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
    return rows


def path_rows(text: str) -> list[tuple[str, str, str, str]]:
    """The execution-path table as (#, node, outcome, error) — durations left out."""
    return [(row[0], row[1], row[2], row[4]) for row in table(text, "Execution path")]


def state_rows(text: str) -> dict[str, str]:
    """The final-state table as key → value as displayed."""
    return {row[0]: row[1] for row in table(text, "Final state")}


def assert_bad_input(result: Result, message: str) -> None:
    """Exit 2, nothing on stdout, exactly one ``error:`` line on stderr, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == f"error: {message}\n"
    assert "Traceback" not in result.output


@pytest.fixture
def loop_csv(project: Path, graph_csv: Callable[..., Path]) -> Path:
    """A two-node loop that never exits, in a fresh project (current directory)."""
    return graph_csv(*LOOP_ROWS, name="loop.csv")


# --- run: success, output


def test_run_shows_summary_line_path_table_and_final_state(in_repo: Path) -> None:
    result = cli("run", "graphs/hello.csv", "--state", '{"input": "hi"}')
    assert result.exit_code == 0
    assert no_durations(result.stdout.splitlines()[0]) == "✔ Hello succeeded in <t> (2 nodes)"
    assert path_rows(result.stdout) == [
        ("1", "Start", "success", ""),
        ("2", "Respond", "success", ""),
    ]
    assert state_rows(result.stdout) == {
        "input": "hi",
        "echoed": "hi",
        "last_action_success": "true",
        "response": "Respond was asked: Say hello to the user (inputs: echoed='hi')",
    }
    assert result.stderr == ""


def test_run_failed_graph_shows_failure_line_and_errors_in_path_table(in_repo: Path) -> None:
    result = cli("run", "graphs/error_handling.csv", "--state", '{"data": "x,y"}')
    assert result.exit_code == 1
    assert no_durations(result.stdout.splitlines()[0]) == "✘ ErrorHandling failed in <t> (4 nodes)"
    assert path_rows(result.stdout) == [
        ("1", "ProcessData", "failure", "'x' is not a number"),
        ("2", "HandleError", "success", ""),
        ("3", "Retry", "failure", "no numbers to process"),
        ("4", "FinalFailure", "failure", "Could not process the data even after cleaning it"),
    ]


@pytest.mark.parametrize(
    ("state", "exit_code", "path"),
    [
        ('{"data": "1,2,3"}', 0, ["ProcessData", "Success"]),
        ('{"data": "1,x,3"}', 0, ["ProcessData", "HandleError", "Retry", "Success"]),
        ('{"data": "x,y"}', 1, ["ProcessData", "HandleError", "Retry", "FinalFailure"]),
    ],
    ids=["clean-data", "recovered-after-failure", "unrecoverable"],
)
def test_run_exit_code_follows_the_success_policy(
    in_repo: Path, state: str, exit_code: int, path: list[str]
) -> None:
    result = cli("run", "graphs/error_handling.csv", "--state", state, "--json")
    assert result.exit_code == exit_code
    document = json_of(result)
    assert document["summary"]["execution_path"] == path
    assert document["success"] is (exit_code == 0)


def test_run_exit_code_follows_a_success_policy_set_by_environment(in_repo: Path) -> None:
    env = {"AGENTMAP_EXECUTION__SUCCESS_POLICY__TYPE": "final_node"}
    result = cli("run", "graphs/error_handling.csv", "--state", '{"data": "1,x,3"}', env=env)
    assert result.exit_code == 0
    assert (
        no_durations(result.stdout.splitlines()[0])
        == "✔ ErrorHandling succeeded in <t> (4 nodes, recovered from 1 failure)"
    )


def test_a_recovered_run_says_which_failures_the_graph_took_care_of(in_repo: Path) -> None:
    result = cli("run", "graphs/error_handling.csv", "--state", '{"data": "1,x,3"}')
    assert result.exit_code == 0
    assert result.stderr == (
        "note: ProcessData failed and the graph's failure route was taken; the run ended on its "
        "last node's success\n"
    )  # and no resume hint: there is nothing to carry on


def test_under_all_nodes_a_recovered_run_fails_says_why_and_can_be_resumed(in_repo: Path) -> None:
    env = {"AGENTMAP_EXECUTION__SUCCESS_POLICY__TYPE": "all_nodes"}
    result = cli("run", "graphs/error_handling.csv", "--state", '{"data": "1,x,3"}', env=env)
    assert result.exit_code == 1
    note, hint = result.stderr.splitlines()
    assert note == (
        "note: the run recovered, but ProcessData failed on the way, and the success policy "
        "all_nodes counts every failure; set execution.success_policy to handled to count a "
        "failure the graph routes as recovered"
    )
    assert re.fullmatch(r"to carry this run on: agentmap resume [0-9a-f]{32}", hint)


def test_a_run_that_ends_at_a_failure_node_gets_no_resume_hint(in_repo: Path) -> None:
    result = cli("run", "graphs/error_handling.csv", "--state", '{"data": "x,y"}')
    assert result.exit_code == 1
    assert no_durations(result.stdout.splitlines()[0]) == "✘ ErrorHandling failed in <t> (4 nodes)"
    assert "resume" not in result.stderr


# --- run --json


def test_run_json_prints_exactly_one_json_document(in_repo: Path) -> None:
    result = cli("run", "graphs/hello.csv", "--state", '{"input": "hi"}', "--json")
    assert result.exit_code == 0
    document = json_of(result)
    assert document["final_state"] == HELLO_FINAL_STATE
    assert list(document["final_state"]) == ["input", "echoed", "last_action_success", "response"]
    assert document["success"] is True
    summary = document["summary"]
    assert summary["execution_path"] == ["Start", "Respond"]
    assert [(r["node"], r["success"], r["error"]) for r in summary["node_results"]] == [
        ("Start", True, None),
        ("Respond", True, None),
    ]
    assert all(isinstance(r["duration"], float) for r in summary["node_results"])
    assert isinstance(summary["total_duration"], float)
    assert result.stderr == ""


def test_run_json_of_a_failed_graph_carries_node_errors(in_repo: Path) -> None:
    result = cli("run", "graphs/error_handling.csv", "--state", '{"data": "x,y"}', "--json")
    assert result.exit_code == 1
    document = json_of(result)
    assert document["success"] is False
    assert [(r["node"], r["success"], r["error"]) for r in document["summary"]["node_results"]] == [
        ("ProcessData", False, "'x' is not a number"),
        ("HandleError", True, None),
        ("Retry", False, "no numbers to process"),
        ("FinalFailure", False, "Could not process the data even after cleaning it"),
    ]


@pytest.mark.parametrize("verbosity", ["-v", "-vv", "--verbose"])
def test_run_json_stdout_stays_one_document_with_verbose_logging(
    in_repo: Path, verbosity: str
) -> None:
    result = cli(
        "run", "graphs/error_handling.csv", "--state", '{"data": "1,x,3"}', "--json", verbosity
    )
    assert result.exit_code == 0
    assert json_of(result)["summary"]["execution_path"][0] == "ProcessData"
    assert "INFO agentmap.runner: node 'ProcessData' failed: 'x' is not a number" in result.stderr


def test_run_json_with_bad_input_prints_nothing_on_stdout(in_repo: Path) -> None:
    result = cli("run", "graphs/routing.csv", "--json")
    assert_bad_input(
        result,
        "graphs/routing.csv holds 3 graphs: Triage, Approval, Countdown — choose one with "
        "--graph NAME or graphs/routing.csv::NAME",
    )


# --- run -v / -vv


def test_run_without_verbose_logs_nothing_at_the_default_warning_level(in_repo: Path) -> None:
    result = cli("run", "graphs/error_handling.csv", "--state", '{"data": "x,y"}', "--json")
    assert result.exit_code == 1
    assert result.stderr == ""  # no log lines, and no resume hint: FinalFailure fails by design


def test_run_v_puts_info_log_lines_on_stderr(in_repo: Path) -> None:
    result = cli("run", "graphs/error_handling.csv", "--state", '{"data": "1,x,3"}', "-v", "--json")
    assert result.stderr == (
        "INFO agentmap.runner: node 'ProcessData' failed: 'x' is not a number\n"
        "INFO agentmap.agent.HandleError: recovering from: 'x' is not a number\n"
    )


@pytest.mark.parametrize(("flags", "shown"), [((), False), (("-v",), False), (("-vv",), True)])
def test_run_vv_adds_debug_log_lines(in_repo: Path, flags: tuple[str, ...], shown: bool) -> None:
    result = cli("run", "graphs/hello.csv", "--json", *flags)  # no state: Start's input is missing
    assert result.exit_code == 0
    line = "DEBUG agentmap.state: node 'Start': input 'input' is not in the state; passing None"
    assert (line in result.stderr.splitlines()) is shown


def test_logging_level_from_config_applies_without_verbose(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file("agentmap_config.yaml", "logging:\n  level: debug\n")
    graph_csv("Main,Start,echo,,,,input,out,,,", name="flow.csv")
    result = cli("run", "flow.csv", "--json")
    assert result.exit_code == 0
    assert result.stderr == (
        "DEBUG agentmap.state: node 'Start': input 'input' is not in the state; passing None\n"
    )


# --- run --state forms


@pytest.mark.parametrize(
    ("state", "expected_input"),
    [
        ('"hi"', "hi"),
        ("42", 42),
        ("[1, 2]", [1, 2]),
        ("true", True),
    ],
    ids=["string", "number", "list", "bool"],
)
def test_run_state_bare_json_value_becomes_input(
    in_repo: Path, state: str, expected_input: Any
) -> None:
    result = cli("run", "graphs/hello.csv", "--state", state, "--json")
    assert result.exit_code == 0
    final = json_of(result)["final_state"]
    assert final["input"] == expected_input
    assert final["echoed"] == expected_input


def test_run_state_json_object_is_the_initial_state(in_repo: Path) -> None:
    result = cli("run", "graphs/hello.csv", "-s", '{"input": "hi", "extra": 1}', "--json")
    final = json_of(result)["final_state"]
    assert final == {"extra": 1, **HELLO_FINAL_STATE}
    assert list(final) == ["input", "extra", "echoed", "last_action_success", "response"]


def test_run_state_at_file_reads_json_from_that_file(in_repo: Path, tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text('{"input": "hi"}', encoding="utf-8")
    result = cli("run", "graphs/hello.csv", "--state", f"@{state_file}", "--json")
    assert result.exit_code == 0
    assert json_of(result)["final_state"] == HELLO_FINAL_STATE


def test_run_state_at_file_with_utf8_bom_is_read(in_repo: Path, tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text('{"input": "hi"}', encoding="utf-8-sig")
    result = cli("run", "graphs/hello.csv", "--state", f"@{state_file}", "--json")
    assert json_of(result)["final_state"] == HELLO_FINAL_STATE


def test_run_state_dash_reads_json_from_stdin(in_repo: Path) -> None:
    result = cli("run", "graphs/hello.csv", "--state", "-", "--json", input='{"input": "hi"}\n')
    assert result.exit_code == 0
    assert json_of(result)["final_state"] == HELLO_FINAL_STATE


def test_run_without_state_starts_from_an_empty_state(in_repo: Path) -> None:
    result = cli("run", "graphs/hello.csv", "--json")
    assert json_of(result)["final_state"] == {
        "echoed": None,
        "last_action_success": True,
        "response": "Respond was asked: Say hello to the user (inputs: echoed=None)",
    }


# --- graph selection, --start


@pytest.mark.parametrize(
    "selection",
    [
        ("graphs/routing.csv::Approval",),
        ("graphs/routing.csv", "--graph", "Approval"),
        ("graphs/routing.csv", "-g", "Approval"),
        ("graphs/routing.csv::Approval", "--graph", "Approval"),
    ],
    ids=["file::graph", "--graph", "-g", "both-agreeing"],
)
def test_run_selects_a_graph_by_file_suffix_or_graph_option(
    in_repo: Path, selection: tuple[str, ...]
) -> None:
    result = cli("run", *selection, "--state", '{"approved": "yes"}', "--json")
    assert result.exit_code == 0
    document = json_of(result)
    assert document["graph_name"] == "Approval"
    assert document["summary"]["execution_path"] == ["Check", "Approve"]


def test_run_start_enters_the_graph_at_that_node(in_repo: Path) -> None:
    result = cli(
        "run", "graphs/hello.csv", "--start", "Respond", "-s", '{"echoed": "yo"}', "--json"
    )
    assert result.exit_code == 0
    document = json_of(result)
    assert document["summary"]["execution_path"] == ["Respond"]
    assert document["final_state"] == {
        "echoed": "yo",
        "last_action_success": True,
        "response": "Respond was asked: Say hello to the user (inputs: echoed='yo')",
    }


# --- run: bad input → 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope.csv",), "nope.csv: no such file — check the path"),
        (
            ("README.md",),
            "README.md: agentmap can't read '.md' files — use a graph file ending in "
            + ", ".join(SUFFIXES),
        ),
        (
            ("graphs/routing.csv",),
            "graphs/routing.csv holds 3 graphs: Triage, Approval, Countdown — choose one with "
            "--graph NAME or graphs/routing.csv::NAME",
        ),
        (
            ("graphs/routing.csv", "--graph", "Nope"),
            "no graph named 'Nope' in graphs/routing.csv (it holds: Triage, Approval, Countdown)",
        ),
        (
            ("graphs/routing.csv", "--graph", "Aproval"),
            "no graph named 'Aproval' in graphs/routing.csv — did you mean 'Approval'? "
            "(it holds: Triage, Approval, Countdown)",
        ),
        (
            ("graphs/routing.csv::Triag",),
            "no graph named 'Triag' in graphs/routing.csv — did you mean 'Triage'? "
            "(it holds: Triage, Approval, Countdown)",
        ),
        (
            ("graphs/routing.csv::Triage", "--graph", "Approval"),
            "graphs/routing.csv::Triage names graph 'Triage' but --graph asks for 'Approval' — "
            "give one of them",
        ),
        (
            ("graphs/hello.csv", "--start", "Respnd"),
            "--start: no node named 'Respnd' in graph 'Hello' — did you mean 'Respond'?",
        ),
        (
            ("graphs/hello.csv", "--state", "{bad"),
            "--state: not valid JSON (Expecting property name enclosed in double quotes at line 1 "
            f"column 2) — {BAD_STATE_HINT}",
        ),
        (
            ("graphs/hello.csv", "--state", "@missing.json"),
            "--state @missing.json: can't read missing.json (No such file or directory) — "
            "check the path",
        ),
        (
            ("graphs/hello.csv", "--state", "@graphs"),
            "--state @graphs: can't read graphs (Is a directory) — check the path",
        ),
        (
            ("graphs/hello.csv", "--config", "nothere.yaml"),
            "config file nothere.yaml does not exist — check the --config path",
        ),
    ],
    ids=[
        "missing-file",
        "not-a-csv",
        "several-graphs-none-chosen",
        "unknown-graph",
        "unknown-graph-did-you-mean",
        "unknown-graph-in-file-suffix",
        "file-suffix-and-graph-disagree",
        "unknown-start-did-you-mean",
        "state-not-json",
        "state-file-missing",
        "state-file-unreadable",
        "config-file-missing",
    ],
)
def test_run_bad_input_exits_2_with_one_clear_message(
    in_repo: Path, args: tuple[str, ...], message: str
) -> None:
    assert_bad_input(cli("run", *args), message)


def test_run_state_from_stdin_that_is_not_json_names_stdin(in_repo: Path) -> None:
    result = cli("run", "graphs/hello.csv", "--state", "-", input="not json")
    assert_bad_input(
        result,
        "--state - (stdin): not valid JSON (Expecting value at line 1 column 1) — "
        + BAD_STATE_HINT,
    )


def test_run_state_file_that_is_not_json_names_the_file(in_repo: Path, tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text("{'input': 'hi'}", encoding="utf-8")
    result = cli("run", "graphs/hello.csv", "--state", f"@{state_file}")
    assert_bad_input(
        result,
        f"--state @{state_file}: not valid JSON (Expecting property name enclosed in double "
        f"quotes at line 1 column 2) — {BAD_STATE_HINT}",
    )


def test_run_bad_csv_lists_every_problem_with_its_cell_and_runs_nothing(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(
        "Main,Start,echo,Nxt,,,input,out,,,",
        "Main,Work,ecco,End,,,input,out,,{bad,",
        'Main,End,echo,Start,,,input,out,,"{""retyr"": 1}"',
        "Main,Fan,echo,A|B,,,input,out,,,",
        name="flow.csv",
    )
    result = cli("run", "flow.csv", "--state", '"x"')
    assert result.exit_code == 2
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error ")]
    assert sorted(errors) == sorted(
        [
            "error flow.csv:2 D2 Edge: no node named 'Nxt' in graph 'Main'",
            "error flow.csv:3 C3 AgentType: unknown agent type 'ecco' — did you mean 'echo'? — fix "
            "the spelling, or run `agentmap scaffold flow.csv` to write a stub for it",
            "error flow.csv:3 J3 Context: Context starts with '{' but is not valid JSON (Expecting "
            "property name enclosed in double quotes at character 2) — fix the JSON, e.g. "
            '{"key": "value"}',
            "error flow.csv:4 J4 Context: Context key 'retyr' means nothing to agent type 'echo' "
            "— did you mean 'retry'? (it reads no keys of its own; every node reads reduce, retry, "
            "timeout) — fix the key or delete it",
            "error flow.csv:5 D5 Edge: no node named 'A' in graph 'Main'",
            "error flow.csv:5 D5 Edge: no node named 'B' in graph 'Main'",
        ]
    )
    assert result.stderr.splitlines()[-1] == "6 errors; nothing was run."
    assert "Traceback" not in result.output


def test_run_unknown_flag_exits_2_with_usage_and_no_traceback(in_repo: Path) -> None:
    result = cli("run", "graphs/hello.csv", "--bogus")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "No such option: --bogus" in result.stderr
    assert "Usage: agentmap run" in result.stderr
    assert "Traceback" not in result.output


def test_run_without_a_file_shows_usage_and_exits_2(in_repo: Path) -> None:
    result = cli("run")
    assert result.exit_code == 2
    assert "Usage: agentmap run [OPTIONS]" in result.output
    assert "Traceback" not in result.output


def test_run_custom_agent_module_that_fails_to_import_is_bad_input(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file("agents/broken.py", "x = 1 / 0\n")
    graph_csv("Main,Start,echo,,,,input,out,,,", name="flow.csv")
    result = cli("run", "flow.csv")
    broken = Path.cwd() / "agents" / "broken.py"
    assert_bad_input(
        result,
        f"{broken}:1: importing this module raised ZeroDivisionError: division by zero — fix the "
        "module (--debug shows the traceback)",
    )


def test_run_debug_shows_the_traceback_with_the_message(in_repo: Path) -> None:
    result = cli("run", "nope.csv", "--debug")
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert "GraphFileError" in result.stderr
    assert result.stderr.endswith("error: nope.csv: no such file — check the path\n")


# --- configuration


def test_run_unknown_config_key_is_named_with_its_file(
    project: Path, write_file: Callable[..., Path], loop_csv: Path
) -> None:
    config = write_file("agentmap_config.yaml", "execution:\n  max_stepz: 5\n")
    assert_bad_input(
        cli("run", "loop.csv"),
        f"{config.resolve()}: unknown key 'execution.max_stepz' — remove it or fix its spelling "
        "— did you mean 'max_steps'?",
    )


def test_run_unknown_config_section_is_named_with_its_file(
    project: Path, write_file: Callable[..., Path], loop_csv: Path
) -> None:
    config = write_file("agentmap_config.yaml", "executon:\n  max_steps: 5\n")
    assert_bad_input(
        cli("run", "loop.csv"),
        f"{config.resolve()}: unknown key 'executon' — remove it or fix its spelling — did you "
        "mean 'execution'?",
    )


def test_run_config_value_of_wrong_type_names_key_value_and_file(
    project: Path, write_file: Callable[..., Path], loop_csv: Path
) -> None:
    config = write_file("agentmap_config.yaml", "execution:\n  max_steps: lots\n")
    result = cli("run", "loop.csv")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {config.resolve()}: execution.max_steps: ")
    assert result.stderr.endswith("(got 'lots')\n")
    assert "Traceback" not in result.output


def test_run_config_that_is_not_yaml_names_file_and_line(
    project: Path, write_file: Callable[..., Path], loop_csv: Path
) -> None:
    config = write_file("agentmap_config.yaml", "execution:\n  max_steps: [5\n")
    result = cli("run", "loop.csv")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {config.resolve()}:3: not valid YAML (")
    assert result.stderr.endswith(") — fix the syntax at that line\n")
    assert "Traceback" not in result.output


def test_run_bad_explicit_config_is_named_with_its_file(
    project: Path, write_file: Callable[..., Path], loop_csv: Path
) -> None:
    config = write_file("conf/custom.yaml", "paths:\n  agents: x\n")
    result = cli("run", "loop.csv", "--config", "conf/custom.yaml")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {config.resolve()}: unknown key 'paths.agents'")


def test_run_environment_variable_with_wrong_type_is_named(project: Path, loop_csv: Path) -> None:
    result = cli("run", "loop.csv", env={"AGENTMAP_EXECUTION__MAX_STEPS": "abc"})
    assert result.exit_code == 2
    assert result.stderr.startswith("error: AGENTMAP_EXECUTION__MAX_STEPS: execution.max_steps: ")
    assert result.stderr.endswith("(got 'abc')\n")


def test_run_config_option_resolves_paths_against_the_config_folder(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file(
        "elsewhere/agentmap_config.yaml",
        "paths:\n  custom_agents: my_agents\n  functions: my_functions\n",
    )
    write_file(
        "elsewhere/my_agents/shout.py",
        """
        from agentmap import agent


        @agent("shout")
        def shout(inputs):
            return str(inputs["input"]).upper()
        """,
    )
    write_file(
        "elsewhere/my_functions/routes.py",
        """
        def to_end(state, success_target, failure_target):
            return "End"
        """,
    )
    graph_csv("Main,Start,shout,func:to_end,,,input,loud,,,", "Main,End,echo,,,,loud,final,,,")
    result = cli(
        "run", "flow.csv", "--config", "elsewhere/agentmap_config.yaml", "-s", '"hi"', "--json"
    )
    assert result.exit_code == 0, result.output
    document = json_of(result)
    assert document["summary"]["execution_path"] == ["Start", "End"]
    assert document["final_state"] == {
        "input": "hi",
        "loud": "HI",
        "last_action_success": True,
        "final": "HI",
    }


def test_run_without_config_option_does_not_see_another_folders_agents(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file("elsewhere/agentmap_config.yaml", "paths:\n  custom_agents: my_agents\n")
    write_file(
        "elsewhere/my_agents/shout.py",
        'from agentmap import agent\n\n\n@agent("shout")\ndef shout(inputs):\n    return 1\n',
    )
    graph_csv("Main,Start,shout,,,,input,loud,,,")
    result = cli("run", "flow.csv")
    assert result.exit_code == 2
    assert "error flow.csv:2 C2 AgentType: unknown agent type 'shout'" in result.stderr


def test_run_config_in_current_directory_is_used(
    project: Path, write_file: Callable[..., Path], loop_csv: Path
) -> None:
    write_file("agentmap_config.yaml", "execution:\n  max_steps: 4\n")
    result = cli("run", "loop.csv", "--json")
    assert json_of(result)["summary"]["execution_path"] == ["A", "B", "A", "B"]


def test_environment_variable_overrides_max_steps_from_the_config_file(
    project: Path, write_file: Callable[..., Path], loop_csv: Path
) -> None:
    write_file("agentmap_config.yaml", "execution:\n  max_steps: 5\n")
    result = cli("run", "loop.csv", "--json", env={"AGENTMAP_EXECUTION__MAX_STEPS": "3"})
    assert result.exit_code == 1
    document = json_of(result)
    assert document["summary"]["execution_path"] == ["A", "B", "A"]
    assert result.stderr == f"error: {MAX_STEPS_ERROR.format(n=3)}\n" + resume_line(document)


# --- run errors (RunError)


def test_run_error_exits_1_with_the_message_on_stderr(
    project: Path, write_file: Callable[..., Path], loop_csv: Path
) -> None:
    write_file("agentmap_config.yaml", "execution:\n  max_steps: 5\n")
    result = cli("run", "loop.csv", "--state", '"x"')
    assert result.exit_code == 1
    assert re.fullmatch(
        re.escape(f"error: {MAX_STEPS_ERROR.format(n=5)}\n") + RESUME_LINE, result.stderr
    ), result.stderr
    assert [row[1] for row in path_rows(result.stdout)] == ["A", "B", "A", "B", "A"]
    assert "Traceback" not in result.output


def test_run_error_with_json_prints_the_partial_result_and_an_error_key(
    project: Path, write_file: Callable[..., Path], loop_csv: Path
) -> None:
    write_file("agentmap_config.yaml", "execution:\n  max_steps: 5\n")
    result = cli("run", "loop.csv", "--state", '"x"', "--json")
    assert result.exit_code == 1
    document = json_of(result)
    assert document["error"] == MAX_STEPS_ERROR.format(n=5)
    assert document["summary"]["execution_path"] == ["A", "B", "A", "B", "A"]
    assert document["final_state"] == {"input": "x", "last_action_success": True}
    assert result.stderr == f"error: {MAX_STEPS_ERROR.format(n=5)}\n" + resume_line(document)


def test_run_error_partial_result_is_not_reported_as_success(
    project: Path, write_file: Callable[..., Path], loop_csv: Path
) -> None:
    """A run stopped by max_steps did not succeed: its JSON must not say so (exit code is 1)."""
    write_file("agentmap_config.yaml", "execution:\n  max_steps: 5\n")
    document = json_of(cli("run", "loop.csv", "--state", '"x"', "--json"))
    assert document["success"] is False


def test_run_error_partial_result_is_not_shown_as_succeeded(
    project: Path, write_file: Callable[..., Path], loop_csv: Path
) -> None:
    write_file("agentmap_config.yaml", "execution:\n  max_steps: 5\n")
    result = cli("run", "loop.csv", "--state", '"x"')
    assert no_durations(result.stdout.splitlines()[0]) == "✘ Loop failed in <t> (5 nodes)"


def test_run_routing_function_returning_no_node_is_a_run_error(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file(
        "functions/routes.py",
        "def lost(state, success_target, failure_target):\n    return 'Nowhere'\n",
    )
    graph_csv("Main,Start,echo,func:lost,,,input,out,,,", "Main,End,echo,,,,out,final,,,")
    result = cli("run", "flow.csv", "-s", '"x"', "--json")
    message = (
        "routing function 'lost' (node 'Start') returned 'Nowhere', which is no node of graph "
        "'Main' — return a node name, or None to end the run"
    )
    assert result.exit_code == 1
    document = json_of(result)
    assert result.stderr == f"error: {message}\n" + resume_line(document)
    assert document["error"] == message


# --- validate


def test_validate_valid_file_exits_0_and_names_its_graphs(in_repo: Path) -> None:
    result = cli("validate", "graphs/routing.csv")
    assert result.exit_code == 0
    assert result.stdout == (
        "✔ graphs/routing.csv is valid: Triage (4 nodes), Approval (3 nodes), Countdown (2 nodes)\n"
    )
    assert result.stderr == ""


@pytest.mark.parametrize("example", ["hello.csv", "error_handling.csv", "routing.csv"])
def test_validate_every_example_graph_is_valid(in_repo: Path, example: str) -> None:
    result = cli("validate", f"graphs/{example}")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"✔ graphs/{example} is valid")


def test_validate_prints_warnings_on_stderr_and_still_exits_0(
    project: Path, write_file: Callable[..., Path]
) -> None:
    write_file(
        "warn.csv",
        """
        GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,Extra
        Main,Start,echo,,,,input,out,
        Main,Orphan,echo,,,,input,out,
        """,
    )
    result = cli("validate", "warn.csv")
    assert result.exit_code == 0
    assert result.stderr == (
        "warning warn.csv:1 I1: unknown column 'Extra' is ignored\n"
        "warning warn.csv:3 B3 Node: node 'Orphan' can't be reached from the entry node 'Start' "
        "— route to it or delete it\n"
    )
    assert result.stdout == "✔ warn.csv is valid, 2 warning(s): Main (2 nodes)\n"


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        (
            ("Main,Start,echo,Respnd,,,input,out,,,", "Main,Respond,echo,,,,out,o2,,,"),
            "flow.csv:2 D2 Edge: no node named 'Respnd' in graph 'Main'",
        ),
        (
            ("Main,Start,echo,,,,input,out,,,", "Main,Start,echo,,,,input,out,,,"),
            "flow.csv:3 B3 Node: node 'Start' is defined twice in graph 'Main' (rows 2 and 3)",
        ),
        (
            ("Main,Start,ecco,,,,input,out,,,",),
            "flow.csv:2 C2 AgentType: unknown agent type 'ecco' — did you mean 'echo'?",
        ),
        (
            ('Main,Start,branching,,,,input,out,,"{""sucess_values"": ""ok""}",',),
            "flow.csv:2 J2 Context: Context key 'sucess_values' means nothing to agent type "
            "'branching' — did you mean 'success_values'?",
        ),
        (
            ('Main,Start,echo,,,,input,out,,"{""a"": }",',),
            "flow.csv:2 J2 Context: Context starts with '{' but is not valid JSON",
        ),
        (
            ("Main,Start,echo,,func:nowhere,,input,out,,,",),
            "flow.csv:2 E2 Success_Next: no routing function named 'nowhere'",
        ),
        (
            ("Main,Start,echo,,,A|B,input,out,,,", "Main,A,echo,,,,,,,,"),
            "flow.csv:2 F2 Failure_Next: no node named 'B' in graph 'Main'",
        ),
    ],
    ids=[
        "unknown-target",
        "duplicate-node",
        "unknown-agent-type",
        "misspelt-context-key",
        "bad-context-json",
        "missing-function",
        "fan-out",
    ],
)
def test_validate_invalid_file_exits_1_naming_the_cell(
    project: Path, graph_csv: Callable[..., Path], rows: tuple[str, ...], problem: str
) -> None:
    graph_csv(*rows)
    result = cli("validate", "flow.csv")
    assert result.exit_code == 1
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("error ")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"error {problem}")
    assert result.stderr.endswith("1 error; nothing was run.\n")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "error e.csv: the file is empty"),
        ("GraphName,Node\n", "error e.csv:1: the file has a header but no nodes"),
        ("Node,AgentType\nA,echo\n", "error e.csv:1: required column GraphName is missing"),
    ],
    ids=["empty", "header-only", "missing-required-column"],
)
def test_validate_unusable_table_exits_1(
    project: Path, write_file: Callable[..., Path], text: str, problem: str
) -> None:
    write_file("e.csv", text)
    result = cli("validate", "e.csv")
    assert result.exit_code == 1
    assert result.stderr.startswith(problem)


def test_validate_lists_every_problem_in_one_go(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(
        "Main,Start,ecco,Nxt,,,input,out,,,",
        "Main,End,echo,,,,out,final,,{oops,",
    )
    result = cli("validate", "flow.csv")
    assert result.exit_code == 1
    places = sorted(
        line.split(":", 2)[0] + ":" + line.split(":", 2)[1]
        for line in result.stderr.splitlines()
        if line.startswith("error ")
    )
    assert places == [
        "error flow.csv:2 C2 AgentType",
        "error flow.csv:2 D2 Edge",
        "error flow.csv:3 J3 Context",
    ]
    assert result.stderr.endswith("3 errors; nothing was run.\n")


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [
        (("two.csv", "--graph", "Good"), 0),
        (("two.csv::Good",), 0),
        (("two.csv", "--graph", "Bad"), 1),
        (("two.csv",), 1),
    ],
    ids=["graph-option-valid", "file-suffix-valid", "graph-option-invalid", "whole-file"],
)
def test_validate_graph_option_checks_only_that_graph(
    project: Path, graph_csv: Callable[..., Path], args: tuple[str, ...], exit_code: int
) -> None:
    graph_csv(
        "Good,Start,echo,,,,input,out,,,", "Bad,Start,echo,Nowhere,,,input,out,,,", name="two.csv"
    )
    assert cli("validate", *args).exit_code == exit_code


def test_validate_graph_option_does_not_call_the_other_graphs_valid(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(
        "Good,Start,echo,,,,input,out,,,", "Bad,Start,echo,Nowhere,,,input,out,,,", name="two.csv"
    )
    result = cli("validate", "two.csv", "--graph", "Good")
    assert result.exit_code == 0
    assert "Good" in result.stdout
    assert "Bad" not in result.stdout  # Bad was not checked (and is not valid)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope.csv",), "nope.csv: no such file — check the path"),
        (
            ("graphs/hello.csv", "--graph", "Helo"),
            "no graph named 'Helo' in graphs/hello.csv — did you mean 'Hello'? (it holds: Hello)",
        ),
        (
            ("README.md",),
            "README.md: agentmap can't read '.md' files — use a graph file ending in "
            + ", ".join(SUFFIXES),
        ),
    ],
    ids=["missing-file", "unknown-graph", "not-a-csv"],
)
def test_validate_unreadable_file_exits_2(
    in_repo: Path, args: tuple[str, ...], message: str
) -> None:
    assert_bad_input(cli("validate", *args), message)


def test_validate_file_that_is_not_utf8_exits_2(project: Path) -> None:
    (project / "latin.csv").write_bytes(b"GraphName,Node\nMain,caf\xe9\n")
    result = cli("validate", "latin.csv")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: latin.csv:2: the file is not UTF-8: byte 0xE9")
    assert "Traceback" not in result.output


def test_validate_bad_config_exits_2(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    config = write_file("agentmap_config.yaml", "loging:\n  level: INFO\n")
    graph_csv("Main,Start,echo,,,,input,out,,,")
    assert_bad_input(
        cli("validate", "flow.csv"),
        f"{config.resolve()}: unknown key 'loging' — remove it or fix its spelling — did you "
        "mean 'logging'?",
    )


# --- scaffold

AGENT_ROWS = (
    "Main,Start,summarize_text,,End,Oops,text|lang:language,summary,,,"
    "Summarize the text in a few words",
    "Main,End,echo,,,,summary,final,,,",
    "Main,Oops,echo,,,,error,reported,,,",
)
FUNCTION_ROWS = (
    "Main,Start,echo,func:pick_next,End,Oops,text,checked,,,Check the text arrived",
    "Main,End,echo,,,,checked,final,,,",
    "Main,Oops,echo,,,,error,reported,,,",
)
BOTH_ROWS = (
    "Main,Start,echo,func:pick_next,Summarize,Oops,text,checked,,,Check the text arrived",
    "Main,Summarize,summarize_text,,End,Oops,text|lang:language,summary,,,"
    "Summarize the text in a few words",
    "Main,End,echo,,,,summary,final,,,",
    "Main,Oops,echo,,,,error,reported,,,",
)
NOT_WRITTEN = "summarize_text agent is not written yet — edit this file"


def test_scaffold_writes_one_agent_module_into_the_agents_folder(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*AGENT_ROWS)
    result = cli("scaffold", "flow.csv")
    assert result.exit_code == 0
    module = Path.cwd() / "agents" / "summarize_text.py"
    assert result.stdout == f"wrote {module}\n"
    assert sorted(p.name for p in (project / "agents").iterdir()) == ["summarize_text.py"]
    assert list((project / "functions").iterdir()) == []


def test_scaffold_agent_stub_is_built_from_the_rows_description_inputs_and_output(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*AGENT_ROWS)
    cli("scaffold", "flow.csv")
    text = (project / "agents" / "summarize_text.py").read_text(encoding="utf-8")
    compile(text, "summarize_text.py", "exec")
    assert "class SummarizeTextAgent(Agent):" in text
    assert "    agent_type = 'summarize_text'\n" in text
    assert '    """Summarize the text in a few words\n' in text
    assert (
        "    - Start in graph Main (flow.csv, row 2): Summarize the text in a few words\n" in text
    )
    assert "    Inputs: text, language\n" in text
    assert "    Returns: the value for 'summary'\n" in text
    assert "        text = inputs['text']\n        language = inputs['language']\n" in text
    assert f'raise NotImplementedError("{NOT_WRITTEN}")' in text


def test_scaffold_one_module_per_agent_type_listing_every_node_that_uses_it(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(
        "Main,First,translate,Second,,,text,fr,,,Into French",
        "Main,Second,translate,,,,fr,de,,,Then into German",
    )
    result = cli("scaffold", "flow.csv")
    assert result.stdout == f"wrote {Path.cwd() / 'agents' / 'translate.py'}\n"
    text = (project / "agents" / "translate.py").read_text(encoding="utf-8")
    assert "    - First in graph Main (flow.csv, row 2): Into French\n" in text
    assert "    - Second in graph Main (flow.csv, row 3): Then into German\n" in text


def test_scaffold_writes_one_function_module_into_the_functions_folder(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*FUNCTION_ROWS)
    result = cli("scaffold", "flow.csv")
    assert result.exit_code == 0
    module = Path.cwd() / "functions" / "pick_next.py"
    assert result.stdout == f"wrote {module}\n"
    text = module.read_text(encoding="utf-8")
    compile(text, "pick_next.py", "exec")
    assert "def pick_next(\n    state: Mapping[str, Any], success_target: str | None" in text
    assert "    - Start in graph Main (flow.csv, row 2): Check the text arrived\n" in text
    assert list((project / "agents").iterdir()) == []


def test_scaffold_writes_into_the_configured_folders(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file(
        "agentmap_config.yaml", "paths:\n  custom_agents: src/my_agents\n  functions: routes\n"
    )
    graph_csv(*BOTH_ROWS)
    result = cli("scaffold", "flow.csv")
    assert result.exit_code == 0
    assert result.stdout == (
        f"wrote {Path.cwd() / 'src' / 'my_agents' / 'summarize_text.py'}\n"
        f"wrote {Path.cwd() / 'routes' / 'pick_next.py'}\n"
    )


def test_scaffold_never_overwrites_an_existing_file_and_reports_it_kept(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    mine = write_file("agents/summarize_text.py", "# my own notes, not an agent yet\n")
    graph_csv(*BOTH_ROWS)
    result = cli("scaffold", "flow.csv")
    assert result.exit_code == 0
    cwd = Path.cwd()
    assert result.stdout == (
        f"wrote {cwd / 'functions' / 'pick_next.py'}\n"
        f"kept {cwd / 'agents' / 'summarize_text.py'} (exists; not overwritten)\n"
    )
    assert mine.read_text(encoding="utf-8") == "# my own notes, not an agent yet\n"


def test_scaffold_rerun_leaves_the_written_files_untouched(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*AGENT_ROWS)
    cli("scaffold", "flow.csv")
    module = project / "agents" / "summarize_text.py"
    module.write_text(module.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    result = cli("scaffold", "flow.csv")
    assert result.exit_code == 0
    assert "wrote" not in result.stdout
    assert module.read_text(encoding="utf-8").endswith("# edited\n")


def test_scaffold_with_nothing_missing_says_so(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv("Main,Start,echo,,,,input,out,,,")
    result = cli("scaffold", "flow.csv")
    assert result.exit_code == 0
    assert result.stdout == (
        "Nothing to scaffold: every agent type and function the graph uses exists.\n"
    )
    assert list((project / "agents").iterdir()) == []


@pytest.mark.parametrize(
    "selection",
    [("flow.csv", "--graph", "Two"), ("flow.csv::Two",)],
    ids=["--graph", "file::graph"],
)
def test_scaffold_graph_selection_scaffolds_only_that_graph(
    project: Path, graph_csv: Callable[..., Path], selection: tuple[str, ...]
) -> None:
    graph_csv("One,Start,alpha,,,,input,out,,,", "Two,Start,beta,,,,input,out,,,")
    result = cli("scaffold", *selection)
    assert result.stdout == f"wrote {Path.cwd() / 'agents' / 'beta.py'}\n"
    assert [p.name for p in (project / "agents").iterdir()] == ["beta.py"]


def test_scaffold_function_name_that_is_no_python_name_is_a_warning(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv("Main,Start,echo,func:pick-next,,,input,out,,,")
    result = cli("scaffold", "flow.csv")
    assert result.exit_code == 0
    assert result.stderr == (
        "warning func:pick-next is not a valid Python function name — rename it in the graph\n"
    )
    assert list((project / "functions").iterdir()) == []


def test_scaffold_missing_file_exits_2(project: Path) -> None:
    assert_bad_input(cli("scaffold", "nope.csv"), "nope.csv: no such file — check the path")


def test_scaffolded_graph_then_validates(project: Path, graph_csv: Callable[..., Path]) -> None:
    graph_csv(*AGENT_ROWS)
    assert cli("validate", "flow.csv").exit_code == 1
    cli("scaffold", "flow.csv")
    result = cli("validate", "flow.csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "✔ flow.csv is valid: Main (3 nodes)\n"


def test_scaffolded_agent_fails_its_node_with_not_written_yet(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*AGENT_ROWS)
    cli("scaffold", "flow.csv")
    result = cli("run", "flow.csv", "-s", '{"text": "a b", "lang": "en"}', "--json")
    assert result.exit_code == 0  # the graph routes Start's failure to Oops, which reports it
    document = json_of(result)
    assert document["summary"]["handled_failures"] == ["Start"]
    assert document["summary"]["execution_path"] == ["Start", "Oops"]
    assert document["summary"]["node_results"][0]["error"] == NOT_WRITTEN
    assert document["final_state"] == {
        "text": "a b",
        "lang": "en",
        "last_action_success": True,
        "error": NOT_WRITTEN,
        "reported": NOT_WRITTEN,
    }
    assert result.stderr == ""


def test_scaffolded_function_graph_then_validates(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    """``func:`` in Edge with Success_Next/Failure_Next as its targets is valid (the issue)."""
    graph_csv(*FUNCTION_ROWS)
    cli("scaffold", "flow.csv")
    result = cli("validate", "flow.csv")
    assert result.exit_code == 0, result.stderr


def test_scaffolded_routing_function_routes_as_written(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*FUNCTION_ROWS)
    cli("scaffold", "flow.csv")
    result = cli("run", "flow.csv", "-s", '{"text": "a b"}', "--json")
    assert result.exit_code == 0, result.stderr
    assert json_of(result)["summary"]["execution_path"] == ["Start", "End"]


def test_scaffolded_routing_function_without_targets_ends_the_run(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(
        "Main,Start,echo,func:pick_next,,,text,checked,,,", "Main,End,echo,,,,checked,final,,,"
    )
    cli("scaffold", "flow.csv")
    result = cli("run", "flow.csv", "-s", '{"text": "a b"}', "--json")
    assert result.exit_code == 0, result.stderr
    assert json_of(result)["summary"]["execution_path"] == ["Start"]


def test_scaffold_then_run_takes_the_failure_route_of_the_unwritten_agent(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*BOTH_ROWS)
    cli("scaffold", "flow.csv")
    assert cli("validate", "flow.csv").exit_code == 0
    result = cli("run", "flow.csv", "-s", '{"text": "a b", "lang": "en"}', "--json")
    assert result.exit_code == 0  # Summarize's failure is routed to Oops, which reports it
    document = json_of(result)
    assert document["summary"]["failed_nodes"] == ["Summarize"]
    assert document["summary"]["execution_path"] == ["Start", "Summarize", "Oops"]
    assert document["final_state"]["reported"] == NOT_WRITTEN


# --- init


def test_init_creates_config_hello_graph_and_agents_folder(project: Path) -> None:
    result = cli("init", "newproj")
    assert result.exit_code == 0
    root = project / "newproj"
    assert (root / "agentmap_config.yaml").is_file()
    assert (root / "graphs" / "hello.csv").is_file()
    assert (root / "agents").is_dir()
    lines = result.stdout.splitlines()
    assert "wrote newproj/agentmap_config.yaml" in lines
    assert "wrote newproj/graphs/hello.csv" in lines
    assert lines[-1] == f"Next: cd newproj && {NEXT_HINT}"


def test_init_in_current_directory_prints_next_command_without_cd(project: Path) -> None:
    result = cli("init")
    assert result.exit_code == 0
    assert (project / "graphs" / "hello.csv").is_file()
    assert result.stdout.splitlines()[-1] == f"Next: {NEXT_HINT}"


def test_init_project_runs_hello_at_once(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli("init", "newproj")
    monkeypatch.chdir(project / "newproj")
    result = cli("run", "graphs/hello.csv", "--state", '{"input": "hi"}', "--json")
    assert result.exit_code == 0
    assert json_of(result)["final_state"] == HELLO_FINAL_STATE
    assert cli("validate", "graphs/hello.csv").exit_code == 0


def test_init_config_holds_every_key_at_its_default(project: Path) -> None:
    cli("init", "newproj")
    written = yaml.safe_load((project / "newproj" / "agentmap_config.yaml").read_text("utf-8"))
    assert written == Settings().model_dump(mode="json")


def test_init_never_overwrites_and_reports_what_it_kept(project: Path) -> None:
    cli("init", "newproj")
    config = project / "newproj" / "agentmap_config.yaml"
    hello = project / "newproj" / "graphs" / "hello.csv"
    config.write_text("# mine\n", encoding="utf-8")
    hello.write_text("GraphName,Node\nMine,Only\n", encoding="utf-8")
    result = cli("init", "newproj")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "kept newproj/agentmap_config.yaml (exists; not overwritten)" in lines
    assert "kept newproj/graphs/hello.csv (exists; not overwritten)" in lines
    assert not any(line.startswith("wrote ") for line in lines)
    assert config.read_text(encoding="utf-8") == "# mine\n"
    assert hello.read_text(encoding="utf-8") == "GraphName,Node\nMine,Only\n"


def test_init_into_a_path_that_is_a_file_is_bad_input(project: Path) -> None:
    (project / "taken").write_text("a file\n", encoding="utf-8")
    result = cli("init", "taken")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    assert "taken" in result.stderr
    assert "bug in agentmap" not in result.stderr
    assert "Traceback" not in result.output


# --- version, help, completion


def test_version_prints_name_and_version() -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout == f"agentmap {__version__}\n"


def test_top_level_help_lists_every_command() -> None:
    result = cli("--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: agentmap [OPTIONS] COMMAND [ARGS]...")
    assert "Run AI-agent workflows defined as CSV tables." in result.stdout
    for command in ("run", "validate", "scaffold", "init"):
        assert re.search(rf"^  {command} +\S", result.stdout, re.MULTILINE), command


def test_the_commands_include_run_validate_scaffold_init() -> None:
    group = typer.main.get_command(app)
    assert {"init", "run", "scaffold", "validate"} <= set(group.commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", ["run", "validate", "scaffold", "init"])
def test_every_command_help_shows_usage_and_its_description(command: str) -> None:
    description = typer.main.get_command(app).commands[command].help  # type: ignore[attr-defined]
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: agentmap {command} [OPTIONS]")
    first_line = description.strip().splitlines()[0]
    assert " ".join(first_line.split()) in " ".join(result.stdout.split())


def test_every_command_argument_and_option_has_help_text() -> None:
    group = typer.main.get_command(app)
    undocumented = [
        f"{name} {param.name}" if param else name
        for name, command in group.commands.items()  # type: ignore[attr-defined]
        for param in [None, *command.params]
        if not ((param.help if param else command.help) or "").strip()
    ]
    assert undocumented == []


@pytest.mark.parametrize(
    ("option", "command"),
    [
        ("--graph", "run"),
        ("--state", "run"),
        ("--start", "run"),
        ("--json", "run"),
        ("--config", "run"),
        ("--verbose", "run"),
        ("--debug", "run"),
        ("--graph", "validate"),
        ("--config", "validate"),
        ("--verbose", "validate"),
        ("--debug", "validate"),
        ("--graph", "scaffold"),
        ("--config", "scaffold"),
        ("--debug", "scaffold"),
        ("--debug", "init"),
    ],
)
def test_command_help_documents_each_option(option: str, command: str) -> None:
    assert option in cli(command, "--help").stdout
