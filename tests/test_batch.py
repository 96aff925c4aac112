"""Batches: a graph over every row of a table — from Python and from `agentmap batch`, with
real files in every format, failures, Ctrl-C and --resume."""

from __future__ import annotations

import collections
import json
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from agentmap import resume_batch, run_batch
from helpers import clean_env, csv_row, ctrl_c_works
from test_durable import AGENTMAP, agentmap

# A row's node logs "<id>:<node>" to ran.log; rows whose id is in fail.txt fail at Check; a row
# whose id is "slow" takes a while (started-slow marks it began).
AGENTS = """
import time
from pathlib import Path

from agentmap import Agent, Failure


class StepAgent(Agent):
    def process(self, inputs):
        row = inputs["id"]
        with open("ran.log", "a", encoding="utf-8") as log:
            log.write(f"{row}:{self.name}\\n")
        if row == "slow":
            Path("started-slow").write_text("")
            time.sleep(30)
        failing = Path("fail.txt")
        if self.name == "Check" and failing.exists() and row in failing.read_text().split():
            return Failure(f"row {row} is told to fail")
        return f"{self.name}:{row}:{inputs['text']}"
"""


@pytest.fixture
def batch_project(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> Path:
    write_file("agents/steps.py", AGENTS)
    graph_csv(
        csv_row("Rows", "Read", "step", success="Check", inputs="id|text", output="read"),
        csv_row("Rows", "Check", "step", success="Say", inputs="id|text", output="checked"),
        csv_row("Rows", "Say", "step", inputs="id|text", output="said"),
    )
    return project


def ran(project: Path) -> list[str]:
    log = project / "ran.log"
    return log.read_text("utf-8").split() if log.exists() else []


def test_each_row_is_a_run_and_the_results_keep_every_input_column(batch_project: Path) -> None:
    rows = pd.DataFrame({"id": ["007", "8"], "text": ["hi", "yo"], "note": ["a", ""]})

    table = run_batch("flow.csv", rows)

    assert list(table.columns) == [
        "id", "text", "note", "status", "error", "duration", "run_id", "read", "checked", "said"
    ]  # fmt: skip
    assert table["id"].tolist() == ["007", "8"] and table["note"].tolist() == ["a", ""]
    assert table["status"].tolist() == ["completed", "completed"]
    assert table["said"].tolist() == ["Say:007:hi", "Say:8:yo"]
    assert table["run_id"].str.len().tolist() == [32, 32]


def test_chosen_outputs_and_names_taken_by_inputs_are_prefixed(batch_project: Path) -> None:
    table = run_batch(
        "flow.csv", [{"id": "1", "text": "t", "status": "mine", "said": "before"}],
        outputs=["said"],
    )  # fmt: skip

    assert list(table.columns) == [
        "id", "text", "status", "said", "batch.status", "error", "duration", "run_id", "out.said"
    ]  # fmt: skip
    assert table.loc[0, "status"] == "mine" and table.loc[0, "said"] == "before"
    assert table.loc[0, "out.said"] == "Say:1:t" and table.loc[0, "batch.status"] == "completed"


def test_resuming_runs_only_the_rows_that_failed_from_their_checkpoints(
    batch_project: Path,
) -> None:
    (batch_project / "fail.txt").write_text("2 4")
    rows = [{"id": str(i), "text": "t"} for i in range(5)]

    first = run_batch("flow.csv", rows)
    assert first["status"].tolist() == ["completed", "completed", "failed", "completed", "failed"]
    assert first.loc[2, "error"] == "node 'Check' failed: row 2 is told to fail"

    (batch_project / "fail.txt").unlink()
    again = resume_batch(first.attrs["batch_id"][:10])

    assert again["status"].tolist() == ["completed"] * 5
    assert again["run_id"].tolist() == first["run_id"].tolist()  # the same runs, carried on
    counts = collections.Counter(ran(batch_project))
    assert counts["2:Read"] == 1 and counts["2:Check"] == 2 and counts["2:Say"] == 1
    assert counts["0:Check"] == 1  # completed rows did not run again


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".ods", ".parquet", ".jsonl"])
def test_the_cli_reads_every_table_format_and_writes_results(
    batch_project: Path, suffix: str
) -> None:
    rows = pd.DataFrame({"id": ["007", "8"], "text": ["hi", "yo"]})
    path = batch_project / f"rows{suffix}"
    if suffix == ".csv":
        rows.to_csv(path, index=False)
    elif suffix in (".xlsx", ".ods"):
        rows.to_excel(path, index=False, engine="odf" if suffix == ".ods" else "openpyxl")
    elif suffix == ".parquet":
        rows.to_parquet(path, index=False)
    else:
        rows.to_json(path, orient="records", lines=True)

    done = agentmap(batch_project, "batch", "flow.csv", "--inputs", path.name, "--out", "out.jsonl")

    assert done.returncode == 0, done.stderr
    assert "wrote 2 rows to out.jsonl (2 completed)" in done.stdout
    out = [json.loads(line) for line in (batch_project / "out.jsonl").read_text().splitlines()]
    assert [row["said"] for row in out] == ["Say:007:hi", "Say:8:yo"]


def test_the_cli_adds_only_the_outputs_asked_for(batch_project: Path) -> None:
    (batch_project / "rows.csv").write_text("id,text\n1,hi\n")

    done = agentmap(batch_project, "batch", "flow.csv", "--inputs", "rows.csv", "--outputs",
                    "said, read", "--out", "r.csv")  # fmt: skip

    assert done.returncode == 0, done.stderr
    table = pd.read_csv(batch_project / "r.csv", dtype=str)
    assert list(table.columns) == ["id", "text", "status", "error", "duration", "run_id", "said",
                                   "read"]  # fmt: skip
    again = agentmap(batch_project, "batch", "flow.csv", "--inputs", "rows.csv", "--out", "r.csv")
    assert again.returncode == 2 and "already exists" in again.stderr
    forced = agentmap(batch_project, "batch", "flow.csv", "--inputs", "rows.csv", "--out", "r.csv",
                      "--force")  # fmt: skip
    assert forced.returncode == 0


def test_cells_stay_text_unless_types_are_inferred(batch_project: Path) -> None:
    (batch_project / "rows.csv").write_text("id,text,n\n007,hi,1.50\n")

    agentmap(batch_project, "batch", "flow.csv", "--inputs", "rows.csv", "--out", "t.jsonl")
    agentmap(batch_project, "batch", "flow.csv", "--inputs", "rows.csv", "--out", "i.jsonl",
             "--infer-types")  # fmt: skip

    (text,) = [json.loads(line) for line in (batch_project / "t.jsonl").read_text().splitlines()]
    (typed,) = [json.loads(line) for line in (batch_project / "i.jsonl").read_text().splitlines()]
    assert (text["id"], text["n"]) == ("007", "1.50")
    assert (typed["id"], typed["n"]) == (7, 1.5)


def test_a_failed_row_makes_the_batch_exit_1_and_xlsx_results_can_be_read_back(
    batch_project: Path,
) -> None:
    (batch_project / "fail.txt").write_text("b")
    (batch_project / "rows.csv").write_text("id,text\na,x\nb,y\n")

    done = agentmap(batch_project, "batch", "flow.csv", "--inputs", "rows.csv", "--out", "r.xlsx")

    assert done.returncode == 1 and "(1 completed, 1 failed)" in done.stdout
    table = pd.read_excel(batch_project / "r.xlsx", dtype=str)
    assert table["status"].tolist() == ["completed", "failed"]


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("", ["--inputs", "missing.csv"], "missing.csv: no such file"),
        ("id,id\n1,2\n", ["--inputs", "rows.csv"], "column 2 repeats the header 'id'"),
        ("", ["--inputs", "rows.txt"], "can't read '.txt' files as batch inputs"),
        ("id,text\n", ["--inputs", "rows.csv"], "the batch has no rows"),
        ("id,text\n1,2\n", ["--inputs", "rows.csv", "--out", "r.txt"], "r.txt: results are"),
        ("id,text\n1,2\n", ["--resume", "0badc0de"], "give no graph file"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(
    batch_project: Path, setup: str, args: list[str], message: str
) -> None:
    if setup:
        (batch_project / "rows.csv").write_text(setup)
    (batch_project / "rows.txt").write_text("x")

    done = agentmap(batch_project, "batch", "flow.csv", *args)

    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_batch_to_resume_is_a_clear_error(batch_project: Path) -> None:
    done = agentmap(batch_project, "batch", "--resume", "0badc0de")

    assert done.returncode == 2 and "no batch '0badc0de'" in done.stderr


def test_ctrl_c_stops_cleanly_and_resume_finishes_the_rest(batch_project: Path) -> None:
    rows = ["id,text"] + [f"r{i},t" for i in range(6)] + ["slow,t"]
    (batch_project / "rows.csv").write_text("\n".join(rows) + "\n")
    process = subprocess.Popen(
        [str(AGENTMAP), "batch", "flow.csv", "--inputs", "rows.csv", "--concurrency", "1"],
        cwd=batch_project,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_works,
    )
    marker = batch_project / "started-slow"
    try:
        import time

        deadline = time.monotonic() + 60
        while not marker.exists():
            assert process.poll() is None and time.monotonic() < deadline, process.stderr
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130 and "carry the batch on with: agentmap batch --resume" in err
    batch_id = err.split("--resume ")[1].split()[0]

    # the slow row now fails fast instead of sleeping: it is carried on, the others are not rerun
    (batch_project / "agents" / "steps.py").write_text(AGENTS.replace("time.sleep(30)", "pass"))
    done = agentmap(batch_project, "batch", "--resume", batch_id, "--out", "r.csv")

    assert done.returncode == 0, done.stderr
    assert pd.read_csv(batch_project / "r.csv")["status"].tolist() == ["completed"] * 7
    counts = collections.Counter(ran(batch_project))
    assert all(counts[f"r{i}:Say"] == 1 for i in range(6))
