"""AgentMap users' habits work (issue 13): `run --csv/--workflow/--pretty/--validate`, `resume
THREAD_ID RESPONSE_TYPE --data`, `diagnose`; did-you-mean only for near misses; every install
hint names this project's distribution, not PyPI's `agentmap`. Real `agentmap` processes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentmap.distribution import DISTRIBUTION, EXTRAS, install_hint
from helpers import clean_env, csv_row

AGENTMAP = Path(sys.executable).parent / "agentmap"
REPO = Path(__file__).resolve().parent.parent


def agentmap(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``agentmap ARGS`` in ``cwd`` (default: the current folder); a run that outlives a
    minute — a watch started by mistake — fails the test instead of hanging it."""
    return subprocess.run(
        [str(AGENTMAP), *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def document(done: subprocess.CompletedProcess[str]) -> Any:
    """stdout as exactly one JSON document."""
    return json.loads(done.stdout)


@pytest.fixture
def two_graphs(project: Path, graph_csv: Callable[..., Path]) -> Path:
    """flow.csv with graphs A (echo input → a) and B (echo input → b)."""
    return graph_csv(
        csv_row("A", "Start", "echo", inputs="input", output="a"),
        csv_row("B", "Start", "echo", inputs="input", output="b"),
    )


# --- run: AgentMap's flags -------------------------------------------------------------------


def test_run_takes_the_file_as_csv_and_the_graph_as_graph(two_graphs: Path) -> None:
    done = agentmap("run", "--csv", "flow.csv", "--graph", "B", "--state", '"hi"', "--json")
    assert done.returncode == 0, done.stderr
    assert document(done)["final_state"] == {"input": "hi", "b": "hi", "last_action_success": True}


@pytest.mark.parametrize("flag", ["--workflow", "-w"])
def test_workflow_and_w_name_the_file_and_run_once(two_graphs: Path, flag: str) -> None:
    done = agentmap("run", flag, "flow.csv::B", "--state", '"hi"', "--json")
    assert done.returncode == 0, done.stderr
    assert document(done)["graph_name"] == "B"


def test_w_after_the_file_asks_for_its_value_instead_of_starting_a_watch(two_graphs: Path) -> None:
    done = agentmap("run", "flow.csv", "-w")
    assert done.returncode == 2
    assert "Option '-w' requires an argument" in done.stderr


def test_two_different_graph_files_are_refused(two_graphs: Path, write_file: Callable) -> None:
    write_file("other.csv", two_graphs.read_text())
    done = agentmap("run", "flow.csv", "--csv", "other.csv")
    assert done.returncode == 2
    assert "two graph files (FILE flow.csv and --csv other.csv) — give one" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_same_file_given_twice_runs(two_graphs: Path) -> None:
    done = agentmap("run", "flow.csv", "--workflow", "flow.csv", "-g", "A", "--json")
    assert done.returncode == 0, done.stderr


def test_a_run_without_a_graph_file_names_every_way_to_give_one(project: Path) -> None:
    done = agentmap("run", "--state", "{}")
    assert done.returncode == 2
    assert "no graph file — give FILE (or --csv FILE or --workflow FILE)" in done.stderr


@pytest.mark.parametrize("flag", ["--pretty", "-p"])
def test_pretty_is_the_readable_view(two_graphs: Path, flag: str) -> None:
    done = agentmap("run", "flow.csv::A", "--state", '"hi"', flag)
    assert done.returncode == 0, done.stderr
    assert "A succeeded" in done.stdout
    assert "Final state" in done.stdout


def test_pretty_and_json_together_are_refused(two_graphs: Path) -> None:
    done = agentmap("run", "flow.csv::A", "--pretty", "--json")
    assert done.returncode == 2
    assert "use --pretty or --json, not both" in done.stderr


def test_validate_shows_the_warnings_a_plain_run_keeps_quiet_then_runs(
    project: Path, write_file: Callable[..., Path]
) -> None:
    write_file(
        "flow.csv",
        """
        GraphName,Node,AgentType,Input_Fields,Output_Field,Colour
        G,Start,echo,input,out,red
        G,Island,echo,,,
        """,
    )
    plain = agentmap("run", "flow.csv", "--state", '"hi"', "--json")
    checked = agentmap("run", "flow.csv", "--state", '"hi"', "--json", "--validate")
    assert plain.returncode == checked.returncode == 0, checked.stderr
    assert "warning" not in plain.stderr
    assert "unknown column 'Colour' is ignored" in checked.stderr
    assert "node 'Island' can't be reached" in checked.stderr
    assert "flow.csv is valid (2 warnings)" in checked.stderr
    assert document(checked)["final_state"]["out"] == "hi"  # stdout: still one JSON document


def test_validate_with_errors_lists_them_and_runs_nothing(
    project: Path, graph_csv: Callable
) -> None:
    graph_csv(csv_row("G", "Start", "echo", edge="Ned"), csv_row("G", "End", "echo"))
    done = agentmap("run", "flow.csv", "--validate")
    assert done.returncode == 2
    assert "no node named 'Ned' in graph 'G' — did you mean 'End'?" in done.stderr
    assert "nothing was run" in done.stderr
    assert not (project / ".agentmap").exists()


@pytest.mark.parametrize("command", ["validate", "scaffold"])
def test_validate_and_scaffold_take_the_file_as_csv(two_graphs: Path, command: str) -> None:
    done = agentmap(command, "--csv", "flow.csv")
    assert done.returncode == 0, done.stderr


def test_run_help_names_every_graph_format(project: Path) -> None:
    done = agentmap("run", "--help")
    assert done.returncode == 0
    flat = " ".join(done.stdout.split())
    assert "Graph file (.csv, .xlsx, .ods, .yaml, .yml, .json)" in flat
    assert "-w, --workflow" in flat
    assert re.search(r"^\s+--watch\b", done.stdout, re.M)  # no short name of its own


# --- resume THREAD_ID RESPONSE_TYPE --data --------------------------------------------------

PEOPLE = [
    csv_row(
        "Approve",
        "Ask",
        "human",
        success="Done",
        output="approved",
        prompt="Ship it?",
        context={"interaction_type": "approval"},
    ),
    csv_row("Approve", "Done", "echo", inputs="approved", output="result"),
    csv_row(
        "Choose",
        "Ask",
        "human",
        output="picked",
        prompt="Which?",
        context={"interaction_type": "choice", "options": ["red", "blue"]},
    ),
    csv_row("Text", "Ask", "human", output="said", prompt="Say something"),
]


@pytest.fixture
def waiting(project: Path, graph_csv: Callable[..., Path]) -> Callable[[str], str]:
    """Starts graph NAME of the people graphs; it stops waiting for an answer: its run id."""
    graph_csv(*PEOPLE)

    def start(name: str) -> str:
        done = agentmap("run", f"flow.csv::{name}", "--no-input", "--json")
        assert done.returncode == 3, done.stderr
        return str(document(done)["run_id"])

    return start


def final_state(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    return dict(document(done)["final_state"])


def test_resume_approve(waiting: Callable[[str], str]) -> None:
    state = final_state(agentmap("resume", waiting("Approve"), "approve", "--json"))
    assert state["approved"] is True
    assert state["result"] is True


def test_resume_reject_with_a_reason_rejects_and_says_the_reason_is_not_kept(
    waiting: Callable[[str], str],
) -> None:
    done = agentmap("resume", waiting("Approve"), "reject", "--data", '{"reason": "no"}', "--json")
    assert document(done)["final_state"]["approved"] is False
    assert "note: an approval keeps no data; --data is not recorded with reject" in done.stderr


@pytest.mark.parametrize("data", ['{"choice": 2}', "2", '{"choice": "blue"}'])
def test_resume_choose_takes_the_choice_from_data(waiting: Callable[[str], str], data: str) -> None:
    state = final_state(agentmap("resume", waiting("Choose"), "choose", "--data", data, "--json"))
    assert state["picked"] == "blue"


@pytest.mark.parametrize(
    ("response", "data"),
    [
        ("respond", '{"text": "hello"}'),
        ("respond", '{"response": "hello"}'),  # as AgentMap's docs write it
        ("respond", '"hello"'),
        ("edit", '{"edited": "hello"}'),
        ("edit", '{"edited_content": "hello"}'),
        ("continue", '"hello"'),
    ],
)
def test_resume_text_answers_from_data(
    waiting: Callable[[str], str], response: str, data: str
) -> None:
    state = final_state(agentmap("resume", waiting("Text"), response, "-d", data, "--json"))
    assert state["said"] == "hello"


def test_resume_reads_data_from_a_file(
    waiting: Callable[[str], str], write_file: Callable[..., Path]
) -> None:
    write_file("answer.json", '{"edited": "from a file"}')
    done = agentmap("resume", waiting("Text"), "edit", "--data-file", "answer.json", "--json")
    assert final_state(done)["said"] == "from a file"


BAD_RESPONSES = [
    (
        ["aprove"],
        "'aprove' is not one of approve, reject, choose, respond, submit, edit, save, reply, end, "
        "continue — did you mean 'approve'?",
    ),
    (["choose"], """choose needs --data '{"choice": 2}'"""),
    (["respond", "--data", '{"txt": "hi"}'], """respond needs --data '{"text": "..."}'"""),
    (["respond", "--data", "hello"], "not valid JSON (Expecting value at line 1 column 1)"),
    (["respond", "--data", '"a"', "--value", "b"], "give one answer"),
    (["respond", "--data", '"a"', "--data-file", "a.json"], "--data or --data-file, not both"),
    (["edit", "--data-file", "missing.json"], "can't read it (No such file or directory)"),
]


def test_bad_responses_are_usage_errors_and_leave_the_run_waiting(
    waiting: Callable[[str], str],
) -> None:
    run_id = waiting("Text")
    for args, message in BAD_RESPONSES:
        done = agentmap("resume", run_id, *args)
        assert done.returncode == 2, args
        assert message in " ".join(done.stderr.split()), done.stderr
        assert "Traceback" not in done.stderr
    still = agentmap("runs", "show", run_id, "--json")
    assert document(still)["run"]["status"] == "waiting"


def test_an_answer_that_doesnt_fit_the_question_names_the_node(
    waiting: Callable[[str], str],
) -> None:
    done = agentmap("resume", waiting("Text"), "approve")
    assert done.returncode == 2
    assert "node 'Ask'" in done.stderr and "can't take that answer" in done.stderr


# --- diagnose --------------------------------------------------------------------------------

SECRETS = {
    "OPENAI_API_KEY": "sk-from-the-environment-0123456789",
    "AGENTMAP_LLM__ANTHROPIC__API_KEY": "anthropic-from-a-variable-0123456789",
}
CONFIGURED_KEY = "local-key-in-the-config-0123456789"


@pytest.fixture
def configured(project: Path, write_file: Callable[..., Path]) -> Path:
    """A config with a key of its own for provider `local`, and a PostgreSQL store URL."""
    return write_file(
        "agentmap_config.yaml",
        f"""
        storage:
          url: postgresql://agentmap:hunter2-password@db.example:5432/runs
        llm:
          providers:
            local:
              protocol: openai
              model: tiny
              base_url: http://127.0.0.1:9/v1
              api_key: {CONFIGURED_KEY}
        """,
    )


def test_diagnose_says_where_each_key_is_from_and_never_shows_one(configured: Path) -> None:
    env = clean_env(**SECRETS)
    shown = agentmap("diagnose", env=env)
    found = agentmap("diagnose", "--json", env=env)
    assert shown.returncode == found.returncode == 0, shown.stderr
    for secret in [*SECRETS.values(), CONFIGURED_KEY, "hunter2-password"]:
        for text in (shown.stdout, shown.stderr, found.stdout, found.stderr):
            assert secret not in text
    keys = {p["name"]: (p["key_set"], p["key_source"]) for p in document(found)["providers"]}
    assert keys == {
        "openai": (True, "OPENAI_API_KEY"),
        "anthropic": (True, "AGENTMAP_LLM__ANTHROPIC__API_KEY"),
        "google": (False, "GOOGLE_API_KEY, GEMINI_API_KEY or llm.google.api_key"),
        "local": (True, f"llm.providers.local.api_key in {configured}"),
    }
    assert "set (OPENAI_API_KEY)" in shown.stdout


def test_diagnose_says_where_a_missing_key_would_be_read(project: Path) -> None:
    found = document(agentmap("diagnose", "--json"))
    keys = {p["name"]: (p["key_set"], p["key_source"]) for p in found["providers"]}
    assert keys == {
        "openai": (False, "OPENAI_API_KEY or llm.openai.api_key"),
        "anthropic": (False, "ANTHROPIC_API_KEY or llm.anthropic.api_key"),
        "google": (False, "GOOGLE_API_KEY, GEMINI_API_KEY or llm.google.api_key"),
    }


def test_diagnose_names_the_config_and_the_store_without_its_password(configured: Path) -> None:
    found = document(agentmap("diagnose", "--json", env=clean_env(**SECRETS)))
    assert found["config_file"] == str(configured)
    assert found["store"] == "postgresql://agentmap:***@db.example:5432/runs"  # not connected to
    assert found["environment"] == ["AGENTMAP_LLM__ANTHROPIC__API_KEY"]  # names only
    assert found["paths"]["custom_agents"] == str(configured.parent / "agents")


def test_diagnose_with_the_default_store_says_it_is_made_on_the_first_run(project: Path) -> None:
    shown = agentmap("diagnose")
    assert shown.returncode == 0, shown.stderr
    assert "Config         none found: built-in defaults" in shown.stdout
    assert f"sqlite:///{project}/.agentmap/runs.db (made on the first run)" in shown.stdout
    assert not (project / ".agentmap").exists()  # it looked, and made nothing


def test_diagnose_lists_every_extra_with_the_command_that_installs_it(project: Path) -> None:
    found = document(agentmap("diagnose", "--json"))
    assert {e["name"]: e["install"] for e in found["extras"]} == {
        name: f"pip install '{DISTRIBUTION}[{name}]'"
        for name in ("llm", "server", "postgres", "analytics", "dask")
    }
    llm = next(e for e in found["extras"] if e["name"] == "llm")
    assert llm["installed"] is True
    assert set(llm["packages"]) == {"openai", "anthropic", "google-genai"}
    assert found["distribution"] == DISTRIBUTION


def test_diagnose_with_a_config_it_cant_read_is_bad_input(project: Path) -> None:
    done = agentmap("diagnose", "--config", "nowhere.yaml")
    assert done.returncode == 2
    assert "config file nowhere.yaml does not exist — check the --config path" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_extras_diagnose_knows_are_pyprojects() -> None:
    """agentmap.distribution.EXTRAS is a copy of pyproject.toml's extras: keep them equal."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    listed = {
        name: sorted(
            re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower()
            for requirement in requirements
        )
        for name, requirements in project["optional-dependencies"].items()
        if name not in {"test", "spreadsheet"}
    }
    assert listed == {extra.name: sorted(extra.packages) for extra in EXTRAS}


# --- did-you-mean: near misses only ----------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ("search", ""),  # 'echo' shares three letters with it: not a slip of the keyboard
        ("serch", ""),
        ("summarise", ""),  # three slips from 'summary': another word, not a typo
        ("ecco", " — did you mean 'echo'?"),
        ("brnaching", " — did you mean 'branching'?"),
    ],
)
def test_unknown_agent_types_get_a_suggestion_only_when_it_is_a_near_miss(
    project: Path, graph_csv: Callable[..., Path], typed: str, hint: str
) -> None:
    graph_csv(csv_row("G", "Start", typed))
    done = agentmap("validate", "flow.csv")
    assert done.returncode == 1
    assert f"unknown agent type '{typed}'{hint} — fix the spelling" in done.stderr


# --- the distribution's name -----------------------------------------------------------------

# Spelled in pieces so this file doesn't match itself.
_AGENTMAP_EXTRA = re.compile(r"(?<![\w.-])" + "agentmap" + r"\[")
_PIP_AGENTMAP = re.compile(r"pip install\s+['\"]?" + "agentmap" + r"(?![\w-])")


def test_pyproject_names_the_distribution_the_hints_name() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["name"] == DISTRIBUTION != "agentmap"
    assert project["scripts"] == {"agentmap": "agentmap.cli.app:main"}  # the command stays
    assert install_hint("llm") == "pip install 'agentmap-runner[llm]'"


def test_no_install_hint_in_the_repository_names_pypis_agentmap() -> None:
    """PyPI's `agentmap` is AgentMap itself: a hint naming it would install that project."""
    files = [REPO / "README.md", REPO / "pyproject.toml", REPO / "agentmap_config.yaml"]
    for folder, pattern in [("src", "**/*"), ("docs", "*.md"), ("tests", "*.py"), (".ci", "*")]:
        files += [
            p for p in (REPO / folder).glob(pattern) if p.is_file() and "__pycache__" not in p.parts
        ]
    wrong = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        if path.suffix not in {".pyc", ".png", ".ico", ".woff2"}
        for number, line in enumerate(path.read_text("utf-8", errors="replace").splitlines(), 1)
        if _AGENTMAP_EXTRA.search(line) or _PIP_AGENTMAP.search(line)
    ]
    assert wrong == []


def test_the_readme_says_the_chat_example_needs_the_llm_extra() -> None:
    readme = " ".join((REPO / "README.md").read_text("utf-8").split())
    bullet = readme[readme.index("- `chat.csv`") :].split("- `", 2)[1]
    assert "needs the `llm` extra" in bullet
    assert "pip install -e '.[llm]'" in bullet
