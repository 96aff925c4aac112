"""Storage agents read and write real files: csv_reader/csv_writer, json_reader/json_writer,
file_reader/file_writer — with AgentMap's Context keys, the project's file rules, failures
routed to Failure_Next, and AgentMap's storage types we don't build refused by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentmap import run_graph, validate_graph
from helpers import clean_env, csv_row

AGENTMAP = str(Path(sys.executable).parent / "agentmap")
HEADER = (
    "GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,"
    "Prompt,Context,Description"
)

PEOPLE = """\
id,name,team,age
1,Ada,core,36
2,Grace,ops,45
3,Linus,core,28
4,Margaret,ops,33
"""


def graph(folder: Path, *rows: str, name: str = "flow.csv") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def done(**row: Any) -> str:
    """The last node: echoes what it is given, so the run ends on it."""
    return csv_row("G", row.pop("node", "Done"), "echo", **row)


def oops() -> str:
    return csv_row("G", "Oops", "echo", inputs="error", output="reported")


@pytest.fixture
def people(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "people.csv"
    path.parent.mkdir()
    path.write_text(PEOPLE, encoding="utf-8")
    return path


def read(tmp_path: Path, *rows: str, state: dict[str, Any] | None = None) -> dict[str, Any]:
    result = run_graph(graph(tmp_path, *rows), state or {})
    final: dict[str, Any] = result.final_state
    return final


# --- csv_reader ---------------------------------------------------------------------------------


def test_csv_reader_reads_the_file_its_prompt_names_as_records(
    tmp_path: Path, people: Path
) -> None:
    state = read(
        tmp_path, csv_row("G", "Load", "csv_reader", output="rows", prompt="data/people.csv")
    )
    assert state["rows"][:2] == [
        {"id": 1, "name": "Ada", "team": "core", "age": 36},
        {"id": 2, "name": "Grace", "team": "ops", "age": 45},
    ]
    assert len(state["rows"]) == 4


def test_csv_reader_finds_one_row_by_the_id_in_the_state(tmp_path: Path, people: Path) -> None:
    state = read(
        tmp_path,
        csv_row(
            "G",
            "Load",
            "csv_reader",
            inputs="document_id",
            output="person",
            prompt="data/people.csv",
        ),
        state={"document_id": "3"},
    )
    assert state["person"] == {"id": 3, "name": "Linus", "team": "core", "age": 28}


def test_csv_reader_query_filters_sorts_and_limits(tmp_path: Path, people: Path) -> None:
    query = {"team": "ops", "sort": "age", "order": "asc", "limit": 1}
    state = read(
        tmp_path,
        csv_row(
            "G",
            "Load",
            "csv_reader",
            output="rows",
            context={"collection": "data/people.csv", "query": query},
        ),
    )
    assert state["rows"] == [{"id": 4, "name": "Margaret", "team": "ops", "age": 33}]


def test_csv_reader_dict_format_keys_rows_by_position(tmp_path: Path, people: Path) -> None:
    state = read(
        tmp_path,
        csv_row(
            "G",
            "Load",
            "csv_reader",
            output="rows",
            context={
                "collection": "data/people.csv",
                "format": "dict",
                "query": {"name": ["Ada", "Linus"]},
            },
        ),
    )
    assert list(state["rows"]) == ["0", "1"]
    assert [row["name"] for row in state["rows"].values()] == ["Ada", "Linus"]


def test_csv_reader_keeps_na_as_text_and_reads_an_empty_cell_as_null(tmp_path: Path) -> None:
    (tmp_path / "regions.csv").write_text("code,name\nNA,North America\n,Nowhere\n")
    state = read(tmp_path, csv_row("G", "Load", "csv_reader", output="rows", prompt="regions.csv"))
    assert state["rows"] == [
        {"code": "NA", "name": "North America"},
        {"code": None, "name": "Nowhere"},
    ]


def test_csv_reader_takes_the_file_from_a_collection_field_in_the_state(
    tmp_path: Path, people: Path
) -> None:
    state = read(
        tmp_path,
        csv_row("G", "Load", "csv_reader", inputs="collection|id", output="person"),
        state={"collection": "data/people.csv", "id": 2},
    )
    assert state["person"]["name"] == "Grace"


# --- csv_writer ---------------------------------------------------------------------------------


def write_rows(tmp_path: Path, mode: str, rows: Any, **context: Any) -> dict[str, Any]:
    return read(
        tmp_path,
        csv_row(
            "G",
            "Save",
            "csv_writer",
            inputs="rows",
            output="saved",
            context={"collection": "data/people.csv", "mode": mode, **context},
        ),
        state={"rows": rows},
    )


@pytest.mark.parametrize(
    ("mode", "rows", "expected"),
    [
        ("write", [{"id": 9, "name": "Ken"}], "id,name\n9,Ken\n"),
        (
            "append",
            {"id": 5, "name": "Barbara", "team": "core", "age": 41},
            PEOPLE + "5,Barbara,core,41\n",
        ),
        (
            "update",
            [{"id": 2, "team": "core"}, {"id": 5, "name": "Barbara"}],
            "id,name,team,age\n1,Ada,core,36\n2,Grace,core,45\n3,Linus,core,28\n"
            "4,Margaret,ops,33\n5,Barbara,,\n",
        ),
    ],
)
def test_csv_writer_modes(
    tmp_path: Path, people: Path, mode: str, rows: Any, expected: str
) -> None:
    state = write_rows(tmp_path, mode, rows)
    assert people.read_text() == expected
    assert state["saved"] == {
        "success": True,
        "mode": mode,
        "file_path": str(people),
        "created_new": False,
        "rows_written": len(rows) if isinstance(rows, list) else 1,
    }


def test_csv_writer_appends_to_a_new_file_by_making_it_and_its_folders(tmp_path: Path) -> None:
    state = read(
        tmp_path,
        csv_row(
            "G",
            "Log",
            "csv_writer",
            inputs="name|score",
            output="saved",
            prompt="out/new/scores.csv",
        ),
        state={"name": "Ada", "score": 3},
    )
    assert (tmp_path / "out" / "new" / "scores.csv").read_text() == "name,score\nAda,3\n"
    assert state["saved"]["created_new"] is True


def test_csv_writer_update_puts_the_document_id_in_the_id_field(
    tmp_path: Path, people: Path
) -> None:
    read(
        tmp_path,
        csv_row(
            "G",
            "Save",
            "csv_writer",
            inputs="age|document_id",
            output="saved",
            context={"collection": "data/people.csv", "mode": "update"},
        ),
        state={"age": 37, "document_id": 1},
    )
    assert people.read_text().splitlines()[1] == "1,Ada,core,37"


# --- json ---------------------------------------------------------------------------------------


def test_round_trip_csv_into_the_state_and_out_as_json(tmp_path: Path, people: Path) -> None:
    state = read(
        tmp_path,
        csv_row(
            "G",
            "Load",
            "csv_reader",
            edge="Save",
            output="team",
            prompt="data/people.csv",
            context={"query": {"team": "core"}},
        ),
        csv_row(
            "G",
            "Save",
            "json_writer",
            inputs="team",
            output="saved",
            prompt="out/core.json",
            context={"mode": "write"},
        ),
    )
    assert json.loads((tmp_path / "out" / "core.json").read_text()) == [
        {"id": 1, "name": "Ada", "team": "core", "age": 36},
        {"id": 3, "name": "Linus", "team": "core", "age": 28},
    ]
    assert state["saved"]["mode"] == "write"


def test_json_reader_picks_a_document_by_id_then_a_path_inside_it(tmp_path: Path) -> None:
    users = {"u1": {"name": "Ada", "langs": ["en", "fr"]}, "u2": {"name": "Grace"}}
    (tmp_path / "users.json").write_text(json.dumps(users))
    state = read(
        tmp_path,
        csv_row(
            "G",
            "Load",
            "json_reader",
            inputs="document_id",
            output="lang",
            context={"collection": "users.json", "path": "langs.1"},
        ),
        state={"document_id": "u1"},
    )
    assert state["lang"] == "fr"


def test_json_reader_queries_a_list_of_records(tmp_path: Path) -> None:
    orders = [{"id": 1, "status": "open"}, {"id": 2, "status": "done"}, {"id": 3, "status": "open"}]
    (tmp_path / "orders.json").write_text(json.dumps(orders))
    state = read(
        tmp_path,
        csv_row(
            "G",
            "Load",
            "json_reader",
            output="open",
            prompt="orders.json",
            context={"query": {"status": "open", "sort": "id", "order": "desc"}},
        ),
    )
    assert state["open"] == [{"id": 3, "status": "open"}, {"id": 1, "status": "open"}]


def test_json_writer_appends_each_record_to_a_list(tmp_path: Path) -> None:
    flow = graph(
        tmp_path,
        csv_row(
            "G", "Log", "json_writer", inputs="decision|case", output="saved", prompt="audit.json"
        ),
    )
    run_graph(flow, {"decision": "approve", "case": 7})
    run_graph(flow, {"decision": "reject", "case": 8})
    assert json.loads((tmp_path / "audit.json").read_text()) == [
        {"decision": "approve", "case": 7},
        {"decision": "reject", "case": 8},
    ]


def test_json_writer_update_merges_fields_into_an_existing_document(tmp_path: Path) -> None:
    (tmp_path / "users.json").write_text(json.dumps({"u1": {"name": "Ada", "age": 36}}))
    read(
        tmp_path,
        csv_row(
            "G",
            "Save",
            "json_writer",
            inputs="data|document_id",
            output="saved",
            context={"collection": "users.json", "mode": "update"},
        ),
        state={"data": {"age": 37}, "document_id": "u1"},
    )
    assert json.loads((tmp_path / "users.json").read_text()) == {"u1": {"name": "Ada", "age": 37}}


def test_json_writer_update_of_a_missing_document_fails_the_node(tmp_path: Path) -> None:
    (tmp_path / "users.json").write_text("{}")
    state = read(
        tmp_path,
        csv_row(
            "G",
            "Save",
            "json_writer",
            inputs="data|document_id",
            output="saved",
            failure="Oops",
            context={"collection": "users.json", "mode": "update"},
        ),
        oops(),
        state={"data": {"age": 37}, "document_id": "u9"},
    )
    assert state["reported"] == f"no document with id 'u9' in JSON file {tmp_path / 'users.json'}"


# --- text files ---------------------------------------------------------------------------------


def test_file_writer_appends_after_a_blank_line_and_file_reader_reads_it_back(
    tmp_path: Path,
) -> None:
    flow = graph(
        tmp_path,
        csv_row(
            "G",
            "Save",
            "file_writer",
            edge="Load",
            inputs="note",
            output="saved",
            prompt="notes/today.md",
        ),
        csv_row("G", "Load", "file_reader", output="text", prompt="notes/today.md"),
    )
    run_graph(flow, {"note": "first"})
    state = run_graph(flow, {"note": "second"}).final_state
    assert state["text"] == "first\n\nsecond"
    assert state["saved"]["mode"] == "append"


def test_file_writer_write_mode_replaces_the_file(tmp_path: Path) -> None:
    (tmp_path / "report.md").write_text("old report")
    read(
        tmp_path,
        csv_row(
            "G",
            "Save",
            "file_writer",
            inputs="report",
            output="saved",
            prompt="report.md",
            context={"mode": "write"},
        ),
        state={"report": "# New"},
    )
    assert (tmp_path / "report.md").read_text() == "# New"


def test_file_reader_splits_into_overlapping_chunks_with_where_they_came_from(
    tmp_path: Path,
) -> None:
    (tmp_path / "doc.txt").write_text("abcdefghij")
    context = {"should_split": True, "chunk_size": 4, "chunk_overlap": 1, "format": "structured"}
    state = read(
        tmp_path,
        csv_row("G", "Load", "file_reader", output="chunks", prompt="doc.txt", context=context),
    )
    assert [chunk["content"] for chunk in state["chunks"]] == ["abcd", "defg", "ghij"]
    assert state["chunks"][1]["metadata"] == {
        "source": str(tmp_path / "doc.txt"),
        "size": 4,
        "type": "text",
        "chunk": 1,
    }


def test_an_agentmap_row_with_a_description_in_context_reads_the_prompts_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "summary.md").write_text("all good")
    state = read(
        tmp_path,
        "G,Load,file_reader,,,,,text,summary.md,Load the summary,",
    )
    assert state["text"] == "all good"


# --- failures are the node's, routed to Failure_Next --------------------------------------------


@pytest.mark.parametrize(
    ("agent_type", "name", "content", "message"),
    [
        (
            "csv_reader",
            "missing.csv",
            None,
            "CSV file {path} does not exist — a relative path is "
            "taken from the project folder (where agentmap_config.yaml is)",
        ),
        (
            "json_reader",
            "broken.json",
            '{"a": 1,,}',
            "JSON file {path} is not valid JSON: "
            "Expecting property name enclosed in double quotes at line 1 column 9 — fix the file",
        ),
        (
            "file_reader",
            "latin.txt",
            b"caf\xe9",
            "file {path} is not utf-8 text (byte 3) — set "
            "Context 'encoding' to the file's encoding",
        ),
        ("file_reader", "folder", "", "file {path} is a folder, not a file"),
    ],
)
def test_a_file_that_cant_be_read_fails_the_node_and_routes_to_failure_next(
    tmp_path: Path, agent_type: str, name: str, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    result = run_graph(
        graph(
            tmp_path,
            csv_row(
                "G", "Load", agent_type, success="Done", failure="Oops", output="data", prompt=name
            ),
            done(inputs="data"),
            oops(),
        ),
        {},
    )
    assert result.summary.execution_path == ("Load", "Oops")
    assert result.final_state["reported"] == message.format(path=path)


def test_a_csv_reader_without_failure_next_fails_the_run_with_the_message(
    tmp_path: Path,
) -> None:
    result = run_graph(graph(tmp_path, csv_row("G", "Load", "csv_reader", prompt="none.csv")), {})
    assert result.success is False
    assert "none.csv does not exist" in result.final_state["error"]


def test_a_query_on_a_column_the_file_lacks_fails_rather_than_returning_every_row(
    tmp_path: Path, people: Path
) -> None:
    state = read(
        tmp_path,
        csv_row(
            "G",
            "Load",
            "csv_reader",
            failure="Oops",
            output="rows",
            prompt="data/people.csv",
            context={"query": {"tema": "ops"}},
        ),
        oops(),
    )
    assert state["reported"] == (
        f"the query names column 'tema', which CSV file {people} lacks: "
        "['id', 'name', 'team', 'age']"
    )


# --- where files are, and which may be touched --------------------------------------------------


def test_relative_paths_are_taken_from_the_config_files_folder(
    tmp_path: Path, people: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "agentmap_config.yaml").write_text("paths:\n  graphs: graphs\n")
    flow = graph(
        tmp_path / "graphs",
        csv_row("G", "Load", "csv_reader", inputs="id", output="person", prompt="data/people.csv"),
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run_graph(flow, {"id": 1}, config=tmp_path / "agentmap_config.yaml")
    assert result.final_state["person"]["name"] == "Ada"


def test_allowed_paths_refuse_a_file_outside_them(tmp_path: Path) -> None:
    (tmp_path / "secret.csv").write_text("a\n1\n")
    (tmp_path / "agentmap_config.yaml").write_text("security:\n  allowed_paths: [project]\n")
    (tmp_path / "project").mkdir()
    state = run_graph(
        graph(
            tmp_path,
            csv_row("G", "Load", "csv_reader", failure="Oops", prompt="secret.csv"),
            oops(),
        ),
        {},
        config=tmp_path / "agentmap_config.yaml",
    ).final_state
    assert state["reported"].startswith(
        f"CSV file {tmp_path / 'secret.csv'} is outside the folders agentmap may read files from "
        f"({tmp_path / 'project'})"
    )


def test_allowed_paths_refuse_writing_outside_them_too(tmp_path: Path) -> None:
    (tmp_path / "agentmap_config.yaml").write_text("security:\n  allowed_paths: [project]\n")
    read_result = run_graph(
        graph(
            tmp_path,
            csv_row("G", "Save", "file_writer", inputs="text", failure="Oops", prompt="../x.txt"),
            oops(),
        ),
        {"text": "hi"},
        config=tmp_path / "agentmap_config.yaml",
    )
    assert "is outside the folders" in read_result.final_state["reported"]
    assert not (tmp_path.parent / "x.txt").exists()


def test_a_file_over_max_file_mb_is_refused_before_it_is_read(tmp_path: Path) -> None:
    (tmp_path / "agentmap_config.yaml").write_text("limits:\n  max_file_mb: 0.0005\n")
    (tmp_path / "big.txt").write_text("x" * 1000)
    state = run_graph(
        graph(
            tmp_path,
            csv_row("G", "Load", "file_reader", failure="Oops", prompt="big.txt"),
            oops(),
        ),
        {},
        config=tmp_path / "agentmap_config.yaml",
    ).final_state
    assert state["reported"] == (
        f"file {tmp_path / 'big.txt'}: is 1,000 bytes, more than the 0.0005 MB limits.max_file_mb "
        "allows for file — raise limits.max_file_mb (AGENTMAP_LIMITS__MAX_FILE_MB) if it is "
        "meant to be this big"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_a_file_without_read_permission_fails_the_node(tmp_path: Path) -> None:
    locked = tmp_path / "locked.csv"
    locked.write_text("a\n1\n")
    locked.chmod(0)
    state = read(
        tmp_path,
        csv_row("G", "Load", "csv_reader", failure="Oops", prompt="locked.csv"),
        oops(),
    )
    assert state["reported"] == f"CSV file {locked} can't be read: permission denied"


# --- validation ---------------------------------------------------------------------------------


def problems(tmp_path: Path, *rows: str) -> list[tuple[str | None, str, str]]:
    found = validate_graph(graph(tmp_path, *rows))
    return [(p.cell, p.severity, p.message) for p in (*found.errors, *found.warnings)]


def test_a_storage_node_that_names_no_file_is_an_error_on_its_context_cell(
    tmp_path: Path,
) -> None:
    found = problems(tmp_path, csv_row("G", "Save", "json_writer", inputs="data"))
    assert found == [
        (
            "J2",
            "error",
            "json_writer needs to know which JSON file to use — set Context 'collection' or "
            '\'file_path\' (like {"collection": "data/records.json"}), write the path in '
            "Prompt, or list a 'collection' field in Input_Fields",
        )
    ]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"collection": "a.csv", "mode": "delete"},
            "csv_writer mode 'delete' is not one of write, append, update",
        ),
        (
            {"collection": "a.csv", "format": "dataframe"},
            "csv_reader format 'dataframe' is not one of records, dict (a DataFrame can't be "
            "kept in a run's state, which is saved as JSON)",
        ),
        (
            {"collection": "a.csv", "query": "team=ops"},
            'query must be an object of column → value, like {"query": {"status": "open", '
            "\"limit\": 10}}, not 'team=ops'",
        ),
        (
            {"path": "a.txt", "chunk_size": 10, "chunk_overlap": 10},
            "chunk_size must be a whole number above 0 and chunk_overlap one from 0 to below "
            "chunk_size (they are 10 and 10)",
        ),
    ],
)
def test_wrong_storage_settings_are_errors_on_the_context_cell(
    tmp_path: Path, context: dict[str, Any], message: str
) -> None:
    agent_type = {"mode": "csv_writer", "chunk_size": "file_reader"}
    kind = next((t for key, t in agent_type.items() if key in context), "csv_reader")
    assert problems(tmp_path, csv_row("G", "N", kind, context=context)) == [
        ("J2", "error", message)
    ]


@pytest.mark.parametrize(
    ("agent_type", "instead"),
    [
        ("vector_reader", "AgentMap's vector-database search; no vector store is built in"),
        ("VectorWriterAgent", "AgentMap's vector-database indexing; no vector store is built in"),
        ("blob_reader", "for a local file use file_reader, json_reader or csv_reader"),
        ("blob_writer", "for a local file use file_writer, json_writer or csv_writer"),
    ],
)
def test_agentmap_storage_types_not_built_here_are_refused_by_name(
    tmp_path: Path, agent_type: str, instead: str
) -> None:
    [(cell, severity, message)] = problems(tmp_path, csv_row("G", "N", agent_type, prompt="x"))
    assert (cell, severity) == ("C2", "error")
    assert message.startswith(f"agent type '{agent_type}' is not supported here: ")
    assert instead in message
    assert "did you mean" not in message and "unknown" not in message


# --- the command line ---------------------------------------------------------------------------


def agentmap(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AGENTMAP, *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def test_agentmap_run_reads_and_writes_files_in_the_project(tmp_path: Path, people: Path) -> None:
    graph(
        tmp_path,
        csv_row(
            "G",
            "Load",
            "csv_reader",
            edge="Save",
            inputs="document_id",
            output="person",
            prompt="data/people.csv",
        ),
        csv_row(
            "G",
            "Save",
            "json_writer",
            inputs="person",
            output="saved",
            prompt="out/person.json",
            context={"mode": "write"},
        ),
    )
    ran = agentmap(tmp_path, "run", "flow.csv", "--state", '{"document_id": 4}', "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads((tmp_path / "out" / "person.json").read_text()) == {
        "id": 4,
        "name": "Margaret",
        "team": "ops",
        "age": 33,
    }


def test_agentmap_validate_and_run_refuse_a_vector_node_and_a_node_without_a_file(
    tmp_path: Path,
) -> None:
    graph(
        tmp_path,
        csv_row("G", "Search", "vector_reader", edge="Load", inputs="q", output="hits"),
        csv_row("G", "Load", "csv_reader", output="rows"),
    )
    checked = agentmap(tmp_path, "validate", "flow.csv")
    ran = agentmap(tmp_path, "run", "flow.csv")
    assert (checked.returncode, ran.returncode) == (1, 2)  # invalid; bad input, nothing ran
    for stderr in (checked.stderr, ran.stderr):
        assert "C2 AgentType: agent type 'vector_reader' is not supported here" in stderr
        assert "J3 Context: csv_reader needs to know which CSV file to use" in stderr


def test_the_storage_example_in_docs_agents_md_runs(tmp_path: Path, people: Path) -> None:
    docs = Path(__file__).resolve().parent.parent / "docs" / "agents.md"
    section = docs.read_text(encoding="utf-8").split("## Storage agents", 1)[1]
    table = section.split("```csv\n", 1)[1].split("```", 1)[0]
    (tmp_path / "team.csv").write_text(table, encoding="utf-8")
    result = run_graph(tmp_path / "team.csv", {})
    assert result.summary.execution_path == ("Load", "Save", "Done")
    assert [row["name"] for row in json.loads((tmp_path / "out" / "core.json").read_text())] == [
        "Ada",
        "Linus",
    ]


def test_json_writer_writes_a_value_at_a_path_inside_the_file(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text(json.dumps({"ui": {"theme": "dark"}}))
    read(
        tmp_path,
        csv_row(
            "G",
            "Save",
            "json_writer",
            inputs="lang",
            output="saved",
            prompt="settings.json",
            context={"mode": "write", "path": "ui.lang"},
        ),
        state={"lang": "fr"},
    )
    assert json.loads((tmp_path / "settings.json").read_text()) == {
        "ui": {"theme": "dark", "lang": "fr"}
    }


def test_json_reader_records_format_lists_the_documents_of_an_object(tmp_path: Path) -> None:
    (tmp_path / "users.json").write_text(json.dumps({"u1": {"name": "Ada"}, "u2": {"name": "Bo"}}))
    state = read(
        tmp_path,
        csv_row(
            "G",
            "Load",
            "json_reader",
            output="users",
            prompt="users.json",
            context={"format": "records"},
        ),
    )
    assert state["users"] == [{"name": "Ada"}, {"name": "Bo"}]


def test_a_file_reader_takes_its_file_from_a_file_path_field_in_the_state(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("hello")
    state = read(
        tmp_path,
        csv_row("G", "Load", "file_reader", inputs="file_path", output="document"),
        state={"file_path": str(tmp_path / "in.txt")},
    )
    assert state["document"] == "hello"
