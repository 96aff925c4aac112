"""The Python API AgentMap's state-management guide shows runs here as written.

Each snippet of the guide (and of its service catalog) is run verbatim in a fresh project:
``runner.run_graph("MyWorkflow", ...)``, ``result.execution_summary``,
``summary.node_results.items()``, the ``StateAdapterService`` and ``ExecutionTrackingService``
calls, and its tracking configuration. Then the cases the snippets leave open: a node run
several times, a name in two files, a runner with no project.
"""

from __future__ import annotations

import asyncio
import json
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Optional

import pytest
from pydantic import BaseModel

from agentmap import (
    ConfigError,
    GraphSelectionError,
    GraphValidationError,
    NodeResult,
    StateError,
    load_graph,
    open_graph_runner,
    open_run_store,
)
from agentmap.agents.catalog import AgentCatalog
from agentmap.config import load_settings
from agentmap.functions import FunctionCatalog
from agentmap.plan import Compiler, RunPolicy
from agentmap.prompts import PromptCatalog
from agentmap.results import NodeResults
from agentmap.runner import GraphRunnerService
from agentmap.state import State, StateAdapterService
from agentmap.tracking import ExecutionTrackingService

REPO = Path(__file__).resolve().parent.parent
HEADER = "GraphName,Node,AgentType,Success_Next,Failure_Next,Input_Fields,Output_Field"

MY_WORKFLOW = f"""\
{HEADER}
MyWorkflow,Start,echo,Done,,input,echoed
MyWorkflow,Done,echo,,,echoed,final
"""

COUNT_AGENT = """
from agentmap import Agent


class CountAgent(Agent):
    def process(self, inputs):
        return inputs["n"] + 1
"""

UNTIL_THREE = """
def until_three(state, success_target, failure_target):
    return "Count" if state["n"] < 3 else "Done"
"""

LOOP = f"""\
{HEADER}
Loop,Count,count,func:until_three,,n,n
Loop,Done,echo,,,n,final
"""

# The guide's "Tracking Configuration" block, as it is printed.
GUIDE_TRACKING_CONFIG = """\
# In agentmap_config.yaml
execution:
  tracking:
    enabled: true              # Enable tracking
    track_outputs: false       # Track output values (can be large)
    track_inputs: false        # Track input values
    track_duration: true       # Track execution times
"""


@pytest.fixture
def graphs(project: Path) -> Path:
    """The project's graphs folder (``paths.graphs`` by default), holding MyWorkflow."""
    folder = project / "graphs"
    folder.mkdir()
    (folder / "workflows.csv").write_text(MY_WORKFLOW, encoding="utf-8")
    return folder


@pytest.fixture
def runner(graphs: Path) -> Iterator[GraphRunnerService]:
    """What AgentMap's ``container.graph_runner_service()`` gives, for this project."""
    with open_graph_runner() as opened:
        yield opened


# --- the guide's snippets, verbatim -----------------------------------------------------------


def test_the_guides_execution_tracking_snippet_runs_as_written(
    runner: GraphRunnerService, capsys: pytest.CaptureFixture[str]
) -> None:
    # The GraphRunnerService automatically tracks execution
    result = runner.run_graph("MyWorkflow", {"input": "data"})

    # Access tracking data
    summary = result.execution_summary
    print(f"Total duration: {summary.total_duration}s")
    print(f"Execution path: {' → '.join(summary.execution_path)}")

    # Check node-level details
    for node, details in summary.node_results.items():
        print(f"{node}: {'✓' if details.success else '✗'} ({details.duration}s)")

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Total duration: {summary.total_duration}s"
    assert lines[1] == "Execution path: Start → Done"
    assert [line.split(" (")[0] for line in lines[2:]] == ["Start: ✓", "Done: ✓"]
    assert result.final_state["final"] == "data"


def test_execution_summary_is_the_summary(runner: GraphRunnerService) -> None:
    result = runner.run_graph("MyWorkflow", {"input": "data"})
    assert result.execution_summary is result.summary


def test_the_guides_tracking_configuration_loads_and_runs(
    graphs: Path, write_file: Callable[..., Path]
) -> None:
    config = write_file("agentmap_config.yaml", GUIDE_TRACKING_CONFIG)
    tracking = load_settings(config).execution.tracking
    assert (tracking.enabled, tracking.track_duration) == (True, True)
    with open_graph_runner(config) as runner:
        result = runner.run_graph("MyWorkflow", {"input": "data"})
    assert all(r.duration >= 0 for r in result.summary.node_results)


def test_track_duration_false_is_refused_saying_why(
    project: Path, write_file: Callable[..., Path]
) -> None:
    config = write_file(
        "agentmap_config.yaml", "execution:\n  tracking:\n    track_duration: false\n"
    )
    with pytest.raises(ConfigError, match="track_duration: node durations are always tracked"):
        load_settings(config)


def test_the_service_catalogs_state_adapter_snippet_runs_as_written() -> None:
    class StateSchema(BaseModel):
        input: str
        attempts: int = 0

    adapter = StateAdapterService()
    adapted = adapter.adapt_initial_state({"input": "data"}, StateSchema)
    assert dict(adapted) == {"input": "data", "attempts": 0}


def test_adapt_initial_state_takes_the_guides_state_formats() -> None:
    class WorkflowState(BaseModel):
        user_input: str
        response: Optional[str] = None  # noqa: UP045 — the guide's own spelling
        last_action_success: bool = True

    class CustomState:
        def __init__(self):
            self.user_input = ""
            self.response = ""
            self.last_action_success = True

        def to_dict(self):
            return self.__dict__

    adapter = StateAdapterService()
    state = WorkflowState(user_input="Hello")
    assert dict(adapter.adapt_initial_state(state)) == {
        "user_input": "Hello",
        "response": None,
        "last_action_success": True,
    }
    assert dict(adapter.adapt_initial_state(CustomState())) == {
        "user_input": "",
        "response": "",
        "last_action_success": True,
    }
    assert dict(adapter.adapt_initial_state("Hello")) == {"input": "Hello"}
    assert dict(adapter.adapt_initial_state({"user_input": "Hi"}, schema=None)) == {
        "user_input": "Hi"
    }


def test_extract_value_reads_any_state_format() -> None:
    class Obj:
        user_input = "from an attribute"

    adapter = StateAdapterService()
    assert adapter.extract_value({"user_input": "Hi"}, "user_input") == "Hi"
    assert adapter.extract_value(State({"user_input": "Hi"}), "user_input") == "Hi"
    assert adapter.extract_value(Obj(), "user_input") == "from an attribute"
    assert adapter.extract_value({"user_input": "Hi"}, "missing") is None
    assert adapter.extract_value(Obj(), "missing", default="none") == "none"


def test_update_state_returns_a_new_state_and_leaves_the_given_one_alone() -> None:
    adapter = StateAdapterService()
    given = {"input": "data"}
    first = adapter.update_state(given, "response", "Hi there!")
    second = adapter.update_state(first, "response", "Bye")
    assert given == {"input": "data"}
    assert dict(first) == {"input": "data", "response": "Hi there!"}
    assert dict(second) == {"input": "data", "response": "Bye"}
    assert isinstance(second, State)


def test_update_state_refuses_a_key_that_is_not_text() -> None:
    with pytest.raises(StateError, match="state keys must be text"):
        StateAdapterService().update_state({}, 3, "x")  # type: ignore[arg-type]


def test_a_state_that_does_not_fit_its_schema_is_a_state_error() -> None:
    class StateSchema(BaseModel):
        user_input: str

    with pytest.raises(StateError, match="does not fit schema StateSchema: user_input"):
        StateAdapterService().adapt_initial_state({"input": "data"}, StateSchema)


def test_a_schema_fills_in_defaults_and_keeps_keys_it_does_not_know() -> None:
    class StateSchema(BaseModel):
        user_input: str
        count: int = 1

    adapted = StateAdapterService().adapt_initial_state(
        {"user_input": "Hi", "extra": True}, StateSchema
    )
    assert dict(adapted) == {"user_input": "Hi", "extra": True, "count": 1}


def test_the_guides_tracker_calls_run_as_written() -> None:
    service = ExecutionTrackingService()
    tracker = service.create_tracker("MyWorkflow")
    tracker.track_node_start("Start", {"input": "data"})
    tracker.track_node_complete("Start", {"echoed": "data"}, True)
    tracker.track_node_start("Check", {"echoed": "data"})
    tracker.track_node_complete("Check", None, False)
    summary = tracker.get_summary()
    assert summary.graph_name == "MyWorkflow"
    assert summary.execution_path == ("Start", "Check")
    assert [(r.node, r.success) for r in summary.node_results] == [
        ("Start", True),
        ("Check", False),
    ]
    assert summary.failed_nodes == ("Check",)


def test_the_guides_tracker_calls_work_with_keywords() -> None:
    tracker = ExecutionTrackingService().create_tracker(graph_name="MyWorkflow")
    tracker.track_node_start(node_name="Start", inputs={"input": "data"})
    tracker.track_node_complete(node_name="Start", outputs={"echoed": "data"}, success=True)
    assert tracker.get_summary().node_results["Start"].success is True


def test_the_tracker_keeps_its_own_argument_order() -> None:
    tracker = ExecutionTrackingService().create_tracker("Main")
    tracker.track_node_start("A")
    tracker.track_node_complete("A", False, None, "bad")
    tracker.track_node_start("B")
    tracker.track_node_complete("B", True, False)  # (success, output): both bools
    results = tracker.get_summary().node_results
    assert [(r.node, r.success, r.error) for r in results] == [
        ("A", False, "bad"),
        ("B", True, None),
    ]


def test_a_runners_tracking_service_is_the_projects(
    graphs: Path, write_file: Callable[..., Path]
) -> None:
    config = write_file("agentmap_config.yaml", "execution:\n  tracking:\n    enabled: false\n")
    with open_graph_runner(config) as runner:
        tracker = runner.tracking.create_tracker("MyWorkflow")
    tracker.track_node_start("Start", {"input": "data"})
    tracker.track_node_complete("Start", {"echoed": "data"}, True)
    summary = tracker.get_summary()
    assert (summary.execution_path, summary.node_results) == (("Start",), ())


# --- node_results: by name, and still the ordered tuple -----------------------------------------


@pytest.fixture
def loop_result(project: Path, write_file: Callable[..., Path]) -> Any:
    write_file("graphs/loop.csv", LOOP)
    write_file("agents/count.py", COUNT_AGENT)
    write_file("functions/loop.py", UNTIL_THREE)
    config = write_file(
        "agentmap_config.yaml", "execution:\n  tracking:\n    track_outputs: true\n"
    )
    with open_graph_runner(config) as runner:
        return runner.run_graph("Loop", {"n": 0})


def test_a_node_run_several_times_gives_its_last_result_by_name(loop_result: Any) -> None:
    results = loop_result.execution_summary.node_results
    assert results["Count"].output == 3
    assert results.get("Count") is results[2]
    assert [(node, details.output) for node, details in results.items()] == [
        ("Count", 3),
        ("Done", 3),
    ]
    assert list(results.keys()) == ["Count", "Done"]
    assert [r.output for r in results.values()] == [3, 3]


def test_a_node_run_several_times_keeps_every_result_in_order(loop_result: Any) -> None:
    results = loop_result.execution_summary.node_results
    assert [(r.node, r.output) for r in results] == [
        ("Count", 1),
        ("Count", 2),
        ("Count", 3),
        ("Done", 3),
    ]
    assert [r.output for r in results.of("Count")] == [1, 2, 3]
    assert len(results) == 4
    assert results[0].output == 1 and results[-1].node == "Done"
    assert results[1:3] == tuple(results)[1:3]


def test_node_results_are_still_a_tuple_equal_to_one(loop_result: Any) -> None:
    results = loop_result.summary.node_results
    assert isinstance(results, tuple)
    assert results == tuple(results)
    assert tuple(results) == results


def test_node_results_answer_in_by_node_name(loop_result: Any) -> None:
    results = loop_result.summary.node_results
    assert "Count" in results
    assert "Nope" not in results
    assert results[0] in results
    assert results.get("Nope") is None
    with pytest.raises(KeyError):
        results["Nope"]


def test_node_results_json_is_still_a_list_of_every_run(loop_result: Any) -> None:
    document = json.loads(json.dumps(loop_result.to_dict()))
    listed = document["summary"]["node_results"]
    assert [(r["node"], r["output"]) for r in listed] == [
        ("Count", 1),
        ("Count", 2),
        ("Count", 3),
        ("Done", 3),
    ]


def test_node_results_survive_pickling(loop_result: Any) -> None:
    results = loop_result.summary.node_results
    results["Count"]  # the by-name index is built, and must not travel
    again = pickle.loads(pickle.dumps(results))
    assert type(again) is NodeResults
    assert again == results
    assert again["Count"] == results["Count"]


def test_a_summary_given_a_plain_tuple_reads_by_name_too(loop_result: Any) -> None:
    summary = loop_result.summary
    plain = type(summary)(
        **{**summary_fields(summary), "node_results": tuple(summary.node_results)}
    )
    assert plain.node_results["Done"] == summary.node_results["Done"]
    assert isinstance(plain.node_results, NodeResults)


def summary_fields(summary: Any) -> dict[str, Any]:
    return {name: getattr(summary, name) for name in type(summary).__dataclass_fields__}


def test_no_node_results_is_an_empty_mapping_too() -> None:
    empty = NodeResults()
    assert (empty == (), list(empty.items()), empty.get("A")) == (True, [], None)


def test_retries_leave_the_last_attempt_by_name() -> None:
    tracker = ExecutionTrackingService().create_tracker("Main")
    tracker.track_node_start("A")
    tracker.track_node_retry("A", "boom", 1)
    tracker.track_node_start("A", attempt=2)
    tracker.track_node_complete("A", True, attempt=2)
    results = tracker.get_summary().node_results
    assert (results["A"].attempt, results["A"].success) == (2, True)
    assert [r.attempt for r in results.of("A")] == [1, 2]
    assert results[0] == NodeResult("A", False, results[0].duration, results[0].started, "boom")


# --- run_graph: finding a graph by name ---------------------------------------------------------


def test_run_graph_finds_a_graph_in_a_subfolder_of_the_graphs_folder(
    graphs: Path, write_file: Callable[..., Path]
) -> None:
    write_file("graphs/team/other.csv", f"{HEADER}\nOther,Only,echo,,,input,out\n")
    with open_graph_runner() as runner:
        assert runner.run_graph("Other", "hi").final_state["out"] == "hi"


def test_a_graph_name_in_two_files_is_an_error_naming_both(
    graphs: Path, write_file: Callable[..., Path]
) -> None:
    write_file("graphs/copy.csv", MY_WORKFLOW)
    with open_graph_runner() as runner, pytest.raises(GraphSelectionError) as caught:
        runner.run_graph("MyWorkflow", {"input": "data"})
    message = caught.value.message
    assert "graph 'MyWorkflow' is in 2 files" in message
    assert "copy.csv, workflows.csv" in message
    assert "'copy.csv::MyWorkflow'" in message
    assert caught.value.graph == "MyWorkflow"


def test_a_file_and_graph_name_picks_one_of_two(
    graphs: Path, write_file: Callable[..., Path]
) -> None:
    write_file("graphs/copy.csv", MY_WORKFLOW.replace(",Done,,input", ",,,input"))
    with open_graph_runner() as runner:
        path = runner.run_graph("copy.csv::MyWorkflow", {"input": "data"}).summary.execution_path
        assert path == ("Start",)
        full = runner.run_graph(graphs / "workflows.csv", {"input": "data"}).summary
        assert full.execution_path == ("Start", "Done")


def test_an_unknown_graph_name_suggests_a_close_one(runner: GraphRunnerService) -> None:
    with pytest.raises(GraphSelectionError, match="did you mean 'MyWorkflow'") as caught:
        runner.run_graph("MyWorkflw", {"input": "data"})
    assert "(they hold: MyWorkflow)" in caught.value.message


def test_an_unreadable_file_is_named_when_the_graph_is_not_found(
    graphs: Path, write_file: Callable[..., Path]
) -> None:
    (graphs / "broken.yaml").write_text("graphs: [unclosed\n", encoding="utf-8")
    with open_graph_runner() as runner, pytest.raises(GraphSelectionError) as caught:
        runner.run_graph("Missing")
    assert "1 file(s) could not be read: broken.yaml" in caught.value.message


def test_a_missing_graphs_folder_says_so(project: Path) -> None:
    with open_graph_runner() as runner, pytest.raises(GraphSelectionError) as caught:
        runner.run_graph("MyWorkflow")
    assert f"the graphs folder {project / 'graphs'} does not exist" in caught.value.message


def test_run_graph_checks_the_graph_before_it_runs(
    graphs: Path, write_file: Callable[..., Path]
) -> None:
    write_file("graphs/bad.csv", f"{HEADER}\nBad,Only,no_such_agent,,,input,out\n")
    with open_graph_runner() as runner, pytest.raises(GraphValidationError):
        runner.run_graph("Bad")


def test_run_graph_runs_a_loaded_graph_as_it_is(graphs: Path) -> None:
    graph = load_graph(graphs / "workflows.csv")
    with open_graph_runner() as runner:
        assert runner.run_graph(graph, {"input": "data"}).success


def test_arun_graph_finds_by_name_too(runner: GraphRunnerService) -> None:
    result = asyncio.run(runner.arun_graph("MyWorkflow", {"input": "data"}))
    assert result.summary.execution_path == ("Start", "Done")


def test_a_runner_made_without_a_project_says_how_to_get_one(graphs: Path) -> None:
    compiler = Compiler(AgentCatalog(), FunctionCatalog(), PromptCatalog(), RunPolicy())
    runner = GraphRunnerService(compiler, ExecutionTrackingService())
    with pytest.raises(GraphSelectionError, match=r"agentmap\.open_graph_runner\(\)"):
        runner.run_graph("MyWorkflow")
    assert runner.run(load_graph(graphs / "workflows.csv"), {"input": "data"}).success


def test_an_opened_runner_records_its_runs_in_the_projects_store(graphs: Path) -> None:
    with open_graph_runner() as runner:
        run_id = runner.run_graph("MyWorkflow", {"input": "data"}).run_id
    with open_run_store() as store:
        assert store.get(run_id).status == "succeeded"


def test_closing_a_runner_twice_is_harmless(graphs: Path) -> None:
    runner = open_graph_runner()
    runner.close()
    runner.close()


def test_the_guides_config_block_is_the_tracking_section_it_describes() -> None:
    """The block above is the guide's, comments and all: it must say what the test loads."""
    import yaml

    assert yaml.safe_load(GUIDE_TRACKING_CONFIG)["execution"]["tracking"] == {
        "enabled": True,
        "track_outputs": False,
        "track_inputs": False,
        "track_duration": True,
    }


def test_the_python_api_pages_agentmap_example_runs(
    graphs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (REPO / "docs" / "python-api.md").read_text(encoding="utf-8")
    section = page.split("## If you come from AgentMap", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "python-api.md", "exec"), {})
    assert capsys.readouterr().out.splitlines()[1] == "Execution path: Start → Done"
