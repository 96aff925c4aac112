"""Each ``storage.durability`` mode keeps the guarantee it states, with real processes killed.

A run killed at a random moment and resumed ends in the state an undisturbed run reaches, and
runs again at most the nodes its mode says it may lose:

- ``sync``: only the node that was running;
- ``async``: also the checkpoints not yet committed — ``flush_batch`` of them at the most;
- ``exit``: every node (it writes nothing until the run stops).

Whatever the mode, a run that stops on its own — cancelled, failed, waiting for a person — has
every checkpoint committed before it returns.
"""

from __future__ import annotations

import collections
import json
import random
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from agentmap import export_runs, resume_run, run_graph, runs_stats
from agentmap.api import open_run_store
from agentmap.store import schema
from agentmap.store.analytics import node_counts
from agentmap.store.codec import dumps
from helpers import clean_env, csv_row, ctrl_c_works, signal_when
from test_durable import AGENTMAP, agentmap, ran

NODES = 24
BATCH = 4  # async: the most checkpoints that may be uncommitted at any moment

# Each node logs its name to ran.log (to count how often each node ran), then takes 10 ms;
# started-<node> marks that a node began; fail-<node> makes that node fail.
STEP_AGENT = """
import time
from pathlib import Path

from agentmap import Agent, Failure


class StepAgent(Agent):
    def process(self, inputs):
        with open("ran.log", "a", encoding="utf-8") as log:
            log.write(self.name + "\\n")
        Path(f"started-{self.name}").write_text("")
        time.sleep(0.01)
        if Path(f"fail-{self.name}").exists():
            return Failure(f"{self.name} is told to fail")
        return "+".join([self.name, *(str(v) for v in inputs.values())])
"""


def chain(n: int = NODES) -> list[str]:
    rows = []
    for i in range(n):
        source = "input" if i == 0 else f"v{i - 1}"
        edge = f"N{i + 1}" if i + 1 < n else ""
        rows.append(csv_row("G", f"N{i}", "step", edge=edge, inputs=source, output=f"v{i}"))
    return rows


@pytest.fixture
def mode_project(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> Callable[[str], Path]:
    """A project whose store uses the given durability mode, with a chain of NODES nodes."""
    write_file("agents/steps.py", STEP_AGENT)
    graph_csv(*chain())

    def configure(mode: str) -> Path:
        write_file(
            "agentmap_config.yaml",
            f"storage:\n  durability: {mode}\n  flush_batch: {BATCH}\n  flush_interval: 0.05\n",
        )
        return project

    return configure


def expected_state() -> dict[str, str]:
    state = {"input": "x", "last_action_success": True}
    value = "x"
    for i in range(NODES):
        value = f"N{i}+{value}"
        state[f"v{i}"] = value
    return state


def start_run(project: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(AGENTMAP), "run", "flow.csv", "--state", '"x"', "--json"],
        cwd=project,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_works,
    )


def stop_after(project: Path, how: signal.Signals, nodes_started: int) -> str:
    """Run the chain, send ``how`` once ``nodes_started`` nodes began; the run's id."""
    for marker in project.glob("started-*"):
        marker.unlink()
    signal_when(start_run(project), project / f"started-N{nodes_started - 1}", how)
    (run,) = open_run_store().list(limit=1)
    return run.id


def twice(names: list[str]) -> list[str]:
    return sorted(name for name, count in collections.Counter(names).items() if count > 1)


# The most nodes a kill may make run again, by mode: the running one, plus what was not yet
# committed (async: BATCH at most; exit: everything that ran).
RERUN_BOUND = {"sync": 1, "async": BATCH + 1, "exit": NODES}


@pytest.mark.parametrize("mode", ["sync", "async", "exit"])
def test_a_killed_run_resumes_to_the_same_state_rerunning_only_what_its_mode_may_lose(
    mode_project: Callable[[str], Path], mode: str
) -> None:
    project = mode_project(mode)
    chances = random.Random(f"durability-{mode}")
    for _ in range(3):
        (project / "ran.log").unlink(missing_ok=True)
        run_id = stop_after(project, signal.SIGKILL, chances.randint(2, NODES - 2))
        assert open_run_store().get(run_id).status == "crashed"
        done = agentmap(project, "resume", run_id, "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["final_state"] == expected_state()
        log = ran(project)
        assert sorted(set(log)) == sorted(f"N{i}" for i in range(NODES))  # every node ran
        assert len(twice(log)) <= RERUN_BOUND[mode], (mode, twice(log))
        if mode == "sync":
            assert len(log) <= NODES + 1


@pytest.mark.parametrize("mode", ["sync", "async", "exit"])
def test_a_cancelled_run_has_every_checkpoint_committed_whatever_the_mode(
    mode_project: Callable[[str], Path], mode: str
) -> None:
    project = mode_project(mode)
    run_id = stop_after(project, signal.SIGINT, 6)
    with open_run_store() as store:
        record, checkpoints = store.get(run_id), store.checkpoints(run_id)
    assert record.status == "cancelled"
    finished = [c.node for c in checkpoints]
    assert finished == [f"N{i}" for i in range(len(finished))]
    assert len(finished) >= 5  # N0..N4 had finished before N5 started
    done = agentmap(project, "resume", run_id, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["final_state"] == expected_state()
    assert len(twice(ran(project))) <= 1  # only the node Ctrl-C interrupted


@pytest.mark.parametrize("mode", ["sync", "async", "exit"])
def test_a_failed_run_is_committed_and_resumes_at_its_failed_node(
    mode_project: Callable[[str], Path], mode: str
) -> None:
    project = mode_project(mode)
    (project / "fail-N7").write_text("")
    failed = agentmap(project, "run", "flow.csv", "--state", '"x"', "--json")
    assert failed.returncode == 1, failed.stderr
    run_id = json.loads(failed.stdout)["run_id"]
    with open_run_store() as store:
        checkpoints = store.checkpoints(run_id)
    assert len(checkpoints) == NODES  # the chain goes on past N7's failure: all committed
    assert [c.node for c in checkpoints if c.success is False] == ["N7"]
    (project / "fail-N7").unlink()
    (project / "ran.log").unlink()
    done = agentmap(project, "resume", run_id, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["final_state"] == expected_state()
    assert ran(project) == [f"N{i}" for i in range(7, NODES)]  # from the failed node on


def test_history_reads_the_same_checkpoints_whatever_the_mode(
    mode_project: Callable[[str], Path], tmp_path: Path
) -> None:
    """sync writes a row per checkpoint; async and exit write pages: readers can't tell."""
    seen = {}
    for mode in ("sync", "async", "exit"):
        project = mode_project(mode)
        url = f"sqlite:///{tmp_path / mode}.db"
        config = {"storage": {"url": url, "durability": mode}}
        run_id = run_graph(project / "flow.csv", "x", config=config).run_id
        with open_run_store(config) as store:
            checkpoints = store.checkpoints(run_id)
            record = store.get(run_id)
            counts = node_counts(store, [run_id])
        assert record.summary is not None
        results = [(r["node"], r["success"]) for r in record.summary["node_results"]]
        stats = runs_stats(config=config)[["node", "count", "success_rate"]]
        exported = export_runs(tmp_path / f"{mode}.csv", nodes=True, config=config)
        seen[mode] = (
            [(c.seq, c.kind, c.node, c.success, c.updates, c.next) for c in checkpoints],
            [isinstance(c.started, float) and isinstance(c.duration, float) for c in checkpoints],
            results,
            counts[run_id],
            stats.to_dict(orient="records"),
            exported,
        )
    assert seen["async"] == seen["sync"] == seen["exit"]
    assert seen["sync"][3] == NODES == seen["sync"][5]


def test_pages_read_back_and_rewind_on_every_database(
    mode_project: Callable[[str], Path], store_url: str
) -> None:
    """The same run, one store (SQLite or PostgreSQL): one checkpoint row per node (sync) or
    pages (async, exit) read back alike, and a failed run rewinds into the middle of a page."""
    seen = {}
    for mode in ("sync", "async", "exit"):
        project = mode_project(mode)
        (project / "fail-N7").write_text("")
        config = {"storage": {"url": store_url, "durability": mode, "flush_batch": BATCH}}
        failed = run_graph(project / "flow.csv", "x", config=config)
        assert failed.status == "failed"
        (project / "fail-N7").unlink()
        with open_run_store(config) as store:
            before = store.checkpoints(failed.run_id)
            counts = node_counts(store, [failed.run_id])[failed.run_id]
        (project / "ran.log").unlink()
        done = resume_run(failed.run_id, config=config)
        assert done.final_state == expected_state()
        assert ran(project) == [f"N{i}" for i in range(7, NODES)]  # from the failed node on
        with open_run_store(config) as store:
            after = store.checkpoints(failed.run_id)
        seen[mode] = (
            [(c.seq, c.node, c.success, c.updates, c.next) for c in before],
            counts,
            [(c.seq, c.node, c.success) for c in after],
        )
    assert seen["async"] == seen["sync"] == seen["exit"]
    assert seen["sync"][1] == NODES


SHAPES = """
from agentmap import Failure, agent


@agent("make_list")
def make_list(inputs):
    return ["first"]


@agent("grow")
def grow(inputs):
    inputs["items"].append("added later")  # the very list the state holds
    return "grown"


@agent("pair")
def pair(inputs):
    return {"left": 1, "right": 2.5}


@agent("refuse")
def refuse(inputs):
    return Failure("refused")
"""


@pytest.fixture
def shapes_graph(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> Path:
    """A graph whose nodes leave checkpoints of every shape: a list a later node changes in
    place, two outputs, none, a failure routed on, text."""
    write_file("agents/shapes.py", SHAPES)
    return graph_csv(
        csv_row("S", "Start", "make_list", edge="Grow", output="items"),
        csv_row("S", "Grow", "grow", edge="Pair", inputs="items", output="grown"),
        csv_row("S", "Pair", "pair", edge="Quiet", output="left|right"),
        csv_row("S", "Quiet", "echo", edge="Refuse"),
        csv_row("S", "Refuse", "refuse", failure="End", output="never"),
        csv_row("S", "End", "echo", inputs="grown", output="done"),
    )


def test_checkpoints_of_every_shape_read_back_the_same_whatever_the_mode(
    shapes_graph: Path, tmp_path: Path
) -> None:
    seen = {}
    for mode in ("sync", "async", "exit"):
        config = {"storage": {"url": f"sqlite:///{tmp_path / mode}.db", "durability": mode}}
        run_id = run_graph(shapes_graph, {}, config=config).run_id
        with open_run_store(config) as store:
            checkpoints = store.checkpoints(run_id)
        seen[mode] = [c._replace(started=None, duration=None) for c in checkpoints]
    assert seen["async"] == seen["sync"] == seen["exit"]
    assert [(c.node, c.success, c.updates, c.next) for c in seen["sync"]] == [
        ("Start", True, {"items": ["first"], "last_action_success": True}, ("Grow",)),
        ("Grow", True, {"grown": "grown", "last_action_success": True}, ("Pair",)),
        ("Pair", True, {"left": 1, "right": 2.5, "last_action_success": True}, ("Quiet",)),
        ("Quiet", True, {"last_action_success": True}, ("Refuse",)),
        ("Refuse", False, {"last_action_success": False, "error": "refused"}, ("End",)),
        ("End", True, {"done": "grown", "last_action_success": True}, ()),
    ]


@pytest.mark.parametrize("mode", ["sync", "async", "exit"])
def test_a_checkpoint_keeps_what_its_node_wrote_though_a_later_node_changes_it_in_place(
    shapes_graph: Path, tmp_path: Path, mode: str
) -> None:
    config = {"storage": {"url": f"sqlite:///{tmp_path / mode}.db", "durability": mode}}
    result = run_graph(shapes_graph, {}, config=config)
    assert result.final_state["items"] == ["first", "added later"]
    with open_run_store(config) as store:
        start = store.checkpoints(result.run_id)[0]
    assert (start.node, start.updates) == (
        "Start",
        {"items": ["first"], "last_action_success": True},
    )


def as_version_7_pages(url: str, run_id: str) -> None:
    """Rewrite run ``run_id``'s checkpoints as the one page store version 7 would have written:
    rows of every column, ``updates`` as JSON text, times as the text of the numbers."""
    with open_run_store({"storage": {"url": url}}) as store:
        rows = [
            [
                *(c.seq, c.kind, c.branch, c.node, c.attempt, c.success, c.error),
                None if c.started is None else repr(c.started),
                None if c.duration is None else repr(c.duration),
                None if c.updates is None else dumps(c.updates),
                list(c.next) if c.kind == "node" else None,
                c.fork,
                list(c.children) or None,
                list(c.merged) or None,
                None,
            ]
            for c in store.checkpoints(run_id)
        ]
        with store.writer() as connection:
            connection.execute(f"DELETE FROM {schema.PAGES} WHERE run_id = :id", {"id": run_id})
            page = {
                "run_id": run_id,
                "first_seq": rows[0][0],
                "last_seq": rows[-1][0],
                "nodes": sum(row[1] == "node" for row in rows),
                "body": json.dumps(rows),
                "at": 0.0,
            }
            connection.execute(schema.INSERT_PAGE, page)
            connection.commit()


def test_pages_written_before_store_version_8_read_and_rewind_as_before(
    mode_project: Callable[[str], Path], tmp_path: Path
) -> None:
    project = mode_project("async")
    (project / "fail-N7").write_text("")
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = {"storage": {"url": url, "durability": "async", "flush_batch": BATCH}}
    failed = run_graph(project / "flow.csv", "x", config=config)
    (project / "fail-N7").unlink()
    with open_run_store(config) as store:
        written = store.checkpoints(failed.run_id)
    as_version_7_pages(url, failed.run_id)
    with open_run_store(config) as store:
        assert store.checkpoints(failed.run_id) == written
        assert node_counts(store, [failed.run_id])[failed.run_id] == NODES
    (project / "ran.log").unlink()
    done = resume_run(failed.run_id, config=config)  # cuts the old page at N7
    assert done.final_state == expected_state()
    assert ran(project) == [f"N{i}" for i in range(7, NODES)]
    with open_run_store(config) as store:
        after = store.checkpoints(failed.run_id)
    assert after[:7] == written[:7]
    assert [c.node for c in after] == [f"N{i}" for i in range(NODES)]
