"""Agents: the built-in types, custom Agent subclasses, @agent functions, and discovery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentmap import Agent, AgentError, Failure, run_graph
from agentmap.agents.base import type_name_of
from agentmap.agents.builtins import (
    BranchingAgent,
    DefaultAgent,
    EchoAgent,
    FailureAgent,
    SuccessAgent,
)
from agentmap.agents.catalog import AgentCatalog

AGENTMAP = Path(sys.executable).parent / "agentmap"


# --- default -------------------------------------------------------------------------------


def test_default_agent_describes_what_it_was_asked() -> None:
    agent = DefaultAgent(name="Respond", prompt="Say hello to the user")
    assert agent.process({"echoed": "hi", "n": 2}) == (
        "Respond was asked: Say hello to the user (inputs: echoed='hi', n=2)"
    )


def test_default_agent_without_prompt_or_inputs() -> None:
    assert DefaultAgent(name="Idle").process({}) == "Idle was asked: (no prompt)"


def test_blank_agent_type_is_the_default_agent(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    path = graph_csv("Main,Plan,,,,,x,out,Make a plan,,")
    result = run_graph(path, {"x": 1})
    assert result.final_state == {
        "x": 1,
        "out": "Plan was asked: Make a plan (inputs: x=1)",
        "last_action_success": True,
    }


# --- echo ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        pytest.param({"text": "hi"}, "hi", id="single-input-is-its-value"),
        pytest.param({"text": None}, None, id="single-absent-input-is-none"),
        pytest.param({"a": 1, "b": "two"}, {"a": 1, "b": "two"}, id="several-inputs-are-a-mapping"),
        pytest.param({}, None, id="no-inputs-is-none"),
    ],
)
def test_echo_agent(inputs: dict[str, Any], expected: Any) -> None:
    assert EchoAgent(name="Echo").process(inputs) == expected


@pytest.mark.parametrize(
    ("prompt", "inputs", "expected"),
    [
        pytest.param(
            "Hello {name}. Welcome!", {"name": "Ada"}, "Hello Ada. Welcome!", id="placeholder"
        ),
        pytest.param("{a} and {b}", {"a": 1, "b": [2]}, "1 and [2]", id="values-as-text"),
        pytest.param("{{literal}} {a}", {"a": "x"}, "{literal} x", id="doubled-braces"),
        pytest.param("Just text", {"a": "x"}, "x", id="no-brace-echoes-the-input"),
        pytest.param("Just text", {}, None, id="no-brace-no-inputs"),
    ],
)
def test_echo_agent_fills_a_prompt_that_has_a_brace(
    prompt: str, inputs: dict[str, Any], expected: Any
) -> None:
    assert EchoAgent(name="Echo", prompt=prompt).process(inputs) == expected


def test_echo_agent_in_a_graph_writes_its_filled_prompt(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    path = graph_csv("Main,Greet,echo,,,,name,result,Hello {name}. Welcome to AgentMap!,,")
    result = run_graph(path, {"name": "Ada"})
    assert result.final_state["result"] == "Hello Ada. Welcome to AgentMap!"


def test_echo_agent_fills_a_prompt_file_reference(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    (project / "greeting.txt").write_text("Dear {name},")
    path = graph_csv("Main,Greet,echo,,,,name,result,file:greeting.txt,,")
    assert run_graph(path, {"name": "Ada"}).final_state["result"] == "Dear Ada,"


def test_echo_agent_with_several_inputs_returns_a_new_mapping() -> None:
    inputs = {"a": 1, "b": 2}
    result = EchoAgent(name="Echo").process(inputs)
    assert result == inputs
    assert result is not inputs


def test_echo_agent_in_a_graph_writes_a_mapping_for_several_inputs(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    path = graph_csv("Main,Echo,echo,,,,a|b,both,,,")
    result = run_graph(path, {"a": 1, "b": 2})
    assert result.final_state["both"] == {"a": 1, "b": 2}


# --- success and failure -------------------------------------------------------------------


def test_success_agent_succeeds(project: Path, graph_csv: Callable[..., Path]) -> None:
    path = graph_csv(
        "Main,Ok,success,,Next,Bad,,out,,,", "Main,Next,success,,,,,,,,", "Main,Bad,success,,,,,,,,"
    )
    result = run_graph(path)
    assert result.summary.execution_path == ("Ok", "Next")
    assert result.final_state == {"out": "Ok succeeded", "last_action_success": True}


def test_failure_agent_returns_a_failure_without_raising() -> None:
    result = FailureAgent(name="Stop", prompt="nope").process({})
    assert result == Failure("nope")


def test_failure_agent_uses_its_prompt_as_the_error(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    path = graph_csv(
        "Main,Stop,failure,,Next,Handle,,,Card declined,,",
        "Main,Next,success,,,,,,,,",
        "Main,Handle,success,,,,,,,,",
    )
    result = run_graph(path)
    assert result.summary.execution_path == ("Stop", "Handle")
    assert result.summary.node_results[0].error == "Card declined"
    assert result.final_state["error"] == "Card declined"


def test_failure_agent_without_prompt_has_a_default_error() -> None:
    assert FailureAgent(name="Stop").process({}) == Failure("Stop failed (failure agent)")


def test_success_agent_returns_a_message() -> None:
    assert SuccessAgent(name="Ok").process({}) == "Ok succeeded"


# --- branching -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "succeeds"),
    [
        ("yes", True),
        ("true", True),
        ("1", True),
        ("approved", True),
        ("no", False),
        ("No", False),
        (" NO ", False),
        ("false", False),
        ("False", False),
        ("0", False),
        ("", False),
        ("off", False),
        ("n", False),
        ("none", False),
        ("null", False),
        ("fail", False),
        (1, True),
        (0, False),
        (True, True),
        (False, False),
        (None, False),
        ([1], True),
        ([], False),
    ],
)
def test_branching_agent_truthiness(value: Any, succeeds: bool) -> None:
    result = BranchingAgent(name="Check").process({"flag": value})
    assert isinstance(result, Failure) is not succeeds
    if succeeds:
        assert result == value
    else:
        assert result == Failure(f"Check: 'flag' is {value!r}", value=value)


@pytest.mark.parametrize(
    ("approved", "succeeds"),
    [("yes", True), ("no", False), ("true", False), ("YES", False)],
)
def test_branching_agent_context_field_equals(approved: str, succeeds: bool) -> None:
    agent = BranchingAgent(name="Check", context={"field": "approved", "equals": "yes"})
    result = agent.process({"first": "yes", "approved": approved})
    assert isinstance(result, Failure) is not succeeds


def test_branching_agent_context_field_without_equals_uses_truthiness() -> None:
    agent = BranchingAgent(name="Check", context={"field": "second"})
    assert agent.process({"first": "yes", "second": "no"}) == Failure(
        "Check: 'second' is 'no'", value="no"
    )


def test_branching_agent_on_a_field_it_was_not_given_fails() -> None:
    agent = BranchingAgent(name="Check", context={"field": "missing"})
    assert agent.process({"first": "yes"}) == Failure(
        "Check branches on 'missing', which is not among its inputs"
    )


def test_branching_agent_without_inputs_fails() -> None:
    assert BranchingAgent(name="Check").process({}) == Failure(
        "Check has no input to branch on — list one in Input_Fields"
    )


@pytest.mark.parametrize(("flag", "path"), [("yes", ("Check", "Yes")), ("no", ("Check", "No"))])
def test_branching_agent_routes_a_graph(
    project: Path, graph_csv: Callable[..., Path], flag: str, path: tuple[str, ...]
) -> None:
    csv = graph_csv(
        'Main,Check,branching,,Yes,No,flag,,,"{""field"": ""flag"", ""equals"": ""yes""}",',
        "Main,Yes,success,,,,,,,,",
        "Main,No,success,,,,,,,,",
    )
    assert run_graph(csv, {"flag": flag}).summary.execution_path == path


# --- input ---------------------------------------------------------------------------------


@pytest.fixture
def ask_csv(project: Path, graph_csv: Callable[..., Path]) -> Path:
    return graph_csv("Main,Ask,input,,,,,answer,What is your name?,,")


def run_cli(args: list[str], cwd: Path, answer: str | None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``agentmap`` command; ``answer=None`` gives it a closed stdin."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMAP_")}
    stdin = {"stdin": subprocess.DEVNULL} if answer is None else {"input": answer}
    return subprocess.run(
        [str(AGENTMAP), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        **stdin,
    )


def test_input_agent_reads_the_answer_from_stdin(ask_csv: Path, project: Path) -> None:
    done = run_cli(["run", ask_csv.name, "--json"], project, "Ada Lovelace\n")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["final_state"] == {"answer": "Ada Lovelace", "last_action_success": True}


def test_input_agent_prompt_goes_to_stderr(ask_csv: Path, project: Path) -> None:
    done = run_cli(["run", ask_csv.name, "--json"], project, "Ada\n")
    assert "What is your name?" in done.stderr
    assert "What is your name?" not in done.stdout


def test_input_agent_leaves_stdout_one_clean_json_document(ask_csv: Path, project: Path) -> None:
    done = run_cli(["run", ask_csv.name, "--json"], project, "Ada\n")
    document = json.loads(done.stdout)
    assert document["success"] is True
    assert document["summary"]["execution_path"] == ["Ask"]


def test_input_agent_with_closed_stdin_is_a_node_failure(ask_csv: Path, project: Path) -> None:
    done = run_cli(["run", ask_csv.name, "--json"], project, None)
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert document["success"] is False
    assert document["final_state"] == {
        "last_action_success": False,
        "error": "Ask: no answer — standard input is closed",
    }


# --- custom agents -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CustomProcessorAgent", "custom_processor"),
        ("LLMAgent", "llm"),
        ("EchoAgent", "echo"),
        ("ProcessDataAgent", "process_data"),
        ("HTTPRequestAgent", "http_request"),
        ("Summarizer", "summarizer"),
        ("GPT4Agent", "gpt4"),
        ("custom_processor", "custom_processor"),
        ("Custom Processor", "custom_processor"),
    ],
)
def test_type_name_comes_from_the_class_name(name: str, expected: str) -> None:
    assert type_name_of(name) == expected


def test_agent_subclass_type_name_from_class_name() -> None:
    class CustomProcessorAgent(Agent):
        pass

    assert CustomProcessorAgent.type_name() == "custom_processor"


def test_agent_subclass_type_name_from_agent_type_attribute() -> None:
    class Whatever(Agent):
        agent_type = "special"

    assert Whatever.type_name() == "special"


@pytest.mark.parametrize("cell", ["echo", "Echo", "EchoAgent", "ECHO"])
def test_agent_type_cells_ignore_case_and_agent_suffix(cell: str) -> None:
    assert AgentCatalog().has(cell)


def test_agent_without_process_raises_not_implemented() -> None:
    with pytest.raises(NotImplementedError, match="EmptyAgent must implement process"):
        type("EmptyAgent", (Agent,), {})(name="X").process({})


SEEING_AGENT = """
from agentmap import Agent


class IntrospectAgent(Agent):
    def process(self, inputs):
        return {
            "name": self.name,
            "prompt": self.prompt,
            "context": self.context,
            "description": self.description,
            "inputs": dict(inputs),
        }
"""


def test_agent_sees_its_nodes_name_prompt_context_and_description(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file("agents/introspect.py", SEEING_AGENT)
    path = graph_csv(
        'Main,Look,introspect,,,,user:who,seen,Look around,"{""depth"": 2}",Inspect things'
    )
    seen = run_graph(path, {"user": "ada"}).final_state["seen"]
    assert seen == {
        "name": "Look",
        "prompt": "Look around",
        "context": {"depth": 2},
        "description": "Inspect things",
        "inputs": {"who": "ada"},
    }


def test_agent_sees_plain_text_context_as_text(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file("agents/introspect.py", SEEING_AGENT)
    path = graph_csv("Main,Look,introspect,,,,,seen,,be thorough,")
    assert run_graph(path).final_state["seen"]["context"] == "be thorough"


def test_custom_agent_class_is_used_by_its_type_name(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file(
        "agents/custom.py",
        """
        from agentmap import Agent


        class CustomProcessorAgent(Agent):
            def process(self, inputs):
                return inputs["x"] * 2
    """,
    )
    path = graph_csv(
        "Main,A,custom_processor,B,,,x,y,,,", "Main,B,CustomProcessorAgent,,,,y:x,z,,,"
    )
    assert run_graph(path, {"x": 2}).final_state == {
        "x": 2,
        "y": 4,
        "last_action_success": True,
        "z": 8,
    }


FUNCTION_AGENTS = """
from agentmap import agent


@agent("greet")
def make_greeting(inputs):
    return f"hello {inputs['who']}"


@agent
async def shout_async(inputs):
    return inputs["who"].upper()


def not_an_agent(inputs):
    return "never"
"""


def test_function_agent_runs_by_its_given_name(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file("agents/functions.py", FUNCTION_AGENTS)
    path = graph_csv("Main,Hi,greet,,,,name:who,greeting,,,")
    assert run_graph(path, {"name": "ada"}).final_state["greeting"] == "hello ada"


def test_async_function_agent_runs_by_its_function_name(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file("agents/functions.py", FUNCTION_AGENTS)
    path = graph_csv("Main,Loud,shout_async,,,,who,loud,,,")
    assert run_graph(path, {"who": "ada"}).final_state["loud"] == "ADA"


def test_unmarked_function_is_not_an_agent(project: Path, write_file: Callable[..., Path]) -> None:
    write_file("agents/functions.py", FUNCTION_AGENTS)
    catalog = AgentCatalog.discover(project / "agents")
    assert {"greet", "shout_async"} <= set(catalog.types())
    assert not catalog.has("not_an_agent")


def test_agent_class_imported_into_an_agents_module_is_not_redefined(
    project: Path, write_file: Callable[..., Path]
) -> None:
    write_file("agents/a.py", "from agentmap.agents.builtins import EchoAgent\n")
    write_file("agents/b.py", "from agentmap.agents.builtins import EchoAgent\n")
    assert AgentCatalog.discover(project / "agents").types() == AgentCatalog().types()


def test_same_agent_type_in_two_modules_is_an_agent_error(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    dup = (
        "from agentmap import Agent\n\n\n"
        "class DupAgent(Agent):\n    def process(self, inputs):\n        return 1\n"
    )
    first = write_file("agents/first.py", dup)
    second = write_file("agents/second.py", dup)
    path = graph_csv("Main,A,dup,,,,,,,,")
    with pytest.raises(AgentError) as caught:
        run_graph(path)
    message = str(caught.value)
    assert "agent type 'dup' is defined twice" in message
    assert str(first) in message and str(second) in message


def test_agent_class_and_function_with_one_type_name_is_an_agent_error(
    project: Path, write_file: Callable[..., Path]
) -> None:
    write_file(
        "agents/one.py", "from agentmap import Agent\n\n\nclass GreetAgent(Agent):\n    pass\n"
    )
    write_file(
        "agents/two.py",
        "from agentmap import agent\n\n\n@agent('greet')\ndef g(inputs):\n    return 1\n",
    )
    with pytest.raises(AgentError, match="agent type 'greet' is defined twice"):
        AgentCatalog.discover(project / "agents")
