"""The jobs table, on SQLite and PostgreSQL: a job is taken by one worker at a time, under a
lease; a lapsed lease is taken over; a worker that lost its job can't settle it. Also the
jobs' events and the registered graphs' versions, kept in the same store."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from agentmap.exceptions import GraphRegistrationError
from agentmap.store import schema
from agentmap.store.jobstore import JobStore, Settlement, event_params
from agentmap.store.registry import GraphRegistry, RegisteredGraph
from agentmap.store.runstore import RunStore


@pytest.fixture
def jobs(store_url: str) -> Iterator[JobStore]:
    store = RunStore.open(store_url)
    try:
        yield JobStore(store)
    finally:
        store.close()


def job_row(priority: int = 0, tags: str = "[]", **extra: Any) -> dict[str, Any]:
    now = time.time()
    return {
        "id": uuid.uuid4().hex,
        "name": None,
        "graph_file": "/flows/flow.csv",
        "graph_name": "Flow",
        "inputs": '{"input": "x"}',
        "tags": tags,
        "priority": priority,
        "retry_policy": None,
        "max_retries": 0,
        "state": "queued",
        "attempt": 0,
        "created_at": now,
        "updated_at": now,
        "started_at": None,
        "finished_at": None,
        "not_before": 0.0,
        "worker": None,
        "lease_until": None,
        "cancel_requested": False,
        "error": None,
        "nodes_done": 0,
        "running_nodes": None,
        "batch_id": None,
        "batch_row": None,
        "answer": None,
        "graph_id": None,
        "graph_version": None,
    } | extra


def test_a_job_is_taken_once_with_its_inputs_and_a_lease(jobs: JobStore) -> None:
    row = job_row()
    jobs.add([row])

    taken, _ = jobs.claim("w1", 10, lease=30)
    again, _ = jobs.claim("w2", 10, lease=30)

    (job,) = taken
    assert job.id == row["id"] and job.inputs == {"input": "x"} and job.attempt == 1
    assert job.worker == "w1" and job.lease_until is not None and again == []
    assert jobs.get(job.id).state == "running"


def test_a_lapsed_lease_is_taken_over_at_the_same_attempt(jobs: JobStore) -> None:
    jobs.add([job_row()])
    (first,), _ = jobs.claim("w1", 1, lease=0.05)
    time.sleep(0.1)

    (second,), _ = jobs.claim("w2", 1, lease=30)

    assert second.id == first.id and second.attempt == first.attempt == 1
    assert jobs.get(first.id).worker == "w2"


def test_a_worker_that_lost_its_lease_cannot_settle_the_job(jobs: JobStore) -> None:
    jobs.add([job_row()])
    (job,), _ = jobs.claim("slow", 1, lease=0.05)
    time.sleep(0.1)
    jobs.claim("fast", 1, lease=30)

    assert jobs.settle(job.id, "slow", "completed") is False
    assert jobs.get(job.id).state == "running"
    assert jobs.settle(job.id, "fast", "completed") is True
    assert jobs.get(job.id).state == "completed"


def test_renewing_keeps_the_job_and_reports_progress_and_cancel_requests(jobs: JobStore) -> None:
    jobs.add([job_row()])
    (job,), _ = jobs.claim("w1", 1, lease=0.2)

    assert jobs.renew("w1", 30, {job.id: (2, ["B", "C"])}) == []
    time.sleep(0.3)
    assert jobs.claim("w2", 1, lease=30)[0] == []
    stored = jobs.get(job.id)
    assert stored.nodes_done == 2 and stored.running_nodes == ("B", "C")

    jobs.request_cancel(job.id)
    assert jobs.renew("w1", 30, {}) == [job.id]


def test_jobs_are_taken_by_priority_then_age_and_by_tags(jobs: JobStore) -> None:
    rows = [job_row(0), job_row(3), job_row(1, '["gpu"]'), job_row(3, '["gpu", "big"]')]
    jobs.add(rows)

    taken, _ = jobs.claim("w", 10, lease=30, fits={"gpu"})

    assert [job.id for job in taken] == [rows[1]["id"], rows[2]["id"], rows[0]["id"]]


def test_a_job_cancelled_while_its_worker_is_gone_is_settled_when_found(jobs: JobStore) -> None:
    jobs.add([job_row()])
    (job,), _ = jobs.claim("w1", 1, lease=30)
    jobs.request_cancel(job.id)  # w1 holds it: asked, not yet done
    assert jobs.get(job.id).state == "running"

    jobs.add([job_row(lease_until=0.0)])  # an unrelated job
    assert jobs.settle(job.id, "w1", "running")  # w1 gives it back (it was stopping)
    taken, cancelled = jobs.claim("w2", 10, lease=30)

    assert cancelled == [job.id] and job.id not in [t.id for t in taken]
    assert jobs.get(job.id).state == "cancelled"


def test_workers_taking_at_once_never_take_a_job_twice(jobs: JobStore) -> None:
    rows = [job_row() for _ in range(200)]
    jobs.add(rows)
    taken: dict[str, list[str]] = {}
    lock = threading.Lock()

    def work(name: str) -> None:
        while True:
            got, _ = jobs.claim(name, 3, lease=30)
            if not got:
                return
            with lock:
                for job in got:
                    taken.setdefault(job.id, []).append(name)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(taken) == sorted(row["id"] for row in rows)
    assert all(len(names) == 1 for names in taken.values())


def test_events_are_numbered_per_job_and_read_after_any_number(jobs: JobStore) -> None:
    first, second = job_row(), job_row()
    jobs.add([first, second])
    jobs.claim("w1", 2, lease=30)
    with jobs.store.writer() as connection:
        for n in range(3):
            connection.execute(
                schema.INSERT_EVENT, event_params(first["id"], "node_started", f"N{n}", attempt=1)
            )
        connection.commit()
    jobs.settle_many(
        "w1", [Settlement(first["id"], "completed"), Settlement(second["id"], "failed", "boom")]
    )

    events = jobs.events(first["id"])
    assert [(e.seq, e.kind, e.node) for e in events] == [
        (1, "job_started", None), (2, "node_started", "N0"), (3, "node_started", "N1"),
        (4, "node_started", "N2"), (5, "job_finished", None),
    ]  # fmt: skip
    assert [e.seq for e in jobs.events(first["id"], after=3)] == [4, 5]
    assert jobs.events(second["id"])[-1].data == {"state": "failed", "error": "boom"}
    assert jobs.last_events([first["id"], second["id"], "f" * 32]) == {
        first["id"]: 5,
        second["id"]: 2,
    }
    assert len(jobs.events_since(0)) == 7


def test_a_graph_version_names_one_content_for_good(jobs: JobStore) -> None:
    registry = GraphRegistry(jobs.store)
    entry = RegisteredGraph("flow", "1.0.0", "/g/flow.csv", "Flow", "h1", {"A": "a", "B": "b"}, 1.0)
    registry.register(entry)
    assert registry.register(entry).graph_hash == "h1"  # the same content again: accepted
    registry.register(dataclasses.replace(entry, version="1.10.0", graph_hash="h2"))
    registry.register(dataclasses.replace(entry, version="1.9.0-rc.1", graph_hash="h3"))

    changed = dataclasses.replace(entry, graph_hash="h9", node_hashes={"A": "x", "C": "c"})
    with pytest.raises(
        GraphRegistrationError, match="nodes added: C; nodes removed: B; nodes changed: A"
    ):
        registry.register(changed)
    assert [e.version for e in registry.versions("flow")] == ["1.0.0", "1.9.0-rc.1", "1.10.0"]
    assert [e.version for e in registry.list()] == ["1.0.0", "1.9.0-rc.1", "1.10.0"]
