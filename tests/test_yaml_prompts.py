"""``yaml:FILE#key.path`` Prompt cells (AgentMap's syntax for a family of prompts in one YAML
file): found like ``file:`` prompts, nested keys by dots, and every way it can go wrong placed
at the Prompt cell. Real files and real ``agentmap`` processes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agentmap import run_graph, validate_graph
from helpers import csv_row
from test_durable import agentmap

SUPPORT = """\
# replies the support desk sends
responses:
  resolved: "Hi {name}, ticket {ticket} is resolved."
  pending: Still working on {ticket}
internal:
  handoff:
    note: "Hand {ticket} over"
2024:
  banner: Happy new year
count: 3
tags: [billing, refunds]
empty:
"""


SAY = """
from agentmap import Agent


class SayAgent(Agent):
    def process(self, inputs):
        return self.prompt
"""


@pytest.fixture
def support(write_file: Callable[..., Path]) -> Path:
    write_file("agents/say.py", SAY)  # a node that returns its resolved prompt as it is
    return write_file("prompts/support.yaml", SUPPORT)


def said(graph_csv: Callable[..., Path], prompt: str, inputs: str = "name|ticket") -> str:
    """What an echo node with ``prompt`` says to Ada about ticket T-7."""
    graph_csv(csv_row("G", "Say", "echo", inputs=inputs, output="out", prompt=prompt))
    result = run_graph("flow.csv", {"name": "Ada", "ticket": "T-7"})
    assert result.success, result.final_state
    return str(result.final_state["out"])


def test_a_yaml_prompt_is_the_text_at_its_key(
    project: Path, support: Path, graph_csv: Callable[..., Path]
) -> None:
    prompt = "yaml:prompts/support.yaml#responses.resolved"
    assert said(graph_csv, prompt) == "Hi Ada, ticket T-7 is resolved."


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("internal.handoff.note", "Hand {ticket} over"),
        ("2024.banner", "Happy new year"),  # a key YAML reads as a number
        ("count", "3"),  # a number is text, as AgentMap takes it
    ],
)
def test_a_yaml_prompt_follows_nested_keys_by_dots(
    project: Path, support: Path, graph_csv: Callable[..., Path], key: str, text: str
) -> None:
    prompt = f"yaml:prompts/support.yaml#{key}"
    graph_csv(csv_row("G", "Say", "say", inputs="ticket", output="out", prompt=prompt))
    assert run_graph("flow.csv", {}).final_state["out"] == text


def test_a_yaml_prompt_path_is_relative_to_the_graph_files_folder(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file("graphs/texts.yaml", "greet: Hello {name}\n")
    graph_csv(
        csv_row("G", "Say", "echo", inputs="name", output="out", prompt="yaml:texts.yaml#greet"),
        name="graphs/flow.csv",
    )
    done = agentmap(project, "run", "graphs/flow.csv", "--state", '{"name": "Ada"}', "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["final_state"]["out"] == "Hello Ada"


def test_the_graph_keeps_the_yaml_reference_as_written(
    project: Path, support: Path, graph_csv: Callable[..., Path]
) -> None:
    prompt = "yaml:prompts/support.yaml#responses.pending"
    graph_csv(csv_row("G", "Say", "echo", inputs="ticket", output="out", prompt=prompt))
    done = agentmap(project, "convert", "flow.csv", "flow.yaml")
    assert done.returncode == 0, done.stderr
    assert "yaml:prompts/support.yaml#responses.pending" in (project / "flow.yaml").read_text()


@pytest.mark.parametrize(
    ("prompt", "problem"),
    [
        (
            "yaml:prompts/support.yaml#responses.resolvd",
            "prompt file prompts/support.yaml has no key 'responses.resolvd': nothing named "
            "'resolvd' under 'responses' — did you mean 'resolved'?",
        ),
        (
            "yaml:prompts/support.yaml#greeting",
            "prompt file prompts/support.yaml has no key 'greeting': nothing named 'greeting' "
            "at its top level",
        ),
        (
            "yaml:prompts/support.yaml#responses.pending.more",
            "has no key 'responses.pending.more': nothing named 'more' under 'responses.pending'",
        ),
        (
            "yaml:prompts/support.yaml",
            "'yaml:prompts/support.yaml' needs a file and a key — write yaml:FILE#KEY",
        ),
        ("yaml:#responses", "'yaml:#responses' needs a file and a key"),
        (
            "yaml:prompts/missing.yaml#a",
            "prompt file prompts/missing.yaml does not exist — the path is relative to the graph "
            "file",
        ),
        (
            "yaml:prompts/support.yaml#responses",
            "'responses' in prompt file prompts/support.yaml holds a mapping, not text — point "
            "the key path at a text value",
        ),
        (
            "yaml:prompts/support.yaml#tags",
            "'tags' in prompt file prompts/support.yaml holds a list",
        ),
        ("yaml:prompts/support.yaml#empty", "holds nothing, not text"),
        (
            "yaml:prompts/broken.yaml#a",
            "prompt file prompts/broken.yaml is not valid YAML at line 2",
        ),
    ],
)
def test_a_yaml_prompt_that_does_not_resolve_is_an_error_at_its_cell(
    project: Path,
    support: Path,
    write_file: Callable[..., Path],
    graph_csv: Callable[..., Path],
    prompt: str,
    problem: str,
) -> None:
    write_file("prompts/broken.yaml", "a: [1, 2\nb: 3\n")
    graph_csv(csv_row("G", "Say", "echo", output="out", prompt=prompt))

    done = agentmap(project, "validate", "flow.csv")

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    placed = done.stdout + done.stderr
    assert "error flow.csv:2 I2 Prompt: " in placed
    assert problem in placed.split("error flow.csv:2 I2 Prompt: ", 1)[1].splitlines()[0]


def test_a_placeholder_in_a_yaml_prompt_needs_an_input(
    project: Path, support: Path, graph_csv: Callable[..., Path]
) -> None:
    prompt = "yaml:prompts/support.yaml#responses.resolved"
    graph_csv(csv_row("G", "Say", "echo", inputs="ticket", output="out", prompt=prompt))
    report = validate_graph("flow.csv")
    assert [(p.field, p.message) for p in report.errors] == [
        (
            "Prompt",
            "placeholder {name} has no matching input — add 'name' to Input_Fields, or write "
            "{{name}} for literal braces",
        )
    ]


def test_a_yaml_prompt_outside_the_allowed_paths_is_refused_at_its_cell(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    outside = project.parent / f"{project.name}-outside.yaml"
    outside.write_text("secret: TOP SECRET\n", encoding="utf-8")
    write_file("agentmap_config.yaml", "security:\n  allowed_paths: [.]\nstorage:\n  url: none\n")
    prompt = f"yaml:../{outside.name}#secret"
    graph_csv(csv_row("G", "Say", "echo", output="out", prompt=prompt))

    done = agentmap(project, "run", "flow.csv", "--json")

    assert done.returncode == 2
    assert "TOP SECRET" not in done.stdout + done.stderr
    assert "flow.csv:2 I2 Prompt" in done.stderr
    assert "outside the folders agentmap may read files from" in done.stderr
    assert "security.allowed_paths" in done.stderr


def test_a_yaml_prompt_file_over_the_size_limit_is_refused_at_its_cell(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file("agentmap_config.yaml", "limits:\n  max_file_mb: 0.0005\n")
    write_file("big.yaml", "text: " + "Say it. " * 100 + "\n")
    graph_csv(csv_row("G", "Say", "echo", output="out", prompt="yaml:big.yaml#text"))

    done = agentmap(project, "validate", "flow.csv")

    assert done.returncode == 1
    assert (
        "error flow.csv:2 I2 Prompt: prompt file big.yaml: is 807 bytes, more than the 0.0005 MB "
        "limits.max_file_mb allows for a prompt"
    ) in done.stdout + done.stderr
