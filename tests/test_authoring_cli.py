"""Authoring graphs from the command line: init templates, scaffold for YAML and workbooks, bad
input in every format, and validate / graph on every format.

Runs in-process through ``typer.testing.CliRunner`` (stdout and stderr kept apart). Exit codes:
0 = ran and succeeded / valid, 1 = ran and failed, 2 = bad input (one clear message, no
traceback, nothing run).
"""

from __future__ import annotations

import json
import re
import shlex
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from agentmap.cli.app import app

runner = CliRunner()

HEADER = [
    "GraphName",
    "Node",
    "AgentType",
    "Edge",
    "Success_Next",
    "Failure_Next",
    "Input_Fields",
    "Output_Field",
    "Prompt",
    "Context",
    "Description",
]
NOTHING_RUN = "1 error; nothing was run.\n"
ROUTING_GRAPHS = "Triage (4 nodes), Approval (3 nodes), Countdown (2 nodes)"
RECOVERED_NOTE = (
    "note: ProcessData failed and the graph's failure route was taken; the run ended on its "
    "last node's success\n"
)


def cli(*args: str) -> Result:
    """Invoke ``agentmap ARGS``; an exception escaping the CLI (not an exit) fails the test."""
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def json_of(result: Result) -> dict[str, Any]:
    """The whole of stdout as one JSON document."""
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    return document


def write_xlsx(path: Path, sheets: dict[str, Sequence[Sequence[str | None]]]) -> Path:
    """A workbook with one worksheet per entry, rows written from cell A1 (text cells)."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.worksheets[0])
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    workbook.save(path)
    return path


def files_under(root: Path) -> list[str]:
    """Every file below ``root``, as sorted POSIX paths relative to it."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# --- init: templates that run at once

# Every template also adds the run store's folder to .gitignore (written last).
TEMPLATES: dict[str, tuple[list[str], str]] = {
    "hello": (
        ["agentmap_config.yaml", "agents/README.md", "graphs/hello.csv", ".gitignore"],
        """agentmap run graphs/hello.csv --state '{"input": "hi"}'""",
    ),
    "branching": (
        ["agentmap_config.yaml", "agents/README.md", "graphs/branching.csv", ".gitignore"],
        """agentmap run graphs/branching.csv --state '{"approved": "yes"}'""",
    ),
    "error-handling": (
        [
            "agentmap_config.yaml",
            "agents/README.md",
            "graphs/error_handling.csv",
            "agents/data_processing.py",
            ".gitignore",
        ],
        """agentmap run graphs/error_handling.csv --state '{"data": "1,x,3"}'""",
    ),
}


@pytest.mark.parametrize("template", TEMPLATES)
def test_init_template_writes_its_files_and_prints_the_next_command(
    project: Path, template: str
) -> None:
    written, command = TEMPLATES[template]
    result = cli("init", "proj", "--template", template)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "".join(f"wrote proj/{name}\n" for name in written) + f"\nNext: cd proj && {command}\n"
    )
    assert result.stderr == ""
    assert files_under(project / "proj") == sorted(written)
    assert (project / "proj" / "functions").is_dir()


@pytest.mark.parametrize(
    ("template", "exit_code", "stderr"),
    [
        ("hello", 0, ""),
        ("branching", 0, ""),
        ("error-handling", 0, re.escape(RECOVERED_NOTE)),
    ],
)
def test_init_next_command_runs_inside_the_new_project(
    project: Path, monkeypatch: pytest.MonkeyPatch, template: str, exit_code: int, stderr: str
) -> None:
    """``stderr`` is a pattern the whole of stderr must match."""
    next_line = cli("init", "proj", "--template", template).stdout.splitlines()[-1]
    prefix = "Next: cd proj && "
    assert next_line.startswith(prefix)
    program, *args = shlex.split(next_line.removeprefix(prefix))
    assert program == "agentmap"
    monkeypatch.chdir(project / "proj")
    result = cli(*args)
    assert result.exit_code == exit_code, result.output
    assert re.fullmatch(stderr, result.stderr), result.stderr


@pytest.mark.parametrize(
    ("template", "final_state"),
    [
        (
            "hello",
            {
                "input": "hi",
                "echoed": "hi",
                "last_action_success": True,
                "response": "Respond was asked: Say hello to the user (inputs: echoed='hi')",
            },
        ),
        (
            "branching",
            {
                "approved": "yes",
                "answer": "yes",
                "last_action_success": True,
                "decision": "yes",
                "message": "Approved was asked: Approved with answer yes (inputs: answer='yes')",
            },
        ),
        (
            "error-handling",
            {
                "data": "1,x,3",
                "last_action_success": True,
                "error": "'x' is not a number",
                "cleaned_data": "1,3",
                "result": 4.0,
                "final_result": 4.0,
            },
        ),
    ],
)
def test_init_next_command_gives_the_templates_result(
    project: Path, monkeypatch: pytest.MonkeyPatch, template: str, final_state: dict[str, Any]
) -> None:
    command = TEMPLATES[template][1]
    cli("init", "proj", "--template", template)
    monkeypatch.chdir(project / "proj")
    result = cli(*shlex.split(command)[1:], "--json")
    assert json_of(result)["final_state"] == final_state


def test_init_unknown_template_exits_2_with_did_you_mean(project: Path) -> None:
    result = cli("init", "proj", "--template", "helo")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == (
        "error: --template: no template named 'helo' — did you mean 'hello'? "
        "(templates: hello, branching, error-handling)\n"
    )
    assert not (project / "proj").exists()


@pytest.mark.parametrize("template", TEMPLATES)
def test_init_rerun_keeps_every_existing_file(project: Path, template: str) -> None:
    written, command = TEMPLATES[template]
    cli("init", "proj", "--template", template)
    for name in written:
        (project / "proj" / name).write_text(f"# mine: {name}\n", encoding="utf-8")
    result = cli("init", "proj", "--template", template)
    assert result.exit_code == 0, result.output
    kept = [name for name in written if name != ".gitignore"]
    assert result.stdout == (
        "wrote proj/.gitignore\n"
        + "".join(f"kept proj/{name} (exists; not overwritten)\n" for name in kept)
        + f"\nNext: cd proj && {command}\n"
    )
    for name in kept:
        assert (project / "proj" / name).read_text(encoding="utf-8") == f"# mine: {name}\n"
    # .gitignore keeps what was there and gets the run store's folder added
    assert (project / "proj" / ".gitignore").read_text(encoding="utf-8") == (
        "# mine: .gitignore\n# agentmap's run store (run history and checkpoints) stays local\n"
        ".agentmap/\n"
    )


# --- scaffold: YAML graphs and workbooks

SCAFFOLD_YAML = """
graphs:
  Main:
    nodes:
      - name: Start
        agent_type: summarize
        edge: func:pick_next
        success_next: Done
        failure_next: Done
        inputs: [text]
        output: summary
        description: Summarize the text
      - name: Done
        agent_type: translate
        inputs: [summary]
        output: final
"""


def scaffold_yaml(folder: Path) -> Path:
    path = folder / "flow.yaml"
    path.write_text(textwrap.dedent(SCAFFOLD_YAML).lstrip(), encoding="utf-8")
    return path


def scaffold_xlsx(folder: Path) -> Path:
    start = ["Main", "Start", "summarize", "func:pick_next", "Done", "Done", "text", "summary"]
    done = ["Main", "Done", "translate", None, None, None, "summary", "final"]
    return write_xlsx(folder / "flow.xlsx", {"First": [HEADER, start], "Second": [HEADER, done]})


@pytest.mark.parametrize("make", [scaffold_yaml, scaffold_xlsx], ids=["yaml", "xlsx"])
def test_scaffold_writes_stubs_for_unknown_agents_and_functions(
    project: Path, make: Callable[[Path], Path]
) -> None:
    name = make(project).name
    result = cli("scaffold", name)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"wrote {project / 'agents' / 'summarize.py'}\n"
        f"wrote {project / 'agents' / 'translate.py'}\n"
        f"wrote {project / 'functions' / 'pick_next.py'}\n"
    )
    assert files_under(project) == [
        "agents/summarize.py",
        "agents/translate.py",
        name,
        "functions/pick_next.py",
    ]


@pytest.mark.parametrize("make", [scaffold_yaml, scaffold_xlsx], ids=["yaml", "xlsx"])
def test_scaffolded_graph_then_validates(project: Path, make: Callable[[Path], Path]) -> None:
    name = make(project).name
    assert cli("validate", name).exit_code == 1
    cli("scaffold", name)
    result = cli("validate", name)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"✔ {name} is valid: Main (2 nodes)\n"


# --- bad input, in every format: exit 2, one clear message with its place, nothing run


def malformed_yaml(folder: Path) -> str:
    (folder / "bad.yaml").write_text(
        "graphs:\n  Main:\n    nodes:\n      - name: A\n        agent_type: echo\n"
        "       inputs: [x]\n",
        encoding="utf-8",
    )
    return "bad.yaml"


def yaml_unknown_key(folder: Path) -> str:
    (folder / "key.yaml").write_text(
        "graphs:\n  Main:\n    nodes:\n      - name: A\n        agent_type: echo\n"
        "        sucess_next: A\n",
        encoding="utf-8",
    )
    return "key.yaml"


def malformed_json(folder: Path) -> str:
    (folder / "bad.json").write_text(
        '{"graphs": {"Main": {"nodes": [\n  {"name": "A",}\n]}}}\n', encoding="utf-8"
    )
    return "bad.json"


def empty_sheet_only(folder: Path) -> str:
    write_xlsx(folder / "empty.xlsx", {"Empty": []})
    return "empty.xlsx"


def duplicate_across_sheets(folder: Path) -> str:
    first: list[list[str | None]] = [
        [*HEADER],
        ["Main", "Start", "echo", "Next", None, None, "x", "x"],
        ["Main", "Next", "echo", None, None, None, "x", "y"],
    ]
    second: list[list[str | None]] = [
        [*HEADER],
        ["Main", "Next", "echo", None, None, None, "x", "z"],
    ]
    write_xlsx(folder / "dup.xlsx", {"First": first, "Second": second})
    return "dup.xlsx"


def latin1_csv(folder: Path) -> str:
    text = ",".join(HEADER) + "\nMain,Start,default,,,,input,out,Café,,\n"
    (folder / "latin.csv").write_text(text, encoding="latin-1")
    return "latin.csv"


@pytest.mark.parametrize(
    ("make", "stderr"),
    [
        pytest.param(
            malformed_yaml,
            "error bad.yaml:6: not valid YAML: while parsing a block collection (line 4), did "
            "not find expected '-' indicator at column 8 — check the indentation, quotes and "
            f"colons there\n{NOTHING_RUN}",
            id="malformed-yaml",
        ),
        pytest.param(
            yaml_unknown_key,
            "error key.yaml:6 graphs.Main.nodes[0].sucess_next: unknown key 'sucess_next' — did "
            f"you mean 'success_next'?\n{NOTHING_RUN}",
            id="yaml-unknown-key",
        ),
        pytest.param(
            malformed_json,
            "error bad.json:2: not valid JSON: Expecting property name enclosed in double quotes "
            f"at column 16 — check the commas, quotes and brackets there\n{NOTHING_RUN}",
            id="malformed-json",
        ),
        pytest.param(
            empty_sheet_only,
            "error empty.xlsx: the workbook has no rows in any sheet (sheets: 'Empty') — add a "
            f"header row (GraphName,Node,AgentType,...) and a row per node to a sheet\n"
            f"{NOTHING_RUN}",
            id="workbook-with-an-empty-sheet-only",
        ),
        pytest.param(
            duplicate_across_sheets,
            "error dup.xlsx:2 Second!B2 Node: node 'Next' is defined twice in graph 'Main' "
            f"(First!B3 and Second!B2) — rename or delete one of them\n{NOTHING_RUN}",
            id="duplicate-node-across-sheets",
        ),
        pytest.param(
            latin1_csv,
            'error: latin.csv:2: the file is not UTF-8: byte 0xE9 after "ult,,,,input,out,Caf" '
            "in row 2 (it reads as 'é' in Windows-1252/Latin-1, which Excel's plain \"CSV\" "
            'writes) — save the file as "CSV UTF-8" (Excel) or with character set "Unicode '
            '(UTF-8)" (LibreOffice) and load it again\n',
            id="latin-1-csv",
        ),
    ],
)
def test_bad_graph_file_exits_2_with_one_clear_message_naming_the_place(
    project: Path, make: Callable[[Path], str], stderr: str
) -> None:
    name = make(project)
    result = cli("run", name)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == stderr
    assert "Traceback" not in result.output


SPREADSHEET_EXPORTS = [
    pytest.param(
        "semi.csv",
        ";".join(HEADER) + "\nMain;Start;echo;Respond;;;input;echoed;;;Echo it, first\n"
        "Main;Respond;default;;;;echoed;response;Say hello, {echoed};;\n",
        "utf-8",
        id="semicolon-delimited",
    ),
    pytest.param(
        "unicode.csv",
        "\t".join(HEADER) + "\nMain\tStart\techo\tRespond\t\t\tinput\techoed\t\t\tEcho it, first\n"
        "Main\tRespond\tdefault\t\t\t\techoed\tresponse\tSay hello, {echoed}\t\t\n",
        "utf-16",
        id="utf-16-unicode-text",
    ),
]


@pytest.mark.parametrize(("name", "text", "encoding"), SPREADSHEET_EXPORTS)
def test_csv_as_spreadsheets_export_it_runs(
    project: Path, name: str, text: str, encoding: str
) -> None:
    (project / name).write_text(text, encoding=encoding)
    result = cli("run", name, "--state", '{"input": "Zoë"}', "--json")
    assert result.exit_code == 0, result.output
    assert json_of(result)["final_state"] == {
        "input": "Zoë",
        "echoed": "Zoë",
        "last_action_success": True,
        "response": "Respond was asked: Say hello, Zoë (inputs: echoed='Zoë')",
    }


# --- validate and graph on every format


def routing_copy(repo: Path, folder: Path, suffix: str) -> Path:
    """graphs/routing.csv as a ``suffix`` file in ``folder``: by agentmap convert, or pandas."""
    target = folder / f"routing{suffix}"
    if suffix == ".ods":
        table = pd.read_csv(repo / "graphs" / "routing.csv", dtype=str, keep_default_na=False)
        with pd.ExcelWriter(target, engine="odf") as writer:
            table.to_excel(writer, index=False)
    else:
        result = cli("convert", "graphs/routing.csv", str(target))
        assert result.exit_code == 0, result.output
        assert result.stdout == f"wrote {target} (Triage, Approval, Countdown)\n"
    return target


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".xlsx", ".ods"])
def test_validate_reports_every_format_of_the_routing_example_valid(
    in_repo: Path, tmp_path: Path, suffix: str
) -> None:
    copy = routing_copy(in_repo, tmp_path, suffix)
    result = cli("validate", str(copy))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"✔ {copy} is valid: {ROUTING_GRAPHS}\n"
    assert result.stderr == ""


def test_graph_prints_the_outline_of_a_yaml_graph(project: Path) -> None:
    (project / "review.yaml").write_text(
        textwrap.dedent(
            """\
            graphs:
              Review:
                nodes:
                  - name: Draft
                    agent_type: echo
                    edge: Check
                    inputs: [text]
                    output: draft
                  - name: Check
                    agent_type: branching
                    success_next: Publish
                    failure_next: Draft
                    inputs: [draft]
                    output: verdict
                  - name: Publish
                    agent_type: success
            """
        ),
        encoding="utf-8",
    )
    result = cli("graph", "review.yaml")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Review: 3 nodes, entry Draft\n"
        "Draft [echo] (entry)\n"
        "  edge → Check\n"
        "Check [branching]\n"
        "  success → Publish\n"
        "  failure → Draft  ↺ loop\n"
        "Publish [success]\n"
        "  → end\n"
    )
