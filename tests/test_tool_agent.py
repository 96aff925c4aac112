"""``tool_agent``: the functions of a Tool_Source file, one picked (alone, by the state's ``tool``
key, by words or by a model) and called with the node's inputs; its columns and their checks."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentmap import run_graph, validate_graph
from agentmap.convert import convert_graph
from agentmap.graph.loader import read_graph_file
from helpers import clean_env
from llm_server import LLMServer
from test_llm_agents import llm_config

AGENTMAP = shutil.which("agentmap") or str(Path(sys.executable).parent / "agentmap")

HEADER = [
    "GraphName",
    "Node",
    "AgentType",
    "Tool_Source",
    "Available_Tools",
    "Input_Fields",
    "Output_Field",
    "Prompt",
    "Success_Next",
    "Failure_Next",
    "Context",
]

MATH_TOOLS = '''
"""Arithmetic for the tests."""
from math import sqrt  # imported, so not one of this file's tools


def add(a: int, b: int) -> int:
    """Adds two numbers together."""
    return a + b


def multiply(a: int, b: int) -> int:
    """Multiplies two numbers."""
    return a * b


def shout(text):
    """Upper-cases text."""
    return text.upper()


def divide(a: float, b: float) -> float:
    """Divides the first number by the second."""
    if b == 0:
        raise ZeroDivisionError("can't divide 1.0 by zero")
    return a / b


def _helper():
    return "not a tool"
'''


def tool_row(
    node: str,
    agent_type: str = "tool_agent",
    *,
    source: str = "",
    tools: str = "",
    inputs: str = "",
    output: str = "",
    prompt: str = "",
    success: str = "",
    failure: str = "",
    context: dict[str, Any] | None = None,
) -> list[str]:
    """One row under ``HEADER``, in graph ``Main``."""
    written = json.dumps(context) if context is not None else ""
    return [
        "Main",
        node,
        agent_type,
        source,
        tools,
        inputs,
        output,
        prompt,
        success,
        failure,
        written,
    ]


def table(*rows: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([HEADER, *rows])
    return buffer.getvalue()


@pytest.fixture
def tool_project(project: Path) -> Path:
    """The project with ``tools/math_tools.py`` in it."""
    (project / "tools").mkdir()
    (project / "tools" / "math_tools.py").write_text(MATH_TOOLS, encoding="utf-8")
    return project


@pytest.fixture
def tool_graph(tool_project: Path) -> Callable[..., Path]:
    """Write ``flow.csv`` of the given rows plus ``Handle``, which echoes ``error``."""

    def write(*rows: list[str]) -> Path:
        handle = tool_row("Handle", "echo", inputs="error", output="handled")
        path = tool_project / "flow.csv"
        path.write_text(table(*rows, handle), encoding="utf-8")
        return path

    return write


def calculate(**cells: Any) -> list[str]:
    """``Calculate``: a tool node reading ``a`` and ``b`` into ``result``, failing to Handle."""
    cells = {"source": "tools/math_tools.py", "inputs": "a|b", "output": "result", **cells}
    return tool_row("Calculate", failure="Handle", **cells)


# --- choosing and calling ---------------------------------------------------------------------


def test_a_node_with_one_tool_calls_it_with_its_inputs_by_parameter_name(
    tool_graph: Callable[..., Path],
) -> None:
    path = tool_graph(calculate(tools="add", inputs="b|a"))

    result = run_graph(path, {"a": 2, "b": 40})

    assert result.final_state["result"] == 42


def test_the_state_key_tool_names_the_tool_among_several(tool_graph: Callable[..., Path]) -> None:
    path = tool_graph(calculate(tools="add|multiply"))

    result = run_graph(path, {"a": 6, "b": 7, "tool": "multiply"})

    assert result.final_state["result"] == 42
    assert result.summary.execution_path == ("Calculate",)


def test_text_values_are_converted_to_the_parameters_annotations(
    tool_graph: Callable[..., Path],
) -> None:
    path = tool_graph(calculate(tools="add"))

    assert run_graph(path, {"a": "2", "b": "3"}).final_state["result"] == 5


def test_parameters_no_input_names_take_the_inputs_left_over_in_order(
    tool_graph: Callable[..., Path],
) -> None:
    path = tool_graph(calculate(tools="shout", inputs="message", output="loud"))

    assert run_graph(path, {"message": "hi there"}).final_state["loud"] == "HI THERE"


def test_a_blank_available_tools_offers_every_function_the_file_defines(
    tool_graph: Callable[..., Path],
) -> None:
    path = tool_graph(calculate())

    result = run_graph(path, {"a": 1, "b": 2, "tool": "sqrt"})

    assert result.final_state["handled"] == (
        "the state key 'tool' names 'sqrt', which is not a tool of Calculate (its tools: add, "
        "multiply, shout, divide)"
    )


def test_a_tool_named_wrongly_in_the_state_fails_with_a_suggestion(
    tool_graph: Callable[..., Path],
) -> None:
    path = tool_graph(calculate(tools="add|multiply"))

    result = run_graph(path, {"a": 1, "b": 2, "tool": "mutliply"})

    assert result.final_state["handled"] == (
        "the state key 'tool' names 'mutliply', which is not a tool of Calculate — did you mean "
        "'multiply'? (its tools: add, multiply)"
    )


def test_several_tools_and_nothing_to_choose_fails_saying_how_to_choose(
    tool_graph: Callable[..., Path],
) -> None:
    path = tool_graph(calculate(tools="add|multiply"))

    result = run_graph(path, {"a": 1, "b": 2})

    assert result.final_state["handled"] == (
        "Calculate has several tools (add, multiply) and nothing chooses one — put the tool's "
        'name in the state key \'tool\', or set Context "strategy" to "keyword", "llm" or '
        '"tiered"'
    )


def test_a_tool_that_raises_fails_the_node_with_its_message(
    tool_graph: Callable[..., Path],
) -> None:
    path = tool_graph(calculate(tools="divide"))

    result = run_graph(path, {"a": 1, "b": 0})

    assert result.summary.execution_path == ("Calculate", "Handle")
    assert result.final_state["handled"] == (
        "tool 'divide' raised ZeroDivisionError: can't divide 1.0 by zero"
    )


def test_a_value_the_parameter_cant_take_fails_the_node_naming_both(
    tool_graph: Callable[..., Path],
) -> None:
    path = tool_graph(calculate(tools="add"))

    result = run_graph(path, {"a": "two", "b": 3})

    assert result.final_state["handled"] == (
        "tool 'add' can't take 'two' for its parameter 'a' (Input should be a valid integer, "
        "unable to parse string as an integer) — check the value the node passes it"
    )


def test_a_parameter_no_input_fills_fails_the_node_naming_it(
    tool_graph: Callable[..., Path],
) -> None:
    path = tool_graph(calculate(tools="add", inputs="a"))

    result = run_graph(path, {"a": 1})

    assert result.final_state["handled"] == (
        "tool 'add' needs b; the node gives a — list them in its Input_Fields"
    )


def test_the_keyword_strategy_picks_the_tool_the_prompt_describes(
    tool_graph: Callable[..., Path],
) -> None:
    path = tool_graph(
        calculate(
            tools='add("sum of two numbers")|multiply("product of two numbers")',
            prompt="the product of {a} and {b}",
            context={"matching_strategy": "algorithm"},
        )
    )

    assert run_graph(path, {"a": 6, "b": 7}).final_state["result"] == 42


def test_the_llm_strategy_asks_the_model_which_tool_to_call(
    tool_graph: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply("multiply")
    path = tool_graph(
        calculate(
            tools="add|multiply", prompt="What is {a} times {b}?", context={"strategy": "llm"}
        )
    )

    result = run_graph(path, {"a": 6, "b": 7}, config=llm_config(llm_server))

    assert result.final_state["result"] == 42
    assert llm_server.last_request.body["messages"] == [
        {
            "role": "system",
            "content": "You choose the one tool that does what the request asks, among these:\n"
            "- add: Adds two numbers together.\n"
            "- multiply: Multiplies two numbers.\n"
            "Reply with the name of the tool and nothing else.",
        },
        {"role": "user", "content": "What is 6 times 7?\n\n6\n\n7"},
    ]


def test_the_tiered_strategy_asks_the_model_only_when_the_words_are_unsure(
    tool_graph: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply("add")
    sure = tool_graph(
        calculate(
            tools="add|multiply", prompt="multiply {a} by {b}", context={"strategy": "tiered"}
        )
    )
    assert (
        run_graph(sure, {"a": 6, "b": 7}, config=llm_config(llm_server)).final_state["result"] == 42
    )
    assert llm_server.requests == []

    unsure = tool_graph(
        calculate(
            tools="add|multiply", prompt="combine {a} and {b}", context={"strategy": "tiered"}
        )
    )
    assert (
        run_graph(unsure, {"a": 6, "b": 7}, config=llm_config(llm_server)).final_state["result"]
        == 13
    )
    assert len(llm_server.requests) == 1


def test_a_model_reply_naming_no_tool_fails_the_node(
    tool_graph: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply("subtract")
    path = tool_graph(calculate(tools="add|multiply", context={"strategy": "llm"}))

    result = run_graph(path, {"a": 6, "b": 7}, config=llm_config(llm_server))

    assert result.final_state["handled"] == (
        "the model chose 'subtract', which is not one of the tools (add, multiply)"
    )


def test_a_folder_tool_source_offers_the_tools_of_all_its_files(
    tool_graph: Callable[..., Path], tool_project: Path
) -> None:
    (tool_project / "tools" / "text_tools.py").write_text(
        "def reverse(text: str) -> str:\n    return text[::-1]\n", encoding="utf-8"
    )
    path = tool_graph(calculate(source="tools", tools="reverse", inputs="word", output="back"))

    assert run_graph(path, {"word": "stressed"}).final_state["back"] == "desserts"


def test_langchain_tool_objects_are_tools_with_their_name_and_description(
    tool_graph: Callable[..., Path], tool_project: Path
) -> None:
    (tool_project / "tools" / "wrapped.py").write_text(
        '''
class StructuredTool:
    """What langchain-core's @tool makes of a function: name, description, func."""

    def __init__(self, func):
        self.func, self.name, self.description = func, func.__name__, func.__doc__

    def invoke(self, arguments):
        return self.func(**arguments)


def tool(func):
    return StructuredTool(func)


@tool
def count_words(text: str) -> int:
    """Counts the words of a text."""
    return len(text.split())
''',
        encoding="utf-8",
    )
    path = tool_graph(
        calculate(source="tools/wrapped.py", tools="count_words", inputs="text", output="words")
    )

    assert run_graph(path, {"text": "one two three"}).final_state["words"] == 3


def test_the_cli_runs_a_tool_agent_choosing_by_the_state(tool_graph: Callable[..., Path]) -> None:
    path = tool_graph(calculate(tools="add|multiply"))

    done = subprocess.run(
        [AGENTMAP, "run", path.name, "--state", '{"a": 6, "b": 7, "tool": "multiply"}', "--json"],
        cwd=path.parent,
        env=clean_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["final_state"]["result"] == 42
    assert document["summary"]["execution_path"] == ["Calculate"]


# --- validation -------------------------------------------------------------------------------


def _problems(path: Path) -> list[tuple[str, str | None, str]]:
    report = validate_graph(path)
    return [(p.severity, p.cell, p.message) for p in (*report.errors, *report.warnings)]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        pytest.param(
            {"source": "tools/nope.py", "tools": "add"},
            (
                "error",
                "D2",
                "Tool_Source 'tools/nope.py': no such file or folder (looked for tools/nope.py)"
                " — give the path of the Python file, relative to the graph file or to the "
                "current folder",
            ),
            id="module-not-found",
        ),
        pytest.param(
            {"tools": "add|multiplie"},
            (
                "error",
                "E2",
                "no tool named 'multiplie' in tools/math_tools.py — did you mean 'multiply'? "
                "(its functions: add, multiply, shout, divide)",
            ),
            id="tool-not-defined",
        ),
        pytest.param(
            {"source": "", "tools": "add"},
            (
                "error",
                "D2",
                "Tool_Source is empty — name the Python file (or folder) the node's tools are "
                "functions in, such as tools/math_tools.py",
            ),
            id="no-tool-source",
        ),
        pytest.param(
            {"source": "tools/empty.py"},
            (
                "error",
                "D2",
                "tools/empty.py defines no public function — a tool_agent needs at least one tool",
            ),
            id="no-tools",
        ),
        pytest.param(
            {"source": "toolnode", "tools": "add"},
            (
                "error",
                "D2",
                "Tool_Source is 'toolnode' (AgentMap's tools bound in code) — name the Python "
                "file (or folder) the node's tools are functions in, such as tools/math_tools.py",
            ),
            id="agentmap-toolnode",
        ),
        pytest.param(
            {"source": "tools/notes.txt"},
            (
                "error",
                "D2",
                "Tool_Source 'tools/notes.txt' is not a Python file (.py) — name the file its "
                "tools are in",
            ),
            id="not-python",
        ),
        pytest.param(
            {"tools": "add(adds)"},
            (
                "error",
                "E2",
                "'add(adds)' is not a tool name or name(\"description\") — write tool names "
                'separated by |, such as add|multiply or add("adds two numbers")',
            ),
            id="malformed-available-tools",
        ),
        pytest.param(
            {"tools": "add", "context": {"strategy": "magic"}},
            (
                "error",
                "K2",
                "Context strategy must be one of keyword, llm, tiered, algorithm: 'magic'",
            ),
            id="unknown-strategy",
        ),
    ],
)
def test_tool_setup_problems_are_placed_at_their_cell(
    tool_graph: Callable[..., Path],
    tool_project: Path,
    cells: dict[str, Any],
    expected: tuple[str, str, str],
) -> None:
    (tool_project / "tools" / "empty.py").write_text("LIMIT = 3\n", encoding="utf-8")
    (tool_project / "tools" / "notes.txt").write_text("add\n", encoding="utf-8")
    path = tool_graph(calculate(**cells))

    assert _problems(path) == [expected]


def test_a_tool_module_that_fails_to_import_is_named_with_its_line(
    tool_graph: Callable[..., Path], tool_project: Path
) -> None:
    (tool_project / "tools" / "broken.py").write_text(
        "def ok():\n    pass\n\nraise RuntimeError('no config')\n", encoding="utf-8"
    )
    path = tool_graph(calculate(source="tools/broken.py"))

    [(severity, cell, message)] = _problems(path)

    assert (severity, cell) == ("error", "D2")
    assert message.startswith("tools/broken.py:4: importing this module raised RuntimeError")


def test_an_agentmap_tool_module_without_langchain_says_what_to_do(
    tool_graph: Callable[..., Path], tool_project: Path
) -> None:
    (tool_project / "tools" / "lc.py").write_text(
        "from langchain_core_absent.tools import tool\n", encoding="utf-8"
    )
    path = tool_graph(calculate(source="tools/lc.py"))

    [(_, _, message)] = _problems(path)

    assert message.endswith(
        "(AgentMap's tool modules use langchain-core's @tool: install langchain-core, or remove "
        "the decorator — plain functions are tools here)"
    )


def test_two_files_of_a_folder_defining_one_tool_is_an_error(
    tool_graph: Callable[..., Path], tool_project: Path
) -> None:
    (tool_project / "tools" / "more_math.py").write_text(
        "def add(a, b):\n    return a + b\n", encoding="utf-8"
    )
    path = tool_graph(calculate(source="tools"))

    assert _problems(path) == [
        (
            "error",
            "D2",
            "two files of tools define a tool 'add': math_tools.py and more_math.py — rename one",
        )
    ]


def test_tool_columns_on_another_agent_are_a_warning(tool_graph: Callable[..., Path]) -> None:
    path = tool_graph(
        tool_row("Start", "echo", source="tools/math_tools.py", inputs="a", success="Handle")
    )

    assert _problems(path) == [
        (
            "warning",
            "D2",
            "Tool_Source is read only by tool_agent nodes; this node is 'echo', so it is "
            "ignored — clear it, or make the node a tool_agent",
        )
    ]


def test_a_tool_source_outside_the_allowed_folders_is_refused(
    tool_graph: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "tools.py"
    elsewhere.write_text("def add(a, b):\n    return a + b\n", encoding="utf-8")
    path = tool_graph(calculate(source=str(elsewhere), tools="add"))

    report = validate_graph(path, config={"security": {"allowed_paths": ["."]}})

    [problem] = report.errors
    assert (problem.cell, problem.field) == ("D2", "Tool_Source")
    assert "is outside the folders agentmap may read files from" in problem.message


# --- other formats ----------------------------------------------------------------------------


def test_yaml_tool_keys_make_the_same_node_as_the_csv_columns(
    tool_graph: Callable[..., Path], tool_project: Path
) -> None:
    csv_path = tool_graph(calculate(tools='add|multiply("product")'))
    yaml_path = tool_project / "flow.yaml"
    yaml_path.write_text(
        """
graphs:
  Main:
    nodes:
      - name: Calculate
        agent_type: tool_agent
        tool_source: tools/math_tools.py
        available_tools: [add, 'multiply("product")']
        inputs: [a, b]
        output: result
        failure_next: Handle
      - name: Handle
        agent_type: echo
        inputs: [error]
        output: handled
""",
        encoding="utf-8",
    )

    from_csv = read_graph_file(csv_path)[0].graphs["Main"].nodes
    from_yaml = read_graph_file(yaml_path)[0].graphs["Main"].nodes

    assert from_yaml == from_csv
    assert from_yaml["Calculate"].tools == (("add", ""), ("multiply", "product"))


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".xlsx", ".csv"])
def test_convert_keeps_the_tool_columns(
    tool_graph: Callable[..., Path], tool_project: Path, suffix: str
) -> None:
    source = tool_graph(calculate(tools='add|multiply("the | product")'))
    middle = tool_project / f"middle{suffix}"
    back = tool_project / "back.csv"

    convert_graph(source, middle)
    convert_graph(middle, back)

    again = read_graph_file(back)[0].graphs["Main"].nodes
    assert again == read_graph_file(source)[0].graphs["Main"].nodes
    assert again["Calculate"].tools == (("add", ""), ("multiply", "the | product"))
    header = back.read_text(encoding="utf-8").splitlines()[0]
    assert header.endswith(",Tool_Source,Available_Tools")


def test_convert_writes_no_tool_columns_for_a_graph_without_tools(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    source = graph_csv("Main,Start,echo,,,,input,out,,,")
    target = project / "again.csv"

    convert_graph(source, target)

    assert target.read_text(encoding="utf-8").splitlines()[0] == (
        "GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,"
        "Prompt,Context,Description"
    )


def test_the_documented_example_runs_as_written(project: Path) -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "agents.md").read_text("utf-8")
    section = text.split("## tool_agent", 1)[1].split("\n## ", 1)[0]
    graph = re.search(r"```csv\n(.*?)```", section, flags=re.S)
    module = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert graph is not None and module is not None
    (project / "tools").mkdir()
    (project / "tools" / "math_tools.py").write_text(module[1], encoding="utf-8")
    (project / "calc.csv").write_text(graph[1], encoding="utf-8")

    chosen = run_graph(project / "calc.csv", {"a": 6, "b": 7, "tool": "multiply"})
    by_words = run_graph(project / "calc.csv", {"a": "6", "b": "7", "request": "x"})

    assert chosen.final_state["answer"] == 42
    assert by_words.final_state["answer"] == (
        "no tool of Compute (add, multiply) matches the request by its words — name the tool in "
        "the state key 'tool', describe the tools in Available_Tools (add(\"adds two numbers\")), "
        'or use the "llm" strategy'
    )


def test_an_agentmap_style_tool_pipeline_runs_unchanged(project: Path) -> None:
    graph = Path(__file__).resolve().parent / "compat" / "tools" / "word_pipeline.csv"

    result = run_graph(graph, {"phrase": "never odd or even"})

    assert result.summary.execution_path == ("Loud", "Backwards", "Count", "Pick", "Done")
    assert {key: result.final_state[key] for key in ("loud", "words", "picked", "result")} == {
        "loud": "NEVER ODD OR EVEN",
        "words": 4,
        "picked": "neve ro ddo reven",
        "result": "NEVE RO DDO REVEN",
    }


def test_a_tool_source_relative_to_the_current_folder_is_found_as_agentmap_finds_it(
    tool_project: Path,
) -> None:
    (tool_project / "workflows").mkdir()
    graph = tool_project / "workflows" / "calc.csv"
    graph.write_text(
        table(
            tool_row(
                "Add", source="tools/math_tools.py", tools="add", inputs="a|b", output="result"
            )
        ),
        encoding="utf-8",
    )

    assert run_graph(graph, {"a": 1, "b": 2}).final_state["result"] == 3


def test_a_tool_file_shared_by_nodes_is_imported_once(tool_project: Path) -> None:
    (tool_project / "tools" / "counted.py").write_text(
        "from pathlib import Path\n"
        "with Path('imports.log').open('a') as log:\n"
        "    log.write('imported\\n')\n\n"
        "def double(n: int) -> int:\n    return 2 * n\n",
        encoding="utf-8",
    )
    source = "tools/counted.py"
    graph = tool_project / "twice.csv"
    graph.write_text(
        table(
            tool_row("One", source=source, inputs="n", output="n", success="Two"),
            tool_row("Two", source=source, inputs="n", output="n"),
        ),
        encoding="utf-8",
    )

    assert run_graph(graph, {"n": 3}).final_state["n"] == 12
    assert (tool_project / "imports.log").read_text(encoding="utf-8") == "imported\n"
