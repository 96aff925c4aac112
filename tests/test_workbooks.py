"""Spreadsheet workbooks (.xlsx, .ods): cells as text, places as Sheet!F7, graphs across sheets,
and writing graphs back out as tables that read back as the same model."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from agentmap import GraphFileError
from agentmap.exceptions import Problem
from agentmap.graph.columns import COLUMNS
from agentmap.graph.loader import read_graph_file
from agentmap.graph.model import Graph, GraphFile, Node
from agentmap.graph.table_writer import sheet_title, write_csv, write_workbook
from agentmap.graph.workbook_reader import read_workbook, sheet_ref

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((REPO / "graphs").glob("*.csv"))
HEADER = ["GraphName", "Node", "AgentType", "Edge", "Prompt"]

Sheets = dict[str, Sequence[Sequence[object]]]
MakeWorkbook = Callable[..., Path]


def write_xlsx(path: Path, sheets: Sheets, *, top_left: tuple[int, int] = (1, 1)) -> Path:
    """A workbook as a user's spreadsheet saves it; a ``str`` is a text cell, even ``=x``."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.worksheets[0])
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for r, row in enumerate(rows, start=top_left[0]):
            for c, value in enumerate(row, start=top_left[1]):
                cell = sheet.cell(row=r, column=c, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"
    workbook.save(path)
    return path


def write_ods(path: Path, sheets: Sheets) -> Path:
    with pd.ExcelWriter(path, engine="odf") as writer:
        for name, rows in sheets.items():
            width = max((len(row) for row in rows), default=0)
            frame = pd.DataFrame(
                [[*row, *[None] * (width - len(row))] for row in rows], dtype=object
            )
            frame.to_excel(writer, sheet_name=name, header=False, index=False)
    return path


@pytest.fixture(params=["xlsx", "ods"])
def workbook(request: pytest.FixtureRequest, tmp_path: Path) -> MakeWorkbook:
    """Write ``sheets`` as a workbook of each format in turn and return its path."""
    suffix = request.param

    def make(sheets: Sheets) -> Path:
        path = tmp_path / f"flow.{suffix}"
        return write_xlsx(path, sheets) if suffix == "xlsx" else write_ods(path, sheets)

    return make


def read(path: Path) -> tuple[GraphFile, list[Problem]]:
    return read_workbook(path, path.name)


def places(problems: list[Problem]) -> list[tuple[str, int | None, str | None, str]]:
    return [(p.severity, p.row, p.cell, p.message) for p in problems]


def one_prompt(value: object) -> Sheets:
    return {"Flow": [HEADER, ["Main", "Start", "echo", "", value]]}


# --- every cell keeps the text the user typed --------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["NA", "0012", "TRUE", "1.50", "2024-01-05", "05/01/2024", "  spaced  ", "null", "=1+1"],
)
def test_text_cells_keep_their_text(workbook: MakeWorkbook, text: str) -> None:
    graph_file, problems = read(workbook(one_prompt(text)))

    assert graph_file.graphs["Main"].nodes["Start"].prompt == text
    assert problems == []


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (12, "12"),
        (12.0, "12"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (0.1 + 0.2, "0.3"),
        (1 / 3, "0.333333333333333"),
        (1234567.891, "1234567.891"),
        (True, "TRUE"),
        (False, "FALSE"),
        (datetime(2024, 1, 5), "2024-01-05"),
        (datetime(2024, 1, 5, 10, 30), "2024-01-05 10:30:00"),
    ],
)
def test_number_boolean_and_date_cells_read_as_a_spreadsheet_shows_them(
    workbook: MakeWorkbook, value: object, shown: str
) -> None:
    graph_file, _ = read(workbook(one_prompt(value)))

    assert graph_file.graphs["Main"].nodes["Start"].prompt == shown


def test_nodes_named_by_numbers_route_to_each_other(workbook: MakeWorkbook) -> None:
    sheets: Sheets = {"Flow": [HEADER, ["Main", 1, "echo", 2, ""], ["Main", 2, "echo", "", ""]]}

    graph = read(workbook(sheets))[0].graphs["Main"]

    assert (list(graph.nodes), graph.nodes["1"].edge) == (["1", "2"], "2")


def test_excel_escapes_for_carriage_returns_are_decoded(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "flow.xlsx", one_prompt("one_x000D_\ntwo _x005F_x000D_"))

    assert read(path)[0].graphs["Main"].nodes["Start"].prompt == "one\r\ntwo _x000D_"


def test_error_cell_is_an_error_at_its_cell(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "flow.xlsx", one_prompt(None))
    book = openpyxl.load_workbook(path)
    book["Flow"]["E2"] = "#DIV/0!"  # openpyxl stores an error code as an error cell
    book.save(path)

    assert places(read(path)[1]) == [
        (
            "error",
            2,
            "Flow!E2",
            "cell Flow!E2 holds a spreadsheet error (#N/A, #DIV/0!, #REF!…) instead of text — "
            "fix the formula, or type the text you mean",
        )
    ]


# --- places: Sheet!F7 ----------------------------------------------------------------------


def test_problems_cite_sheet_and_cell(workbook: MakeWorkbook) -> None:
    sheets: Sheets = {"Flow": [HEADER, ["Main", "Start", "echo", "", ""], ["", "End", "", "", ""]]}

    assert places(read(workbook(sheets))[1]) == [
        ("error", 3, "Flow!A3", "GraphName is empty — name the graph this node belongs to")
    ]


def test_graph_cells_carry_the_sheet(workbook: MakeWorkbook) -> None:
    graph = read(workbook(one_prompt("hi")))[0].graphs["Main"]

    assert graph.cell(graph.nodes["Start"], "Edge") == "Flow!D2"


@pytest.mark.parametrize(
    ("name", "ref"),
    [("Sheet1", "Sheet1"), ("My flow", "'My flow'"), ("It's", "'It''s'"), ("AB12", "'AB12'")],
)
def test_sheet_names_are_written_as_cell_references_write_them(name: str, ref: str) -> None:
    assert sheet_ref(name) == ref


def test_a_table_that_starts_lower_and_further_right_keeps_its_cells(tmp_path: Path) -> None:
    sheets: Sheets = {"Flow": [HEADER, ["Main", "Start", "echo", "Nowhere", ""]]}
    path = write_xlsx(tmp_path / "flow.xlsx", sheets, top_left=(3, 2))

    graph = read(path)[0].graphs["Main"]

    assert graph.cell(graph.nodes["Start"], "Edge") == "Flow!E4"


def test_sheet_missing_a_required_column_is_named(workbook: MakeWorkbook) -> None:
    sheets: Sheets = {"Flow": one_prompt("hi")["Flow"], "Notes": [["Owner"], ["Ana"]]}

    assert places(read(workbook(sheets))[1]) == [
        ("warning", 1, "Notes!A1", "unknown column 'Owner' is ignored"),
        (
            "error",
            1,
            None,
            "sheet 'Notes': required column GraphName is missing from the header — add a "
            "'GraphName' column",
        ),
        (
            "error",
            1,
            None,
            "sheet 'Notes': required column Node is missing from the header — add a 'Node' column",
        ),
    ]


# --- several sheets ------------------------------------------------------------------------


def test_graphs_on_separate_sheets_are_all_read(workbook: MakeWorkbook) -> None:
    sheets: Sheets = {
        "One": [HEADER, ["Main", "Start", "echo", "", ""]],
        "Two": [HEADER, ["Other", "First", "echo", "", ""]],
    }

    graph_file, problems = read(workbook(sheets))

    assert (list(graph_file.graphs), problems) == (["Main", "Other"], [])


def test_a_graph_may_span_sheets(workbook: MakeWorkbook) -> None:
    sheets: Sheets = {
        "One": [HEADER, ["Main", "Start", "echo", "Middle", ""]],
        "Two": [HEADER, ["Main", "Middle", "echo", "End", ""], ["Main", "End", "echo", "", ""]],
    }

    graph = read(workbook(sheets))[0].graphs["Main"]

    assert (graph.entry, list(graph.nodes)) == ("Start", ["Start", "Middle", "End"])
    assert [n.row for n in graph.nodes.values()] == [2, 2, 3]


def test_nodes_of_a_graph_spanning_sheets_cite_their_own_sheet(tmp_path: Path) -> None:
    sheets: Sheets = {
        "One": [HEADER, ["Main", "Start", "echo", "Middle", ""]],
        "Two": [["Node", "Edge", "GraphName"], ["Middle", "Nowhere", "Main"]],
    }

    graph = read(write_xlsx(tmp_path / "flow.xlsx", sheets))[0].graphs["Main"]

    assert [graph.cell(graph.nodes[n], "Edge") for n in ("Start", "Middle")] == ["One!D2", "Two!B2"]


def test_node_defined_on_two_sheets_is_an_error_naming_both_places(
    workbook: MakeWorkbook,
) -> None:
    sheets: Sheets = {
        "Sheet1": [HEADER, ["Main", "Start", "echo", "", ""], ["Main", "Ask", "echo", "", ""]],
        # blank rows keep their numbers: Ask is on row 5 of Sheet2
        "Sheet2": [
            HEADER,
            [],
            ["Main", "End", "echo", "", ""],
            [],
            ["Main", "Ask", "echo", "", ""],
        ],
    }

    graph_file, problems = read(workbook(sheets))

    assert places(problems) == [
        (
            "error",
            5,
            "Sheet2!B5",
            "node 'Ask' is defined twice in graph 'Main' (Sheet1!B3 and Sheet2!B5) — rename or "
            "delete one of them",
        )
    ]
    assert (problems[0].graph, problems[0].node, problems[0].field) == ("Main", "Ask", "Node")
    assert graph_file.graphs["Main"].nodes["Ask"].row == 3


def test_empty_sheet_is_a_warning_naming_it(workbook: MakeWorkbook) -> None:
    sheets: Sheets = {"Flow": one_prompt("hi")["Flow"], "Sheet2": []}

    graph_file, problems = read(workbook(sheets))

    assert list(graph_file.graphs) == ["Main"]
    assert places(problems) == [
        (
            "warning",
            None,
            None,
            "sheet 'Sheet2' is empty and was skipped — delete it, or give it a header row "
            "(GraphName,Node,AgentType,...) and a row per node",
        )
    ]


def test_workbook_with_only_empty_sheets_is_an_error(workbook: MakeWorkbook) -> None:
    graph_file, problems = read(workbook({"Sheet1": [], "Sheet2": [[None, "  "]]}))

    assert graph_file.graphs == {}
    assert places(problems) == [
        (
            "error",
            None,
            None,
            "the workbook has no rows in any sheet (sheets: 'Sheet1', 'Sheet2') — add a header "
            "row (GraphName,Node,AgentType,...) and a row per node to a sheet",
        )
    ]


# --- files that can't be read --------------------------------------------------------------


def test_file_that_is_not_a_workbook_is_a_graph_file_error(tmp_path: Path) -> None:
    (tmp_path / "flow.xlsx").write_text("GraphName,Node\nMain,Start\n", encoding="utf-8")

    with pytest.raises(GraphFileError) as caught:
        read(tmp_path / "flow.xlsx")

    assert str(caught.value) == (
        "flow.xlsx: not a readable .xlsx workbook (BadZipFile: File is not a zip file) — open it "
        "in your spreadsheet and save it again as .xlsx; a password-protected workbook must be "
        "saved without the password"
    )


def test_missing_workbook_is_a_graph_file_error(tmp_path: Path) -> None:
    with pytest.raises(GraphFileError) as caught:
        read(tmp_path / "nowhere.ods")

    assert (str(caught.value), caught.value.file) == (
        "nowhere.ods: no such file — check the path",
        "nowhere.ods",
    )


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_missing_spreadsheet_package_says_what_to_install(tmp_path: Path) -> None:
    write_xlsx(tmp_path / "flow.xlsx", one_prompt("hi"))
    code = (
        "import sys; sys.modules['openpyxl'] = None\n"  # as if openpyxl were not installed
        "from pathlib import Path\n"
        "from agentmap.graph.workbook_reader import read_workbook\n"
        "try:\n    read_workbook(Path('flow.xlsx'), 'flow.xlsx')\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)\n"
    )

    assert run_python(code, tmp_path).stdout == (
        "GraphFileError flow.xlsx: reading .xlsx workbooks needs pandas and openpyxl — install "
        "them with pip install 'agentmap[spreadsheet]'\n"
    )


def test_csv_path_never_imports_pandas_or_openpyxl(tmp_path: Path) -> None:
    (tmp_path / "flow.csv").write_text("GraphName,Node\nMain,Start\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "import agentmap.graph.workbook_reader, agentmap.graph.table_writer\n"
        "import agentmap.graph.csv_dialect\n"
        "from agentmap.graph.loader import read_graph_file\n"
        "read_graph_file(Path('flow.csv'))\n"
        "print(sorted(m for m in ('pandas', 'openpyxl', 'odf') if m in sys.modules))\n"
    )

    assert run_python(code, tmp_path).stdout == "[]\n"


# --- writing tables ------------------------------------------------------------------------


def graphs_of(graph_file: GraphFile) -> dict[str, tuple[str, dict[str, Node]]]:
    """What must survive a round trip: each graph's entry and nodes (rows aside)."""
    return {name: (g.entry, dict(g.nodes)) for name, g in graph_file.graphs.items()}


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_graph_round_trips_csv_xlsx_csv(example: Path, tmp_path: Path) -> None:
    original, _ = read_graph_file(example)
    write_workbook(original, tmp_path / "flow.xlsx")
    from_xlsx, problems = read(tmp_path / "flow.xlsx")
    write_csv(from_xlsx, tmp_path / "flow.csv")
    from_csv, _ = read_graph_file(tmp_path / "flow.csv")

    assert graphs_of(from_xlsx) == graphs_of(original)
    assert graphs_of(from_csv) == graphs_of(original)
    assert problems == []


def test_examples_exist_for_the_round_trip() -> None:
    assert len(EXAMPLES) >= 3


AWKWARD = {
    "zeros": "0012",
    "formula-like": "=SUM(A1:A2)",
    "error-like": "#N/A",
    "boolean-like": "TRUE",
    "crlf": "one\r\ntwo",
    "control": "bell\x07 and tab\t",
    "escape-like": "_x000D_ stays literal",
    "spaces": "  padded  ",
    "unicode": "café ☕ 你好",
    "longest": "x" * 32_767,
}


def node(name: str, **fields: object) -> Node:
    return Node(name=name, agent_type="echo", **fields)  # type: ignore[arg-type]


def graph_file(*graphs: Graph) -> GraphFile:
    return GraphFile(path="model", graphs={g.name: g for g in graphs})


def graph(name: str, *nodes: Node, entry: str | None = None) -> Graph:
    return Graph(name=name, nodes={n.name: n for n in nodes}, entry=entry or nodes[0].name)


@pytest.mark.parametrize("text", list(AWKWARD.values()), ids=list(AWKWARD))
def test_awkward_text_survives_a_written_workbook(text: str, tmp_path: Path) -> None:
    model = graph_file(graph("Main", node("Start", prompt=text, description=text)))

    write_workbook(model, tmp_path / "flow.xlsx")

    assert graphs_of(read(tmp_path / "flow.xlsx")[0]) == graphs_of(model)


def test_written_workbook_cells_are_text_cells_formatted_as_text(tmp_path: Path) -> None:
    model = graph_file(graph("Main", node("7", prompt="0012", context={"n": 1})))

    write_workbook(model, tmp_path / "flow.xlsx")

    sheet = openpyxl.load_workbook(tmp_path / "flow.xlsx")["Main"]
    assert [c.value for c in sheet[1]] == list(COLUMNS)
    assert [sheet[cell].value for cell in ("A2", "B2", "C2", "I2", "J2")] == [
        "Main",
        "7",
        "echo",
        "0012",
        '{"n":1}',
    ]
    cells = [c for row in sheet.iter_rows() for c in row]
    assert {c.data_type for c in cells if c.value is not None} == {"s"}
    assert {c.number_format for c in cells} == {"@"}


def test_workbook_has_a_sheet_per_graph(tmp_path: Path) -> None:
    model = graph_file(graph("Main", node("A")), graph("a/b:c", node("B")))

    write_workbook(model, tmp_path / "flow.xlsx")

    assert openpyxl.load_workbook(tmp_path / "flow.xlsx").sheetnames == ["Main", "a_b_c"]
    assert list(read(tmp_path / "flow.xlsx")[0].graphs) == ["Main", "a/b:c"]


@pytest.mark.parametrize(
    ("names", "titles"),
    [
        (["Main", "main"], ["Main", "main (2)"]),
        (["History"], ["History (2)"]),
        (["x" * 40, "x" * 40], ["x" * 31, "x" * 27 + " (2)"]),
        (["[draft]?", "'quoted'", ""], ["_draft__", "quoted", "Graph"]),
    ],
)
def test_sheet_titles_are_legal_and_unique(names: list[str], titles: list[str]) -> None:
    taken = {"history"}

    assert [sheet_title(name, taken) for name in names] == titles


def test_cell_longer_than_a_spreadsheet_holds_is_refused(tmp_path: Path) -> None:
    model = graph_file(graph("Main", node("Start", prompt="x" * 32_768)))

    with pytest.raises(GraphFileError) as caught:
        write_workbook(model, tmp_path / "flow.xlsx")

    assert str(caught.value) == (
        f"{tmp_path / 'flow.xlsx'}: Prompt of node 'Start' in graph 'Main' is 32,768 characters "
        "long; a spreadsheet cell holds at most 32,767 — move the text into a file and refer to "
        "it (file:prompts/….txt)"
    )
    assert not (tmp_path / "flow.xlsx").exists()


def test_entry_node_is_written_first_so_it_stays_the_entry(tmp_path: Path) -> None:
    model = graph_file(graph("Main", node("Start", edge="End"), node("End"), entry="End"))

    write_workbook(model, tmp_path / "flow.xlsx")

    assert graphs_of(read(tmp_path / "flow.xlsx")[0]) == graphs_of(model)


def test_workbook_of_no_graphs_has_one_header_only_sheet(tmp_path: Path) -> None:
    write_workbook(GraphFile(path="model", graphs={}), tmp_path / "flow.xlsx")

    sheet = openpyxl.load_workbook(tmp_path / "flow.xlsx")["Graph"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [list(COLUMNS)]
