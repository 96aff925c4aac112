"""The run history over HTTP (``/runs``) against a real `agentmap serve` and a real client: the
documents are exactly what `agentmap runs list|show|stats --json` print for the same store, the
filters pick the same runs, and bad input is a problem, never a 500."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from test_durable import agentmap
from test_service import Server, server, service_project, wait_state

__all__ = ["server", "service_project"]  # the fixtures, used by name


@dataclass
class History:
    """A running service whose store holds runs of each kind; ``ids`` maps a name to a run id
    (a job's run has the job's id)."""

    server: Server
    folder: Path
    ids: dict[str, str]

    def cli(self, *args: str) -> Any:
        """What `agentmap ARGS --json` prints, in the same project (so the same store)."""
        done = agentmap(self.folder, *args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def history(service_project: Path) -> Iterator[History]:
    """A run made by `agentmap run`, then jobs posted to the service: one that fails, one that
    completes with tags, one waiting for a person."""
    done = agentmap(service_project, "run", "graphs/flow.csv::Hello", "--state",
                    '{"input": "hi"}', "--json")  # fmt: skip
    ids = {"hello": json.loads(done.stdout)["run_id"]}
    server = Server(service_project)
    try:
        for name, graph, tags in (
            ("failed", "Fail", []),
            ("job", "Hello", ["web", "nightly"]),
            ("asking", "Ask", []),
        ):
            made = server.post("/jobs", json={"graph": f"flow.csv::{graph}",
                                              "inputs": {"input": name}, "tags": tags})  # fmt: skip
            ids[name] = made.json()["job"]["id"]
            wait_state(server, ids[name], {"completed", "failed", "waiting"})
        yield History(server, service_project, ids)
    finally:
        server.stop()


def problem_of(answer: Any, status: int) -> dict[str, Any]:
    """The problem details of an answer that must have ``status``."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    return body


def test_runs_are_listed_newest_first_exactly_as_runs_list_json_prints_them(
    history: History,
) -> None:
    listed = history.server.get("/runs")

    assert listed.status_code == 200
    assert listed.json() == history.cli("runs", "list")
    runs = listed.json()["runs"]
    assert [run["id"] for run in runs] == [history.ids[name] for name in
                                           ("asking", "job", "failed", "hello")]  # fmt: skip
    job = runs[1]
    assert (job["job"], job["tags"], job["nodes"], job["status"]) == (
        True, ["nightly", "web"], 2, "succeeded",  # tags are kept sorted
    )  # fmt: skip
    assert runs[0]["waiting"][0]["node"] == "Check" and "final_state" not in runs[0]
    for query, names in (
        ({"graph": "Hello"}, ["job", "hello"]),
        ({"status": "failed"}, ["failed"]),
        ({"status": "waiting", "graph": "Ask"}, ["asking"]),
        ({"status": "cancelled"}, []),
        ({"limit": 2}, ["asking", "job"]),
        ({"graph": ""}, ["asking", "job", "failed", "hello"]),  # empty: as good as none
    ):
        runs = history.server.get("/runs", params=query).json()["runs"]
        assert [run["id"] for run in runs] == [history.ids[name] for name in names], query
    assert history.server.get("/runs", params={"graph": "Hello"}).json() == history.cli(
        "runs", "list", "--graph", "Hello"
    )


def test_a_run_is_shown_by_its_id_prefix_exactly_as_runs_show_json_prints_it(
    history: History,
) -> None:
    for name in ("hello", "failed", "asking"):
        run_id = history.ids[name]
        shown = history.server.get(f"/runs/{run_id[:10]}")
        assert shown.status_code == 200
        assert shown.json() == history.cli("runs", "show", run_id)

    asking = history.server.get(f"/runs/{history.ids['asking']}").json()
    failed = history.server.get(f"/runs/{history.ids['failed']}").json()
    assert asking["run"]["id"] == history.ids["asking"]
    assert asking["run"]["status"] == "waiting" and asking["run"]["job"] is True
    assert asking["state"] == {"input": "asking"}
    assert asking["resume"] == f"agentmap resume {history.ids['asking']}"
    assert [(s["node"], s["success"]) for s in failed["path"]] == [("Boom", False)]
    assert "node 'Boom' failed" in failed["run"]["error"] and failed["run"]["job"] is True
    assert history.server.get(f"/runs/{history.ids['hello']}").json()["run"]["job"] is False


def test_stats_are_exactly_what_runs_stats_json_prints(history: History) -> None:
    everything = history.server.get("/runs/stats")
    hello = history.server.get("/runs/stats", params={"graph": "Hello"})

    assert everything.status_code == 200
    assert everything.json() == history.cli("runs", "stats")
    assert hello.json() == history.cli("runs", "stats", "--graph", "Hello")
    assert [(row["node"], row["runs"], row["success_rate"]) for row in hello.json()["nodes"]] == [
        ("End", 2, 1.0),
        ("Start", 2, 1.0),
    ]


def test_an_unknown_run_is_a_404_problem_naming_it(server: Server) -> None:
    for run_id in ("0badc0de", "not-an-id"):
        problem = problem_of(server.get(f"/runs/{run_id}"), 404)
        assert f"no run '{run_id}'" in problem["detail"]
        assert "agentmap runs list" in problem["detail"]


def test_a_bad_query_value_is_a_422_problem_naming_the_field(server: Server) -> None:
    for query, field, words in (
        ({"status": "done"}, "query.status", "'running', 'succeeded'"),
        ({"limit": 0}, "query.limit", "greater than or equal to 1"),
        ({"limit": "many"}, "query.limit", "valid integer"),
    ):
        problem = problem_of(server.get("/runs", params=query), 422)
        assert problem["errors"][0]["field"] == field, query
        assert field in problem["detail"] and words in problem["detail"], problem


def test_with_api_keys_the_history_needs_one(service_project: Path) -> None:
    key = "history-key-for-tests"
    hashed = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    (service_project / "agentmap_config.yaml").write_text(f"server:\n  api_keys: ['{hashed}']\n")
    server = Server(service_project)
    try:
        for path in ("/runs", "/runs/stats", "/runs/0badc0de"):
            refused = server.get(path)
            assert problem_of(refused, 401)["title"] == "unauthorized", path
            assert refused.headers["www-authenticate"] == "Bearer"
        allowed = server.get("/runs", headers={"Authorization": f"Bearer {key}"})
        assert allowed.status_code == 200 and allowed.json() == {"runs": []}
    finally:
        server.stop()
