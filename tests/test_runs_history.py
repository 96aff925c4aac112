"""``agentmap runs``: the run history as a user meets it — list, show, stats, export, prune.

Every test records real runs into a real SQLite store in ``tmp_path`` (``storage.url`` in the
project's agentmap_config.yaml), then pins what would otherwise vary (start times, durations)
by updating the store's tables directly, so the expected output can be written out in full.
Times are shown in UTC here (TZ=UTC). The statistics' expected values are worked out by hand
below (linear-interpolation percentiles), not by calling pandas again.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from agentmap.api import open_run_store, run_graph
from agentmap.cli.app import app
from agentmap.exceptions import RunError
from agentmap.store import schema
from agentmap.store.analytics import STATS_COLUMNS, node_stats
from agentmap.store.runstore import RunStore

runner = CliRunner()

T0 = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
HELLO = ("Hello,Start,echo,Respond,,,input,echoed,,,", "Hello,Respond,echo,,,,echoed,reply,,,")
BROKEN = ("Broken,First,echo,,Second,,input,a,,,", "Broken,Second,failure,,,,a,b,,,")
SHIP = (
    "Ship,Prepare,echo,Ask,,,input,draft,,,",
    'Ship,Ask,human,,Done,,draft,approved,Ship {draft}?,"{""interaction_type"": ""approval""}",',
    "Ship,Done,echo,,,,approved,result,,,",
)
LOOP = ("Loop,A,echo,B,,,input,input,,,", "Loop,B,echo,A,,,input,input,,,")
BROKEN_ERROR = "node 'Second' failed: Second failed (failure agent)"
LOOP_ERROR = (
    "graph 'Loop' ran 5 steps without finishing (a loop that never exits?) — fix the routing "
    "or raise execution.max_steps"
)
RUN_COLUMNS = [
    "id",
    "graph",
    "graph_file",
    "status",
    "started_at",
    "finished_at",
    "duration",
    "error",
    "initial_state",
    "final_state",
]
NODE_COLUMNS = [
    "run_id",
    "graph",
    "seq",
    "branch",
    "node",
    "attempt",
    "success",
    "error",
    "started",
    "duration",
    "updates",
]


# --- helpers, fixtures


def cli(*args: str) -> Result:
    """Invoke ``agentmap ARGS``; an exception escaping the CLI (not an exit) fails the test."""
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def rows(text: str, title: str | None = None) -> list[list[str]]:
    """The body rows of a rich table (the one titled ``title``, else the first), cells stripped."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == title) if title else 0
    rule = next(i for i in range(start, len(lines)) if lines[i].startswith("━"))
    body = []
    for line in lines[rule + 1 :]:
        if "│" not in line:
            break
        body.append([cell.strip() for cell in line.split("│")])
    return body


def header(text: str) -> dict[str, str]:
    """``runs show``'s header lines (``Label     value``) up to the first blank line."""
    lines = text.split("\n\n")[0].splitlines()
    return {line[:10].strip(): line[10:] for line in lines}


@dataclass
class History:
    """A project whose store holds real runs; ``ids`` maps a name to its run id."""

    folder: Path
    config: Path
    store: RunStore
    ids: dict[str, str]

    @property
    def database(self) -> Path:
        return self.folder / "runs.db"

    def pin(self, name: str, **values: Any) -> None:
        """Overwrite columns of run ``name``'s row."""
        self.write(
            f"UPDATE {schema.RUNS} SET {assignments(values)} WHERE id = :pinned",
            {**values, "pinned": self.ids[name]},
        )

    def pin_checkpoint(self, name: str, seq: int, **values: Any) -> None:
        """Overwrite columns of run ``name``'s checkpoint ``seq``."""
        self.write(
            f"UPDATE {schema.CHECKPOINTS} SET {assignments(values)} "
            "WHERE run_id = :pinned AND seq = :pinned_seq",
            {**values, "pinned": self.ids[name], "pinned_seq": seq},
        )

    def pin_durations(self, name: str, durations: list[float]) -> None:
        """Give run ``name``'s node checkpoints these durations, in the order they were written."""
        for seq, duration in enumerate(durations, 1):
            self.pin_checkpoint(name, seq, duration=duration)

    def checkpoint(self, name: str, **values: Any) -> None:
        """Add a checkpoint row to run ``name``."""
        row: dict[str, Any] = dict.fromkeys(schema.CHECKPOINT_COLUMNS)
        row.update({"run_id": self.ids[name], "kind": "node", "branch": 0, "at": T0, **values})
        self.write(schema.INSERT_CHECKPOINT, row)

    def run_ids(self) -> list[str]:
        with self.store.reader() as connection:
            rows = connection.execute(f"SELECT id FROM {schema.RUNS} ORDER BY id")
        return [row["id"] for row in rows]

    def checkpointed_runs(self) -> set[str]:
        with self.store.reader() as connection:
            rows = connection.execute(f"SELECT DISTINCT run_id FROM {schema.CHECKPOINTS}")
        return {row["run_id"] for row in rows}

    def write(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """Run ``sql`` in a transaction of its own, through the store's writing connection."""
        with self.store.writer() as connection:
            connection.execute(sql, params)
            connection.commit()


def assignments(values: dict[str, Any]) -> str:
    """``a = :a, b = :b`` for the columns of ``values``."""
    return ", ".join(f"{column} = :{column}" for column in values)


@pytest.fixture(autouse=True)
def _utc() -> Iterator[None]:
    """Local time is UTC, so the start times shown are known."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture
def empty(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> History:
    """A project (the current directory) with graphs and a config whose store is ./runs.db.

    Checkpoints are written one by one (``durability: sync``), so tests can pin their rows;
    test_durability_modes.py checks that history reads the same from checkpoint pages.
    """
    config = write_file(
        "agentmap_config.yaml",
        "storage:\n  url: sqlite:///runs.db\n  durability: sync\nexecution:\n  max_steps: 5\n",
    )
    for name, graph_rows in {"hello": HELLO, "broken": BROKEN, "ship": SHIP, "loop": LOOP}.items():
        graph_csv(*graph_rows, name=f"{name}.csv")
    return History(project, config, open_run_store(config), {})


def record(history: History, name: str, graph: str, state: dict[str, Any]) -> str:
    """Run ``graph`` for real (recorded in the store) as run ``name``; return its id."""
    try:
        run_id = run_graph(graph, state, config=history.config).run_id
    except RunError as error:  # stopped part-way: recorded all the same
        assert error.result is not None
        run_id = error.result.run_id
    assert run_id is not None
    history.ids[name] = run_id
    return run_id


@pytest.fixture
def history(empty: History) -> History:
    """Four runs, one minute apart: hello succeeded, broken failed, loop stopped, ship waits."""
    record(empty, "hello", "hello.csv", {"input": "hi"})
    record(empty, "broken", "broken.csv", {"input": "x"})
    record(empty, "loop", "loop.csv", {"input": "x"})
    record(empty, "ship", "ship.csv", {"input": "v1"})
    for minute, (name, duration) in enumerate(
        [("hello", 0.0125), ("broken", 1.5), ("loop", 0.004), ("ship", 0.25)]
    ):
        started = T0 + 60 * minute
        finished = None if name == "ship" else started + duration
        empty.pin(name, started_at=started, finished_at=finished, duration=duration)
    return empty


def crash(history: History, name: str) -> None:
    """Make run ``name`` look like its process was killed mid-run: still ``running``, pid gone."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    history.pin(
        name,
        status="running",
        pid=process.pid,
        host=socket.gethostname(),
        process_start=None,
        summary=None,
        final_state=None,
        finished_at=None,
        duration=None,
    )


# --- list


def test_list_shows_runs_newest_first_with_status_start_duration_and_nodes(
    history: History,
) -> None:
    result = cli("runs", "list")
    assert result.exit_code == 0, result.output
    ids = history.ids
    assert rows(result.stdout) == [
        [ids["ship"][:12], "Ship", "waiting", "2027-01-15 08:03:00", "250.0 ms", "1"],
        [ids["loop"][:12], "Loop", "failed", "2027-01-15 08:02:00", "4.0 ms", "5"],
        [ids["broken"][:12], "Broken", "failed", "2027-01-15 08:01:00", "1.50 s", "2"],
        [ids["hello"][:12], "Hello", "succeeded", "2027-01-15 08:00:00", "12.5 ms", "2"],
    ]
    assert result.stdout.split("\n")[0].split() == [
        "Run", "┃", "Graph", "┃", "Status", "┃", "Started", "┃", "Duration", "┃", "Nodes",
    ]  # fmt: skip
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--graph", "Broken"], ["broken"]),
        (["-g", "Hello"], ["hello"]),
        (["--status", "failed"], ["loop", "broken"]),
        (["--status", "waiting"], ["ship"]),
        (["--status", "failed", "--graph", "Loop"], ["loop"]),
        (["--limit", "2"], ["ship", "loop"]),
        (["-n", "1"], ["ship"]),
        (["--limit", "0"], ["ship", "loop", "broken", "hello"]),
    ],
)
def test_list_filters_and_limits(history: History, flags: list[str], expected: list[str]) -> None:
    result = cli("runs", "list", *flags)
    assert result.exit_code == 0, result.output
    assert [row[0] for row in rows(result.stdout)] == [history.ids[n][:12] for n in expected]


def test_list_shows_a_run_whose_process_died_as_crashed(history: History) -> None:
    crash(history, "hello")
    result = cli("runs", "list", "--status", "crashed")
    assert result.exit_code == 0, result.output
    assert rows(result.stdout) == [
        [history.ids["hello"][:12], "Hello", "crashed", "2027-01-15 08:00:00", "", "2"]
    ]
    assert cli("runs", "list", "--status", "running").stderr.startswith("no runs with status")


def test_list_json_is_one_document_with_every_field_but_the_states(history: History) -> None:
    result = cli("runs", "list", "--json", "--limit", "2")
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)["runs"]
    assert [run["id"] for run in runs] == [history.ids["ship"], history.ids["loop"]]
    ship, loop = runs
    assert set(ship) == {
        "id", "graph_name", "graph_file", "entry", "graph_hash", "status", "started_at",
        "updated_at", "finished_at", "duration", "error", "pid", "host", "checkpoints",
        "version", "waiting", "parent_run_id", "parent_node", "nodes", "job", "tags",
    }  # fmt: skip
    assert (ship["status"], ship["started_at"], ship["finished_at"]) == ("waiting", T0 + 180, None)
    assert ship["waiting"] == [
        {"node": "Ask", "question": "Ship v1?", "kind": "approval", "options": []}
    ]
    assert (loop["nodes"], loop["error"], loop["duration"]) == (5, LOOP_ERROR, 0.004)


def test_list_of_an_empty_store_says_so_on_stderr(empty: History) -> None:
    result = cli("runs", "list")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == f"no runs in the run store {empty.database}\n"


def test_list_of_no_matching_runs_names_the_filters(history: History) -> None:
    result = cli("runs", "list", "--graph", "Nope", "--status", "cancelled")
    assert result.exit_code == 0
    assert result.stderr == (
        f"no runs of graph 'Nope' with status cancelled in the run store {history.database}\n"
    )


def test_list_json_of_an_empty_store_is_an_empty_list(empty: History) -> None:
    result = cli("runs", "list", "--json")
    assert (result.exit_code, json.loads(result.stdout)) == (0, {"runs": []})


@pytest.mark.parametrize("command", ["list", "export"])
def test_unknown_status_is_bad_input_naming_the_flag(empty: History, command: str) -> None:
    result = cli("runs", command, "--status", "done")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert (
        "Invalid value for '--status': 'done' is not a run status — use one of running, "
        "succeeded, failed, waiting, cancelled, crashed" in result.stderr
    )


def test_list_reads_the_store_of_the_config_given_with_dash_c(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no config here: the default store would be ./.agentmap/
    result = cli("runs", "list", "-c", str(history.config), "--limit", "1")
    assert [row[0] for row in rows(result.stdout)] == [history.ids["ship"][:12]]
    assert not (elsewhere / ".agentmap").exists()


def test_a_store_turned_off_is_a_store_error(empty: History) -> None:
    empty.config.write_text("storage:\n  url: none\n")
    result = cli("runs", "list")
    assert result.exit_code == 74
    assert result.stderr == (
        "error: storage.url is 'none', so no runs are stored — set it to a database\n"
    )


# --- show


def test_show_succeeded_run_header_path_and_final_state(history: History) -> None:
    result = cli("runs", "show", history.ids["hello"])
    assert result.exit_code == 0, result.output
    assert header(result.stdout) == {
        "Run": history.ids["hello"],
        "Graph": "Hello",
        "File": str(history.folder / "hello.csv"),
        "Status": "succeeded",
        "Started": "2027-01-15 08:00:00",
        "Duration": "12.5 ms",
    }
    path = rows(result.stdout, "Execution path")
    assert [(r[0], r[1], r[2], r[4]) for r in path] == [
        ("1", "Start", "success", ""),
        ("2", "Respond", "success", ""),
    ]
    assert rows(result.stdout, "Final state") == [
        ["input", "hi"],
        ["echoed", "hi"],
        ["last_action_success", "true"],
        ["reply", "hi"],
    ]
    assert "resume" not in result.stdout
    assert result.stderr == ""


def test_show_accepts_the_first_characters_of_an_id(history: History) -> None:
    result = cli("runs", "show", history.ids["broken"][:10])
    assert result.exit_code == 0, result.output
    assert header(result.stdout)["Run"] == history.ids["broken"]


def test_show_failed_run_shows_the_error_state_so_far_and_how_to_resume(history: History) -> None:
    result = cli("runs", "show", history.ids["loop"])
    assert result.exit_code == 0, result.output
    shown = header(result.stdout)
    assert (shown["Status"], shown["Error"]) == ("failed", LOOP_ERROR)
    assert [r[1] for r in rows(result.stdout, "Execution path")] == ["A", "B", "A", "B", "A"]
    assert rows(result.stdout, "State so far") == [
        ["input", "x"],
        ["last_action_success", "true"],
    ]
    assert result.stdout.endswith(
        f"\nto carry this run on: agentmap resume {history.ids['loop']}\n"
    )


def test_show_failed_node_outcome_and_error_in_the_path(history: History) -> None:
    result = cli("runs", "show", history.ids["broken"])
    path = rows(result.stdout, "Execution path")
    assert [(r[1], r[2], r[4]) for r in path] == [
        ("First", "success", ""),
        ("Second", "failure", "Second failed (failure agent)"),
    ]
    assert header(result.stdout)["Error"] == BROKEN_ERROR


def test_show_offers_no_resume_for_a_run_that_failed_at_a_failure_node(history: History) -> None:
    result = cli("runs", "show", history.ids["broken"])
    assert result.exit_code == 0, result.output
    assert "to carry this run on" not in result.stdout  # it would fail there again, by design


def test_show_waiting_run_lists_its_question_and_the_exact_resume_commands(
    history: History,
) -> None:
    run_id = history.ids["ship"]
    result = cli("runs", "show", run_id[:8])
    assert result.exit_code == 0, result.output
    assert header(result.stdout)["Status"] == "waiting"
    path = rows(result.stdout, "Execution path")
    assert [(r[0], r[1], r[2]) for r in path] == [
        ("1", "Prepare", "success"),
        ("", "Ask", "waiting"),
    ]
    assert rows(result.stdout, "State so far") == [
        ["input", "v1"],
        ["draft", "v1"],
        ["last_action_success", "true"],
    ]
    assert result.stdout.endswith(
        "\nwaiting for an answer:\n"
        "  Ask: Ship v1?\n"
        "answer with:\n"
        f"  agentmap resume {run_id} --approve\n"
        f"  agentmap resume {run_id} --reject\n"
    )


def test_show_resume_command_carries_the_config_given(history: History) -> None:
    result = cli("runs", "show", history.ids["ship"], "--config", str(history.config))
    assert f"agentmap resume {history.ids['ship']} --config {history.config} --approve" in (
        result.stdout
    )


def test_show_crashed_run_takes_its_path_and_state_from_checkpoints(history: History) -> None:
    crash(history, "hello")
    history.pin_durations("hello", [0.002, 0.0035])
    result = cli("runs", "show", history.ids["hello"])
    assert result.exit_code == 0, result.output
    assert (header(result.stdout)["Status"], header(result.stdout)["Duration"]) == ("crashed", "-")
    path = rows(result.stdout, "Execution path")
    assert [r[:4] for r in path] == [
        ["1", "Start", "success", "2.0 ms"],
        ["2", "Respond", "success", "3.5 ms"],
    ]
    assert rows(result.stdout, "State so far") == [
        ["input", "hi"],
        ["echoed", "hi"],
        ["last_action_success", "true"],
        ["reply", "hi"],
    ]
    assert f"agentmap resume {history.ids['hello']}" in result.stdout


def test_show_json_is_one_document_with_run_path_state_and_resume(history: History) -> None:
    run_id = history.ids["ship"]
    result = cli("runs", "show", run_id, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"run", "path", "state", "resume"}
    assert document["run"]["id"] == run_id
    assert document["run"]["initial_state"] == {"input": "v1"}
    assert [(s["node"], s["success"], s["attempt"]) for s in document["path"]] == [
        ("Prepare", True, 1)
    ]
    assert document["state"] == {"input": "v1", "draft": "v1", "last_action_success": True}
    assert document["resume"] == f"agentmap resume {run_id}"


def test_show_of_a_succeeded_run_has_no_resume_command_in_json(history: History) -> None:
    document = json.loads(cli("runs", "show", history.ids["hello"], "--json").stdout)
    assert document["resume"] is None
    assert document["state"]["reply"] == "hi"


def test_show_unknown_run_is_bad_input_with_a_clear_message(history: History) -> None:
    result = cli("runs", "show", "nope")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: no run 'nope' in the run store {history.database} — `agentmap runs list` "
        "shows the runs it holds\n"
    )


def test_show_ambiguous_prefix_is_bad_input(history: History) -> None:
    history.pin("hello", id="aaaa1111")
    history.pin("broken", id="aaaa2222")
    result = cli("runs", "show", "aaaa")
    assert result.exit_code == 2
    assert result.stderr == "error: 'aaaa' is the start of more than one run id — give more of it\n"


# --- stats


@pytest.fixture
def measured(empty: History) -> History:
    """Runs with known node durations: Hello x4, Broken x2, Loop x1 (A, B, A, B, A)."""
    for i in range(4):
        record(empty, f"hello{i}", "hello.csv", {"input": "hi"})
    for i in range(2):
        record(empty, f"broken{i}", "broken.csv", {"input": "x"})
    record(empty, "loop", "loop.csv", {"input": "x"})
    starts = [0.1, 0.2, 0.3, 0.4]
    responds = [0.01, 0.02, 0.03, 0.05]
    for i, (start, respond) in enumerate(zip(starts, responds, strict=True)):
        empty.pin_durations(f"hello{i}", [start, respond])
    # hello3 ran Respond a second time (as in a loop), and hello0's Start failed
    empty.checkpoint("hello3", seq=3, node="Respond", success=True, duration=0.09)
    empty.pin_checkpoint("hello0", 1, success=False)
    empty.checkpoint("hello1", seq=3, node="Respond", kind="join")  # joins are no node runs
    empty.pin_durations("broken0", [0.5, 1.0])
    empty.pin_durations("broken1", [0.7, 3.0])
    empty.pin_durations("loop", [0.001, 0.002, 0.003, 0.004, 0.005])
    return empty


# Worked out by hand. Percentiles interpolate linearly between the sorted durations x0..x(n-1)
# at position h = (n - 1) * q:
#   Hello/Start   [.1 .2 .3 .4]        p50: h=1.5  → .25    p95: h=2.85 → .3 + .85 * .1 = .385
#   Hello/Respond [.01 .02 .03 .05 .09] p50: h=2 → .03      p95: h=3.8  → .05 + .8 * .04 = .082
#   Broken/First  [.5 .7]              p50: .6              p95: h=.95  → .5 + .95 * .2 = .69
#   Broken/Second [1 3]                p50: 2               p95: 1 + .95 * 2 = 2.9
#   Loop/A        [.001 .003 .005]     p50: .003            p95: h=1.9  → .003 + .9 * .002 = .0048
#   Loop/B        [.002 .004]          p50: .003            p95: .002 + .95 * .002 = .0039
EXPECTED_STATS = [
    # graph, node, runs, count, success rate, p50, p95
    ("Broken", "First", 2, 2, 1.0, 0.6, 0.69),
    ("Broken", "Second", 2, 2, 0.0, 2.0, 2.9),
    ("Hello", "Respond", 4, 5, 1.0, 0.03, 0.082),
    ("Hello", "Start", 4, 4, 0.75, 0.25, 0.385),
    ("Loop", "A", 1, 3, 1.0, 0.003, 0.0048),
    ("Loop", "B", 1, 2, 1.0, 0.003, 0.0039),
]


def test_stats_table_per_graph_and_node(measured: History) -> None:
    result = cli("runs", "stats")
    assert result.exit_code == 0, result.output
    assert result.stdout.split("\n")[0].split() == [
        "Graph", "┃", "Node", "┃", "Runs", "┃", "Count", "┃", "Success", "┃", "p50", "┃", "p95",
    ]  # fmt: skip
    assert rows(result.stdout) == [
        ["Broken", "First", "2", "2", "100.0%", "600.0 ms", "690.0 ms"],
        ["Broken", "Second", "2", "2", "0.0%", "2.00 s", "2.90 s"],
        ["Hello", "Respond", "4", "5", "100.0%", "30.0 ms", "82.0 ms"],
        ["Hello", "Start", "4", "4", "75.0%", "250.0 ms", "385.0 ms"],
        ["Loop", "A", "1", "3", "100.0%", "3.0 ms", "4.8 ms"],
        ["Loop", "B", "1", "2", "100.0%", "3.0 ms", "3.9 ms"],
    ]


def test_stats_json_has_the_exact_figures(measured: History) -> None:
    result = cli("runs", "stats", "--json")
    assert result.exit_code == 0, result.output
    nodes = json.loads(result.stdout)["nodes"]
    assert [tuple(row.values()) for row in nodes] == [
        (g, n, runs, count, rate, pytest.approx(p50), pytest.approx(p95))
        for g, n, runs, count, rate, p50, p95 in EXPECTED_STATS
    ]
    assert list(nodes[0]) == list(STATS_COLUMNS)


def test_stats_for_one_graph(measured: History) -> None:
    result = cli("runs", "stats", "--graph", "Loop")
    assert [row[:4] for row in rows(result.stdout)] == [
        ["Loop", "A", "1", "3"],
        ["Loop", "B", "1", "2"],
    ]


def test_node_stats_is_a_dataframe_sorted_by_graph_then_node(measured: History) -> None:
    frame = node_stats(measured.store)
    assert list(frame.columns) == list(STATS_COLUMNS)
    assert [tuple(row) for row in frame.itertuples(index=False)] == [
        (g, n, runs, count, rate, pytest.approx(p50), pytest.approx(p95))
        for g, n, runs, count, rate, p50, p95 in EXPECTED_STATS
    ]


def test_stats_and_export_give_the_same_figures_on_sqlite_and_postgresql(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path], store_url: str
) -> None:
    config = write_file(
        "agentmap_config.yaml", f"storage:\n  url: {store_url}\n  durability: sync\n"
    )
    graph_csv(*BROKEN, name="broken.csv")
    history = History(project, config, open_run_store(config), {})
    for i in range(2):
        record(history, f"broken{i}", "broken.csv", {"input": "x"})
    history.pin_durations("broken0", [0.5, 1.0])
    history.pin_durations("broken1", [0.7, 3.0])
    assert [tuple(row) for row in node_stats(history.store).itertuples(index=False)] == [
        (g, n, runs, count, rate, pytest.approx(p50), pytest.approx(p95))
        for g, n, runs, count, rate, p50, p95 in EXPECTED_STATS[:2]
    ]
    result = cli("runs", "export", "--nodes", "--format", "parquet")
    assert result.exit_code == 0, result.output
    table = pq.read_table(project / "runs.parquet").to_pylist()
    assert [(r["node"], r["success"], r["duration"]) for r in table] == [
        ("First", True, 0.5),
        ("Second", False, 1.0),
        ("First", True, 0.7),
        ("Second", False, 3.0),
    ]


def test_stats_of_an_empty_store_says_so(empty: History) -> None:
    result = cli("runs", "stats")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == f"no node runs in the run store {empty.database}\n"
    assert json.loads(cli("runs", "stats", "--json").stdout) == {"nodes": []}


def test_stats_without_pandas_says_how_to_install_it(
    empty: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    result = cli("runs", "stats")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: computing run statistics needs pandas, which is not installed — install it "
        "with pip install 'agentmap-runner[analytics]'\n"
    )


# --- export


def iso(seconds: float) -> str:
    """What the csv export writes for a moment: UTC, microseconds, Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + (
        f".{round(seconds % 1 * 1e6):06d}Z"
    )


def test_export_csv_writes_one_row_per_run_oldest_first(history: History) -> None:
    result = cli("runs", "export")
    assert result.exit_code == 0, result.output
    assert result.stdout == "wrote 4 runs to runs.csv\n"
    frame = pd.read_csv(history.folder / "runs.csv", keep_default_na=False)
    assert list(frame.columns) == RUN_COLUMNS
    assert list(frame["id"]) == [history.ids[n] for n in ("hello", "broken", "loop", "ship")]
    assert list(frame["graph"]) == ["Hello", "Broken", "Loop", "Ship"]
    assert list(frame["graph_file"]) == [
        str(history.folder / name) for name in ("hello.csv", "broken.csv", "loop.csv", "ship.csv")
    ]
    assert list(frame["status"]) == ["succeeded", "failed", "failed", "waiting"]
    assert list(frame["started_at"]) == [
        "2027-01-15T08:00:00.000000Z",
        "2027-01-15T08:01:00.000000Z",
        "2027-01-15T08:02:00.000000Z",
        "2027-01-15T08:03:00.000000Z",
    ]
    assert list(frame["finished_at"]) == [
        "2027-01-15T08:00:00.012500Z",
        "2027-01-15T08:01:01.500000Z",
        "2027-01-15T08:02:00.004000Z",
        "",
    ]
    assert list(frame["duration"]) == [0.0125, 1.5, 0.004, 0.25]
    assert list(frame["error"]) == ["", BROKEN_ERROR, LOOP_ERROR, ""]
    assert [json.loads(s) for s in frame["initial_state"]] == [
        {"input": "hi"},
        {"input": "x"},
        {"input": "x"},
        {"input": "v1"},
    ]
    assert json.loads(frame["final_state"][0]) == {
        "input": "hi",
        "echoed": "hi",
        "last_action_success": True,
        "reply": "hi",
    }
    assert frame["final_state"][3] == ""  # a waiting run has no final state yet


def test_export_iso_timestamps_are_utc_to_the_microsecond(history: History) -> None:
    history.pin("hello", started_at=T0 + 0.25)
    cli("runs", "export", "--graph", "Hello")
    frame = pd.read_csv(history.folder / "runs.csv")
    assert frame["started_at"][0] == iso(T0 + 0.25) == "2027-01-15T08:00:00.250000Z"


def test_export_parquet_has_timestamp_columns_and_the_same_rows(history: History) -> None:
    result = cli("runs", "export", "--format", "parquet", "--status", "failed")
    assert result.exit_code == 0, result.output
    assert result.stdout == "wrote 2 runs to runs.parquet\n"
    table = pq.read_table(history.folder / "runs.parquet")
    assert table.column_names == RUN_COLUMNS
    assert table.schema.field("started_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("finished_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("duration").type == pa.float64()
    assert pa.types.is_string(table.schema.field("error").type) or pa.types.is_large_string(
        table.schema.field("error").type
    )
    data = table.to_pylist()
    assert [row["id"] for row in data] == [history.ids["broken"], history.ids["loop"]]
    assert [row["started_at"].timestamp() for row in data] == [T0 + 60, T0 + 120]
    assert [row["error"] for row in data] == [BROKEN_ERROR, LOOP_ERROR]


def test_export_nodes_writes_one_row_per_node_run(history: History) -> None:
    history.pin_durations("broken", [0.5, 1.0])
    result = cli("runs", "export", "--nodes", "--graph", "Broken", "-o", "nodes.csv")
    assert result.exit_code == 0, result.output
    assert result.stdout == "wrote 2 node runs to nodes.csv\n"
    frame = pd.read_csv(history.folder / "nodes.csv", keep_default_na=False)
    assert list(frame.columns) == NODE_COLUMNS
    run_id = history.ids["broken"]
    picked = frame[["run_id", "graph", "seq", "branch", "node", "attempt", "success", "error"]]
    assert [tuple(row) for row in picked.itertuples(index=False)] == [
        (run_id, "Broken", 1, 0, "First", 1, True, ""),
        (run_id, "Broken", 2, 0, "Second", 1, False, "Second failed (failure agent)"),
    ]
    assert list(frame["duration"]) == [0.5, 1.0]
    assert [json.loads(u) for u in frame["updates"]] == [
        {"a": "x", "last_action_success": True},
        {"last_action_success": False, "error": "Second failed (failure agent)"},
    ]
    assert all(0 < started < 1 for started in frame["started"])  # seconds into the run


def test_export_nodes_parquet_of_a_status(history: History) -> None:
    result = cli("runs", "export", "--nodes", "--status", "waiting", "-o", "waiting.parquet")
    assert result.exit_code == 0, result.output  # the format comes from the suffix
    table = pq.read_table(history.folder / "waiting.parquet")
    assert table.column_names == NODE_COLUMNS
    assert table.schema.field("success").type == pa.bool_()
    assert [(r["node"], r["success"]) for r in table.to_pylist()] == [("Prepare", True)]


def test_export_of_crashed_runs_reads_their_process(history: History) -> None:
    crash(history, "broken")
    # a run whose process can't be told (no pid) counts as still running; with it, the pid
    # column has a gap, which pandas fills with NaN, making the pids floats
    history.pin("hello", status="running", pid=None)
    cli("runs", "export", "--status", "crashed")
    frame = pd.read_csv(history.folder / "runs.csv")
    assert (list(frame["id"]), list(frame["status"])) == ([history.ids["broken"]], ["crashed"])


def test_export_refuses_to_overwrite_a_file_without_force(history: History) -> None:
    existing = history.folder / "runs.csv"
    existing.write_text("keep me\n")
    result = cli("runs", "export")
    assert result.exit_code == 2
    assert (
        "Invalid value for '--output': runs.csv already exists — pass --force to replace it, "
        "or --output another file" in result.stderr
    )
    assert existing.read_text() == "keep me\n"
    assert cli("runs", "export", "--force").exit_code == 0
    assert len(pd.read_csv(existing)) == 4


def test_export_into_a_missing_folder_is_bad_input(history: History) -> None:
    result = cli("runs", "export", "-o", "no/such/runs.csv")
    assert result.exit_code == 2
    assert "Invalid value for '--output': no folder no/such to write into" in result.stderr


def test_export_unknown_format_is_bad_input(empty: History) -> None:
    result = cli("runs", "export", "--format", "xlsx")
    assert result.exit_code == 2
    assert "Invalid value for '--format' / '-f': 'xlsx' is not an export format" in result.stderr
    assert not (empty.folder / "runs.xlsx").exists()


def test_export_parquet_without_pyarrow_says_how_to_install_it(
    empty: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    result = cli("runs", "export", "--format", "parquet")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: exporting runs to parquet needs pyarrow, which is not installed — install it "
        "with pip install 'agentmap-runner[analytics]'\n"
    )
    assert not (empty.folder / "runs.parquet").exists()


# --- prune


def ended(when: float) -> dict[str, float]:
    """Columns that make a run look as if it started and ended (or was last heard of) ``when``."""
    return {"started_at": when, "finished_at": when, "updated_at": when}


def test_prune_deletes_old_finished_runs_and_keeps_waiting_and_recent_ones(
    history: History,
) -> None:
    old = time.time() - 40 * 86400
    for name in ("hello", "broken", "ship"):
        history.pin(name, **ended(old))
    history.pin("loop", **ended(time.time() - 10 * 86400))
    result = cli("runs", "prune")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"deleted 2 runs older than 30 days from {history.database}\n"
    kept = sorted([history.ids["ship"], history.ids["loop"]])
    assert history.run_ids() == kept
    assert history.checkpointed_runs() == set(kept)  # the deleted runs' checkpoints went too


def test_prune_days_overrides_the_retention(history: History) -> None:
    history.pin("loop", **ended(time.time() - 10 * 86400))
    result = cli("runs", "prune", "--days", "7")
    assert result.stdout == f"deleted 1 run older than 7 days from {history.database}\n"
    assert history.ids["loop"] not in history.run_ids()


def test_prune_deletes_crashed_runs_but_not_running_ones(history: History) -> None:
    crash(history, "hello")
    history.pin("broken", status="running")  # this very process: still running
    for name in ("hello", "broken"):
        history.pin(name, **ended(time.time() - 40 * 86400))
    assert cli("runs", "prune").stdout.startswith("deleted 1 run ")
    assert history.ids["broken"] in history.run_ids()


def test_prune_counts_runs_the_daily_retention_would_have_deleted(history: History) -> None:
    """Opening a store prunes it once a day; `runs prune` must still report what it deleted."""
    history.pin("hello", **ended(time.time() - 40 * 86400))
    history.write(f"DELETE FROM {schema.META} WHERE key = 'last_pruned'")  # so it's due
    assert cli("runs", "prune").stdout.startswith("deleted 1 run ")


def test_prune_with_retention_zero_keeps_everything_unless_days_given(history: History) -> None:
    history.config.write_text("storage:\n  url: sqlite:///runs.db\n  retention_days: 0\n")
    history.pin("hello", **ended(time.time() - 400 * 86400))
    result = cli("runs", "prune")
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == (
        "storage.retention_days is 0 (keep every run), so nothing was deleted — pass --days N "
        "to prune now\n"
    )
    assert len(history.run_ids()) == 4
    assert cli("runs", "prune", "--days", "365").stdout.startswith("deleted 1 run ")


def test_prune_negative_days_is_bad_input(empty: History) -> None:
    result = cli("runs", "prune", "--days", "-1")
    assert result.exit_code == 2
    assert "Invalid value for '--days'" in result.stderr


# --- help


@pytest.mark.parametrize("command", ["list", "show", "stats", "export", "prune"])
def test_every_runs_command_has_help_text(command: str) -> None:
    result = cli("runs", command, "--help")
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith(f"Usage: agentmap runs {command}")
    assert len(lines[1].strip()) > 30
    assert "--config" in result.output
    assert "--debug" in result.output


def test_runs_without_a_command_lists_the_commands() -> None:
    result = cli("runs")
    assert all(f"  {name} " in result.output for name in ("list", "show", "stats", "export"))


# --- the installed command, as a real process

AGENTMAP = shutil.which("agentmap") or str(Path(sys.executable).parent / "agentmap")


def real(*args: str, cwd: Path, module: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "agentmap"] if module else [AGENTMAP]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMAP_")}
    env.update(COLUMNS="200", NO_COLOR="1", TZ="UTC")
    return subprocess.run(
        [*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_installed_command_lists_runs_it_recorded(empty: History) -> None:
    ran = real("run", "hello.csv", "--state", '{"input": "hi"}', "--json", cwd=empty.folder)
    assert ran.returncode == 0, ran.stderr
    run_id = json.loads(ran.stdout)["run_id"]
    listed = real("runs", "list", cwd=empty.folder)
    assert listed.returncode == 0, listed.stderr
    assert [(r[0], r[1], r[2], r[5]) for r in rows(listed.stdout)] == [
        (run_id[:12], "Hello", "succeeded", "2")
    ]
    assert listed.stderr == ""


def test_python_dash_m_runs_list_json_and_bad_status(history: History) -> None:
    listed = real("runs", "list", "--json", "--graph", "Hello", cwd=history.folder, module=True)
    assert listed.returncode == 0, listed.stderr
    assert [run["id"] for run in json.loads(listed.stdout)["runs"]] == [history.ids["hello"]]
    bad = real("runs", "list", "--status", "ok", cwd=history.folder, module=True)
    assert bad.returncode == 2
    assert "'ok' is not a run status" in bad.stderr
    assert "Traceback" not in bad.stderr
