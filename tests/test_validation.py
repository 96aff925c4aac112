"""Validation: every problem of a graph file at once, placed at its file, row, cell and column."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from agentmap import AgentError, GraphValidationError, load_graph, run_graph, validate_graph

WriteFile = Callable[..., Path]
GraphCsv = Callable[..., Path]

# The standard header puts the columns at: A GraphName, B Node, C AgentType, D Edge,
# E Success_Next, F Failure_Next, G Input_Fields, H Output_Field, I Prompt, J Context,
# K Description.

ROUTES = """\
def choose(state, success_target, failure_target):
    return success_target


def one_argument(state):
    return "End"
"""

CUSTOM_AGENTS = """\
from agentmap import Agent, agent


class CustomProcessorAgent(Agent):
    def process(self, inputs):
        return "processed"


class Anything(Agent):
    agent_type = "summarizer"

    def process(self, inputs):
        return "summary"


@agent("greet")
def say_hello(inputs):
    return "hello"
"""


@pytest.fixture(autouse=True)
def _in_project(project: Path) -> Path:
    """Every test runs in a fresh, empty project (agents/, functions/); files named as written."""
    return project


def write_module(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


# --- one row per rule -----------------------------------------------------------------------

RULES = [
    pytest.param(
        ["Main,Start,echo,,,,,,,,", "Main,Start,echo,,,,,,,,"],
        {},
        (
            3,
            "B3",
            "Node",
            "node 'Start' is defined twice in graph 'Main' (rows 2 and 3) — rename or delete one "
            "of them",
        ),
        id="duplicate-node",
    ),
    pytest.param(
        ["Main,Start,echo,Ned,,,,,,,", "Main,End,echo,,,,,,,,"],
        {},
        (2, "D2", "Edge", "no node named 'Ned' in graph 'Main' — did you mean 'End'?"),
        id="edge-to-no-node",
    ),
    pytest.param(
        ["Main,Start,echo,,Procss,,,,,,", "Main,Process,echo,,,,,,,,"],
        {},
        (
            2,
            "E2",
            "Success_Next",
            "no node named 'Procss' in graph 'Main' — did you mean 'Process'?",
        ),
        id="success-next-to-no-node",
    ),
    pytest.param(
        ["Main,Start,echo,,,Zzz,,,,,"],
        {},
        (2, "F2", "Failure_Next", "no node named 'Zzz' in graph 'Main'"),
        id="failure-next-to-no-node-without-suggestion",
    ),
    pytest.param(
        ["Main,Start,ecko,,,,,,,,"],
        {},
        (
            2,
            "C2",
            "AgentType",
            "unknown agent type 'ecko' — did you mean 'echo'? — fix the spelling, or run "
            "`agentmap scaffold flow.csv` to write a stub for it",
        ),
        id="unknown-agent-type",
    ),
    pytest.param(
        ["Main,Start,echo,,,,,,,{bad,"],
        {},
        (
            2,
            "J2",
            "Context",
            "Context starts with '{' but is not valid JSON (Expecting property name enclosed in "
            'double quotes at character 2) — fix the JSON, e.g. {"key": "value"}',
        ),
        id="invalid-context-json",
    ),
    pytest.param(
        ["Main,Start,echo,func:chose,,,,,,,"],
        {"route.py": ROUTES},
        (
            2,
            "D2",
            "Edge",
            "no routing function named 'chose' — did you mean 'choose'? — define it in the "
            "functions folder, or run `agentmap scaffold flow.csv` to write a stub",
        ),
        id="func-missing",
    ),
    pytest.param(
        ["Main,Start,echo,,func:pick,,,,,,"],
        {},
        (
            2,
            "E2",
            "Success_Next",
            "no routing function named 'pick' — define it in the functions folder, or run "
            "`agentmap scaffold flow.csv` to write a stub",
        ),
        id="func-missing-no-functions-folder-content",
    ),
    pytest.param(
        ["Main,Start,echo,func:one_argument,,,,,,,", "Main,End,echo,,,,,,,,"],
        {"route.py": ROUTES},
        (
            2,
            "D2",
            "Edge",
            "function 'one_argument' must accept (state, success_target, failure_target); its "
            "signature is one_argument(state)",
        ),
        id="func-wrong-signature",
    ),
    pytest.param(
        ["Main,Start,echo,,A|Bx,,,,,,", "Main,A,echo,,,,,,,,", "Main,B,echo,,,,,,,,"],
        {},
        (2, "E2", "Success_Next", "no node named 'Bx' in graph 'Main' — did you mean 'B'?"),
        id="parallel-target-unknown",
    ),
    pytest.param(
        ["Main,Start,echo,A|func:pick,,,,,,,", "Main,A,echo,,,,,,,,"],
        {},
        (
            2,
            "D2",
            "Edge",
            "'A|func:pick': parallel targets must be node names (not empty, not func:) — a "
            "routing function picks one node",
        ),
        id="parallel-target-func",
    ),
    pytest.param(
        [",Start,echo,,,,,,,,"],
        {},
        (2, "A2", "GraphName", "GraphName is empty — name the graph this node belongs to"),
        id="empty-graph-name",
    ),
    pytest.param(
        ["Main,,echo,,,,,,,,"],
        {},
        (2, "B2", "Node", "Node is empty — give the node a name"),
        id="empty-node",
    ),
    pytest.param(
        ["Main,Start,echo,,,,,,,,,stray"],
        {},
        (
            2,
            "L2",
            None,
            "cell L2 holds 'stray' but its column has no header — give the column a header "
            "or clear the cell",
        ),
        id="value-without-header",
    ),
]


@pytest.mark.parametrize(("rows", "functions", "expected"), RULES)
def test_each_rule_reports_one_error_at_its_cell(
    graph_csv: GraphCsv,
    project: Path,
    rows: list[str],
    functions: dict[str, str],
    expected: tuple[int, str, str | None, str],
) -> None:
    for name, source in functions.items():
        write_module(project / "functions", name, source)
    graph_csv(*rows)

    report = validate_graph("flow.csv")

    assert [(p.row, p.cell, p.field, p.message) for p in report.errors] == [expected]
    assert report.ok is False


@pytest.mark.parametrize(("rows", "functions", "expected"), RULES)
def test_each_rule_stops_load_graph(
    graph_csv: GraphCsv,
    project: Path,
    rows: list[str],
    functions: dict[str, str],
    expected: tuple[int, str, str | None, str],
) -> None:
    for name, source in functions.items():
        write_module(project / "functions", name, source)
    graph_csv(*rows)

    with pytest.raises(GraphValidationError) as caught:
        load_graph("flow.csv")

    assert [(p.row, p.cell, p.field, p.message) for p in caught.value.problems] == [expected]


def test_value_in_a_column_with_an_empty_header_is_an_error(write_file: WriteFile) -> None:
    write_file("flow.csv", "GraphName,Node,,Prompt\nMain,Start,stray,hi\n")

    assert [(p.row, p.cell, p.field) for p in validate_graph("flow.csv").errors] == [
        (2, "C2", None)
    ]


def test_empty_header_column_without_values_is_fine(write_file: WriteFile) -> None:
    write_file("flow.csv", "GraphName,Node,,Prompt\nMain,Start,,hi\n")

    report = validate_graph("flow.csv")

    assert (report.errors, report.warnings) == ((), ())


# --- the place of a problem -----------------------------------------------------------------


def test_problem_str_is_file_row_cell_column_then_message(graph_csv: GraphCsv) -> None:
    graph_csv(
        "Main,Start,echo,Middle,,,,,,,", "Main,Middle,echo,Ned,,,,,,,", "Main,End,echo,,,,,,,,"
    )

    assert [str(p) for p in validate_graph("flow.csv").errors] == [
        "flow.csv:3 D3 Edge: no node named 'Ned' in graph 'Main' — did you mean 'End'?"
    ]


def test_problem_names_the_file_as_given(graph_csv: GraphCsv, project: Path) -> None:
    graph_csv("Main,Start,echo,Ned,,,,,,,", name="graphs/flow.csv")

    problem = validate_graph("graphs/flow.csv").errors[0]

    assert problem.file == "graphs/flow.csv"
    assert str(problem).startswith("graphs/flow.csv:2 D2 Edge: ")


def test_problem_cell_follows_the_files_own_column_order(write_file: WriteFile) -> None:
    write_file(
        "flow.csv",
        "Description,Success_Next,Node,GraphName\nfirst,Ned,Start,Main\nlast,,End,Main\n",
    )

    assert [str(p) for p in validate_graph("flow.csv").errors] == [
        "flow.csv:2 B2 Success_Next: no node named 'Ned' in graph 'Main' — did you mean 'End'?"
    ]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            ["Main,Start,echo,End,,,,,,,", "Main,End,echo,,,,,,,,", "Main,End,echo,,,,,,,,"],
            (4, "B4", "Node", "Main", "End"),
            id="duplicate-node",
        ),
        pytest.param(
            ["Main,Start,echo,End,,,,,,,", "Main,End,echo,,,Ned,,,,,"],
            (3, "F3", "Failure_Next", "Main", "End"),
            id="routing-target",
        ),
        pytest.param(
            ["Main,Start,echo,End,,,,,,,", "Main,End,Ecco,,,,,,,,"],
            (3, "C3", "AgentType", "Main", "End"),
            id="agent-type",
        ),
        pytest.param(
            ["Main,Start,echo,End,,,,,,,", 'Main,End,echo,,,,,,,"{""a"": }",'],
            (3, "J3", "Context", "Main", "End"),
            id="context",
        ),
        pytest.param(
            ["Main,Start,echo,End,,,,,,,", "Main,End,echo,,,,a:,,,,"],
            (3, "G3", "Input_Fields", "Main", "End"),
            id="input-fields",
        ),
        pytest.param(
            ["Main,Start,echo,,,,,,,,", "Main,,echo,,,,,,,,"],
            (3, "B3", "Node", "Main", None),
            id="empty-node",
        ),
    ],
)
def test_problem_attributes_give_row_cell_field_graph_node(
    graph_csv: GraphCsv, rows: list[str], expected: tuple[int, str, str, str, str | None]
) -> None:
    graph_csv(*rows)

    (problem,) = validate_graph("flow.csv").errors

    assert (problem.row, problem.cell, problem.field, problem.graph, problem.node) == expected
    assert (problem.file, problem.severity) == ("flow.csv", "error")


def test_validation_error_message_lists_each_problem(graph_csv: GraphCsv) -> None:
    graph_csv("Main,Start,echo,Ned,,,,,,,", "Main,End,echo,,,,,,,,")

    with pytest.raises(GraphValidationError) as caught:
        load_graph("flow.csv")

    assert str(caught.value) == (
        "1 problem found:\n"
        "  flow.csv:2 D2 Edge: no node named 'Ned' in graph 'Main' — did you mean 'End'?"
    )


def test_validation_error_carries_the_first_problems_place(graph_csv: GraphCsv) -> None:
    graph_csv("Main,Start,echo,End,,,,,,,", "Main,End,echo,,Ned,,,,,,")

    with pytest.raises(GraphValidationError) as caught:
        load_graph("flow.csv")

    error = caught.value
    assert (error.file, error.row, error.column, error.graph, error.node) == (
        "flow.csv",
        3,
        "Success_Next",
        "Main",
        "End",
    )


# --- all problems at once, in row order -----------------------------------------------------

SEVERAL_PROBLEMS = (
    "Main,Start,echo,Middle,,,,,,,",
    "Main,Middle,echo,Ned,,,,,,,",  # row 3: routing target
    "Main,End,echo,,,,,,,{oops,",  # row 4: Context JSON
    "Main,Last,ecko,,,,,,,,",  # row 5: agent type
    "Main,End,echo,,,,,,,,",  # row 6: duplicate node
    'Main,Other,echo,Start,,,,,,"{""timout"": 5}",',  # row 7: a Context key no one reads
)
SEVERAL_PLACES = [
    (3, "D3", "Edge"),
    (4, "J4", "Context"),
    (5, "C5", "AgentType"),
    (6, "B6", "Node"),
    (7, "J7", "Context"),
]


def test_every_problem_of_a_file_is_reported(graph_csv: GraphCsv) -> None:
    graph_csv(*SEVERAL_PROBLEMS)

    report = validate_graph("flow.csv")

    assert sorted((p.row, p.cell, p.field) for p in report.errors) == SEVERAL_PLACES


def test_validate_graph_lists_errors_in_row_order(graph_csv: GraphCsv) -> None:
    graph_csv(*SEVERAL_PROBLEMS)

    assert [(p.row, p.cell, p.field) for p in validate_graph("flow.csv").errors] == SEVERAL_PLACES


def test_load_graph_lists_problems_in_row_order(graph_csv: GraphCsv) -> None:
    graph_csv(*SEVERAL_PROBLEMS)

    with pytest.raises(GraphValidationError) as caught:
        load_graph("flow.csv")

    assert [(p.row, p.cell, p.field) for p in caught.value.problems] == SEVERAL_PLACES


def test_problems_of_several_graphs_are_listed_in_row_order(write_file: WriteFile) -> None:
    write_file(
        "flow.csv",
        "GraphName,Node,Edge\nA,Start,Nope\nB,Start,Nope\nA,Second,Nope\nB,Second,Nope\n",
    )

    assert [(p.row, p.graph) for p in validate_graph("flow.csv").errors] == [
        (2, "A"),
        (3, "B"),
        (4, "A"),
        (5, "B"),
    ]


def test_several_rules_on_one_row_are_all_reported(graph_csv: GraphCsv) -> None:
    graph_csv("Main,Start,ecko,Ned,Ned,,a:,,,{x,", "Main,End,echo,,,,,,,,")

    assert sorted((p.cell, p.field) for p in validate_graph("flow.csv").errors) == [
        ("C2", "AgentType"),
        ("D2", "Edge"),
        ("E2", "Success_Next"),
        ("G2", "Input_Fields"),
        ("J2", "Context"),
    ]


# --- warnings -------------------------------------------------------------------------------


def test_unreachable_node_is_a_warning(graph_csv: GraphCsv) -> None:
    graph_csv("Main,Start,echo,End,,,,,,,", "Main,Orphan,echo,End,,,,,,,", "Main,End,echo,,,,,,,,")

    report = validate_graph("flow.csv")

    assert (report.ok, report.errors) == (True, ())
    assert [str(p) for p in report.warnings] == [
        "flow.csv:3 B3 Node: node 'Orphan' can't be reached from the entry node 'Start' — route to "
        "it or delete it"
    ]
    assert (report.warnings[0].severity, report.warnings[0].node) == ("warning", "Orphan")


@pytest.mark.parametrize(
    ("row", "ignored"),
    [
        ("Main,Start,echo,End,Other,,,,,,", "Success_Next"),
        ("Main,Start,echo,End,,Other,,,,,", "Failure_Next"),
        ("Main,Start,echo,End,Other,Other,,,,,", "Success_Next and Failure_Next"),
    ],
)
def test_edge_beside_success_or_failure_next_is_a_warning_naming_the_route_taken(
    graph_csv: GraphCsv, row: str, ignored: str
) -> None:
    graph_csv(row, "Main,End,echo,,,,,,,,", "Main,Other,echo,,,,,,,,")

    report = validate_graph("flow.csv")

    assert (report.ok, report.errors) == (True, ())
    assert [str(p) for p in report.warnings] == [
        f"flow.csv:2 D2 Edge: Edge and {ignored} are both set — the run follows the Edge to "
        "'End' whatever the outcome (an Edge is unconditional and wins, as in AgentMap) and "
        f"ignores {ignored}; clear {ignored} to keep the Edge, or clear the Edge to branch on "
        "the outcome",
        "flow.csv:4 B4 Node: node 'Other' can't be reached from the entry node 'Start' — route "
        "to it or delete it",
    ]


@pytest.mark.parametrize(("agent", "path"), [("success", "Start End"), ("failure", "Start End")])
def test_edge_beside_success_and_failure_next_is_the_route_a_run_takes(
    graph_csv: GraphCsv, agent: str, path: str
) -> None:
    graph_csv(
        f"Main,Start,{agent},End,Good,Bad,,,,,",
        *(f"Main,{n},echo,,,,,,,," for n in ("End", "Good", "Bad")),
    )

    result = run_graph("flow.csv")

    assert " ".join(result.summary.execution_path) == path


def test_unreachable_node_does_not_block_load_graph(graph_csv: GraphCsv) -> None:
    graph_csv("Main,Start,echo,,,,,,,,", "Main,Orphan,echo,,,,,,,,")

    assert list(load_graph("flow.csv").nodes) == ["Start", "Orphan"]


def test_nodes_reached_through_success_and_failure_are_reachable(graph_csv: GraphCsv) -> None:
    graph_csv(
        "Main,Start,echo,,Good,Bad,,,,,",
        "Main,Good,echo,Loop,,,,,,,",
        "Main,Bad,echo,,,,,,,,",
        "Main,Loop,echo,Good,,,,,,,",
    )

    assert validate_graph("flow.csv").warnings == ()


def test_unknown_column_warning_does_not_block(write_file: WriteFile) -> None:
    write_file("flow.csv", "GraphName,Node,Remarks\nMain,Start,\n")

    report = validate_graph("flow.csv")

    assert (report.ok, [(p.row, p.cell, p.severity) for p in report.warnings]) == (
        True,
        [(1, "C1", "warning")],
    )
    assert list(load_graph("flow.csv").nodes) == ["Start"]


def test_unknown_column_with_values_does_not_block(write_file: WriteFile) -> None:
    write_file("flow.csv", "GraphName,Node,Remarks\nMain,Start,reviewed by Ada\n")

    report = validate_graph("flow.csv")

    assert (report.errors, [(p.row, p.cell) for p in report.warnings]) == ((), [(1, "C1")])
    assert list(load_graph("flow.csv").nodes) == ["Start"]


def test_func_route_at_a_reachable_node_suppresses_unreachable_warnings(
    graph_csv: GraphCsv, project: Path
) -> None:
    write_module(project / "functions", "route.py", ROUTES)
    graph_csv(
        "Main,Start,echo,func:choose,,,,,,,", "Main,Anywhere,echo,,,,,,,,", "Main,Else,echo,,,,,,,,"
    )

    report = validate_graph("flow.csv")

    assert (report.errors, report.warnings) == ((), ())


def test_func_route_in_failure_next_also_suppresses_unreachable_warnings(
    graph_csv: GraphCsv, project: Path
) -> None:
    write_module(project / "functions", "route.py", ROUTES)
    graph_csv(
        "Main,Start,echo,,Next,func:choose,,,,,", "Main,Next,echo,,,,,,,,", "Main,Else,echo,,,,,,,,"
    )

    assert validate_graph("flow.csv").warnings == ()


def test_func_route_at_an_unreachable_node_keeps_the_warnings(
    graph_csv: GraphCsv, project: Path
) -> None:
    write_module(project / "functions", "route.py", ROUTES)
    graph_csv(
        "Main,Start,echo,,,,,,,,", "Main,Island,echo,func:choose,,,,,,,", "Main,Other,echo,,,,,,,,"
    )

    assert [p.node for p in validate_graph("flow.csv").warnings] == ["Island", "Other"]


def test_warnings_ride_along_on_the_validation_error(graph_csv: GraphCsv) -> None:
    graph_csv("Main,Start,echo,Ned,,,,,,,", "Main,Orphan,echo,,,,,,,,")

    with pytest.raises(GraphValidationError) as caught:
        load_graph("flow.csv")

    assert [p.node for p in caught.value.warnings] == ["Orphan"]


# --- other graphs of the same file ----------------------------------------------------------

GOOD_AND_BAD = (
    "Main,Start,echo,End,,,,,,,",
    "Main,End,echo,,,,,,,,",
    "Broken,First,ecko,Nowhere,,,,,,,",
)


def test_problems_in_another_graph_do_not_block_loading(graph_csv: GraphCsv) -> None:
    graph_csv(*GOOD_AND_BAD)

    assert list(load_graph("flow.csv", graph="Main").nodes) == ["Start", "End"]


def test_problems_in_another_graph_are_not_reported_for_the_selected_one(
    graph_csv: GraphCsv,
) -> None:
    graph_csv(*GOOD_AND_BAD)

    report = validate_graph("flow.csv", graph="Main")

    assert (report.ok, report.errors, report.warnings) == (True, (), ())


def test_whole_file_validation_reports_every_graph(graph_csv: GraphCsv) -> None:
    graph_csv(*GOOD_AND_BAD)

    report = validate_graph("flow.csv")

    assert [(p.graph, p.cell) for p in report.errors] == [("Broken", "C4"), ("Broken", "D4")]


def test_selected_graphs_own_problems_block_loading(graph_csv: GraphCsv) -> None:
    graph_csv(*GOOD_AND_BAD)

    with pytest.raises(GraphValidationError) as caught:
        load_graph("flow.csv::Broken")

    assert [(p.graph, p.cell) for p in caught.value.problems] == [
        ("Broken", "C4"),
        ("Broken", "D4"),
    ]


@pytest.mark.parametrize(
    ("text", "place"),
    [
        pytest.param(
            "GraphName,Node,Edge,next\nMain,Start,,\nOther,X,,\n", (1, "D1"), id="duplicate-header"
        ),
        pytest.param(
            "GraphName,Node,Edge\nMain,Start,\n,Loose,\nOther,X,\n",
            (3, "A3"),
            id="row-without-graph",
        ),
        pytest.param(
            "GraphName,Node,,Edge\nMain,Start,,\nOther,X,stray,\n",
            (3, "C3"),
            id="value-without-header",
        ),
    ],
)
def test_file_level_problems_block_every_graph(
    write_file: WriteFile, text: str, place: tuple[int, str]
) -> None:
    write_file("flow.csv", text)

    with pytest.raises(GraphValidationError) as caught:
        load_graph("flow.csv", graph="Main")

    assert [(p.row, p.cell) for p in caught.value.problems] == [place]


# --- custom agents --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "agent_type",
    [
        "custom_processor",
        "CustomProcessorAgent",
        "CustomProcessor",
        "Custom Processor",
        "summarizer",
        "Summarizer",
        "SummarizerAgent",
        "greet",
        "Greet",
    ],
)
def test_custom_agents_in_the_agents_folder_are_known_types(
    graph_csv: GraphCsv, project: Path, agent_type: str
) -> None:
    write_module(project / "agents", "custom.py", CUSTOM_AGENTS)
    graph_csv(f"Main,Start,{agent_type},,,,,,,,")

    assert validate_graph("flow.csv").errors == ()


@pytest.mark.parametrize("agent_type", ["custom_processor", "summarizer", "greet"])
def test_custom_agent_types_are_unknown_without_their_module(
    graph_csv: GraphCsv, agent_type: str
) -> None:
    graph_csv(f"Main,Start,{agent_type},,,,,,,,")

    assert [p.field for p in validate_graph("flow.csv").errors] == ["AgentType"]


def test_class_name_alone_does_not_name_an_agent_with_explicit_type(
    graph_csv: GraphCsv, project: Path
) -> None:
    write_module(project / "agents", "custom.py", CUSTOM_AGENTS)
    graph_csv("Main,Start,anything,,,,,,,,")

    assert [(p.cell, p.field) for p in validate_graph("flow.csv").errors] == [("C2", "AgentType")]


def test_unknown_agent_type_suggests_a_custom_agent(graph_csv: GraphCsv, project: Path) -> None:
    write_module(project / "agents", "custom.py", CUSTOM_AGENTS)
    graph_csv("Main,Start,sumarizer,,,,,,,,")

    assert (
        validate_graph("flow.csv")
        .errors[0]
        .message.startswith("unknown agent type 'sumarizer' — did you mean 'summarizer'? — ")
    )


def test_custom_agents_folder_comes_from_config(graph_csv: GraphCsv, project: Path) -> None:
    (project / "lib").mkdir()
    write_module(project / "lib", "custom.py", CUSTOM_AGENTS)
    graph_csv("Main,Start,custom_processor,,,,,,,,")

    report = validate_graph("flow.csv", config={"paths": {"custom_agents": "lib"}})

    assert report.errors == ()


def test_config_file_paths_resolve_against_its_folder(graph_csv: GraphCsv, project: Path) -> None:
    (project / "conf" / "mine").mkdir(parents=True)
    (project / "conf" / "agentmap_config.yaml").write_text("paths:\n  custom_agents: mine\n")
    write_module(project / "conf" / "mine", "custom.py", CUSTOM_AGENTS)
    graph_csv("Main,Start,greet,,,,,,,,")

    assert validate_graph("flow.csv", config=project / "conf" / "agentmap_config.yaml").errors == ()


@pytest.mark.parametrize(
    "agent_type", ["Echo", "EchoAgent", "ECHO", " echo ", "echo_agent", "Branching", "Default"]
)
def test_builtin_agent_type_matching_is_case_and_spelling_tolerant(
    graph_csv: GraphCsv, agent_type: str
) -> None:
    graph_csv(f"Main,Start,{agent_type},,,,,,,,")

    assert validate_graph("flow.csv").errors == ()


def test_custom_agent_module_with_syntax_error_names_file_and_line(
    graph_csv: GraphCsv, project: Path
) -> None:
    broken = write_module(
        project / "agents", "broken.py", "from agentmap import Agent\ndef oops(:\n    pass\n"
    )
    graph_csv("Main,Start,echo,,,,,,,,")

    with pytest.raises(AgentError) as caught:
        load_graph("flow.csv")

    assert (caught.value.file, caught.value.row) == (str(broken), 2)
    assert str(caught.value).startswith(f"{broken}:2: importing this module raised SyntaxError: ")


def test_custom_agent_module_raising_on_import_names_file_and_line(
    graph_csv: GraphCsv, project: Path
) -> None:
    broken = write_module(
        project / "agents", "broken.py", "import os\n\nraise RuntimeError('no key')\n"
    )
    graph_csv("Main,Start,echo,,,,,,,,")

    with pytest.raises(AgentError) as caught:
        validate_graph("flow.csv")

    assert str(caught.value) == (
        f"{broken}:3: importing this module raised RuntimeError: no key — fix the module "
        "(--debug shows the traceback)"
    )


def test_private_modules_in_the_agents_folder_are_not_imported(
    graph_csv: GraphCsv, project: Path
) -> None:
    write_module(project / "agents", "_helpers.py", "def broken(:\n")
    graph_csv("Main,Start,echo,,,,,,,,")

    assert validate_graph("flow.csv").ok is True


# --- a large file ---------------------------------------------------------------------------


def chain(count: int) -> list[str]:
    names = [f"N{i:04d}" for i in range(count)]
    targets = [*names[1:], ""]
    return [
        f"Big,{name},echo,{target},,,input,input,,,"
        for name, target in zip(names, targets, strict=True)
    ]


def test_2000_node_chain_loads_and_validates(graph_csv: GraphCsv) -> None:
    graph_csv(*chain(2000))

    report = validate_graph("flow.csv")
    graph = load_graph("flow.csv")

    assert (report.errors, report.warnings) == ((), ())
    assert (len(graph.nodes), graph.entry) == (2000, "N0000")
    assert (graph.nodes["N1998"].edge, graph.nodes["N1999"].edge, graph.nodes["N1999"].row) == (
        "N1999",
        None,
        2001,
    )


def test_problems_deep_in_a_2000_node_file_are_placed_exactly(graph_csv: GraphCsv) -> None:
    rows = chain(2000)
    rows[1500] = "Big,N1500,echo,N1510,,,input,input,,,"
    rows[1999] = "Big,N1999,echo,Nowhere,,,input,input,,,"
    graph_csv(*rows)

    report = validate_graph("flow.csv")

    assert [str(p) for p in report.errors] == [
        "flow.csv:2001 D2001 Edge: no node named 'Nowhere' in graph 'Big'"
    ]
    assert [p.node for p in report.warnings] == [f"N{i:04d}" for i in range(1501, 1510)]
