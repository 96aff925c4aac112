"""The run store: what a run records, checkpoints, the JSON codec, migrations, broken stores,
and many processes sharing one store.

Store tests take the ``store_url`` fixture (conftest.py), so each runs on a SQLite file and —
when AGENTMAP_TEST_DATABASE_URL names a PostgreSQL database — on PostgreSQL too. Graphs run
for real through ``run_graph``; processes that crash or compete are real subprocesses.
"""

from __future__ import annotations

import contextlib
import gc
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from agentmap import run_graph, state
from agentmap.api import open_run_store
from agentmap.config import settings_from_dict
from agentmap.container import build_container
from agentmap.exceptions import ConfigError, RunCancelled, RunError, StateError, StoreError
from agentmap.results import ExecutionResult
from agentmap.store import schema
from agentmap.store.codec import UnsavableValue, dumps, loads
from agentmap.store.records import Checkpoint, RunRecord
from agentmap.store.runstore import RunStore
from helpers import run_in

HELLO = (
    "Hello,Start,echo,Respond,,,input,echoed,,,Echo the input",
    "Hello,Respond,default,,,,echoed,response,Say hello,,Describe what it was asked",
)
RESPONSE = "Respond was asked: Say hello (inputs: echoed='hi')"
AGENTS = '''
    """Agents the store tests run: they stop runs, wait, and return values JSON can't hold."""

    import time
    from pathlib import Path

    from agentmap import agent


    @agent("interrupt")
    def interrupt(inputs):
        raise KeyboardInterrupt


    @agent("make_set")
    def make_set(inputs):
        return {"a"}


    @agent("slow")
    def slow(inputs):
        Path(inputs["mark"]).write_text("in the node")
        time.sleep(60)
        return "never"
'''
RUN_ONE = """
import sys
from agentmap import run_graph

# durability sync: every checkpoint made is committed before the next node starts
config = {"storage": {"url": sys.argv[3], "durability": "sync"}}
run_graph(sys.argv[1], {"mark": sys.argv[2]}, config=config)
"""
GraphFile = Callable[..., Path]


@pytest.fixture
def agents(project: Path, write_file: Callable[..., Path]) -> Path:
    """The project's agents folder, holding the agents ``AGENTS`` defines."""
    write_file("agents/store_agents.py", AGENTS)
    return project / "agents"


def stored_run(url: str, run_id: str) -> tuple[RunRecord, list[Checkpoint]]:
    """The record of run ``run_id`` in the store at ``url``, and its checkpoints."""
    with RunStore.open(url) as store:
        return store.get(run_id), store.checkpoints(run_id)


def outcome(graph: Path, state: Any, config: Mapping[str, Any]) -> ExecutionResult:
    """The run's result, also when it stopped with an error (the error carries it)."""
    try:
        return run_graph(graph, state, config=config)
    except (RunError, RunCancelled) as error:
        assert error.result is not None
        return error.result


# --- what a run records


def test_run_is_recorded_with_its_graph_states_status_and_summary(
    project: Path, graph_csv: GraphFile, store_url: str
) -> None:
    graph = graph_csv(*HELLO)
    result = run_graph(graph, {"input": "hi"}, config={"storage": {"url": store_url}})
    record, _ = stored_run(store_url, result.run_id)
    assert (record.id, record.graph_name, record.graph_file, record.entry) == (
        result.run_id,
        "Hello",
        str(graph),
        "Start",
    )
    assert record.status == "succeeded" and record.error is None
    assert record.initial_state == {"input": "hi"}
    assert record.final_state == result.final_state
    assert record.final_state["response"] == RESPONSE
    assert record.summary == result.summary.to_dict()
    assert record.finished_at is not None
    assert record.started_at <= record.finished_at == record.updated_at
    assert record.duration == result.summary.total_duration
    assert (record.pid, record.checkpoints, record.waiting) == (os.getpid(), True, ())
    assert set(record.node_hashes) == {"Start", "Respond"}


def test_every_node_leaves_a_checkpoint_of_its_writes_and_next_node(
    project: Path, graph_csv: GraphFile, store_url: str
) -> None:
    graph = graph_csv(*HELLO)
    result = run_graph(graph, {"input": "hi"}, config={"storage": {"url": store_url}})
    _, checkpoints = stored_run(store_url, result.run_id)
    assert [c._replace(started=None, duration=None) for c in checkpoints] == [
        Checkpoint(
            1, "node", 0, "Start", success=True,
            updates={"echoed": "hi", "last_action_success": True}, next=("Respond",),
        ),
        Checkpoint(
            2, "node", 0, "Respond", success=True,
            updates={"response": RESPONSE, "last_action_success": True}, next=(),
        ),
    ]  # fmt: skip
    assert all(c.started is not None and c.duration is not None for c in checkpoints)


def test_failed_node_checkpoint_holds_its_error_and_failure_route(
    project: Path, graph_csv: GraphFile, store_url: str
) -> None:
    graph = graph_csv(
        "Flaky,Start,failure,,Done,Recover,,out,Disk full,,",
        "Flaky,Recover,success,,,,,fixed,,,",
        "Flaky,Done,success,,,,,fixed,,,",
    )
    result = run_graph(graph, {}, config={"storage": {"url": store_url}})
    _, checkpoints = stored_run(store_url, result.run_id)
    first = checkpoints[0]
    assert (first.node, first.success, first.error, first.next) == (
        "Start",
        False,
        "Disk full",
        ("Recover",),
    )
    assert first.updates == {"last_action_success": False, "error": "Disk full"}
    assert [c.node for c in checkpoints] == ["Start", "Recover"]


def test_graph_hash_is_the_same_for_every_run_of_an_unchanged_file(
    project: Path, graph_csv: GraphFile, store_url: str
) -> None:
    graph = graph_csv(*HELLO)
    config = {"storage": {"url": store_url}}
    ids = [run_graph(graph, {"input": text}, config=config).run_id for text in ("a", "b")]
    graph_csv(*HELLO)  # written again, byte for byte
    ids.append(run_graph(graph, {"input": "c"}, config=config).run_id)
    hashes = {stored_run(store_url, run_id)[0].graph_hash for run_id in ids}
    assert len(hashes) == 1 and len(set(ids)) == 3


@pytest.mark.parametrize(
    ("old", "new", "changes"),
    [
        ("Say hello", "Say goodbye", True),  # a node's prompt
        ("default,,,,echoed,response", "default,,,,echoed,answer", True),  # its output
        ("Describe what it was asked", "Says something", False),  # descriptions don't count
    ],
    ids=["prompt", "output-field", "description"],
)
def test_graph_hash_changes_with_the_graph_definition(
    project: Path, graph_csv: GraphFile, store_url: str, old: str, new: str, changes: bool
) -> None:
    config = {"storage": {"url": store_url}}
    before = run_graph(graph_csv(*HELLO), {"input": "hi"}, config=config).run_id
    edited = graph_csv(*(row.replace(old, new) for row in HELLO))
    after = run_graph(edited, {"input": "hi"}, config=config).run_id
    hashes = [stored_run(store_url, run_id)[0].graph_hash for run_id in (before, after)]
    assert (hashes[0] != hashes[1]) is changes


@pytest.mark.parametrize(
    ("rows", "extra", "status", "error"),
    [
        (HELLO, {}, "succeeded", None),
        (
            ("Broken,Start,failure,,,,,out,,,",),
            {},
            "failed",
            "node 'Start' failed: Start failed (failure agent)",
        ),
        (
            ("Loop,Start,echo,Start,,,input,input,,,",),
            {"execution": {"max_steps": 3}},
            "failed",
            "graph 'Loop' ran 3 steps without finishing (a loop that never exits?) — fix the "
            "routing or raise execution.max_steps",
        ),
        (("Ask,Start,suspend,,,,input,answer,Go on?,,",), {}, "waiting", None),
        (
            ("Stop,Start,echo,Halt,,,input,echoed,,,", "Stop,Halt,interrupt,,,,echoed,out,,,"),
            {},
            "cancelled",
            "run of graph 'Stop' was cancelled",
        ),
    ],
    ids=["succeeded", "failed-node", "failed-run-error", "waiting", "cancelled"],
)
def test_how_a_run_ended_is_its_recorded_status(
    agents: Path,
    graph_csv: GraphFile,
    store_url: str,
    rows: tuple[str, ...],
    extra: dict[str, Any],
    status: str,
    error: str | None,
) -> None:
    result = outcome(graph_csv(*rows), {"input": "hi"}, {"storage": {"url": store_url}, **extra})
    record, _ = stored_run(store_url, result.run_id)
    assert (record.status, record.error) == (status, error)
    assert record.summary is not None
    assert record.summary["success"] is (status == "succeeded")


def test_waiting_run_records_its_question_and_no_end(
    project: Path, graph_csv: GraphFile, store_url: str
) -> None:
    graph = graph_csv("Ask,Start,suspend,,,,input,answer,Go on?,,")
    result = run_graph(graph, {"input": "hi"}, config={"storage": {"url": store_url}})
    record, _ = stored_run(store_url, result.run_id)
    assert record.waiting == (
        {"node": "Start", "question": "Go on?", "kind": "suspend", "options": []},
    )
    assert (record.finished_at, record.final_state) == (None, None)


def test_killed_run_reads_as_crashed_with_the_checkpoints_it_made(
    agents: Path, graph_csv: GraphFile, store_url: str, tmp_path: Path
) -> None:
    graph = graph_csv("Slow,Start,echo,Wait,,,mark,marked,,,", "Slow,Wait,slow,,,,mark,out,,,")
    mark = tmp_path / "in-node.txt"
    process = subprocess.Popen([sys.executable, "-c", RUN_ONE, str(graph), str(mark), store_url])
    try:
        _wait_for(mark.exists, process)
        with RunStore.open(store_url) as store:
            (running,) = store.list()
            assert (running.status, running.pid) == ("running", process.pid)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    record, checkpoints = stored_run(store_url, running.id)
    assert (record.status, record.finished_at) == ("crashed", None)
    assert [(c.node, c.next) for c in checkpoints] == [("Start", ("Wait",))]
    with RunStore.open(store_url) as store:
        assert [r.id for r in store.list(status="crashed")] == [running.id]
        assert store.list(status="running") == []


def _wait_for(ready: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while not ready():
        assert process.poll() is None, f"the run's process ended early ({process.returncode})"
        assert time.monotonic() < deadline, "the run never reached its slow node"
        time.sleep(0.02)


def test_checkpoints_off_records_the_run_without_checkpoints(
    project: Path, graph_csv: GraphFile, store_url: str
) -> None:
    config = {"storage": {"url": store_url, "checkpoints": False}}
    result = run_graph(graph_csv(*HELLO), {"input": "hi"}, config=config)
    record, checkpoints = stored_run(store_url, result.run_id)
    assert (record.status, record.checkpoints, checkpoints) == ("succeeded", False, [])
    assert record.final_state == result.final_state


def test_default_store_is_made_under_agentmap_folder_on_first_use(
    project: Path, graph_csv: GraphFile
) -> None:
    assert not (project / ".agentmap").exists()
    result = run_graph(graph_csv(*HELLO), {"input": "hi"})
    assert (project / ".agentmap" / "runs.db").is_file()
    assert (project / ".agentmap" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert [run.id for run in open_run_store().list()] == [result.run_id]


def test_relative_store_path_resolves_against_the_config_files_folder(
    project: Path, graph_csv: GraphFile, write_file: Callable[..., Path]
) -> None:
    config = write_file(
        "settings/agentmap_config.yaml", "storage:\n  url: sqlite:///data/runs.db\n"
    )
    result = run_graph(graph_csv(*HELLO), {"input": "hi"}, config=config)
    assert (project / "settings" / "data" / "runs.db").is_file()
    assert not (project / "data").exists() and not (project / ".agentmap").exists()
    assert open_run_store(config).get(result.run_id).status == "succeeded"


def test_storage_url_none_records_nothing(project: Path, graph_csv: GraphFile) -> None:
    result = run_graph(graph_csv(*HELLO), {"input": "hi"}, config={"storage": {"url": "none"}})
    assert result.status == "succeeded" and result.run_id
    assert not (project / ".agentmap").exists()
    with pytest.raises(StoreError, match=r"storage\.url is 'none', so no runs are stored"):
        open_run_store({"storage": {"url": "none"}})


# --- state as JSON, exactly


ROUND_TRIPS = {
    "text": {"s": "plain", "u": "héllo → 世界 🎉", "empty": "", "nul": "a\x00b"},
    "numbers": {"i": 7, "neg": -3, "big": 2**100, "f": 0.1, "tiny": 5e-324, "negzero": -0.0},
    "specials": {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")},
    "none-and-bools": {"n": None, "t": True, "f": False, "mixed": [True, 1, 1.0, None]},
    "lists": {"empty": [], "nested": [[1, [2, [3]]], []]},
    "tuples": {"t": (1, "a"), "empty": (), "nested": ((1, (2,)), [3, (4,)]), "one": ("x",)},
    "mappings": {"d": {"a": {"b": {"c": [1, {"d": (2, 3)}]}}, "empty": {}}},
    "tag-lookalikes": {
        "d": {"__tuple__": [1, 2]},
        "m": {"__mapping__": [["a", 1]]},
        "e": {"__tuple__": 1, "x": 2},
        "__tuple__": 0,
    },
    "lone-tag-key": {"__tuple__": (1,)},
}


@pytest.mark.parametrize("state", ROUND_TRIPS.values(), ids=ROUND_TRIPS)
def test_codec_gives_back_exactly_what_it_saved(state: dict[str, Any]) -> None:
    # repr tells a tuple from a list, 1 from 1.0 and True, -0.0 from 0.0, and shows nan.
    assert repr(loads(dumps(state))) == repr(state)


@pytest.mark.parametrize(
    ("state", "path", "kind"),
    [
        ({"tags": {"a", "b"}}, "tags", "set"),
        ({"tags": frozenset()}, "tags", "frozenset"),
        ({"blob": b"\x00"}, "blob", "bytes"),
        ({"report": {"items": [1, 2, object()]}}, "report.items[2]", "object"),
        ({"pair": (1, {"at": bytearray(b"x")})}, "pair[1].at", "bytearray"),
        ({"scores": {1: "one"}}, "scores key 1", "int"),
        ({"by_pos": {"ok": {(0, 1): "x"}}}, "by_pos.ok key (0, 1)", "tuple"),
        ({3: "three"}, "key 3", "int"),
    ],
    ids=["set", "frozenset", "bytes", "object-in-list", "in-tuple", "int-key", "tuple-key", "top"],
)
def test_codec_refuses_what_json_cannot_hold_naming_where_it_is(
    state: dict[Any, Any], path: str, kind: str
) -> None:
    with pytest.raises(UnsavableValue) as caught:
        dumps(state)
    assert (caught.value.path, caught.value.kind) == (path, kind)
    assert str(caught.value).startswith(f"'{path}' holds a")


def test_state_values_come_back_exactly_from_the_store(
    project: Path, graph_csv: GraphFile, store_url: str
) -> None:
    value = {name: values for name, values in ROUND_TRIPS.items() if name != "specials"}
    value["special"] = [float("inf"), float("-inf"), float("nan")]
    graph = graph_csv("Copy,Start,echo,,,,input,copy,,,")
    result = run_graph(graph, {"input": value}, config={"storage": {"url": store_url}})
    record, (checkpoint,) = stored_run(store_url, result.run_id)
    assert repr(record.initial_state) == repr({"input": value})
    assert checkpoint.updates is not None and repr(checkpoint.updates["copy"]) == repr(value)
    assert repr(record.final_state) == repr(result.final_state)


def test_unsavable_node_output_stops_the_run_naming_node_and_key(
    agents: Path, graph_csv: GraphFile, store_url: str
) -> None:
    graph = graph_csv("Sets,Start,echo,Make,,,input,echoed,,,", "Sets,Make,make_set,,,,,tags,,,")
    with pytest.raises(RunError) as caught:
        run_graph(graph, {"input": "hi"}, config={"storage": {"url": store_url}})
    message = (
        "can't checkpoint node 'Make': state key 'tags' holds a set, which can't be saved as "
        "JSON — keep state values to JSON types (text, numbers, true/false, null, lists, "
        "tuples, mappings with text keys), or set storage.checkpoints: off"
    )
    assert (caught.value.message, caught.value.node) == (message, "Make")
    assert caught.value.result is not None
    record, checkpoints = stored_run(store_url, caught.value.result.run_id)
    assert (record.status, record.error) == ("failed", message)
    assert [c.node for c in checkpoints] == ["Start"]


def test_unsavable_node_output_runs_fine_with_checkpoints_off(
    agents: Path, graph_csv: GraphFile, store_url: str
) -> None:
    graph = graph_csv("Sets,Start,echo,Make,,,input,echoed,,,", "Sets,Make,make_set,,,,,tags,,,")
    config = {"storage": {"url": store_url, "checkpoints": False}}
    result = run_graph(graph, {"input": "hi"}, config=config)
    assert (result.status, result.final_state["tags"]) == ("succeeded", {"a"})
    record, _ = stored_run(store_url, result.run_id)
    assert (record.status, record.final_state) == (
        "succeeded",
        {**result.final_state, "tags": "{'a'}"},
    )


def test_unsavable_initial_state_is_refused_before_anything_runs(
    project: Path, graph_csv: GraphFile, store_url: str
) -> None:
    with pytest.raises(StateError) as caught:
        run_graph(graph_csv(*HELLO), {"input": b"hi"}, config={"storage": {"url": store_url}})
    assert "the initial state's key 'input' holds a bytes" in caught.value.message
    with RunStore.open(store_url) as store:
        assert store.list() == []


# --- migrations


AN_HOUR_AGO = time.time() - 3600  # recent enough that retention keeps it


def run_row(run_id: str) -> dict[str, Any]:
    """A finished run as version 1 of the store held it."""
    return {
        "id": run_id, "graph_name": "Old", "graph_file": None, "entry": "Start",
        "graph_hash": "0" * 32, "node_hashes": "{}", "status": "succeeded",
        "initial_state": '{"input":"old"}', "final_state": '{"input":"old"}', "summary": None,
        "started_at": AN_HOUR_AGO, "updated_at": AN_HOUR_AGO + 1, "finished_at": AN_HOUR_AGO + 1,
        "duration": 1.0,
        "checkpoints": True, "version": "0.0.1",
    }  # fmt: skip


@pytest.fixture
def raw(store_url: str) -> Iterator[Raw]:
    """The store's database seen without agentmap, to build and inspect stores by hand."""
    database = Raw(store_url)
    yield database
    database.close()


class Raw:
    """A database looked at by hand: Python's sqlite3 on a SQLite file, a SQLAlchemy engine on
    PostgreSQL. Each transaction has a connection of its own, closed when it ends."""

    def __init__(self, url: str) -> None:
        self.path = url.removeprefix("sqlite:///") if url.startswith("sqlite:") else None
        self._engine = None if self.path else sa.create_engine(url, poolclass=NullPool)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
        """``execute(sql, params=None)`` (``:name`` parameters), giving back the rows."""
        if self._engine is not None:
            with self._engine.begin() as connection:
                yield lambda sql, params=None: _rows(connection.execute(sa.text(sql), params or {}))
            return
        assert self.path is not None
        with contextlib.closing(sqlite3.connect(self.path, isolation_level=None)) as connection:
            connection.execute("BEGIN")
            yield lambda sql, params=None: connection.execute(sql, params or {}).fetchall()
            connection.execute("COMMIT")

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of ``sql``, run in a transaction of its own."""
        with self.transaction() as execute:
            return execute(sql, params)

    def tables(self) -> list[str]:
        query = (
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            if self.path
            else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
        return [name for (name,) in self.query(query)]

    def indexes(self, table: str) -> set[str]:
        """The names of ``table``'s indexes, but for its primary key's."""
        if self.path:  # the index SQLite makes for a primary key has no SQL
            query = (
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :table "
                "AND sql IS NOT NULL"
            )
        else:
            query = (
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = CAST(:table AS regclass) AND NOT i.indisprimary"
            )
        return {name for (name,) in self.query(query, {"table": table})}

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def _rows(result: sa.CursorResult[Any]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in result] if result.returns_rows else []


def make_store(raw: Raw, version: int, *rows: dict[str, Any]) -> None:
    """A store as agentmap's store version ``version`` left it, holding ``rows``."""
    with raw.transaction() as execute:
        for statement in (schema.CREATE_META, *chain(*schema.MIGRATIONS[:version])):
            execute(statement)
        execute(
            f"INSERT INTO {schema.META} (key, value) VALUES ('schema_version', :version)",
            {"version": str(version)},
        )
        for row in rows:  # only the columns the row has: the ones that version knew
            execute(schema.insert(schema.RUNS, tuple(row)), row)


def stored_version(raw: Raw) -> str | None:
    """The schema version the store says it has."""
    rows = raw.query(f"SELECT value FROM {schema.META} WHERE key = 'schema_version'")
    return rows[0][0] if rows else None


def test_new_store_is_made_at_the_latest_version(store_url: str, raw: Raw) -> None:
    RunStore.open(store_url).close()
    assert stored_version(raw) == str(schema.LATEST)
    assert set(raw.tables()) == {
        "agentmap_meta",
        "agentmap_runs",
        "agentmap_checkpoints",
        "agentmap_checkpoint_pages",
        "agentmap_jobs",
        "agentmap_job_events",
        "agentmap_graphs",
        "agentmap_node_hashes",
    }


def test_version_1_store_is_upgraded_and_keeps_its_runs(store_url: str, raw: Raw) -> None:
    make_store(raw, 1, run_row("00d1"))
    assert raw.indexes("agentmap_runs") == set()
    with RunStore.open(store_url) as store:
        old = store.get("00d1")
    assert (old.graph_name, old.status, old.initial_state) == ("Old", "succeeded", {"input": "old"})
    assert stored_version(raw) == str(schema.LATEST) == "8"
    assert "agentmap_checkpoint_pages" in raw.tables()  # v4: checkpoints written in batches
    assert "agentmap_jobs" in raw.tables()  # v5: jobs
    assert raw.indexes("agentmap_runs") == {
        "ix_agentmap_runs_started",
        "ix_agentmap_runs_graph",
        "ix_agentmap_runs_status",
        "ix_agentmap_runs_parent",
    }


def test_the_store_names_a_nodes_outcome_keys_as_the_state_does() -> None:
    # A checkpoint keeps a node's outputs and makes its updates when read (schema.updates_of).
    assert (schema.SUCCESS_KEY, schema.ERROR_KEY) == (state.SUCCESS_KEY, state.ERROR_KEY)


def test_a_graphs_node_hashes_are_kept_once_however_many_of_its_runs(
    project: Path, graph_csv: GraphFile, store_url: str, raw: Raw
) -> None:
    graph, config = graph_csv(*HELLO), {"storage": {"url": store_url}}
    ids = [run_graph(graph, {"input": "hi"}, config=config).run_id for _ in range(3)]
    with RunStore.open(store_url) as store:
        records = [store.get(run_id) for run_id in ids]
        listed = store.list(limit=None)
    hashes = records[0].node_hashes
    assert set(hashes) == {"Start", "Respond"}
    assert [r.node_hashes for r in records] == [hashes] * 3 == [r.node_hashes for r in listed]
    assert raw.query(f"SELECT node_hashes FROM {schema.RUNS}") == [("",)] * 3
    assert len(raw.query(f"SELECT graph_hash FROM {schema.NODE_HASHES}")) == 1


def test_runs_recorded_before_version_8_keep_their_own_node_hashes(
    store_url: str, raw: Raw
) -> None:
    make_store(raw, 7, {**run_row("0ad1"), "node_hashes": '{"Start":"0123456789abcdef"}'})
    with RunStore.open(store_url) as store:
        assert store.get("0ad1").node_hashes == {"Start": "0123456789abcdef"}
        assert [r.node_hashes for r in store.list()] == [{"Start": "0123456789abcdef"}]


def test_upgraded_store_records_new_runs(
    project: Path, graph_csv: GraphFile, store_url: str, raw: Raw
) -> None:
    make_store(raw, 1, run_row("00d1"))
    result = run_graph(graph_csv(*HELLO), {"input": "hi"}, config={"storage": {"url": store_url}})
    with RunStore.open(store_url) as store:
        assert [r.id for r in store.list()] == [result.run_id, "00d1"]


def test_store_from_a_newer_agentmap_is_refused_and_left_alone(
    store_url: str, raw: Raw, tmp_path: Path
) -> None:
    make_store(raw, schema.LATEST, run_row("0e01"))
    raw.query(
        f"UPDATE {schema.META} SET value = :version WHERE key = 'schema_version'",
        {"version": str(schema.LATEST + 1)},
    )
    files = snapshot(tmp_path)  # the SQLite file (nothing for PostgreSQL)
    with pytest.raises(StoreError) as caught:
        RunStore.open(store_url)
    assert snapshot(tmp_path) == files
    assert caught.value.file == location(store_url)
    newer, latest = schema.LATEST + 1, schema.LATEST
    assert caught.value.message == (
        f"the run store {location(store_url)} was made by a newer agentmap (store version "
        f"{newer}; this agentmap knows up to {latest}) — upgrade agentmap, or point storage.url "
        "at another store"
    )
    assert stored_version(raw) == str(schema.LATEST + 1)


def test_database_of_something_else_is_refused_and_left_alone(
    store_url: str, raw: Raw, tmp_path: Path
) -> None:
    with raw.transaction() as execute:
        execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        execute("INSERT INTO customers VALUES (1, 'Ada')")
    files = snapshot(tmp_path)  # the SQLite file (nothing for PostgreSQL)
    with pytest.raises(StoreError) as caught:
        RunStore.open(store_url)
    assert snapshot(tmp_path) == files
    assert caught.value.message == (
        f"{location(store_url)} is a database, but not an agentmap run store (it has tables "
        "customers) — point storage.url at another database"
    )
    assert raw.tables() == ["customers"]
    assert raw.query("SELECT name FROM customers") == [("Ada",)]


def location(url: str) -> str:
    """How errors name the store at ``url``: a SQLite file by its path, a server by its URL."""
    return url.removeprefix("sqlite:///")


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes."""
    return {str(f.relative_to(folder)): f.read_bytes() for f in folder.rglob("*") if f.is_file()}


# --- broken stores


def real_store(folder: Path) -> bytes:
    """The bytes of a store holding a few runs, all written back to the main file."""
    folder.mkdir()
    (folder / "flow.csv").write_text("GraphName,Node,AgentType,Output_Field\nG,Start,echo,out\n")
    container = build_container({"storage": {"url": f"sqlite:///{folder / 'runs.db'}"}})
    for _ in range(5):
        run_in(container, folder / "flow.csv", {"input": "x" * 3000})
    store = container.store()
    assert store is not None
    store.close()  # the last connection to close writes the WAL back into the file
    assert sorted(path.name for path in folder.iterdir()) == ["flow.csv", "runs.db"]
    return (folder / "runs.db").read_bytes()


class Corrupt(NamedTuple):
    """A store file SQLite can't read, and the reason SQLite gives."""

    path: Path
    reason: str

    @property
    def message(self) -> str:
        return (
            f"{self.path} is not a readable agentmap run store ({self.reason}) — it was left as "
            "it is; move it aside (a new store is made on the next run) or point storage.url "
            "elsewhere"
        )


def _overwritten_pages(tmp_path: Path) -> bytes:
    data = real_store(tmp_path / "made")
    return data[:4096] + random.Random(7).randbytes(len(data) - 4096)


NOT_A_DATABASE, MALFORMED = "file is not a database", "database disk image is malformed"
CORRUPTIONS: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "random-bytes": (lambda _: random.Random(7).randbytes(16384), NOT_A_DATABASE),
    "header-then-garbage": (
        lambda _: b"SQLite format 3\x00" + random.Random(7).randbytes(8000),
        NOT_A_DATABASE,
    ),
    "truncated-store": (lambda tmp: real_store(tmp / "made")[:10000], MALFORMED),
    "overwritten-pages": (_overwritten_pages, MALFORMED),
}


@pytest.fixture(params=CORRUPTIONS)
def corrupt(request: pytest.FixtureRequest, tmp_path: Path) -> Corrupt:
    """A broken store file at tmp_path/store/runs.db."""
    make, reason = CORRUPTIONS[request.param]
    path = tmp_path / "store" / "runs.db"
    data = make(tmp_path)
    path.parent.mkdir()
    path.write_bytes(data)
    return Corrupt(path, reason)


def test_corrupt_store_is_a_store_error_and_left_as_it_was(
    project: Path, graph_csv: GraphFile, corrupt: Corrupt
) -> None:
    graph, before = graph_csv(*HELLO), snapshot(corrupt.path.parent)
    with pytest.raises(StoreError) as caught:
        run_graph(graph, {"input": "hi"}, config={"storage": {"url": f"sqlite:///{corrupt.path}"}})
    assert (caught.value.message, caught.value.file) == (corrupt.message, str(corrupt.path))
    del caught  # its traceback holds the store, whose connections keep -wal and -shm open
    gc.collect()
    assert snapshot(corrupt.path.parent) == before  # same bytes, no -wal or -shm left behind


def test_cli_reports_a_corrupt_store_in_one_line_with_exit_code_74(
    project: Path, graph_csv: GraphFile, corrupt: Corrupt
) -> None:
    graph = graph_csv(*HELLO)
    before = snapshot(corrupt.path.parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMAP_")}
    env.update(AGENTMAP_STORAGE__URL=f"sqlite:///{corrupt.path}", NO_COLOR="1", COLUMNS="1000")
    done = subprocess.run(
        [sys.executable, "-m", "agentmap", "run", str(graph), "--state", '{"input": "hi"}'],
        cwd=project, env=env, capture_output=True, text=True, encoding="utf-8", timeout=60,
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (74, "", f"error: {corrupt.message}\n")
    assert snapshot(corrupt.path.parent) == before


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda place: place.mkdir(),
            "can't open the run store {place} (unable to open database file) — check the path is "
            "a writable file, or set storage.url (or 'none' to run without a store)",
        ),
        (
            lambda place: place.write_text("just a file"),
            "can't make the folder {place} for the run store (File exists) — make it, or set "
            "storage.url to a writable place (or 'none' to run without a store)",
        ),
    ],
    ids=["store-is-a-folder", "folder-is-a-file"],
)
def test_store_path_that_is_not_a_file_is_a_store_error(
    project: Path, graph_csv: GraphFile, make: Callable[[Path], object], message: str
) -> None:
    graph, place = graph_csv(*HELLO), project / "place.db"
    make(place)
    url = f"sqlite:///{place}" if place.is_dir() else f"sqlite:///{place}/runs.db"
    before = snapshot(project)
    with pytest.raises(StoreError) as caught:
        run_graph(graph, {"input": "hi"}, config={"storage": {"url": url}})
    assert caught.value.message == message.format(place=place)
    assert snapshot(project) == before


# --- many processes, one store

WORKER = """
import sys, time
from pathlib import Path
from agentmap import run_graph

graph, url, folder, index, runs = sys.argv[1:]
folder = Path(folder)
config = {"storage": {"url": url}}
(folder / f"ready-{index}").touch()
while not (folder / "go").exists():
    time.sleep(0.002)
for n in range(int(runs)):
    result = run_graph(graph, {"input": f"{index}-{n}"}, config=config)
    assert result.status == "succeeded", result.status
"""
PROCESSES, RUNS = 8, 50


def test_many_processes_record_every_run_in_one_store(
    project: Path, graph_csv: GraphFile, store_url: str
) -> None:
    graph = graph_csv(
        "Chain,Start,echo,Middle,,,input,first,,,",
        "Chain,Middle,echo,End,,,first,second,,,",
        "Chain,End,echo,,,,second,third,,,",
    )
    gate = project / "gate"
    gate.mkdir()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(graph), store_url, str(gate), str(i), str(RUNS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    with _killed_at_exit(workers):
        _wait_for_all(gate, workers)
        (gate / "go").touch()  # all at once, onto a store none of them has made yet
        outputs = [worker.communicate(timeout=120) for worker in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert "database is locked" not in err, err
        assert (worker.returncode, out, err) == (0, "", ""), err
    with RunStore.open(store_url) as store:
        runs = [store.get(run.id) for run in store.list(limit=None)]
        checkpoints = {run.id: store.checkpoints(run.id) for run in runs}
    expected = {f"{i}-{n}" for i in range(PROCESSES) for n in range(RUNS)}
    states = [(run.initial_state or {}, run.final_state or {}) for run in runs]
    assert sorted(initial["input"] for initial, _ in states) == sorted(expected)
    assert all(final["third"] == initial["input"] for initial, final in states)
    assert {run.status for run in runs} == {"succeeded"}
    assert {tuple((c.seq, c.node) for c in cs) for cs in checkpoints.values()} == {
        ((1, "Start"), (2, "Middle"), (3, "End"))
    }


def _wait_for_all(gate: Path, workers: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + 60
    while len(list(gate.glob("ready-*"))) < len(workers):
        for worker in workers:
            if worker.poll() is not None:
                pytest.fail(f"a worker ended before starting: {worker.communicate()}")
        assert time.monotonic() < deadline, "the workers never got ready"
        time.sleep(0.01)


@contextlib.contextmanager
def _killed_at_exit(workers: list[subprocess.Popen[str]]) -> Iterator[None]:
    try:
        yield
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("sqlite:///:memory:", "an in-memory SQLite store forgets every run"),
        ("sqlite://", "an in-memory SQLite store forgets every run"),
        (
            "mysql://root@localhost/db",
            "a store URL starts with sqlite:/// (a file) or postgresql://",
        ),
    ],
)
def test_a_store_url_that_cannot_keep_runs_is_a_config_error(url: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(reason)):
        settings_from_dict({"storage": {"url": url}})
