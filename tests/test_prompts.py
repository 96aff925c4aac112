"""Prompts and Context: ``{field}`` placeholders, ``prompt:``/``file:`` references, ``k=v`` context.

A Prompt cell is kept in the graph as written and resolved for the agent; every placeholder
must name one of the node's inputs, and every reference must resolve — checked at the cell
before anything runs. A Context cell is JSON, ``key=value; key2=value2`` pairs, or text, and
agents can read it but not change it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentmap import ConfigError, GraphValidationError, load_graph, run_graph, validate_graph
from agentmap.cli.app import app

WriteFile = Callable[..., Path]

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
PROMPT_CELL = "flow.csv:2 I2 Prompt"
REGISTRY_MUST_MAP = "the prompts registry must map names to text, e.g. 'greet: Hello {name}'"
NOT_PLAIN = (
    "'{cell}' is not a plain {{field}} placeholder — use an input's name, or {{{{ and }}}} for "
    "literal braces"
)
PROBE_AGENT = """\
from agentmap import Agent


class ProbeAgent(Agent):
    def process(self, inputs):
        return {"prompt": self.prompt, "rendered": self.render_prompt(inputs)}
"""


def graph_file(
    write_file: WriteFile,
    *nodes: dict[str, str],
    name: str = "flow.csv",
) -> Path:
    """A CSV graph ``Main`` with one row per node (columns by name; quoting done by csv)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for node in nodes:
        writer.writerow([node.get(column, "") for column in HEADER])
    return write_file(name, buffer.getvalue())


def node(
    name: str = "Greet",
    agent: str = "default",
    inputs: str = "name",
    output: str = "out",
    prompt: str = "",
    context: str = "",
) -> dict[str, str]:
    """One row of graph ``Main``."""
    return {
        "GraphName": "Main",
        "Node": name,
        "AgentType": agent,
        "Input_Fields": inputs,
        "Output_Field": output,
        "Prompt": prompt,
        "Context": context,
    }


def errors_of(source: str = "flow.csv") -> list[str]:
    """Every validation error of the file, as ``place: message``."""
    return [str(problem) for problem in validate_graph(source).errors]


def asked(prompt_text: str, shown_inputs: str = "name='Ada'", node_name: str = "Greet") -> str:
    """What the ``default`` agent returns when asked ``prompt_text``."""
    return f"{node_name} was asked: {prompt_text} (inputs: {shown_inputs})"


# --- inline {field} placeholders are filled from the node's inputs


@pytest.mark.parametrize(
    ("prompt", "rendered"),
    [
        ("Hello {name}", "Hello Ada"),
        ("{name}, {name}!", "Ada, Ada!"),
        ("{{name}} is {name}", "{name} is Ada"),
        ('As JSON: {{"who": "{name}"}}', 'As JSON: {"who": "Ada"}'),
        ("No placeholders at all", "No placeholders at all"),
    ],
)
def test_default_agent_is_asked_its_prompt_filled_from_the_inputs(
    project: Path, write_file: WriteFile, prompt: str, rendered: str
) -> None:
    graph_file(write_file, node(prompt=prompt))
    result = run_graph("flow.csv", {"name": "Ada"})
    assert result.final_state["out"] == asked(rendered)


def test_failure_agent_error_is_its_prompt_filled_from_the_inputs(
    project: Path, write_file: WriteFile
) -> None:
    graph_file(
        write_file,
        node(name="Refuse", agent="failure", inputs="item", output="", prompt="No {item} today"),
    )
    result = run_graph("flow.csv", {"item": "lamps"})
    assert result.success is False
    assert result.final_state["error"] == "No lamps today"


def test_input_agent_asks_its_prompt_filled_from_the_inputs(
    project: Path,
    write_file: WriteFile,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    graph_file(write_file, node(name="Ask", agent="input", output="age", prompt="{name}, age?"))
    monkeypatch.setattr("sys.stdin", io.StringIO("42\n"))
    result = run_graph("flow.csv", {"name": "Ada"})
    assert capsys.readouterr().err == "Ada, age? "
    assert result.final_state["age"] == "42"


def test_renamed_input_fills_the_placeholder_named_after_its_param(
    project: Path, write_file: WriteFile
) -> None:
    graph_file(write_file, node(inputs="user:who", prompt="Hello {who}"))
    result = run_graph("flow.csv", {"user": "Ada"})
    assert result.final_state["out"] == asked("Hello Ada", "who='Ada'")


# --- placeholders and braces are checked at the Prompt cell


@pytest.mark.parametrize(
    ("prompt", "inputs", "message"),
    [
        pytest.param(
            "Hello {nme}",
            "name",
            "placeholder {nme} has no matching input — did you mean 'name'? — add 'nme' to "
            "Input_Fields, or write {{nme}} for literal braces",
            id="misspelt-input",
        ),
        pytest.param(
            "Hello {name}",
            "",
            "placeholder {name} has no matching input — add 'name' to Input_Fields, or write "
            "{{name}} for literal braces",
            id="no-inputs",
        ),
        pytest.param(
            "Hello {user}",
            "user:who",
            "placeholder {user} has no matching input — add 'user' to Input_Fields, or write "
            "{{user}} for literal braces",
            id="state-key-of-a-renamed-input",
        ),
        pytest.param(
            "Hello {name",
            "name",
            "the prompt has a stray brace (expected '}' before end of string) — write {{ or }} "
            "for a literal brace",
            id="unclosed-brace",
        ),
        pytest.param(
            "Hello name}",
            "name",
            "the prompt has a stray brace (Single '}' encountered in format string) — write {{ "
            "or }} for a literal brace",
            id="lone-closing-brace",
        ),
        pytest.param("Item {0}", "name", NOT_PLAIN.format(cell="{0}"), id="positional"),
        pytest.param("Hi {}", "name", NOT_PLAIN.format(cell="{}"), id="empty"),
        pytest.param("Hi {a.b}", "a", NOT_PLAIN.format(cell="{a.b}"), id="attribute"),
        pytest.param("Hi {a[0]}", "a", NOT_PLAIN.format(cell="{a[0]}"), id="index"),
        pytest.param("Hi {x!r}", "x", NOT_PLAIN.format(cell="{x!r}"), id="conversion"),
        pytest.param("Hi {x:>10}", "x", NOT_PLAIN.format(cell="{x:>10}"), id="format-spec"),
    ],
)
def test_prompt_rule_is_one_error_at_the_prompt_cell(
    project: Path, write_file: WriteFile, prompt: str, inputs: str, message: str
) -> None:
    graph_file(write_file, node(inputs=inputs, prompt=prompt))
    assert errors_of() == [f"{PROMPT_CELL}: {message}"]


def test_every_unmatched_placeholder_of_a_prompt_is_reported_at_once(
    project: Path, write_file: WriteFile
) -> None:
    graph_file(write_file, node(inputs="name", prompt="{greeting} {name}, from {sender}"))
    assert errors_of() == [
        f"{PROMPT_CELL}: placeholder {{greeting}} has no matching input — add 'greeting' to "
        "Input_Fields, or write {{greeting}} for literal braces",
        f"{PROMPT_CELL}: placeholder {{sender}} has no matching input — add 'sender' to "
        "Input_Fields, or write {{sender}} for literal braces",
    ]


def test_prompt_error_stops_the_run_before_any_node_runs(
    project: Path, write_file: WriteFile
) -> None:
    graph_file(
        write_file,
        {**node(name="Start", agent="echo", output="name"), "Edge": "Greet"},
        node(prompt="Hello {nme}"),
    )
    result = CliRunner().invoke(app, ["run", "flow.csv", "--state", '{"name": "Ada"}'])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == (
        "error flow.csv:3 I3 Prompt: placeholder {nme} has no matching input — did you mean "
        "'name'? — add 'nme' to Input_Fields, or write {{nme}} for literal braces\n"
        "1 error; nothing was run.\n"
    )


def test_prompt_placeholder_in_a_yaml_graph_is_an_error_at_its_key(
    project: Path, write_file: WriteFile
) -> None:
    write_file(
        "flow.yaml",
        """
        graphs:
          Main:
            nodes:
              - name: Greet
                inputs: [name]
                prompt: Hello {nme}
        """,
    )
    assert errors_of("flow.yaml") == [
        "flow.yaml:4 graphs.Main.nodes[0].prompt Prompt: placeholder {nme} has no matching "
        "input — did you mean 'name'? — add 'nme' to Input_Fields, or write {{nme}} for "
        "literal braces"
    ]


# --- prompt:name comes from the registry at paths.prompts


def test_registry_prompt_comes_from_prompts_yaml_in_the_project_folder(
    project: Path, write_file: WriteFile
) -> None:
    write_file("prompts.yaml", "greet: Hello {name}\nbye: Goodbye {name}\n")
    graph_file(write_file, node(prompt="prompt:greet"))
    result = run_graph("flow.csv", {"name": "Ada"})
    assert result.final_state["out"] == asked("Hello Ada")


def test_registry_prompt_comes_from_the_configured_paths_prompts(
    project: Path, write_file: WriteFile
) -> None:
    write_file("agentmap_config.yaml", "paths:\n  prompts: texts/greetings.yaml\n")
    write_file("texts/greetings.yaml", "greet: Welcome, {name}\n")
    write_file("prompts.yaml", "greet: Not this one, {name}\n")
    graph_file(write_file, node(prompt="prompt:greet"))
    result = run_graph("flow.csv", {"name": "Ada"})
    assert result.final_state["out"] == asked("Welcome, Ada")


def test_unknown_registry_name_is_an_error_at_the_cell_with_did_you_mean(
    project: Path, write_file: WriteFile
) -> None:
    registry = write_file("prompts.yaml", "greet: Hello {name}\nbye: Goodbye {name}\n")
    graph_file(write_file, node(prompt="prompt:gret"))
    assert errors_of() == [
        f"{PROMPT_CELL}: no prompt named 'gret' in the prompts registry {registry} — did you "
        "mean 'greet'?"
    ]


def test_registry_reference_without_a_registry_file_says_the_file_does_not_exist(
    project: Path, write_file: WriteFile
) -> None:
    graph_file(write_file, node(prompt="prompt:greet"))
    assert errors_of() == [
        f"{PROMPT_CELL}: no prompt named 'greet' in the prompts registry "
        f"{project / 'prompts.yaml'} (which does not exist — create it or set paths.prompts)"
    ]


def test_registry_prompt_placeholders_are_checked_against_the_inputs(
    project: Path, write_file: WriteFile
) -> None:
    write_file("prompts.yaml", "greet: Hello {nam}\n")
    graph_file(write_file, node(prompt="prompt:greet"))
    assert errors_of() == [
        f"{PROMPT_CELL}: placeholder {{nam}} has no matching input — did you mean 'name'? — add "
        "'nam' to Input_Fields, or write {{nam}} for literal braces"
    ]


MALFORMED_REGISTRIES = [
    pytest.param("- greet\n- bye\n", id="a-list"),
    pytest.param("greet: [Hello, there]\n", id="a-list-value"),
    pytest.param("greet:\n  text: Hello\n", id="a-mapping-value"),
    pytest.param("Just a sentence\n", id="plain-text"),
]


@pytest.mark.parametrize("contents", MALFORMED_REGISTRIES)
def test_registry_that_is_not_a_mapping_of_text_is_a_config_error(
    project: Path, write_file: WriteFile, contents: str
) -> None:
    registry = write_file("prompts.yaml", contents)
    graph_file(write_file, node(prompt="prompt:greet"))
    with pytest.raises(ConfigError) as raised:
        validate_graph("flow.csv")
    assert raised.value.message == f"{registry}: {REGISTRY_MUST_MAP}"


def test_registry_that_is_not_a_mapping_of_text_exits_2_from_the_cli(
    project: Path, write_file: WriteFile
) -> None:
    registry = write_file("prompts.yaml", "- greet\n- bye\n")
    graph_file(write_file, node(prompt="prompt:greet"))
    result = CliRunner().invoke(app, ["run", "flow.csv"])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == f"error: {registry}: {REGISTRY_MUST_MAP}\n"


def test_registry_that_is_not_valid_yaml_exits_2_naming_its_file_and_line(
    project: Path, write_file: WriteFile
) -> None:
    registry = write_file("prompts.yaml", "greet: Hello\n  bye: Goodbye\n")
    graph_file(write_file, node(prompt="prompt:greet"))
    result = CliRunner().invoke(app, ["run", "flow.csv"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {registry}:2: ")
    assert result.stderr.count("\n") == 1  # one line, not the YAML parser's report
    assert "Traceback" not in result.output


# --- file:path is relative to the graph file's folder


def test_file_prompt_is_read_relative_to_the_graph_files_folder(
    project: Path, write_file: WriteFile
) -> None:
    write_file("flows/prompts/greet.txt", "Hello {name}")
    write_file("prompts/greet.txt", "Not this one, {name}")  # relative to the cwd: not used
    graph_file(write_file, node(prompt="file:prompts/greet.txt"), name="flows/flow.csv")
    result = run_graph("flows/flow.csv", {"name": "Ada"})
    assert result.final_state["out"] == asked("Hello Ada")


def test_missing_prompt_file_is_an_error_at_the_cell(project: Path, write_file: WriteFile) -> None:
    write_file("prompts/greet.txt", "Hello {name}")  # beside the cwd, not the graph
    graph_file(write_file, node(prompt="file:prompts/greet.txt"), name="flows/flow.csv")
    assert errors_of("flows/flow.csv") == [
        "flows/flow.csv:2 I2 Prompt: prompt file flows/prompts/greet.txt does not exist — the "
        "path is relative to the graph file"
    ]


def test_file_prompt_placeholders_are_checked_against_the_inputs(
    project: Path, write_file: WriteFile
) -> None:
    write_file("prompts/greet.txt", "Hello {nam}")
    graph_file(write_file, node(prompt="file:prompts/greet.txt"))
    assert errors_of() == [
        f"{PROMPT_CELL}: placeholder {{nam}} has no matching input — did you mean 'name'? — add "
        "'nam' to Input_Fields, or write {{nam}} for literal braces"
    ]


# --- the graph keeps the cell; the agent gets the text

REFERENCES = ["prompt:greet", "file:prompts/greet.txt", " prompt: greet "]


@pytest.fixture
def greet_prompt(project: Path, write_file: WriteFile) -> None:
    """``greet`` as a registry entry and as a prompt file, and the probe agent in agents/."""
    write_file("prompts.yaml", "greet: Hello {name}\n")
    write_file("prompts/greet.txt", "Hello {name}")
    write_file("agents/probe.py", PROBE_AGENT)


@pytest.mark.parametrize("cell", REFERENCES)
def test_graph_model_keeps_the_prompt_cell_as_written(
    greet_prompt: None, write_file: WriteFile, cell: str
) -> None:
    graph_file(write_file, node(name="X", agent="probe", prompt=cell))
    assert load_graph("flow.csv").nodes["X"].prompt == cell


@pytest.mark.parametrize("cell", REFERENCES)
def test_agent_receives_the_resolved_prompt_text(
    greet_prompt: None, write_file: WriteFile, cell: str
) -> None:
    graph_file(write_file, node(name="X", agent="probe", prompt=cell))
    result = run_graph("flow.csv", {"name": "Ada"})
    assert result.final_state["out"] == {"prompt": "Hello {name}", "rendered": "Hello Ada"}


# --- Context: JSON, key=value pairs, or text


@pytest.mark.parametrize(
    ("cell", "context"),
    [
        ("model=gpt-4o; temperature=0.2", {"model": "gpt-4o", "temperature": "0.2"}),
        ("model=gpt-4o; temperature=0.2;", {"model": "gpt-4o", "temperature": "0.2"}),
        (" model = gpt-4o ;temperature=0.2 ", {"model": "gpt-4o", "temperature": "0.2"}),
        ("retries=3", {"retries": "3"}),
        ("max_tokens=500; stop=END", {"max_tokens": "500", "stop": "END"}),
    ],
)
def test_key_value_pairs_context_is_a_mapping_of_text(
    project: Path, write_file: WriteFile, cell: str, context: dict[str, str]
) -> None:
    graph_file(write_file, node(context=cell))
    assert load_graph("flow.csv").nodes["Greet"].context == context


@pytest.mark.parametrize(
    "cell",
    [
        "Sends the weekly report",
        "Set x = 1 before you start",  # 'Set x' is no identifier
        "Note: speed=fast",  # 'Note: speed' is no identifier
        "Be concise; tone=friendly",  # the first part is no pair
        "tone=friendly; be concise",  # the last part is no pair
        "2fast=yes",  # an identifier does not start with a digit
    ],
)
def test_text_that_is_not_all_key_value_pairs_stays_text(
    project: Path, write_file: WriteFile, cell: str
) -> None:
    graph_file(write_file, node(context=cell))
    assert load_graph("flow.csv").nodes["Greet"].context == cell


@pytest.mark.parametrize(
    ("cell", "context"),
    [
        ('{"field": "approved", "equals": "yes"}', {"field": "approved", "equals": "yes"}),
        ("{'field': 'approved', 'equals': 'yes'}", {"field": "approved", "equals": "yes"}),
        ('{"retries": 3, "strict": true}', {"retries": 3, "strict": True}),
    ],
)
def test_json_and_agentmap_dict_context_still_work(
    project: Path, write_file: WriteFile, cell: str, context: dict[str, Any]
) -> None:
    graph_file(write_file, node(context=cell))
    assert load_graph("flow.csv").nodes["Greet"].context == context


@pytest.mark.parametrize(("answer", "path"), [("yes", "Approved"), ("maybe", "Rejected")])
def test_key_value_context_configures_the_branching_agent(
    project: Path, write_file: WriteFile, answer: str, path: str
) -> None:
    graph_file(
        write_file,
        {
            **node(name="Decide", agent="branching", inputs="answer", output="decision"),
            "Context": "field=answer; equals=yes",
            "Success_Next": "Approved",
            "Failure_Next": "Rejected",
        },
        node(name="Approved", agent="success", inputs="", output=""),
        node(name="Rejected", agent="success", inputs="", output=""),
    )
    result = run_graph("flow.csv", {"answer": answer})
    assert result.summary.execution_path == ("Decide", path)


MUTATING_AGENTS = """\
from agentmap import Agent


class SetKeyAgent(Agent):
    def process(self, inputs):
        self.context["x"] = 1
        return "changed"


class SetNestedAgent(Agent):
    def process(self, inputs):
        self.context["options"]["x"] = 1
        return dict(self.context)
"""


def test_agent_that_changes_its_context_fails_the_node_with_a_clear_error(
    project: Path, write_file: WriteFile
) -> None:
    write_file("agents/mutating.py", MUTATING_AGENTS)
    graph_file(write_file, node(name="Change", agent="set_key", inputs="", context="model=gpt-4o"))
    result = run_graph("flow.csv")
    assert result.success is False
    assert result.final_state["error"] == "'mappingproxy' object does not support item assignment"
    assert "out" not in result.final_state


def test_agent_that_changes_its_context_leaves_the_graph_unchanged_for_the_next_run(
    project: Path, write_file: WriteFile
) -> None:
    write_file("agents/mutating.py", MUTATING_AGENTS)
    graph_file(write_file, node(name="Change", agent="set_key", inputs="", context="model=gpt-4o"))
    graph = load_graph("flow.csv")
    first = run_graph(graph)
    assert graph.nodes["Change"].context == {"model": "gpt-4o"}
    assert run_graph(graph).final_state == first.final_state


def test_agent_that_changes_a_nested_context_value_leaves_the_graph_unchanged(
    project: Path, write_file: WriteFile
) -> None:
    write_file("agents/mutating.py", MUTATING_AGENTS)
    cell = '{"options": {"depth": "2"}}'
    graph_file(write_file, node(name="Change", agent="set_nested", inputs="", context=cell))
    graph = load_graph("flow.csv")
    first = run_graph(graph)
    assert graph.nodes["Change"].context == {"options": {"depth": "2"}}
    assert run_graph(graph).final_state == first.final_state


def test_context_error_is_reported_before_the_run(project: Path, write_file: WriteFile) -> None:
    graph_file(write_file, node(context='{"model": gpt-4o}'))
    with pytest.raises(GraphValidationError) as raised:
        run_graph("flow.csv")
    assert [str(problem) for problem in raised.value.problems] == [
        "flow.csv:2 J2 Context: Context starts with '{' but is not valid JSON (Expecting value "
        'at character 11) — fix the JSON, e.g. {"key": "value"}'
    ]
