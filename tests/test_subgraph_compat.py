"""AgentMap's ways of writing a subgraph run here as they do there.

Context ``{workflow=::Sub}`` / ``{workflow=file.csv::Sub}``, ``{workflow_field=key}``,
``subgraph_name:Sub,csv_path:file.csv`` and a Prompt naming the graph; ``child=parent`` in
Input_Fields and ``parent=child`` in Output_Field. tests/compat/subgraph_mapping holds our own
rows for the four workflows of AgentMap's ``examples/subgraph_mapping``; each must end in the
final state AgentMap documents for it. The checks our own ``{"graph": ...}`` form has (unknown
graph, missing file, recursion) hold for these forms too, placed at the cell written.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentmap import ExecutionResult, GraphValidationError, resume_run, run_graph
from agentmap.container import build_container
from agentmap.graph.context import parse_context
from helpers import clean_env, load_in, run_in, validate_in

MAPPING = Path(__file__).resolve().parent / "compat" / "subgraph_mapping"
AGENTMAP = shutil.which("agentmap") or str(Path(sys.executable).parent / "agentmap")
COLUMNS = ("GraphName", "Node", "AgentType", "Input_Fields", "Output_Field", "Edge")
COLUMNS += ("Success_Next", "Failure_Next", "Prompt", "Context")


def table(*rows: tuple[str, ...]) -> str:
    """A CSV in AgentMap's column order; each row is written up to its last cell given."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([*row, *[""] * (len(COLUMNS) - len(row))])
    return buffer.getvalue()


def run(source: str | Path, state: Any = None) -> ExecutionResult:
    return run_in(build_container({}), source, state)


def placed(found: Any) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.cell, p.message) for p in found]


CHILD = (
    ("Child", "Shout", "echo", "text", "loud", "Keep"),
    ("Child", "Keep", "echo", "loud", "kept"),
)
CHILD_FINAL = {"text": "hi", "loud": "hi", "kept": "hi", "last_action_success": True}


# --- AgentMap's examples/subgraph_mapping ----------------------------------------------------


@pytest.mark.parametrize(
    ("graph", "state", "final"),
    [
        pytest.param(
            "DirectSubgraphState",
            {"raw_data": "hello from parent"},
            {
                "raw_data": "hello from parent",
                "inner_result": (
                    child := {
                        "raw_data": "hello from parent",
                        "child_value": "hello from parent",
                        "child_final": "hello from parent",
                        "last_action_success": True,
                    }
                ),
                "final_result": child,
                "last_action_success": True,
            },
            id="one-output-key-holds-the-whole-child-state",
        ),
        pytest.param(
            "ChildInputPassThrough",
            {"text": "passed straight into child text", "request_id": "req-42"},
            {
                "text": "passed straight into child text",
                "request_id": "req-42",
                "child_result": (
                    child := {
                        "text": "passed straight into child text",
                        "request_id": "req-42",
                        "child_snapshot": {
                            "text": "passed straight into child text",
                            "request_id": "req-42",
                        },
                        "last_action_success": True,
                    }
                ),
                "final_result": child,
                "last_action_success": True,
            },
            id="listed-keys-pass-into-the-child",
        ),
        pytest.param(
            "RemappedChildInput",
            {"raw_data": "hello through child remap", "request_id": "req-42"},
            {
                "raw_data": "hello through child remap",
                "request_id": "req-42",
                "child_result": (
                    child := {
                        "text": "hello through child remap",
                        "request_id": "req-42",
                        "child_snapshot": {
                            "text": "hello through child remap",
                            "request_id": "req-42",
                        },
                        "last_action_success": True,
                    }
                ),
                "final_result": child,
                "last_action_success": True,
            },
            id="child-equals-parent-renames-an-input",
        ),
        pytest.param(
            "OutputRemapExample",
            {"raw_data": "mapped back to parent"},
            {
                "raw_data": "mapped back to parent",
                "selected_parent": "mapped back to parent",
                "echoed_parent": "mapped back to parent",
                "last_action_success": True,
            },
            id="parent-equals-child-maps-an-output-back",
        ),
    ],
)
def test_agentmap_subgraph_mapping_examples_end_in_agentmaps_final_state(
    graph: str, state: dict[str, Any], final: dict[str, Any]
) -> None:
    result = run(f"{MAPPING / graph}.csv::{graph}", state)
    assert result.success is True
    assert result.final_state == final


RUN_REMAP_EXAMPLE = (AGENTMAP, "run", "--csv", "OutputRemapExample.csv")
RUN_REMAP_EXAMPLE += ("--graph", "OutputRemapExample")


def test_an_agentmap_example_runs_from_the_installed_command(tmp_path: Path) -> None:
    shutil.copy(MAPPING / "OutputRemapExample.csv", tmp_path)
    done = subprocess.run(
        [*RUN_REMAP_EXAMPLE, "--state", '{"raw_data": "back"}', "--json"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout)["final_state"] == {
        "raw_data": "back",
        "selected_parent": "back",
        "echoed_parent": "back",
        "last_action_success": True,
    }


# --- naming the graph ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent_type", "prompt", "context"),
    [
        pytest.param("graph", "", "{workflow=::Child}", id="workflow-same-file"),
        pytest.param("graph", "", "{workflow=Child}", id="workflow-bare-name"),
        pytest.param("graph", "", "{workflow=kids/child.csv::Child}", id="workflow-other-file"),
        pytest.param("GraphAgent", "Run it", "Runs {workflow=::Child}", id="directive-in-text"),
        pytest.param("graph_agent", "", '{"workflow": "::Child"}', id="workflow-as-json"),
        pytest.param("graph", "", "subgraph_name:Child", id="subgraph-name"),
        pytest.param(
            "GraphAgent",
            "Run it",
            "subgraph_name:Child,csv_path:kids/child.csv",
            id="subgraph-name-and-csv-path",
        ),
        pytest.param("graph", "Child", "", id="prompt-names-a-graph-of-this-file"),
        pytest.param("graph", "Child", "kids/child.csv", id="prompt-names-a-graph-of-context-file"),
    ],
)
def test_agentmap_forms_of_naming_the_subgraph_run_it(
    write_file: Callable[..., Path], agent_type: str, prompt: str, context: str
) -> None:
    write_file("kids/child.csv", table(*CHILD))
    path = write_file(
        "flow.csv",
        table(("Main", "Sub", agent_type, "text", "out", "", "", "", prompt, context), *CHILD),
    )
    result = run(f"{path}::Main", {"text": "hi"})
    assert result.final_state == {"text": "hi", "out": CHILD_FINAL, "last_action_success": True}


def test_a_braced_key_value_context_reads_as_a_mapping() -> None:
    assert parse_context("{workflow=other.csv::Sub}") == {"workflow": "other.csv::Sub"}


@pytest.mark.parametrize(
    ("context", "message"),
    [
        pytest.param(
            "{workflow=::Chlid}",
            "no graph named 'Chlid' in {file} — did you mean 'Child'? (it holds: Main, Child)",
            id="no-such-graph",
        ),
        pytest.param(
            "{workflow=gone.csv::Child}",
            "{folder}/gone.csv: no such file — check the path",
            id="no-such-file",
        ),
        pytest.param(
            "subgraph_name:Chlid",
            "no graph named 'Chlid' in {file} — did you mean 'Child'? (it holds: Main, Child)",
            id="subgraph-name-unknown",
        ),
        pytest.param(
            "{workflow=::Main}", "subgraphs can't recurse: Main → Main — break the cycle", id="self"
        ),
    ],
)
def test_a_bad_agentmap_reference_is_placed_at_the_context_cell(
    project: Path, write_file: Callable[..., Path], context: str, message: str
) -> None:
    path = write_file(
        "flows/flow.csv", table(("Main", "Sub", "graph", "", "", "", "", "", "", context), *CHILD)
    )
    source = path.relative_to(project)
    report = validate_in(build_container({}), f"{source}::Main")
    expected = message.replace("{file}", str(source)).replace("{folder}", str(source.parent))
    assert [p.file for p in report.errors] == [str(source)]
    assert placed(report.errors) == [(2, "J2", expected)]


def test_graphs_running_each_other_through_agentmap_forms_are_refused(
    write_file: Callable[..., Path],
) -> None:
    path = write_file(
        "flow.csv",
        table(
            ("A", "RunB", "graph", "", "", "", "", "", "", "{workflow=::B}"),
            ("B", "RunA", "GraphAgent", "", "", "", "", "", "", "subgraph_name:A"),
        ),
    )
    with pytest.raises(GraphValidationError) as caught:
        load_in(build_container({}), f"{path}::A")
    assert placed(caught.value.problems) == [
        (3, "J3", "subgraphs can't recurse: A → B → A — break the cycle")
    ]


# --- mapping state in and out ----------------------------------------------------------------


def test_mapped_and_plain_output_keys_take_the_childs_keys(
    write_file: Callable[..., Path],
) -> None:
    path = write_file(
        "flow.csv",
        table(
            (
                "Main",
                "Sub",
                "graph",
                "text",
                "shouted=loud|kept",
                "",
                "",
                "",
                "",
                "{workflow=::Child}",
            ),
            *CHILD,
        ),
    )
    result = run(f"{path}::Main", {"text": "hi"})
    assert result.final_state == {
        "text": "hi",
        "shouted": "hi",
        "kept": "hi",
        "last_action_success": True,
    }


@pytest.mark.parametrize(
    ("inputs", "output", "context", "cell", "message"),
    [
        pytest.param(
            "=text",
            "out",
            "{workflow=::Child}",
            "D2",
            "'=text' is not 'child_key=parent_key' (AgentMap's form) nor 'parent_key:child_key' "
            "(ours) — write one of them",
            id="input-without-a-child-key",
        ),
        pytest.param(
            "text=raw|text",
            "out",
            "{workflow=::Child}",
            "D2",
            "the child graph would receive 'text' twice — list it once",
            id="input-given-twice",
        ),
        pytest.param(
            "text",
            "out=",
            "{workflow=::Child}",
            "E2",
            "'out=' is not 'parent_key=child_key' — write both sides of one '='",
            id="output-without-a-child-key",
        ),
        pytest.param(
            "text",
            "out=loud|out=kept",
            "{workflow=::Child}",
            "E2",
            "parent key 'out' is written twice — list it once",
            id="output-parent-key-twice",
        ),
        pytest.param(
            "text",
            "out=loud",
            '{"graph": "Child", "outputs": {"out": "kept"}}',
            "E2",
            "Output_Field maps keys with '=' and Context \"outputs\" maps them too — keep one of "
            "them",
            id="output-mapped-twice",
        ),
    ],
)
def test_a_malformed_mapping_is_placed_at_its_cell(
    write_file: Callable[..., Path],
    inputs: str,
    output: str,
    context: str,
    cell: str,
    message: str,
) -> None:
    path = write_file(
        "flow.csv",
        table(("Main", "Sub", "graph", inputs, output, "", "", "", "", context), *CHILD),
    )
    report = validate_in(build_container({}), f"{path}::Main")
    assert placed(report.errors) == [(2, cell, message)]


def test_agentmap_forms_read_the_same_in_a_yaml_graph(write_file: Callable[..., Path]) -> None:
    path = write_file(
        "flow.yaml",
        """
        graphs:
          Main:
            nodes:
              - name: Sub
                agent_type: GraphAgent
                inputs: [text=raw_data]
                output: picked=loud
                context: {workflow: "::Child"}
          Child:
            nodes:
              - {name: Shout, agent_type: echo, inputs: [text], output: loud}
        """,
    )
    result = run(f"{path}::Main", {"raw_data": "hey"})
    assert result.final_state == {"raw_data": "hey", "picked": "hey", "last_action_success": True}


# --- the state picks the graph: workflow_field -----------------------------------------------

PICKING = (
    ("Main", "Pick", "graph", "text", "out", "", "Done", "Oops", "", "{workflow_field=route}"),
    ("Main", "Done", "echo", "out", "final"),
    ("Main", "Oops", "echo", "error", "problem"),
    *CHILD,
    ("Quiet", "Hush", "echo", "text|route", "heard"),
)


@pytest.mark.parametrize("route", ["::Child", "Child"])
def test_workflow_field_runs_the_graph_the_state_names(
    write_file: Callable[..., Path], route: str
) -> None:
    path = write_file("flow.csv", table(*PICKING))
    result = run(f"{path}::Main", {"text": "hi", "route": route})
    assert result.summary.execution_path == ("Pick", "Done")
    assert result.final_state["out"] == CHILD_FINAL  # the key that picks is not passed on


def test_workflow_field_passes_its_key_on_when_input_fields_lists_it(
    write_file: Callable[..., Path],
) -> None:
    rows = (
        ("Main", "Pick", "graph", "text|route", "out", "", "", "", "", "{workflow_field=route}"),
    )
    path = write_file("flow.csv", table(*rows, *PICKING[1:]))
    result = run(f"{path}::Main", {"text": "hi", "route": "Quiet"})
    assert result.final_state["out"] == {
        "text": "hi",
        "route": "Quiet",
        "heard": {"text": "hi", "route": "Quiet"},
        "last_action_success": True,
    }


def test_workflow_field_naming_no_graph_fails_the_node_and_says_which_it_can_run(
    write_file: Callable[..., Path],
) -> None:
    path = write_file("flow.csv", table(*PICKING))
    result = run(f"{path}::Main", {"text": "hi", "route": "::Chlid"})
    assert result.summary.execution_path == ("Pick", "Oops")
    assert result.final_state["problem"] == (
        "node 'Pick': the state's 'route' is '::Chlid', which names none of the graphs this node "
        "can run — did you mean 'Child'? (it can run: Child, Quiet) — set 'route' to one of "
        'them, or add the graph to the node\'s Context "choices"'
    )


def test_a_workflow_field_choice_that_would_recurse_warns_and_fails_only_if_picked(
    write_file: Callable[..., Path],
) -> None:
    path = write_file(
        "flow.csv",
        table(
            *PICKING,
            ("Outer", "RunMain", "graph", "text|route", "out", "", "", "", "", "{workflow=::Main}"),
        ),
    )
    report = validate_in(build_container({}), f"{path}::Main")
    assert report.errors == ()
    assert placed(report.warnings) == [
        (
            8,
            "J8",
            "subgraphs recurse (Main → Outer → Main) if a graph_field node on the way picks the "
            "choice that leads here; that pick fails its node",
        )
    ]
    picked = run(f"{path}::Main", {"text": "hi", "route": "Outer"})
    assert picked.final_state["problem"] == (
        "node 'Pick': the state's 'route' picks 'Outer', which can't run here: node 'RunMain' "
        "runs graph 'Main', which is already running above it — a graph can't run itself"
    )
    fine = run(f"{path}::Outer", {"text": "hi", "route": "Child"})
    assert fine.final_state["out"]["out"] == CHILD_FINAL


def test_graph_field_choices_may_name_graphs_of_other_files(
    write_file: Callable[..., Path],
) -> None:
    write_file("kids/child.csv", table(*CHILD))
    context = json.dumps({"graph_field": "route", "choices": ["kids/child.csv::Child"]})
    path = write_file(
        "flow.csv", table(("Main", "Pick", "graph", "text", "out", "", "", "", "", context))
    )
    result = run(path, {"text": "hi", "route": "kids/child.csv::Child"})
    assert result.final_state["out"] == CHILD_FINAL


@pytest.mark.parametrize(
    ("context", "message"),
    [
        pytest.param(
            {"graph_field": "route", "choices": ["Chlid"]},
            "no graph named 'Chlid' in {file} — did you mean 'Child'? (it holds: Main, Child)",
            id="unknown-choice",
        ),
        pytest.param(
            {"graph_field": "route"},
            '"graph_field": "route" needs "choices": the graphs the state\'s \'route\' may name, '
            'e.g. ["Billing", "other.csv::Refunds"]',
            id="no-choices",
        ),
        pytest.param(
            {"graph_field": 3, "choices": ["Child"]},
            '"graph_field" must name a state key (text)',
            id="field-not-text",
        ),
    ],
)
def test_a_bad_graph_field_is_placed_at_the_context_cell(
    write_file: Callable[..., Path], context: dict[str, Any], message: str
) -> None:
    path = write_file(
        "flow.csv",
        table(
            ("Main", "Pick", "graph", "text", "out", "", "", "", "", json.dumps(context)), *CHILD
        ),
    )
    report = validate_in(build_container({}), f"{path}::Main")
    assert placed(report.errors) == [(2, "J2", message.replace("{file}", str(path)))]


def test_a_picked_graph_waiting_for_a_person_is_carried_on_when_resumed(
    write_file: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_file(
        "flow.csv",
        table(
            ("Main", "Pick", "graph", "text", "out", "", "", "", "", "{workflow_field=route}"),
            ("Asker", "Ask", "human", "text", "answer", "", "", "", "Carry on?"),
            *CHILD,
        ),
    )
    config = {"storage": {"url": f"sqlite:///{tmp_path / 'runs.db'}"}}
    waiting = run_graph(f"{path}::Main", {"text": "hi", "route": "::Asker"}, config=config)
    assert [(w.node, w.pause.question) for w in waiting.waiting] == [("Pick", "Carry on?")]
    done = resume_run(waiting.run_id, "yes", config=config)
    assert done.final_state["out"] == {"text": "hi", "answer": "yes", "last_action_success": True}
