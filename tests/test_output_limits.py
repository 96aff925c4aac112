"""What the terminal shows stays readable however big the input: long values and problem
lists are cut in tables and listings; --json (and the store) keep everything."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from agentmap.cli.app import app
from helpers import csv_row

runner = CliRunner()


def test_a_long_state_value_is_cut_in_the_table_but_whole_in_json(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    path = graph_csv(csv_row("G", "Echo", "echo", inputs="input", output="out"))
    (project / "big.json").write_text(json.dumps({"input": "x" * 300_000}))
    shown = runner.invoke(app, ["run", str(path), "--state", "@big.json"])
    assert shown.exit_code == 0
    cells = re.sub(r"[\s│]", "", shown.stdout)  # the table folds the cell over many lines
    assert "x" * 1000 + "…(299,000morecharacters;--jsonshowsall)" in cells
    assert "x" * 1001 not in cells
    assert len(shown.stdout) < 10_000
    whole = runner.invoke(app, ["run", str(path), "--state", "@big.json", "--json"])
    assert json.loads(whole.stdout)["final_state"]["out"] == "x" * 300_000


def test_a_long_problem_list_shows_the_first_fifty_unless_all_are_asked_for(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    path = graph_csv(*(csv_row("G", f"N{i}", "nosuch") for i in range(120)))
    listed = runner.invoke(app, ["validate", str(path)])
    assert listed.exit_code == 1
    errors = [line for line in listed.stderr.splitlines() if line.startswith("error ")]
    assert len(errors) == 50
    assert (
        "… and 70 more errors — `agentmap validate FILE --all-problems` lists every one"
        in listed.stderr
    )
    everything = runner.invoke(app, ["validate", str(path), "--all-problems"])
    assert len([ln for ln in everything.stderr.splitlines() if ln.startswith("error ")]) == 120
    assert "more errors" not in everything.stderr
