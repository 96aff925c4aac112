"""`agentmap convert` and `agentmap schema`: every format carries the same graph model."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from agentmap.cli.app import app
from agentmap.convert import convert_graph
from agentmap.graph.loader import read_graph_file
from agentmap.graph.model import GraphFile
from helpers import REPO_STORE

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((REPO / "graphs").glob("*.csv"))


def _model(graph_file: GraphFile) -> list[tuple[str, str, list[object]]]:
    """What must survive a conversion: names, entries and nodes (row numbers don't count)."""
    return [(g.name, g.entry, list(g.nodes.values())) for g in graph_file.graphs.values()]


def cli(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_csv_yaml_json_xlsx_csv_round_trip_gives_the_identical_model(
    example: Path, tmp_path: Path
) -> None:
    original, problems = read_graph_file(example)
    assert problems == []
    chain = [
        example,
        *(tmp_path / f"step{i}.{ext}" for i, ext in enumerate(["yaml", "json", "xlsx", "csv"])),
    ]
    for source, target in itertools.pairwise(chain):
        convert_graph(source, target)
        converted, problems = read_graph_file(target)
        assert problems == [], target.name
        assert _model(converted) == _model(original), target.name


def test_convert_cli_writes_the_file_and_names_the_graphs(tmp_path: Path) -> None:
    target = tmp_path / "routing.yaml"
    result = CliRunner().invoke(app, ["convert", str(REPO / "graphs" / "routing.csv"), str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {target} (Triage, Approval, Countdown)\n"
    assert list(yaml.safe_load(target.read_text())["graphs"]) == ["Triage", "Approval", "Countdown"]


def test_convert_refuses_to_replace_a_file_without_force(tmp_path: Path) -> None:
    target = tmp_path / "hello.json"
    target.write_text("keep me")
    result = CliRunner().invoke(app, ["convert", str(REPO / "graphs" / "hello.csv"), str(target)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {target} already exists — choose another name or pass --force to replace it\n"
    )
    assert target.read_text() == "keep me"
    forced = CliRunner().invoke(
        app, ["convert", str(REPO / "graphs" / "hello.csv"), str(target), "--force"]
    )
    assert forced.exit_code == 0
    assert json.loads(target.read_text())["graphs"]["Hello"]["nodes"][0]["name"] == "Start"


def test_convert_to_an_unknown_format_is_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["convert", str(REPO / "graphs" / "hello.csv"), str(tmp_path / "hello.txt")]
    )
    assert result.exit_code == 2
    assert (
        "can't write '.txt' files — end the name in .csv, .yaml, .yml, .json, .xlsx"
        in result.stderr
    )


def test_convert_refuses_a_file_whose_problems_would_lose_data(
    tmp_path: Path, graph_csv: object
) -> None:
    source = graph_csv(  # type: ignore[operator]
        "Main,Start,echo,,,,,,,,", "Main,Start,echo,,,,,,,,", name="dup.csv"
    )
    result = CliRunner().invoke(app, ["convert", str(source), str(tmp_path / "dup.yaml")])
    assert result.exit_code == 2
    assert "node 'Start' is defined twice in graph 'Main' (rows 2 and 3)" in result.stderr
    assert not (tmp_path / "dup.yaml").exists()


def test_convert_does_not_need_the_graphs_agents_to_exist(
    tmp_path: Path, graph_csv: object
) -> None:
    source = graph_csv("Main,Start,not_written_yet,,,,,,,,", name="draft.csv")  # type: ignore[operator]
    result = CliRunner().invoke(app, ["convert", str(source), str(tmp_path / "draft.yaml")])
    assert result.exit_code == 0, result.output


def test_schema_is_json_schema_that_accepts_converted_graphs(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for example in EXAMPLES:
        target = tmp_path / f"{example.stem}.yaml"
        convert_graph(example, target)
        jsonschema.validate(yaml.safe_load(target.read_text()), schema)


def test_yaml_graph_runs_like_its_csv_twin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("AGENTMAP_STORAGE__URL", REPO_STORE["url"])  # not the repository's store
    target = tmp_path / "error_handling.yaml"
    convert_graph(REPO / "graphs" / "error_handling.csv", target)
    from_csv = CliRunner().invoke(
        app, ["run", "graphs/error_handling.csv", "--state", '{"data": "1,x,3"}', "--json"]
    )
    from_yaml = CliRunner().invoke(
        app, ["run", str(target), "--state", '{"data": "1,x,3"}', "--json"]
    )
    assert from_csv.exit_code == from_yaml.exit_code == 0  # recovered from ProcessData's failure
    csv_result, yaml_result = json.loads(from_csv.stdout), json.loads(from_yaml.stdout)
    assert yaml_result["final_state"] == csv_result["final_state"]
    assert yaml_result["summary"]["execution_path"] == csv_result["summary"]["execution_path"]


def test_yaml_validation_errors_point_at_line_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flow.yaml").write_text(
        "graphs:\n"
        "  Main:\n"
        "    nodes:\n"
        "      - name: Start\n"
        "        agent_type: echo\n"
        "        success_next: Procss\n"
        "      - name: Process\n"
        "        agent_type: echo\n"
    )
    result = CliRunner().invoke(app, ["run", "flow.yaml"])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error ")]
    assert errors[0] == (
        "error flow.yaml:4 graphs.Main.nodes[0].success_next Success_Next: no node named "
        "'Procss' in graph 'Main' — did you mean 'Process'?"
    )
    assert "Traceback" not in result.output
