"""Reading CSV graph files through the public API: cells, encodings, headers, graphs, fields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import FrozenInstanceError
from pathlib import Path

import pydantic
import pytest

from agentmap import (
    GraphFileError,
    GraphSelectionError,
    GraphValidationError,
    load_graph,
    validate_graph,
)
from agentmap.graph.loader import SUFFIXES

WriteFile = Callable[..., Path]
GraphCsv = Callable[..., Path]

TWO_GRAPHS = """\
GraphName,Node,AgentType,Edge
Main,Start,echo,End
Main,End,echo,
Other,First,echo,Second
Other,Second,echo,
"""


@pytest.fixture(autouse=True)
def _in_project(project: Path) -> Path:
    """Every test runs in a fresh, empty project folder, so files are named as written."""
    return project


def errors_of(
    name: str, graph: str | None = None
) -> list[tuple[int | None, str | None, str | None, str]]:
    """``(row, cell, field, message)`` of every error validate_graph reports."""
    return [(p.row, p.cell, p.field, p.message) for p in validate_graph(name, graph).errors]


# --- every cell is text, exactly as written -------------------------------------------------


@pytest.mark.parametrize(
    "value", ["NA", "null", "None", "0", "TRUE", "false", "N/A", "nan", "  spaced  "]
)
@pytest.mark.parametrize(
    ("column", "attribute"), [("Prompt", "prompt"), ("Description", "description")]
)
def test_na_null_none_zero_true_stay_text(
    write_file: WriteFile, column: str, attribute: str, value: str
) -> None:
    write_file("flow.csv", f"GraphName,Node,{column}\nMain,Start,{value}\n")

    node = load_graph("flow.csv").nodes["Start"]

    assert getattr(node, attribute) == value


@pytest.mark.parametrize("value", ["NA", "null", "None", "0", "TRUE", "nan", "  spaced  "])
def test_context_na_null_none_zero_true_stay_text(write_file: WriteFile, value: str) -> None:
    write_file("flow.csv", f"GraphName,Node,Context\nMain,Start,{value}\n")

    assert load_graph("flow.csv").nodes["Start"].context == value


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("", ""), ('""', ""), ('"  "', "  ")],
    ids=["empty", "quoted-empty", "quoted-spaces"],
)
def test_empty_prompt_and_description_stay_as_written(
    write_file: WriteFile, cell: str, expected: str
) -> None:
    write_file("flow.csv", f"GraphName,Node,Prompt,Description\nMain,Start,{cell},{cell}\n")

    node = load_graph("flow.csv").nodes["Start"]

    assert (node.prompt, node.description) == (expected, expected)


@pytest.mark.parametrize("cell", ["", '""'], ids=["empty", "quoted-empty"])
def test_empty_context_is_no_context(write_file: WriteFile, cell: str) -> None:
    write_file("flow.csv", f"GraphName,Node,Context\nMain,Start,{cell}\n")

    assert load_graph("flow.csv").nodes["Start"].context is None


def test_identifier_cells_keep_na_and_null_as_names(write_file: WriteFile) -> None:
    write_file(
        "flow.csv",
        "GraphName,Node,AgentType,Edge,Input_Fields,Output_Field\n"
        "NA,null,echo,None,NA|0,TRUE\n"
        "NA,None,echo,,,\n",
    )

    graph = load_graph("flow.csv")

    assert (graph.name, graph.entry, list(graph.nodes)) == ("NA", "null", ["null", "None"])
    node = graph.nodes["null"]
    assert (node.edge, node.inputs, node.outputs) == ("None", (("NA", "NA"), ("0", "0")), ("TRUE",))


def test_blank_agent_type_is_default(graph_csv: GraphCsv) -> None:
    graph_csv("Main,Start,,,,,,,,,")

    assert load_graph("flow.csv").nodes["Start"].agent_type == "default"


def test_doubled_quotes_in_a_quoted_cell_become_one_quote(write_file: WriteFile) -> None:
    write_file("flow.csv", 'GraphName,Node,Prompt\nMain,Start,"Say ""hi"", then stop"\n')

    assert load_graph("flow.csv").nodes["Start"].prompt == 'Say "hi", then stop'


def test_identifier_cells_are_stripped_of_surrounding_spaces(write_file: WriteFile) -> None:
    write_file(
        "flow.csv", "GraphName,Node,AgentType,Edge\n Main , Start , echo , End \nMain,End,echo,\n"
    )

    graph = load_graph("flow.csv")

    assert (graph.name, list(graph.nodes)) == ("Main", ["Start", "End"])
    assert (graph.nodes["Start"].agent_type, graph.nodes["Start"].edge) == ("echo", "End")


# --- encodings, line endings, quoting, blank rows ------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"], ids=["no-bom", "bom"])
def test_utf8_with_or_without_bom_reads_the_first_header(
    write_file: WriteFile, encoding: str
) -> None:
    write_file("flow.csv", "GraphName,Node,Prompt\nMain,Start,café ☕\n", encoding=encoding)

    graph = load_graph("flow.csv")

    assert (graph.name, graph.nodes["Start"].prompt) == ("Main", "café ☕")
    assert validate_graph("flow.csv").warnings == ()


def test_bom_file_places_problems_in_column_a(write_file: WriteFile) -> None:
    write_file("flow.csv", "GraphName,Node\n,Start\n", encoding="utf-8-sig")

    assert errors_of("flow.csv") == [
        (2, "A2", "GraphName", "GraphName is empty — name the graph this node belongs to")
    ]


def test_crlf_line_endings_leave_no_carriage_return_in_cells(write_file: WriteFile) -> None:
    write_file(
        "flow.csv",
        "GraphName,Node,AgentType,Edge,Description\nMain,Start,echo,End,first\nMain,End,echo,,last\n",
        newline="\r\n",
    )

    graph = load_graph("flow.csv")

    assert [n.description for n in graph.nodes.values()] == ["first", "last"]
    assert graph.nodes["Start"].edge == "End"


def test_crlf_with_bom_loads(write_file: WriteFile) -> None:
    write_file("flow.csv", "GraphName,Node\nMain,Start\n", encoding="utf-8-sig", newline="\r\n")

    assert list(load_graph("flow.csv").nodes) == ["Start"]


def test_quoted_cell_keeps_commas_and_newlines(write_file: WriteFile) -> None:
    write_file("flow.csv", 'GraphName,Node,Prompt\nMain,Start,"Hello, world\nsecond line, too"\n')

    assert load_graph("flow.csv").nodes["Start"].prompt == "Hello, world\nsecond line, too"


def test_rows_after_a_multiline_cell_are_numbered_by_record(write_file: WriteFile) -> None:
    write_file(
        "flow.csv",
        'GraphName,Node,Edge,Prompt\nMain,Start,End,"line one\nline two\nline three"\n'
        "Main,End,Nowhere,\n",
    )

    assert errors_of("flow.csv") == [(3, "C3", "Edge", "no node named 'Nowhere' in graph 'Main'")]
    assert validate_graph("flow.csv").file.graphs["Main"].nodes["End"].row == 3


@pytest.mark.parametrize(
    "blank", ["", ",,,", "  ,  ,  ,  "], ids=["empty-line", "commas", "spaces"]
)
def test_blank_rows_are_ignored_but_keep_their_row_number(
    write_file: WriteFile, blank: str
) -> None:
    write_file("flow.csv", f"GraphName,Node,Edge,Prompt\n{blank}\nMain,Start,Nowhere,\n{blank}\n")

    report = validate_graph("flow.csv")

    assert list(report.file.graphs["Main"].nodes) == ["Start"]
    assert [(p.row, p.cell, p.field) for p in report.errors] == [(3, "C3", "Edge")]


@pytest.mark.parametrize(
    "comment", ["# Legacy mode", "  # a note,,,", "# note, with a comma inside quotes"]
)
def test_comment_rows_between_graphs_are_ignored_as_agentmaps_examples_write_them(
    write_file: WriteFile, comment: str
) -> None:
    if "comma" in comment:
        comment = f'"{comment}",,,'
    write_file("flow.csv", f"GraphName,Node,Edge,Prompt\n{comment}\nMain,Start,Nowhere,\n")

    report = validate_graph("flow.csv")

    assert list(report.file.graphs) == ["Main"]
    assert [(p.row, p.cell, p.field) for p in report.errors] == [(3, "C3", "Edge")]


def test_a_row_whose_graph_starts_with_a_hash_but_has_cells_is_a_node(
    write_file: WriteFile,
) -> None:
    write_file("flow.csv", "GraphName,Node,AgentType\n#Tagged,Start,echo\n")
    assert list(validate_graph("flow.csv").file.graphs["#Tagged"].nodes) == ["Start"]


# --- header matching ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "value", "attribute", "expected"),
    [
        ("AgentType", "echo", "agent_type", "echo"),
        ("agenttype", "echo", "agent_type", "echo"),
        ("AGENT_TYPE", "echo", "agent_type", "echo"),
        ("  Agent Type  ", "echo", "agent_type", "echo"),
        ("Agent", "echo", "agent_type", "echo"),
        ("Type", "echo", "agent_type", "echo"),
        ("Edge", "End", "edge", "End"),
        ("next_node", "End", "edge", "End"),
        ("Next Node", "End", "edge", "End"),
        ("Success_Next", "End", "success_next", "End"),
        ("success next", "End", "success_next", "End"),
        ("SuccessNext", "End", "success_next", "End"),
        ("on_success", "End", "success_next", "End"),
        ("Failure_Next", "End", "failure_next", "End"),
        (" failure_next ", "End", "failure_next", "End"),
        ("on_failure", "End", "failure_next", "End"),
        ("Input_Fields", "a|b", "inputs", (("a", "a"), ("b", "b"))),
        ("input fields", "a|b", "inputs", (("a", "a"), ("b", "b"))),
        ("Inputs", "a|b", "inputs", (("a", "a"), ("b", "b"))),
        ("Output_Field", "out", "outputs", ("out",)),
        ("OUTPUT FIELD", "out", "outputs", ("out",)),
        ("Output", "out", "outputs", ("out",)),
        ("prompt", "Say hi", "prompt", "Say hi"),
        ("CONTEXT", "some notes", "context", "some notes"),
        ("description ", "What it does", "description", "What it does"),
    ],
)
def test_header_spellings_map_to_their_column(
    write_file: WriteFile, header: str, value: str, attribute: str, expected: object
) -> None:
    write_file("flow.csv", f"GraphName,Node,{header}\nMain,Start,{value}\nMain,End,\n")

    report = validate_graph("flow.csv")

    assert report.errors == ()
    assert [p.message for p in report.warnings if p.row == 1] == []
    assert getattr(report.file.graphs["Main"].nodes["Start"], attribute) == expected


@pytest.mark.parametrize(
    "header",
    [
        "graphname,node",
        "GRAPH_NAME,NODE",
        " Graph Name , Node ",
        "graph,node_name",
        "Graph-Name,Node Name",
    ],
)
def test_required_column_spellings_are_recognised(write_file: WriteFile, header: str) -> None:
    write_file("flow.csv", f"{header}\nMain,Start\n")

    graph = load_graph("flow.csv")

    assert (graph.name, list(graph.nodes)) == ("Main", ["Start"])


def test_unknown_column_is_a_warning_with_did_you_mean(write_file: WriteFile) -> None:
    write_file("flow.csv", "GraphName,Node,Promtp\nMain,Start,\n")

    report = validate_graph("flow.csv")

    assert report.errors == ()
    assert [str(p) for p in report.warnings] == [
        "flow.csv:1 C1: unknown column 'Promtp' is ignored — did you mean 'Prompt'?"
    ]
    assert report.warnings[0].severity == "warning"


def test_two_headers_meaning_one_column_is_an_error(write_file: WriteFile) -> None:
    write_file("flow.csv", "GraphName,Node,Edge,next_node\nMain,Start,,\n")

    assert errors_of("flow.csv") == [
        (1, "D1", "Edge", "two columns mean Edge: 'Edge' (C1) and 'next_node' — keep one")
    ]


@pytest.mark.parametrize(
    ("header", "row", "missing"),
    [
        ("Node,Prompt", "Start,hi", ["GraphName"]),
        ("GraphName,Prompt", "Main,hi", ["Node"]),
        ("Prompt,Description", "hi,there", ["GraphName", "Node"]),
    ],
)
def test_missing_required_column_is_an_error_naming_it(
    write_file: WriteFile, header: str, row: str, missing: list[str]
) -> None:
    write_file("flow.csv", f"{header}\n{row}\n")

    assert errors_of("flow.csv") == [
        (
            1,
            None,
            None,
            f"required column {name} is missing from the header — add a '{name}' column",
        )
        for name in missing
    ]


def test_missing_required_column_stops_load_graph(write_file: WriteFile) -> None:
    write_file("flow.csv", "Node,Prompt\nStart,hi\n")

    with pytest.raises(GraphValidationError) as caught:
        load_graph("flow.csv")

    assert [p.message for p in caught.value.problems] == [
        "required column GraphName is missing from the header — add a 'GraphName' column"
    ]


@pytest.mark.parametrize("text", ["", "\n\n", ",,,\n"], ids=["zero-bytes", "newlines", "commas"])
def test_empty_file_is_an_error(write_file: WriteFile, text: str) -> None:
    write_file("flow.csv", text)

    assert errors_of("flow.csv") == [
        (
            None,
            None,
            None,
            "the file is empty — add a header row (GraphName,Node,AgentType,...) and a row per "
            "node",
        )
    ]


@pytest.mark.parametrize(
    "text", ["GraphName,Node\n", "GraphName,Node\n\n,\n"], ids=["header", "header-blanks"]
)
def test_header_only_file_is_an_error(write_file: WriteFile, text: str) -> None:
    write_file("flow.csv", text)

    assert errors_of("flow.csv") == [
        (1, None, None, "the file has a header but no nodes — add one row per node")
    ]


def test_header_only_file_stops_load_graph(write_file: WriteFile) -> None:
    write_file("flow.csv", "GraphName,Node\n")

    with pytest.raises(GraphValidationError) as caught:
        load_graph("flow.csv")

    assert str(caught.value) == (
        "1 problem found:\n  flow.csv:1: the file has a header but no nodes — add one row per node"
    )


# --- several graphs in one file -------------------------------------------------------------


def test_file_with_one_graph_needs_no_selection(graph_csv: GraphCsv) -> None:
    graph_csv("Main,Start,echo,,,,,,,,")

    assert load_graph("flow.csv").name == "Main"


def test_graph_keyword_selects_a_graph(write_file: WriteFile) -> None:
    write_file("flow.csv", TWO_GRAPHS)

    graph = load_graph("flow.csv", graph="Other")

    assert (graph.name, list(graph.nodes), graph.entry) == ("Other", ["First", "Second"], "First")


def test_double_colon_suffix_selects_a_graph(write_file: WriteFile) -> None:
    write_file("flow.csv", TWO_GRAPHS)

    graph = load_graph("flow.csv::Other")

    assert (graph.name, list(graph.nodes)) == ("Other", ["First", "Second"])


def test_double_colon_and_graph_keyword_may_agree(write_file: WriteFile) -> None:
    write_file("flow.csv", TWO_GRAPHS)

    assert load_graph("flow.csv::Main", graph="Main").name == "Main"


def test_double_colon_selects_for_validate_graph(write_file: WriteFile) -> None:
    write_file("flow.csv", TWO_GRAPHS + "Other,Third,echo,Nowhere\n")

    assert validate_graph("flow.csv::Main").ok is True
    assert [p.node for p in validate_graph("flow.csv::Other").errors] == ["Third"]


def test_several_graphs_without_selection_list_their_names(write_file: WriteFile) -> None:
    write_file("flow.csv", TWO_GRAPHS)

    with pytest.raises(GraphSelectionError) as caught:
        load_graph("flow.csv")

    assert str(caught.value) == (
        "flow.csv holds 2 graphs: Main, Other — choose one with --graph NAME or flow.csv::NAME"
    )
    assert caught.value.file == "flow.csv"


def test_several_graphs_validate_without_selection(write_file: WriteFile) -> None:
    write_file("flow.csv", TWO_GRAPHS)

    report = validate_graph("flow.csv")

    assert (report.ok, list(report.file.graphs)) == (True, ["Main", "Other"])


@pytest.mark.parametrize(
    ("source", "graph"),
    [("flow.csv", "Mian"), ("flow.csv::Mian", None)],
    ids=["graph-keyword", "double-colon"],
)
def test_unknown_graph_name_suggests_the_closest(
    write_file: WriteFile, source: str, graph: str | None
) -> None:
    write_file("flow.csv", TWO_GRAPHS)

    with pytest.raises(GraphSelectionError) as caught:
        load_graph(source, graph=graph)

    assert str(caught.value) == (
        "no graph named 'Mian' in flow.csv — did you mean 'Main'? (it holds: Main, Other)"
    )
    assert (caught.value.file, caught.value.graph) == ("flow.csv", "Mian")


def test_unknown_graph_name_is_an_error_for_validate_graph(write_file: WriteFile) -> None:
    write_file("flow.csv", TWO_GRAPHS)

    with pytest.raises(GraphSelectionError, match="did you mean 'Other'"):
        validate_graph("flow.csv", graph="Othre")


def test_double_colon_conflicting_with_graph_keyword_is_an_error(write_file: WriteFile) -> None:
    write_file("flow.csv", TWO_GRAPHS)

    with pytest.raises(GraphSelectionError) as caught:
        load_graph("flow.csv::Main", graph="Other")

    assert str(caught.value) == (
        "flow.csv::Main names graph 'Main' but --graph asks for 'Other' — give one of them"
    )


# --- entry node -----------------------------------------------------------------------------


def test_entry_node_is_the_graphs_first_row(write_file: WriteFile) -> None:
    write_file(
        "flow.csv",
        "GraphName,Node,Edge\nOther,X,\nMain,Second,First\nOther,Y,\nMain,First,\n",
    )

    assert load_graph("flow.csv", graph="Main").entry == "Second"


def test_start_overrides_the_entry_node(write_file: WriteFile) -> None:
    write_file("flow.csv", TWO_GRAPHS)

    graph = load_graph("flow.csv", graph="Main", start="End")

    assert (graph.entry, list(graph.nodes)) == ("End", ["Start", "End"])


def test_unknown_start_node_suggests_the_closest(write_file: WriteFile) -> None:
    write_file("flow.csv", TWO_GRAPHS)

    with pytest.raises(GraphSelectionError) as caught:
        load_graph("flow.csv::Main", start="Ned")

    assert str(caught.value) == "--start: no node named 'Ned' in graph 'Main' — did you mean 'End'?"
    assert (caught.value.file, caught.value.graph, caught.value.node) == ("flow.csv", "Main", "Ned")


# --- Input_Fields and Output_Field ----------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("", ()),
        ("input", (("input", "input"),)),
        ("a|b|c", (("a", "a"), ("b", "b"), ("c", "c"))),
        (" a | b ", (("a", "a"), ("b", "b"))),
        ("user:name", (("user", "name"),)),
        ("user : name|b", (("user", "name"), ("b", "b"))),
        ("a||b|", (("a", "a"), ("b", "b"))),
    ],
)
def test_input_fields_are_parsed(
    write_file: WriteFile, cell: str, expected: tuple[tuple[str, str], ...]
) -> None:
    write_file("flow.csv", f"GraphName,Node,Input_Fields\nMain,Start,{cell}\n")

    assert load_graph("flow.csv").nodes["Start"].inputs == expected


def test_input_names_are_the_state_keys(write_file: WriteFile) -> None:
    write_file("flow.csv", "GraphName,Node,Input_Fields\nMain,Start,user:name|query\n")

    assert load_graph("flow.csv").nodes["Start"].input_names == ("user", "query")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("", ()), ("out", ("out",)), ("a|b", ("a", "b")), (" a | b ", ("a", "b"))],
)
def test_output_field_is_parsed(
    write_file: WriteFile, cell: str, expected: tuple[str, ...]
) -> None:
    write_file("flow.csv", f"GraphName,Node,Output_Field\nMain,Start,{cell}\n")

    assert load_graph("flow.csv").nodes["Start"].outputs == expected


@pytest.mark.parametrize(
    ("column", "cell", "letter", "message"),
    [
        (
            "Input_Fields",
            "a:",
            "C",
            "'a:' is not 'state_key' or 'state_key:param' — write both sides of the ':'",
        ),
        (
            "Input_Fields",
            ":param",
            "C",
            "':param' is not 'state_key' or 'state_key:param' — write both sides of the ':'",
        ),
        ("Input_Fields", "a|a", "C", "the agent would receive 'a' twice — list it once"),
        ("Input_Fields", "a:p|b:p", "C", "the agent would receive 'p' twice — list it once"),
        ("Output_Field", "x|y|x", "C", "output key 'x' is listed twice — list it once"),
    ],
    ids=["key-without-param", "param-without-key", "input-twice", "param-twice", "output-twice"],
)
def test_malformed_fields_are_errors_at_their_cell(
    write_file: WriteFile, column: str, cell: str, letter: str, message: str
) -> None:
    write_file("flow.csv", f"GraphName,Node,{column}\nMain,Start,{cell}\n")

    assert errors_of("flow.csv") == [(2, f"{letter}2", column, message)]


# --- Context --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('"{""model"": ""gpt-4"", ""temperature"": 0.2}"', {"model": "gpt-4", "temperature": 0.2}),
        ('"{""nested"": {""a"": [1, null, true]}}"', {"nested": {"a": [1, None, True]}}),
        ("{}", {}),
        ('"  {""k"": ""v""}  "', {"k": "v"}),
        ("\"{'k': 'v'}\"", {"k": "v"}),
        ("\"{'retries': 3, 'strict': True}\"", {"retries": 3, "strict": True}),
    ],
    ids=["json", "nested-json", "empty-object", "json-with-spaces", "python-dict", "python-values"],
)
def test_context_object_becomes_a_dict(
    write_file: WriteFile, cell: str, expected: dict[str, object]
) -> None:
    write_file("flow.csv", f"GraphName,Node,Context\nMain,Start,{cell}\n")

    assert load_graph("flow.csv").nodes["Start"].context == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Summarise politely", "Summarise politely"),
        ('"Keep it short, please"', "Keep it short, please"),
        ('"  padded text  "', "  padded text  "),
        ('"[1, 2]"', "[1, 2]"),
        ('"note: {braces} later"', "note: {braces} later"),
    ],
    ids=["plain", "with-comma", "padded", "json-array", "brace-inside"],
)
def test_context_plain_text_is_kept_exactly(
    write_file: WriteFile, cell: str, expected: str
) -> None:
    write_file("flow.csv", f"GraphName,Node,Context\nMain,Start,{cell}\n")

    assert load_graph("flow.csv").nodes["Start"].context == expected


@pytest.mark.parametrize(
    ("cell", "detail"),
    [
        ("{bad", "Expecting property name enclosed in double quotes at character 2"),
        ('"{""a"": 1"', "Expecting ',' delimiter at character 8"),
        ("\"{'k': v}\"", "Expecting property name enclosed in double quotes at character 2"),
        ('"  {oops}"', "Expecting property name enclosed in double quotes at character 2"),
    ],
    ids=["unclosed", "missing-brace", "python-dict-bare-name", "leading-spaces"],
)
def test_context_starting_with_brace_must_be_valid_json(
    write_file: WriteFile, cell: str, detail: str
) -> None:
    write_file("flow.csv", f"GraphName,Node,Context\nMain,Start,{cell}\n")

    assert errors_of("flow.csv") == [
        (
            2,
            "C2",
            "Context",
            f"Context starts with '{{' but is not valid JSON ({detail}) — fix the JSON, e.g. "
            '{"key": "value"}',
        ),
    ]


def test_invalid_context_json_stops_load_graph(write_file: WriteFile) -> None:
    write_file("flow.csv", "GraphName,Node,Context\nMain,Start,{bad\n")

    with pytest.raises(GraphValidationError) as caught:
        load_graph("flow.csv")

    assert [(p.cell, p.field, p.node) for p in caught.value.problems] == [
        ("C2", "Context", "Start")
    ]


# --- files that can't be read ---------------------------------------------------------------


def test_not_utf8_file_names_the_file_and_row(tmp_path: Path) -> None:
    (tmp_path / "latin.csv").write_bytes(
        "GraphName,Node,Prompt\nMain,Start,ok\nMain,End,café\n".encode("latin-1")
    )

    with pytest.raises(GraphFileError) as caught:
        load_graph("latin.csv")

    assert str(caught.value) == (
        'latin.csv:3: the file is not UTF-8: byte 0xE9 after "Main,End,caf" in row 3 (it reads '
        "as 'é' in Windows-1252/Latin-1, which Excel's plain \"CSV\" writes) — save the file as "
        '"CSV UTF-8" (Excel) or with character set "Unicode (UTF-8)" (LibreOffice) and load it '
        "again"
    )
    assert (caught.value.file, caught.value.row) == ("latin.csv", 3)


def test_not_utf8_row_counts_records_not_lines(tmp_path: Path) -> None:
    text = 'GraphName,Node,Prompt\nMain,Start,"two\nlines"\nMain,End,café\n'
    (tmp_path / "latin.csv").write_bytes(text.encode("latin-1"))

    with pytest.raises(GraphFileError) as caught:
        validate_graph("latin.csv")

    assert caught.value.row == 3


def test_missing_file_is_a_graph_file_error() -> None:
    with pytest.raises(GraphFileError) as caught:
        load_graph("nowhere.csv")

    assert str(caught.value) == "nowhere.csv: no such file — check the path"
    assert caught.value.file == "nowhere.csv"


def test_missing_file_with_graph_suffix_names_the_file() -> None:
    with pytest.raises(GraphFileError) as caught:
        validate_graph("nowhere.csv::Main")

    assert caught.value.file == "nowhere.csv"


@pytest.mark.parametrize(("name", "shown"), [("flow.txt", "'.txt'"), ("flow", "'extensionless'")])
def test_unsupported_extension_is_a_graph_file_error(
    write_file: WriteFile, name: str, shown: str
) -> None:
    write_file(name, "GraphName,Node\nMain,Start\n")

    with pytest.raises(GraphFileError) as caught:
        load_graph(name)

    assert str(
        caught.value
    ) == f"{name}: agentmap can't read {shown} files — use a graph file ending in " + ", ".join(
        SUFFIXES
    )


def test_extension_is_matched_case_insensitively(write_file: WriteFile) -> None:
    write_file("FLOW.CSV", "GraphName,Node\nMain,Start\n")

    assert load_graph("FLOW.CSV").name == "Main"


# --- the model ------------------------------------------------------------------------------


def test_loaded_node_is_immutable(graph_csv: GraphCsv) -> None:
    graph_csv("Main,Start,echo,,,,,,,,")
    node = load_graph("flow.csv").nodes["Start"]

    with pytest.raises(FrozenInstanceError):
        node.prompt = "changed"  # type: ignore[misc]

    assert node.prompt == ""


def test_loaded_graph_is_immutable(write_file: WriteFile) -> None:
    write_file("flow.csv", TWO_GRAPHS)
    graph = load_graph("flow.csv::Main")

    with pytest.raises(pydantic.ValidationError):
        graph.entry = "End"  # type: ignore[misc]

    assert graph.entry == "Start"


def test_graph_nodes_mapping_cannot_be_changed(write_file: WriteFile) -> None:
    write_file("flow.csv", TWO_GRAPHS)
    graph = load_graph("flow.csv::Main")

    with pytest.raises(TypeError):
        graph.nodes["Extra"] = graph.nodes["End"]  # type: ignore[index]

    assert list(graph.nodes) == ["Start", "End"]


def test_start_override_leaves_the_original_graph_unchanged(write_file: WriteFile) -> None:
    write_file("flow.csv", TWO_GRAPHS)
    graph = load_graph("flow.csv::Main")

    moved = graph.with_entry("End")

    assert (graph.entry, moved.entry) == ("Start", "End")
    assert moved.nodes == graph.nodes


def test_node_row_records_the_spreadsheet_row(write_file: WriteFile) -> None:
    write_file("flow.csv", "GraphName,Node\nMain,A\n\nMain,B\n")

    assert [n.row for n in load_graph("flow.csv").nodes.values()] == [2, 4]


def test_a_node_and_the_route_to_it_from_the_row_above_share_one_name_string(
    write_file: WriteFile,
) -> None:
    # a million-row chain holds each name once, not twice (docs/benchmarks.md)
    write_file("flow.csv", "GraphName,Node,Edge,Success_Next\nG,A,B,\nG,B,,C\nG,C,,\n")
    nodes = validate_graph("flow.csv").file.graphs["G"].nodes
    assert nodes["B"].name is nodes["A"].edge
    assert nodes["C"].name is nodes["B"].success_next
