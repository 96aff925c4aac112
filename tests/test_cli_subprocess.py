"""The installed ``agentmap`` command (and ``python -m agentmap``) run as real subprocesses.

End-to-end runs of the example graphs in ``graphs/`` with exact paths, final states and exit
codes; ``agentmap init`` followed by a run in the new folder; and every ``agentmap`` command
README.md shows. In-process CLI tests (faster, more cases) are in ``test_cli.py``.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentmap._version import __version__
from helpers import clean_env, in_repo_env

REPO = Path(__file__).resolve().parent.parent
AGENTMAP = shutil.which("agentmap") or str(Path(sys.executable).parent / "agentmap")
DURATION = re.compile(r" *\d+(?:\.\d+)? (?:µs|ms|s)\b")
HELLO_RESPONSE = "Respond was asked: Say hello to the user (inputs: echoed='hi')"


def agentmap(
    *args: str,
    cwd: Path = REPO,
    input: str | None = None,
    env: dict[str, str] | None = None,
    module: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the installed command (or ``python -m agentmap``) with ``args`` in ``cwd``."""
    command = [sys.executable, "-m", "agentmap"] if module else [AGENTMAP]
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        input=input,
        env=in_repo_env(env) if cwd == REPO else env or clean_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def json_of(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """All of stdout as one JSON document."""
    document = json.loads(done.stdout)
    assert isinstance(document, dict)
    return document


def no_durations(text: str) -> str:
    return DURATION.sub(" <t>", text)


# --- the command itself


def test_installed_command_exists() -> None:
    assert Path(AGENTMAP).is_file(), f"no agentmap command at {AGENTMAP}"


@pytest.mark.parametrize("module", [False, True], ids=["agentmap", "python -m agentmap"])
def test_version_from_command_and_module(module: bool) -> None:
    done = agentmap("--version", module=module)
    assert done.returncode == 0
    assert done.stdout == f"agentmap {__version__}\n"
    assert done.stderr == ""


def test_python_m_agentmap_runs_a_graph() -> None:
    done = agentmap("run", "graphs/hello.csv", "--state", '"hi"', "--json", module=True)
    assert done.returncode == 0
    assert json_of(done)["final_state"]["response"] == HELLO_RESPONSE


def test_help_lists_the_commands() -> None:
    done = agentmap("--help")
    assert done.returncode == 0
    for command in ("run", "validate", "scaffold", "init"):
        assert re.search(rf"^  {command} +\S", done.stdout, re.MULTILINE), command


def test_bad_input_exits_2_with_one_message_and_no_traceback() -> None:
    done = agentmap("run", "graphs/missing.csv", "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "error: graphs/missing.csv: no such file — check the path\n"


def test_debug_shows_a_traceback() -> None:
    done = agentmap("run", "graphs/missing.csv", "--debug")
    assert done.returncode == 2
    assert "Traceback" in done.stderr
    assert done.stderr.endswith("error: graphs/missing.csv: no such file — check the path\n")


def test_shell_completion_script_is_shown_for_the_shell_it_runs_in() -> None:
    # typer finds the shell among the command's parent processes, so start it from bash (with
    # a second command after it, so bash stays its parent rather than exec-ing it).
    done = subprocess.run(
        ["bash", "-c", f"{shlex.quote(AGENTMAP)} --show-completion; exit $?"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "_AGENTMAP_COMPLETE=complete_bash" in done.stdout
    assert done.stdout.rstrip().endswith("complete -o default -F _agentmap_completion agentmap")


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [
        ("agentmap r", "1", ["resume", "run", "runs"]),
        ("agentmap run --sta", "2", ["--state", "--start"]),
    ],
    ids=["command", "option"],
)
def test_shell_completion_completes_commands_and_options(
    words: str, cword: str, expected: list[str]
) -> None:
    env = clean_env(_AGENTMAP_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD=cword)
    done = agentmap(env=env)
    assert done.returncode == 0
    assert sorted(done.stdout.split()) == sorted(expected)


# --- graphs/hello.csv


HELLO_OUTPUT = [
    "✔ Hello succeeded in <t> (2 nodes)",
    "Execution path",
    " # ┃ Node    ┃ Outcome ┃ Duration ┃ Error",
    "━━━╇━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━",
    " 1 │ Start   │ success │ <t> │",
    " 2 │ Respond │ success │ <t> │",
    "Final state",
    " Key                 ┃ Value",
    "━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━",
    " input               │ hi",
    " echoed              │ hi",
    " last_action_success │ true",
    f" response            │ {HELLO_RESPONSE}",
]


def test_hello_shows_the_path_table_and_the_final_state() -> None:
    done = agentmap("run", "graphs/hello.csv", "--state", '{"input": "hi"}')
    assert done.returncode == 0
    assert [no_durations(line).rstrip() for line in done.stdout.splitlines()] == HELLO_OUTPUT
    assert done.stderr == ""


def test_hello_state_evolves_input_then_echoed_then_response() -> None:
    env = clean_env(
        AGENTMAP_EXECUTION__TRACKING__TRACK_INPUTS="true",
        AGENTMAP_EXECUTION__TRACKING__TRACK_OUTPUTS="true",
    )
    done = agentmap("run", "graphs/hello.csv", "--state", '{"input": "hi"}', "--json", env=env)
    assert done.returncode == 0
    document = json_of(done)
    steps = [(r["node"], r["inputs"], r["output"]) for r in document["summary"]["node_results"]]
    assert steps == [
        ("Start", {"input": "hi"}, "hi"),
        ("Respond", {"echoed": "hi"}, HELLO_RESPONSE),
    ]
    assert document["final_state"] == {
        "input": "hi",
        "echoed": "hi",
        "last_action_success": True,
        "response": HELLO_RESPONSE,
    }
    assert list(document["final_state"]) == ["input", "echoed", "last_action_success", "response"]


def test_state_from_stdin() -> None:
    done = agentmap("run", "graphs/hello.csv", "--state", "-", "--json", input='{"input": "hi"}')
    assert done.returncode == 0
    assert json_of(done)["final_state"]["echoed"] == "hi"


def test_verbose_logs_go_to_stderr_and_stdout_stays_one_json_document() -> None:
    done = agentmap(
        "run", "graphs/error_handling.csv", "--state", '{"data": "1,x,3"}', "--json", "-v"
    )
    assert done.returncode == 0  # recovered: ProcessData's failure is routed to HandleError
    document = json_of(done)
    assert document["summary"]["execution_path"][-1] == "Success"
    assert done.stderr == (
        "INFO agentmap.runner: node 'ProcessData' failed: 'x' is not a number\n"
        "INFO agentmap.agent.HandleError: recovering from: 'x' is not a number\n"
    )


# --- graphs/error_handling.csv


@pytest.mark.parametrize(
    ("data", "exit_code", "path", "final_state"),
    [
        (
            "1,2,3",
            0,
            ["ProcessData", "Success"],
            {"data": "1,2,3", "result": 6.0, "last_action_success": True, "final_result": 6.0},
        ),
        (
            "1,x,3",
            0,  # ProcessData failed, and the run took the route the graph gives it
            ["ProcessData", "HandleError", "Retry", "Success"],
            {
                "data": "1,x,3",
                "last_action_success": True,
                "error": "'x' is not a number",
                "cleaned_data": "1,3",
                "result": 4.0,
                "final_result": 4.0,
            },
        ),
        (
            "x,y",
            1,
            ["ProcessData", "HandleError", "Retry", "FinalFailure"],
            {
                "data": "x,y",
                "last_action_success": False,
                "error": "Could not process the data even after cleaning it",
                "cleaned_data": "",
            },
        ),
    ],
    ids=["all-numbers", "one-bad-item-recovered", "nothing-recoverable"],
)
def test_error_handling_scenarios(
    data: str, exit_code: int, path: list[str], final_state: dict[str, Any]
) -> None:
    done = agentmap(
        "run", "graphs/error_handling.csv", "--state", json.dumps({"data": data}), "--json"
    )
    assert done.returncode == exit_code
    document = json_of(done)
    assert document["summary"]["execution_path"] == path
    assert document["final_state"] == final_state
    assert document["success"] is (exit_code == 0)


# --- graphs/routing.csv


@pytest.mark.parametrize(
    ("message", "target", "reply"),
    [
        ("Please refund my invoice", "Billing", "Answer a billing question"),
        ("The app shows an error", "Bug", "Open a bug report"),
        ("What are your opening hours?", "Other", "Route to a human"),
    ],
    ids=["billing", "bug", "other"],
)
def test_triage_routes_with_a_routing_function(message: str, target: str, reply: str) -> None:
    done = agentmap(
        "run", "graphs/routing.csv::Triage", "--state", json.dumps({"message": message}), "--json"
    )
    assert done.returncode == 0
    document = json_of(done)
    assert document["summary"]["execution_path"] == ["Classify", target]
    assert document["final_state"] == {
        "message": message,
        "category": target.lower(),
        "last_action_success": True,
        "reply": f"{target} was asked: {reply} (inputs: message={message!r})",
    }


@pytest.mark.parametrize(
    ("approved", "exit_code", "path", "final_state"),
    [
        (
            "yes",
            0,
            ["Check", "Approve"],
            {
                "approved": "yes",
                "decision": "yes",
                "last_action_success": True,
                "outcome": "Approve succeeded",
            },
        ),
        (
            "no",
            0,  # a rejection the graph routes to Reject is the run doing its job
            ["Check", "Reject"],
            {
                "approved": "no",
                "decision": "no",
                "last_action_success": True,
                "error": "Check: 'approved' is 'no'",
                "outcome": "no",
            },
        ),
    ],
    ids=["approved", "rejected"],
)
def test_approval_branches_on_the_context_condition(
    approved: str, exit_code: int, path: list[str], final_state: dict[str, Any]
) -> None:
    done = agentmap(
        "run", "graphs/routing.csv", "--graph", "Approval",
        "--state", json.dumps({"approved": approved}), "--json",
    )  # fmt: skip
    assert done.returncode == exit_code
    document = json_of(done)
    assert document["summary"]["execution_path"] == path
    assert document["final_state"] == final_state


def test_countdown_loops_until_zero() -> None:
    done = agentmap("run", "graphs/routing.csv::Countdown", "--state", '{"count": 3}', "--json")
    assert done.returncode == 0
    document = json_of(done)
    assert document["summary"]["execution_path"] == ["Tick", "Tick", "Tick", "Done"]
    assert document["final_state"] == {"count": 0, "last_action_success": True, "final_count": 0}


# --- init, then run there


def test_init_then_run_hello_in_the_new_folder(tmp_path: Path) -> None:
    done = agentmap("init", "proj", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1] == (
        'Next: cd proj && agentmap run graphs/hello.csv --state \'{"input": "hi"}\''
    )
    project = tmp_path / "proj"
    assert (project / "agentmap_config.yaml").is_file()
    assert (project / "agents").is_dir()
    ran = agentmap("run", "graphs/hello.csv", "--state", '{"input": "hi"}', "--json", cwd=project)
    assert ran.returncode == 0, ran.stderr
    assert json_of(ran)["final_state"] == {
        "input": "hi",
        "echoed": "hi",
        "last_action_success": True,
        "response": HELLO_RESPONSE,
    }


# --- README commands


@dataclass(frozen=True)
class ReadmeCommand:
    """One ``agentmap ...`` command from a README code block, and the output shown after it."""

    argv: tuple[str, ...]
    shown: tuple[str, ...] = ()

    def __str__(self) -> str:
        return shlex.join(self.argv)


def _readme_commands(readme: Path) -> list[ReadmeCommand]:
    """Every ``agentmap`` invocation in README's shell blocks; install/test steps are skipped."""
    if not readme.is_file():
        return []
    blocks = re.findall(r"^```([\w-]*)[^\n]*\n(.*?)^```", readme.read_text("utf-8"), re.S | re.M)
    found: dict[tuple[str, ...], ReadmeCommand] = {}
    for language, body in blocks:
        if language not in {"bash", "sh", "shell", "console", "zsh"}:
            continue
        entries: list[tuple[str, list[str]]] = []
        for line in body.replace("\\\n", " ").splitlines():
            if language == "console":
                if line.startswith("$ "):
                    entries.append((line[2:], []))
                elif entries:
                    entries[-1][1].append(line)
            elif line.strip() and not line.lstrip().startswith("#"):
                entries.append((line, []))
        for text, shown in entries:
            for segment in re.split(r"&&|;", text):
                argv = shlex.split(segment, comments=True)
                if not argv or Path(argv[0]).name != "agentmap":
                    continue  # python3 -m venv, pip install, pytest, cd ...
                key = tuple(argv[1:])
                command = ReadmeCommand(key, tuple(shown))
                if key not in found or (command.shown and not found[key].shown):
                    found[key] = command
    return list(found.values())


README_COMMANDS = _readme_commands(REPO / "README.md")


@pytest.mark.parametrize(
    "command",
    [pytest.param(c, id=str(c)) for c in README_COMMANDS]
    or [
        pytest.param(
            None,
            marks=pytest.mark.skip(
                reason="README.md has no fenced shell block with an `agentmap ...` command"
            ),
        )
    ],
)
def test_readme_command_runs(command: ReadmeCommand) -> None:
    done = agentmap(*command.argv)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    if "--json" in command.argv:
        json_of(done)
    shown = list(command.shown)
    if "..." in shown:
        shown = shown[: shown.index("...")]
    actual = [no_durations(line).rstrip() for line in done.stdout.splitlines()]
    assert actual[: len(shown)] == [no_durations(line).rstrip() for line in shown]
