"""CSV as real spreadsheets export it (delimiters, UTF-16, BOMs, the wrong encoding), and CSV as
agentmap writes it back."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from agentmap import GraphFileError
from agentmap.exceptions import Problem
from agentmap.graph.csv_dialect import decode_and_sniff
from agentmap.graph.loader import read_graph_file
from agentmap.graph.model import Graph, GraphFile, Node
from agentmap.graph.table import parse_table
from agentmap.graph.table_writer import write_csv

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((REPO / "graphs").glob("*.csv"))
WriteFile = Callable[..., Path]

TABLE = [
    ["GraphName", "Node", "AgentType", "Edge", "Prompt", "Context"],
    ["Main", "Start", "echo", "End", "Hello, world; and\tmore", '{"a": 1, "b": "x;y"}'],
    ["Main", "End", "echo", "", "Bye", ""],
]


def table_text(delimiter: str, rows: list[list[str]] = TABLE) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def read_csv(data: bytes, name: str = "flow.csv") -> tuple[GraphFile, list[Problem]]:
    """How the CSV reader reads a file: decode, find the delimiter, split, parse the table."""
    text, delimiter = decode_and_sniff(data, name)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return parse_table(rows, file=name)


def expected_nodes() -> Mapping[str, Node]:
    return read_csv(table_text(",").encode("utf-8"))[0].graphs["Main"].nodes


def file_error(data: bytes, name: str = "flow.csv") -> GraphFileError:
    with pytest.raises(GraphFileError) as caught:
        decode_and_sniff(data, name)
    return caught.value


# --- delimiters ----------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_delimiter_is_found_from_the_header(delimiter: str) -> None:
    data = table_text(delimiter).encode("utf-8")

    graph_file, problems = read_csv(data)

    assert decode_and_sniff(data, "flow.csv")[1] == delimiter
    assert (graph_file.graphs["Main"].nodes, problems) == (expected_nodes(), [])


def test_semicolon_file_with_commas_in_every_data_row_is_read_by_its_header() -> None:
    text = "GraphName;Node;Prompt\nMain;Start;a, b, c, d, e, f\nMain;End;g, h, i, j\n"

    graph = read_csv(text.encode("utf-8"))[0].graphs["Main"]

    assert [n.prompt for n in graph.nodes.values()] == ["a, b, c, d, e, f", "g, h, i, j"]


def test_header_spelled_with_aliases_is_recognised() -> None:
    text = "graph name;node name;agent;next\nMain;Start;echo;\n"

    assert decode_and_sniff(text.encode("utf-8"), "flow.csv")[1] == ";"


def test_blank_lines_before_the_header_are_skipped_when_sniffing() -> None:
    text = "\n;;;\nGraphName;Node\nMain;Start\n"

    graph_file, problems = read_csv(text.encode("utf-8"))

    assert (list(graph_file.graphs["Main"].nodes), problems) == (["Start"], [])
    assert graph_file.graphs["Main"].nodes["Start"].row == 4


def test_header_with_no_known_column_is_read_with_commas() -> None:
    _, problems = read_csv(b"Foo;Bar\nx;y\n")

    assert [p.message for p in problems][-2:] == [
        "required column GraphName is missing from the header — add a 'GraphName' column",
        "required column Node is missing from the header — add a 'Node' column",
    ]


def test_excel_sep_line_names_the_delimiter_and_is_not_a_row() -> None:
    text = "sep=;\r\nGraphName;Node;Prompt\r\nMain;Start;x,y\r\n"

    graph_file, problems = read_csv(text.encode("utf-8"))

    assert (graph_file.graphs["Main"].nodes["Start"].prompt, problems) == ("x,y", [])


# --- encodings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (b"", "utf-8"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le", "utf-16-be"],
)
def test_unicode_text_exports_are_read(bom: bytes, encoding: str) -> None:
    data = bom + table_text("\t").encode(encoding)

    graph_file, problems = read_csv(data)

    assert (graph_file.graphs["Main"].nodes, problems) == (expected_nodes(), [])


def test_utf16_keeps_characters_outside_latin1() -> None:
    data = codecs.BOM_UTF16_LE + "GraphName\tNode\tPrompt\nMain\tStart\tcafé ☕ 你好\n".encode(
        "utf-16-le"
    )

    assert read_csv(data)[0].graphs["Main"].nodes["Start"].prompt == "café ☕ 你好"


def test_latin1_file_is_refused_with_row_byte_and_fix() -> None:
    data = "GraphName,Node,Prompt\nMain,Start,ok\nMain,End,café\n".encode("latin-1")

    error = file_error(data, "latin.csv")

    assert str(error) == (
        'latin.csv:3: the file is not UTF-8: byte 0xE9 after "Main,End,caf" in row 3 (it reads '
        "as 'é' in Windows-1252/Latin-1, which Excel's plain \"CSV\" writes) — save the file as "
        '"CSV UTF-8" (Excel) or with character set "Unicode (UTF-8)" (LibreOffice) and load it '
        "again"
    )
    assert (error.file, error.row) == ("latin.csv", 3)


def test_windows_1252_euro_sign_is_named_in_the_hint() -> None:
    error = file_error("GraphName;Node\n€;x\n".encode("cp1252"))

    assert "byte 0x80 at the start of row 2 (it reads as '€' in Windows-1252" in str(error)


def test_byte_that_is_no_character_in_any_guess_gets_no_hint() -> None:
    error = file_error(b"GraphName,Node\nMain,\x81\n")

    assert str(error).startswith('flow.csv:2: the file is not UTF-8: byte 0x81 after "Main," in ')
    assert "Windows-1252" not in str(error)


def test_row_of_a_bad_byte_counts_records_not_lines() -> None:
    text = 'GraphName;Node;Prompt\nMain;Start;"two\nlines; here"\nMain;End;café\n'

    assert file_error(text.encode("latin-1")).row == 3


def test_bad_byte_inside_a_multiline_cell_is_in_that_cells_row() -> None:
    text = 'GraphName,Node,Prompt\nMain,Start,"first line\nsecond café"\n'

    assert file_error(text.encode("latin-1")).row == 2


def test_utf16_without_byte_order_mark_is_refused() -> None:
    error = file_error("GraphName,Node\n".encode("utf-16-le"))

    assert str(error) == (
        "flow.csv: the file holds NUL bytes, so it is not UTF-8 text (UTF-16 without a "
        'byte-order mark, or not a text file) — save the file as "CSV UTF-8" (Excel) or with '
        'character set "Unicode (UTF-8)" (LibreOffice) and load it again'
    )


def test_workbook_saved_with_a_csv_name_is_refused() -> None:
    error = file_error(b"PK\x03\x04\x14\x00\x00\x00rest of a zip")

    assert str(error) == (
        "flow.csv: this is a zipped file (an .xlsx or .ods workbook?), not CSV text — give it "
        "its workbook extension, or save it as CSV UTF-8"
    )


def test_broken_utf16_is_refused() -> None:
    error = file_error(codecs.BOM_UTF16_LE + "GraphName".encode("utf-16-le") + b"\x00\xd8")

    assert str(error).startswith(
        "flow.csv: the file starts with a UTF-16 byte-order mark but is not valid UTF-16 ("
    )


# --- writing CSV ---------------------------------------------------------------------------


def graphs_of(graph_file: GraphFile) -> dict[str, tuple[str, dict[str, Node]]]:
    return {name: (g.entry, dict(g.nodes)) for name, g in graph_file.graphs.items()}


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_graph_round_trips_through_the_csv_writer(example: Path, tmp_path: Path) -> None:
    original, _ = read_graph_file(example)

    write_csv(original, tmp_path / "flow.csv")

    assert graphs_of(read_graph_file(tmp_path / "flow.csv")[0]) == graphs_of(original)


def test_csv_writer_writes_the_standard_columns_exactly(write_file: WriteFile) -> None:
    source = write_file(
        "in.csv",
        "Graph,Node,Input_Fields,Output_Field,Success_Next,Prompt,Context,Description\n"
        'Main,Start,"user:name|topic","greeting|topic",End,"Say ""hi"", {name}",'
        "\"{'n': 1, 'tags': ['a', 'b']}\",\n"
        'Main,End,greeting,,,,model=gpt-4o; temperature=0.2,"two\nlines"\n',
    )
    out = source.with_name("out.csv")

    write_csv(read_graph_file(source)[0], out)

    assert out.read_bytes().decode("utf-8") == (
        "GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,"
        "Prompt,Context,Description\n"
        'Main,Start,default,,End,,user:name|topic,greeting|topic,"Say ""hi"", {name}",'
        '"{""n"":1,""tags"":[""a"",""b""]}",\n'
        'Main,End,default,,,,greeting,,,"{""model"":""gpt-4o"",""temperature"":""0.2""}",'
        '"two\nlines"\n'
    )


def test_csv_writer_keeps_awkward_text(tmp_path: Path) -> None:
    text = '  "quoted", semi;colon\ttab\r\nCRLF and\rCR '
    node = Node(name="Start", agent_type="echo", prompt=text, description=text, context=text)
    model = GraphFile(
        path="model", graphs={"Main": Graph(name="Main", nodes={"Start": node}, entry="Start")}
    )

    write_csv(model, tmp_path / "flow.csv")

    assert graphs_of(read_graph_file(tmp_path / "flow.csv")[0]) == graphs_of(model)


def test_context_that_is_a_python_literal_stays_one(tmp_path: Path) -> None:
    node = Node(name="Start", context={"pair": (1, 2)})
    model = GraphFile(
        path="model", graphs={"Main": Graph(name="Main", nodes={"Start": node}, entry="Start")}
    )

    write_csv(model, tmp_path / "flow.csv")

    assert read_graph_file(tmp_path / "flow.csv")[0].graphs["Main"].nodes["Start"] == node


@pytest.mark.parametrize(
    ("node", "difference"),
    [
        (
            Node(name="Start", inputs=(("a|b", "a|b"),)),
            "node 'Start' inputs (('a|b', 'a|b'),) would read back as (('a', 'a'), ('b', 'b'))",
        ),
        (
            Node(name="Start", edge=" End"),
            "node 'Start' edge ' End' would read back as 'End'",
        ),
        (Node(name=" Start"), "node name ' Start' would not read back"),
    ],
    ids=["pipe-in-input", "spaces-in-routing", "spaces-in-name"],
)
def test_graph_a_table_cannot_hold_is_refused_before_writing(
    tmp_path: Path, node: Node, difference: str
) -> None:
    graph = Graph(name="Main", nodes={node.name: node}, entry=node.name)

    with pytest.raises(GraphFileError) as caught:
        write_csv(GraphFile(path="model", graphs={"Main": graph}), tmp_path / "flow.csv")

    assert str(caught.value) == (
        f"{tmp_path / 'flow.csv'}: graph 'Main' can't be written as a table without changing it "
        f"({difference}) — fix it in the source file first"
    )
    assert not (tmp_path / "flow.csv").exists()


def test_write_to_a_missing_folder_is_a_graph_file_error(tmp_path: Path) -> None:
    model, _ = read_graph_file(EXAMPLES[0])

    with pytest.raises(GraphFileError) as caught:
        write_csv(model, tmp_path / "no" / "flow.csv")

    assert str(caught.value) == (
        f"{tmp_path / 'no' / 'flow.csv'}: can't write the file (No such file or directory) — "
        "check the folder exists and the file is not open in a spreadsheet"
    )
