"""Custom agents written for AgentMap (``from agentmap.agents.base_agent import BaseAgent``) and
AgentMap's ``run_workflow`` run here without edits.

``tests/compat/input_mapping`` is an AgentMap project written for these tests after AgentMap's
``examples/input_mapping``: its config in AgentMap's format, an adder agent declaring
``expected_params``, ``custom_agents.yaml``, and two graphs whose sums AgentMap's README gives
(12; then 30, 35 and 55).
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentmap import (
    AgentError,
    GraphSelectionError,
    ResumeError,
    resume_run,
    run_graph,
    run_workflow,
    run_workflow_async,
)
from agentmap.agents.base import type_name_of
from agentmap.agents.base_agent import BaseAgent
from agentmap.modules import import_file
from agentmap.state import StateAdapterService, bound_positionally
from helpers import clean_env

AGENTMAP = Path(sys.executable).parent / "agentmap"
FIXTURE = Path(__file__).resolve().parent / "compat" / "input_mapping"
ADD_TWICE = {"first_a": 3, "first_b": 4, "second_b": 5}
BINDING_MODES = {"addend_a": 10, "addend_b": 20, "extra": 5}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the AgentMap project, as the current folder (its runs stay in the copy)."""
    copy = Path(shutil.copytree(FIXTURE, tmp_path / "project", ignore=_no_caches))
    monkeypatch.chdir(copy)
    return copy


def _no_caches(folder: str, names: list[str]) -> list[str]:
    return [name for name in names if name in {".agentmap", "__pycache__"}]


def agentmap(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AGENTMAP), *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def write_graph(project: Path, name: str, *rows: str) -> Path:
    header = "GraphName,Node,AgentType,Prompt,Input_Fields,Output_Field,Edge,Context"
    path = project / "workflows" / f"{name}.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


# --- the input_mapping example, through the command line ---------------------------------------


def test_positional_binding_reaches_agentmaps_sum_from_the_command_line(project: Path) -> None:
    done = agentmap(
        project, "run", "workflows/AddTwice.csv", "--state", json.dumps(ADD_TWICE), "--json"
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["summary"]["execution_path"] == ["PairSum", "CarrySum", "Report"]
    assert document["final_state"] == {
        **ADD_TWICE,
        "first_sum": 7,
        "final_sum": 12,
        "result": 12,
        "last_action_success": True,
    }
    assert done.stderr == ""  # AgentMap's config and agents raise no warning


def test_direct_mapped_and_mixed_binding_reach_agentmaps_sums_from_the_command_line(
    project: Path,
) -> None:
    done = agentmap(
        project,
        "run",
        "workflows/AddBindingModes.csv",
        "--state",
        json.dumps(BINDING_MODES),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    sums = {"direct_sum": 30, "mapped_sum": 35, "mixed_sum": 55}
    assert json.loads(done.stdout)["final_state"] == {
        **BINDING_MODES,
        **sums,
        "result": sums,
        "last_action_success": True,
    }


def test_agentmap_project_validates_from_the_command_line(project: Path) -> None:
    for graph in ("AddTwice", "AddBindingModes", "Tally"):
        done = agentmap(project, "validate", f"workflows/{graph}.csv")
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stderr == ""


# --- run_workflow ----------------------------------------------------------------------------


def test_run_workflow_finds_the_graph_by_name_and_answers_as_agentmap(project: Path) -> None:
    answer = run_workflow("AddTwice", ADD_TWICE)
    assert answer["success"] is True
    assert answer["outputs"]["final_sum"] == 12
    assert answer["outputs"]["first_sum"] == 7
    assert answer["metadata"] == {"graph_name": "AddTwice", "profile": None}
    assert answer["execution_summary"].execution_path == ("PairSum", "CarrySum", "Report")
    assert isinstance(answer["execution_id"], str) and answer["execution_id"]
    assert "error" not in answer and "interrupted" not in answer


@pytest.mark.parametrize(
    "identifier",
    [
        "AddBindingModes",
        "AddBindingModes::AddBindingModes",
        "AddBindingModes/AddBindingModes",
        "AddBindingModes.csv::AddBindingModes",
        "workflows/AddBindingModes.csv::AddBindingModes",
    ],
)
def test_run_workflow_reads_agentmaps_graph_identifiers(project: Path, identifier: str) -> None:
    outputs = run_workflow(identifier, BINDING_MODES)["outputs"]
    assert (outputs["direct_sum"], outputs["mapped_sum"], outputs["mixed_sum"]) == (30, 35, 55)


def test_run_workflow_async_answers_as_run_workflow_does(project: Path) -> None:
    async def three_at_once() -> list[dict[str, Any]]:
        states = [{"first_a": n, "first_b": n, "second_b": n} for n in (1, 2, 3)]
        return await asyncio.gather(*(run_workflow_async("AddTwice", s) for s in states))

    answers = asyncio.run(three_at_once())
    assert [answer["outputs"]["final_sum"] for answer in answers] == [3, 6, 9]
    assert all(answer["success"] for answer in answers)


def test_run_workflow_uses_the_config_file_it_is_given(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    answer = run_workflow("AddTwice", ADD_TWICE, config_file=project / "agentmap_config.yaml")
    assert answer["outputs"]["final_sum"] == 12


def test_run_workflow_echoes_the_profile(project: Path) -> None:
    answer = run_workflow("AddTwice", ADD_TWICE, profile="dev")
    assert answer["metadata"] == {"graph_name": "AddTwice", "profile": "dev"}


def test_run_workflow_answers_a_failed_run_with_its_error(project: Path) -> None:
    write_graph(project, "Broken", "Broken,Stop,failure,The ledger does not balance,,,,")
    answer = run_workflow("Broken", {})
    assert answer["success"] is False
    assert answer["error"] == "The ledger does not balance"
    assert answer["outputs"]["last_action_success"] is False


def test_run_workflow_answers_a_waiting_run_as_interrupted_with_its_thread(
    project: Path,
) -> None:
    write_graph(project, "SignOff", "SignOff,Ask,human,Ship the release?,,approved,,")
    answer = run_workflow("SignOff", {})
    assert answer["success"] is False
    assert answer["interrupted"] is True
    assert answer["thread_id"] == answer["execution_id"]
    assert answer["interaction_request"]["question"] == "Ship the release?"
    assert answer["metadata"]["node_name"] == "Ask"
    assert answer["metadata"]["checkpoint_available"] is True
    resumed = resume_run(answer["thread_id"], "ship it")
    assert resumed.final_state["approved"] == "ship it"


def test_run_workflow_prefers_the_file_named_after_the_graph(project: Path) -> None:
    write_graph(project, "Copy", "AddTwice,Other,echo,,first_a,result,,")
    assert run_workflow("AddTwice", ADD_TWICE)["outputs"]["final_sum"] == 12
    assert run_workflow("Copy::AddTwice", ADD_TWICE)["outputs"]["result"] == 3


def test_run_workflow_refuses_a_resume_token_and_names_resume_run(project: Path) -> None:
    with pytest.raises(ResumeError, match=r"resume_run\(run_id, value\)"):
        run_workflow("AddTwice", ADD_TWICE, resume_token="abc")


def test_run_workflow_names_the_graph_it_cannot_find(project: Path) -> None:
    with pytest.raises(GraphSelectionError, match=r"no graph named 'AddTwyce'.*did you mean"):
        run_workflow("AddTwyce", ADD_TWICE)


# --- positional binding ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected_params", "bound"),
    [
        ((("a", "a"), ("b", "b")), ["x", "y"], (("a", "x"), ("b", "y"))),
        ((("a", "a"), ("b", "b"), ("c", "c")), ["x", "y"], (("a", "x"), ("b", "y"), ("c", "c"))),
        ((("a", "a"),), ["x", "y"], (("a", "x"),)),
        ((("a", "x"), ("b", "b")), ["x", "y"], (("a", "x"), ("b", "b"))),
        ((("a", "a"), ("b", "b")), None, (("a", "a"), ("b", "b"))),
        ((("a", "a"), ("b", "b")), [], (("a", "a"), ("b", "b"))),
    ],
    ids=[
        "by-position",
        "extra-field-direct",
        "fewer-fields",
        "any-mapping-direct",
        "none",
        "empty",
    ],
)
def test_positional_binding_follows_agentmaps_rule(
    fields: tuple[tuple[str, str], ...],
    expected_params: list[str] | None,
    bound: tuple[tuple[str, str], ...],
) -> None:
    assert bound_positionally(fields, expected_params) == bound


def test_state_adapter_get_inputs_binds_as_a_node_does() -> None:
    state = {"first_sum": 7, "second_b": 5, "extra": 1}
    adapter = StateAdapterService()
    assert adapter.get_inputs(state, ["first_sum", "second_b"], ["addend_a", "addend_b"]) == {
        "addend_a": 7,
        "addend_b": 5,
    }
    assert adapter.get_inputs(state, ["first_sum:addend_a", "extra"], ["addend_a", "x"]) == {
        "addend_a": 7,
        "extra": 1,
    }


def test_expected_params_that_is_not_a_list_is_refused_naming_the_file(project: Path) -> None:
    agent_file = project / "custom_agents" / "halver_agent.py"
    agent_file.write_text(
        "from agentmap.agents.base_agent import BaseAgent\n\n\n"
        "class HalverAgent(BaseAgent):\n"
        '    expected_params = "value"\n\n'
        "    def process(self, inputs):\n"
        '        return inputs["value"] / 2\n',
        encoding="utf-8",
    )
    done = agentmap(project, "validate", "workflows/AddTwice.csv")
    assert done.returncode != 0
    assert f"{agent_file}:4" in done.stderr
    assert "HalverAgent.expected_params must be a list of input names" in done.stderr
    assert "Traceback" not in done.stderr


# --- what an AgentMap agent touches ----------------------------------------------------------


class ProbeAgent(BaseAgent):
    """Reports what AgentMap's agents read from themselves."""

    def process(self, inputs: dict[str, Any]) -> Any:
        return {
            "name": self.name,
            "prompt": self.prompt,
            "prompt_template": self.prompt_template,
            "description": self.description,
            "input_fields": self.input_fields,
            "output_field": self.output_field,
            "output_fields": self.output_fields,
            "graph_name": self.context["graph_name"],
            "mode": self.context.get("mode"),
            "inputs": inputs,
        }


def test_agent_reads_its_node_as_an_agentmap_agent_does(tmp_path: Path) -> None:
    graph = tmp_path / "probe.csv"
    graph.write_text(
        "GraphName,Node,AgentType,Prompt,Input_Fields,Output_Field,Context,Description\n"
        'Main,Look,probe,Check {x},x|y:why,seen,"{""mode"": ""strict""}",Looks around\n',
        encoding="utf-8",
    )
    seen = run_graph(graph, {"x": 1, "y": 2}, agents={"probe": ProbeAgent}).final_state["seen"]
    assert seen == {
        "name": "Look",
        "prompt": "Check {x}",
        "prompt_template": "Check {x}",
        "description": "Looks around",
        "input_fields": ["x", "y:why"],
        "output_field": "seen",
        "output_fields": ["seen"],
        "graph_name": "Main",
        "mode": "strict",
        "inputs": {"x": 1, "why": 2},
    }


def test_text_context_reaches_the_agent_under_the_context_key() -> None:
    assert ProbeAgent("Look", "", "be brief").context == {"context": "be brief"}


def test_agent_built_with_agentmaps_positional_arguments() -> None:
    given = logging.getLogger("host.agents")
    adapter = StateAdapterService()
    agent = ProbeAgent("Look", "Check", {"mode": "loose"}, given, None, adapter)
    assert (agent.logger, agent.state_adapter_service, agent.context) == (
        given,
        adapter,
        {"mode": "loose"},
    )


def test_logging_helpers_log_to_the_node_logger_and_print_nothing(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = ProbeAgent("Look", "")
    with caplog.at_level(logging.DEBUG, logger="agentmap.agent.Look"):
        agent.log_info("starting %s", "now")
        agent.log_debug("detail")
        agent.log_warning("careful")
        agent.log_error("broken")
        agent.log("verbose", "odd level")
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("agentmap.agent.Look", "INFO", "[ProbeAgent:Look] starting now"),
        ("agentmap.agent.Look", "DEBUG", "[ProbeAgent:Look] detail"),
        ("agentmap.agent.Look", "WARNING", "[ProbeAgent:Look] careful"),
        ("agentmap.agent.Look", "ERROR", "[ProbeAgent:Look] broken"),
        ("agentmap.agent.Look", "INFO", "[ProbeAgent:Look] odd level"),
    ]
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("service", "advice"),
    [
        ("llm_service", "put an LLM node"),
        ("storage_service", "with a storage node"),
        ("execution_tracking_service", "every node is tracked for you"),
    ],
)
def test_services_agentmap_injects_fail_with_advice(service: str, advice: str) -> None:
    with pytest.raises(AgentError, match=f"agent 'Look' asked for {service}.*{advice}"):
        getattr(ProbeAgent("Look", ""), service)


def test_configured_services_are_the_ones_given() -> None:
    agent = ProbeAgent("Look", "")
    llm, storage = object(), object()
    agent.configure_llm_service(llm)
    agent.configure_storage_service(storage)
    assert (agent.llm_service, agent.storage_service) == (llm, storage)
    assert agent.get_service_info()["services"]["llm_service_configured"] is True


class AskingAgent(BaseAgent):
    def process(self, inputs: dict[str, Any]) -> Any:
        return self.llm_service.call_llm(provider="openai", messages=[])


def test_agent_using_an_absent_service_fails_its_node_with_the_advice(tmp_path: Path) -> None:
    graph = tmp_path / "ask.csv"
    graph.write_text(
        "GraphName,Node,AgentType,Input_Fields,Output_Field,Failure_Next\n"
        "Main,Ask,asking,q,answer,Sorry\n"
        "Main,Sorry,echo,error,apology,\n",
        encoding="utf-8",
    )
    result = run_graph(graph, {"q": "hi"}, agents={"asking": AskingAgent})
    assert result.summary.execution_path == ("Ask", "Sorry")
    assert "asked for llm_service" in result.final_state["error"]
    assert "AttributeError" not in result.final_state["error"]


class ScaffoldedAgent(BaseAgent):
    """The shape AgentMap's scaffold writes: its constructor and both hooks overridden."""

    def __init__(  # type: ignore[no-untyped-def]
        self,
        name,
        prompt,
        context=None,
        logger=None,
        execution_tracking_service=None,
        state_adapter_service=None,
    ):
        super().__init__(
            name, prompt, context, logger, execution_tracking_service, state_adapter_service
        )

    def process(self, inputs: dict[str, Any]) -> Any:
        return inputs["text"].upper()

    def _pre_process(self, state: Any, inputs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        state, inputs = super()._pre_process(state, inputs)
        return state, {"text": inputs["text"].strip()}

    def _post_process(self, state: Any, inputs: dict[str, Any], output: Any) -> tuple[Any, Any]:
        state, output = super()._post_process(state, inputs, output)
        return state, {"state_updates": {self.output_field: output, "length": len(output)}}


def test_scaffolded_agent_runs_its_hooks_and_writes_its_state_updates(tmp_path: Path) -> None:
    graph = tmp_path / "shout.csv"
    graph.write_text(
        "GraphName,Node,AgentType,Input_Fields,Output_Field,Description\n"
        "Main,Shout,scaffolded,text,loud,Shouts\n",
        encoding="utf-8",
    )
    result = run_graph(graph, {"text": "  hi  "}, agents={"scaffolded": ScaffoldedAgent})
    assert result.final_state == {
        "text": "  hi  ",
        "loud": "HI",
        "length": 2,
        "last_action_success": True,
    }


def test_constructor_without_description_is_still_given_the_description() -> None:
    agent = ScaffoldedAgent(name="Shout", prompt="", context=None, description="Shouts")
    assert agent.description == "Shouts"


def test_custom_agents_yaml_declares_a_type_the_class_name_does_not_give(project: Path) -> None:
    module = import_file(project / "custom_agents" / "adder_agent.py")
    assert module.RunningTotal.type_name() == "tally"
    assert module.AdderAgent.type_name() == "adder"
    done = agentmap(
        project, "run", "workflows/Tally.csv", "--state", '{"apples": 3, "pears": 4}', "--json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["final_state"]["total"] == 107  # "start": 100 in Context


def test_subclass_of_a_declared_agent_takes_its_own_type(project: Path) -> None:
    agents = project / "custom_agents" / "adder_agent.py"
    agents.write_text(
        agents.read_text("utf-8") + "\n\nclass CarefulTotal(RunningTotal):\n    pass\n", "utf-8"
    )
    module = import_file(project / "custom_agents" / "adder_agent.py")
    assert (module.RunningTotal.type_name(), module.CarefulTotal.type_name()) == (
        "tally",
        "careful_total",
    )


@pytest.mark.parametrize(
    ("agent_type", "class_name"),
    [
        ("adder", "AdderAgent"),
        ("data_processor", "DataProcessorAgent"),
        ("weather_api", "WeatherApiAgent"),
        ("gpt4_helper", "Gpt4HelperAgent"),
        ("api_v2", "ApiV2Agent"),
        ("sentiment-check", "SentimentCheckAgent"),
    ],
)
def test_class_agentmaps_scaffold_names_for_a_type_answers_to_that_type(
    agent_type: str, class_name: str
) -> None:
    cls = type(class_name, (BaseAgent,), {"process": lambda self, inputs: None})
    assert cls.type_name() == type_name_of(agent_type)


def test_run_on_a_state_binds_inputs_and_returns_the_updates(project: Path) -> None:
    module = import_file(project / "custom_agents" / "adder_agent.py")
    context = {"input_fields": ["first_a", "first_b"], "output_field": "first_sum"}
    agent = module.AdderAgent("PairSum", "", context)
    assert agent.run({"first_a": 3, "first_b": 4}) == {"first_sum": 7}


def test_run_of_a_scaffolded_agent_returns_its_state_updates() -> None:
    agent = ScaffoldedAgent("Shout", "", {"input_fields": "text", "output_field": "loud"})
    assert agent.invoke({"text": " hey "}) == {"loud": "HEY", "length": 3}
