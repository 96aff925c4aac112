"""Spreadsheet workbooks (.xlsx, .ods): cells as text, places as Sheet!F7, graphs across sheets,
and writing graphs back out as tables that read back as the same model."""

from __future__ import annotations

import subprocess
import sys
import zipfile
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
from agentmap.graph.ods_reader import read_ods
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
        "them with pip install 'agentmap-runner[spreadsheet]'\n"
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


# --- .ods as spreadsheet apps write it ------------------------------------------------------

ODS_NAMESPACES = " ".join(
    f'xmlns:{prefix}="{uri}"'
    for prefix, uri in {
        "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
        "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
        "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
        "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
        "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
        "dc": "http://purl.org/dc/elements/1.1/",
        "xlink": "http://www.w3.org/1999/xlink",
        "of": "urn:oasis:names:tc:opendocument:xmlns:of:1.2",
        "calcext": "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0",
    }.items()
)

ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
    '<manifest:file-entry manifest:full-path="/" '
    'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def write_ods_xml(path: Path, *tables: str) -> Path:
    """An .ods whose sheets are ``tables`` as written, for what pandas' writer never writes:
    LibreOffice's repeats, error cells, spaces, merged cells."""
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NAMESPACES} '
        'office:version="1.3"><office:body><office:spreadsheet>'
        f"{''.join(tables)}</office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        archive.writestr("META-INF/manifest.xml", ODS_MANIFEST)
        archive.writestr("content.xml", content)
    return path


def table(name: str, *rows: str) -> str:
    return f'<table:table table:name="{name}">{"".join(rows)}</table:table>'


def row(*cells: str, repeat: int = 1) -> str:
    repeated = f' table:number-rows-repeated="{repeat}"' if repeat > 1 else ""
    return f"<table:table-row{repeated}>{''.join(cells)}</table:table-row>"


def text_cell(text: str, attributes: str = "") -> str:
    """A text cell as LibreOffice writes one; ``text`` is the paragraph's XML."""
    return (
        f'<table:table-cell office:value-type="string" calcext:value-type="string"{attributes}>'
        f"<text:p>{text}</text:p></table:table-cell>"
    )


def blank(columns: int) -> str:
    return f'<table:table-cell table:number-columns-repeated="{columns}"/>'


def ods_prompt(tmp_path: Path, cell: str) -> Path:
    """flow.ods: sheet Flow, the header and node Start, whose Prompt (E2) is ``cell``."""
    header = row(*(text_cell(name) for name in HEADER))
    node_row = row(text_cell("Main"), text_cell("Start"), text_cell("echo"), blank(1), cell)
    return write_ods_xml(tmp_path / "flow.ods", table("Flow", header, node_row))


def prompt_of(path: Path) -> str:
    graph_file, problems = read(path)
    assert problems == []
    return graph_file.graphs["Main"].nodes["Start"].prompt


@pytest.mark.parametrize(
    ("paragraphs", "text"),
    [
        ("<text:p>a <text:s/>b <text:s text:c='3'/>c</text:p>", "a  b    c"),
        ("<text:p><text:s text:c='2'/>lead</text:p>", "  lead"),
        ("<text:p>name<text:tab/>value</text:p>", "name\tvalue"),
        ("<text:p>one<text:line-break/>two</text:p>", "one\ntwo"),
        ("<text:p>one</text:p><text:p>two</text:p><text:p>three</text:p>", "one\ntwo\nthree"),
        ("<text:p>one</text:p><text:p/><text:p>three</text:p>", "one\n\nthree"),
        (
            "<text:p>see <text:span text:style-name='T1'>the <text:s/>bold</text:span> "
            "<text:a xlink:href='https://example.com'>link</text:a>!</text:p>",
            "see the  bold link!",
        ),
        (
            "<office:annotation><dc:creator>Ana</dc:creator><text:p>a comment</text:p>"
            "</office:annotation><text:p>the value</text:p>",
            "the value",
        ),
        (
            "<draw:frame draw:name='logo'><draw:image xlink:href='Pictures/1.png'><text:p>alt"
            "</text:p></draw:image></draw:frame><text:p>under the picture</text:p>",
            "under the picture",
        ),
        (
            "<text:list><text:list-item><text:p>first</text:p></text:list-item>"
            "<text:list-item><text:p>second</text:p></text:list-item></text:list>",
            "first\nsecond",
        ),
        ("<text:p>#N/A</text:p>", "#N/A"),
        ("<text:p>Err:502</text:p>", "Err:502"),
    ],
    ids=[
        "spaces",
        "leading-spaces",
        "tab",
        "line-break",
        "paragraphs",
        "empty-paragraph",
        "span-and-link",
        "comment",
        "picture",
        "list",
        "error-like",
        "lo-error-like",
    ],
)
def test_ods_text_cells_read_exactly_as_typed(tmp_path: Path, paragraphs: str, text: str) -> None:
    cell = f'<table:table-cell office:value-type="string">{paragraphs}</table:table-cell>'

    assert prompt_of(ods_prompt(tmp_path, cell)) == text


@pytest.mark.parametrize(
    ("attributes", "shown", "text"),
    [
        ('office:value-type="float" office:value="12"', "12.00", "12"),
        ('office:value-type="float" office:value="0.30000000000000004"', "0.3", "0.3"),
        ('office:value-type="percentage" office:value="0.5"', "50%", "0.5"),
        (
            'office:value-type="currency" office:currency="EUR" office:value="12.5"',
            "12,50 €",
            "12.5",
        ),
        ('office:value-type="date" office:date-value="2024-01-05"', "05/01/24", "2024-01-05"),
        (
            'office:value-type="date" office:date-value="2024-01-05T10:30:00"',
            "05/01/24 10:30",
            "2024-01-05 10:30:00",
        ),
        ('office:value-type="time" office:time-value="PT10H30M00S"', "10:30 AM", "10:30:00"),
        ('office:value-type="time" office:time-value="PT34H05M00S"', "34:05", "34:05:00"),
        ('office:value-type="boolean" office:boolean-value="true"', "WAHR", "TRUE"),
        ('office:value-type="boolean" office:boolean-value="false"', "FALSCH", "FALSE"),
        (
            'table:formula="of:=1+2" office:value-type="float" office:value="3" '
            'calcext:value-type="float"',
            "3",
            "3",
        ),
        ("", "no value type", "no value type"),
    ],
    ids=[
        "float",
        "float-noise",
        "percentage",
        "currency",
        "date",
        "date-time",
        "time",
        "duration",
        "boolean-de",
        "boolean-de-false",
        "formula",
        "untyped",
    ],
)
def test_ods_typed_cells_read_their_stored_value_not_their_format(
    tmp_path: Path, attributes: str, shown: str, text: str
) -> None:
    cell = f"<table:table-cell {attributes}><text:p>{shown}</text:p></table:table-cell>"

    assert prompt_of(ods_prompt(tmp_path, cell)) == text


@pytest.mark.parametrize(
    "attributes",
    [
        'table:formula="of:=1/0" office:value-type="string" office:string-value="" '
        'calcext:value-type="error"><text:p>#DIV/0!',
        'table:formula="of:=NA()" office:value-type="string" office:string-value="" '
        'calcext:value-type="error"><text:p>#N/A',
        'table:formula="of:=SUM(A1:B1" office:value-type="string" office:string-value="" '
        'calcext:value-type="error"><text:p>Err:502',
        'table:formula="of:=[.E10]*[.D10]" office:value-type="string" office:string-value="" '
        'calcext:value-type="error"><text:p>#ЗНАЧЕН!',
        'table:formula="of:=1/0" office:value-type="float" office:value="0"><text:p>#DIV/0!',
        'office:value-type="float" office:value="0"><text:p>#N/A',
    ],
    ids=["div0", "na", "lo-err", "translated", "unmarked-formula", "unmarked-number"],
)
def test_ods_formula_error_is_an_error_at_its_cell(tmp_path: Path, attributes: str) -> None:
    cell = f"<table:table-cell {attributes}</text:p></table:table-cell>"

    graph_file, problems = read(ods_prompt(tmp_path, cell))

    assert places(problems) == [
        (
            "error",
            2,
            "Flow!E2",
            "cell Flow!E2 holds a spreadsheet error (#N/A, #DIV/0!, #REF!…) instead of text — "
            "fix the formula, or type the text you mean",
        )
    ]
    assert graph_file.graphs["Main"].nodes["Start"].prompt == ""


def test_text_cell_hash_na_is_text_not_an_error(workbook: MakeWorkbook) -> None:
    graph_file, problems = read(workbook(one_prompt("#N/A")))

    assert (graph_file.graphs["Main"].nodes["Start"].prompt, problems) == ("#N/A", [])


def test_ods_repeats_are_expanded_up_to_the_last_value(tmp_path: Path) -> None:
    path = write_ods_xml(
        tmp_path / "flow.ods",
        table(
            "Flow",
            row(blank(1), text_cell("x", ' table:number-columns-repeated="2"'), blank(16381)),
            row(blank(16384), repeat=2),
            row(text_cell("y"), blank(16383), repeat=3),
            row(blank(16384), repeat=1_048_570),
        ),
    )

    assert read_ods(path) == {
        "Flow": [
            ["", "x", "x"],
            ["", "", ""],
            ["", "", ""],
            ["y", "", ""],
            ["y", "", ""],
            ["y", "", ""],
        ]
    }


def test_ods_sheet_of_only_blank_repeats_is_empty(tmp_path: Path) -> None:
    path = write_ods_xml(
        tmp_path / "flow.ods",
        table("Flow", row(text_cell("GraphName"))),
        table("Blank", row(blank(16384), repeat=1_048_576)),
    )

    assert read_ods(path) == {"Flow": [["GraphName"]], "Blank": []}


def test_ods_merged_cell_has_its_value_once_and_hidden_values_stay(tmp_path: Path) -> None:
    covered = "<table:covered-table-cell/>"
    hidden = (
        '<table:covered-table-cell office:value-type="string"><text:p>kept</text:p>'
        "</table:covered-table-cell>"
    )
    merged = text_cell("merged", ' table:number-columns-spanned="2" table:number-rows-spanned="2"')
    path = write_ods_xml(
        tmp_path / "flow.ods",
        table(
            "Flow",
            row(merged, covered, text_cell("z")),
            row('<table:covered-table-cell table:number-columns-repeated="2"/>', text_cell("w")),
            row(text_cell("a"), hidden),
        ),
    )

    assert read_ods(path) == {"Flow": [["merged", "", "z"], ["", "", "w"], ["a", "kept", ""]]}


def test_ods_header_rows_and_row_groups_are_rows_and_dde_caches_are_not_sheets(
    tmp_path: Path,
) -> None:
    dde = (
        "<table:dde-links><table:dde-link><office:dde-source office:dde-application='soffice' "
        "office:dde-topic='other.ods' office:dde-item='A1'/>"
        f"{table('cache', row(text_cell('cached')))}</table:dde-link></table:dde-links>"
    )
    path = write_ods_xml(
        tmp_path / "flow.ods",
        table(
            "Flow",
            f"<table:table-header-rows>{row(text_cell('head'))}</table:table-header-rows>",
            f"<table:table-row-group>{row(text_cell('grouped'))}</table:table-row-group>",
        ),
        dde,
    )

    assert read_ods(path) == {"Flow": [["head"], ["grouped"]]}


def test_ods_graph_written_as_libreoffice_writes_it_loads(tmp_path: Path) -> None:
    header = row(*(text_cell(name) for name in HEADER), blank(16379))
    start = row(
        text_cell("Main"), text_cell("Start"), text_cell("echo"), text_cell("End"), blank(16380)
    )
    end = row(text_cell("Main"), text_cell("End"), text_cell("echo"), blank(16381))
    path = write_ods_xml(
        tmp_path / "flow.ods",
        table("Flow", header, start, row(blank(16384)), end, row(blank(16384), repeat=1_048_572)),
    )

    graph_file, problems = read(path)

    graph = graph_file.graphs["Main"]
    assert (list(graph.nodes), graph.nodes["End"].row, problems) == (["Start", "End"], 4, [])


def test_ods_needs_no_spreadsheet_package(tmp_path: Path) -> None:
    write_ods(tmp_path / "flow.ods", one_prompt("hi"))
    code = (
        "import sys\n"
        "for name in ('pandas', 'openpyxl', 'odf'):\n    sys.modules[name] = None\n"
        "from pathlib import Path\n"
        "from agentmap.graph.workbook_reader import read_workbook\n"
        "graph_file, problems = read_workbook(Path('flow.ods'), 'flow.ods')\n"
        "print(graph_file.graphs['Main'].nodes['Start'].prompt, problems)\n"
    )

    assert run_python(code, tmp_path).stdout == "hi []\n"


@pytest.mark.parametrize(
    ("parts", "reason"),
    [
        ({"mimetype": "x"}, "KeyError: \"There is no item named 'content.xml' in the archive\""),
        (
            {"content.xml": "<office:document-content"},
            "ParseError: unclosed token: line 1, column 0",
        ),
    ],
    ids=["no-content", "broken-xml"],
)
def test_damaged_ods_is_a_graph_file_error(
    tmp_path: Path, parts: dict[str, str], reason: str
) -> None:
    with zipfile.ZipFile(tmp_path / "flow.ods", "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)

    with pytest.raises(GraphFileError) as caught:
        read(tmp_path / "flow.ods")

    assert str(caught.value) == (
        f"flow.ods: not a readable .ods workbook ({reason}) — open it in your spreadsheet and "
        "save it again as .ods; a password-protected workbook must be saved without the password"
    )


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
