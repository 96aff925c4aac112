"""Jobs' events: recorded in the store as they happen, numbered per job, followed from Python
(``EventFeed``) and over HTTP as Server-Sent Events by a real client — including a stream that
drops and resumes with Last-Event-ID, and events a worker in another process records."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2

from agentmap import afollow_job, answer_job, cancel_job, create_job, resume_run, wait_for_job
from agentmap.eventfeed import EventFeed
from agentmap.jobhost import job_host
from agentmap.store.jobstore import JobEvent
from helpers import clean_env, csv_row
from test_durable import AGENTMAP, agentmap
from test_service import Server, server, service_project, wait_state

__all__ = ["server", "service_project"]  # the fixtures, used by name


def kinds(events: list[JobEvent]) -> list[tuple[str, str | None]]:
    return [(event.kind, event.node) for event in events]


def stored(job_id: str) -> list[JobEvent]:
    return job_host(None, None).queue.table.events(job_id)


def test_a_jobs_events_are_recorded_in_order_numbered_from_one(service_project: Path) -> None:
    job = create_job("graphs/flow.csv::Hello", {"input": "hi"})
    assert wait_for_job(job.id, timeout=60).state == "completed"

    events = stored(job.id)

    assert [event.seq for event in events] == list(range(1, len(events) + 1))
    assert kinds(events) == [
        ("job_started", None),
        ("node_started", "Start"),
        ("node_completed", "Start"),
        ("node_started", "End"),
        ("node_completed", "End"),
        ("job_finished", None),
    ]
    assert events[0].data == {"attempt": 1, "worker": events[0].data["worker"]}
    assert events[2].data["duration"] >= 0 and events[-1].data == {"state": "completed"}


def test_a_failure_a_wait_an_answer_and_a_cancel_are_events(service_project: Path) -> None:
    failed = create_job("graphs/flow.csv::Fail", {"input": "x"})
    asked = create_job("graphs/flow.csv::Ask", {"input": "x"})
    napping = create_job("graphs/flow.csv::Nap", {"input": "n", "nap": 30})
    assert wait_for_job(failed.id, timeout=60).state == "failed"
    assert wait_for_job(asked.id, timeout=60).state == "waiting"
    answer_job(asked.id, True)
    assert wait_for_job(asked.id, timeout=60).state == "completed"
    deadline = time.monotonic() + 30
    while not (service_project / "started-n").exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    cancel_job(napping.id)
    assert wait_for_job(napping.id, timeout=60).state == "cancelled"

    fail_events = stored(failed.id)
    assert ("node_failed", "Boom") in kinds(fail_events)
    assert fail_events[-1].data["state"] == "failed" and "Boom" in fail_events[-1].data["error"]
    assert [kind for kind, _ in kinds(stored(asked.id))] == [
        "job_started", "node_started", "job_waiting", "job_answered", "job_started",
        "node_started", "node_completed", "node_started", "node_completed", "job_finished",
    ]  # fmt: skip
    assert stored(napping.id)[-1].data == {"state": "cancelled"}


def test_a_reader_follows_a_job_live_and_resumes_after_any_number(service_project: Path) -> None:
    async def follow() -> tuple[list[JobEvent], list[JobEvent]]:
        feed = EventFeed(job_host(None, None).queue.table)
        try:
            job = create_job("graphs/flow.csv::Hello", {"input": "hi"})
            live = [event async for event in feed.follow(job.id)]
            again = [event async for event in feed.follow(job.id, after=3)]
            return live, again
        finally:
            await feed.close()

    live, again = asyncio.run(follow())

    assert live[-1].kind == "job_finished" and len(live) == 6
    assert [event.seq for event in again] == [4, 5, 6]


def test_following_a_job_that_ended_outside_the_job_layer_still_ends(
    service_project: Path,
) -> None:
    job = create_job("graphs/flow.csv::Ask", {"input": "x"})
    assert wait_for_job(job.id, timeout=60).state == "waiting"
    resume_run(job.id, True)  # carried on by `agentmap resume`: no job_finished event

    async def follow(after: int) -> list[JobEvent]:
        async with asyncio.timeout(30):
            return [event async for event in afollow_job(job.id, after)]

    events = asyncio.run(follow(0))
    assert events[-1].kind == "job_waiting"
    assert asyncio.run(follow(events[-1].seq)) == []  # at once: it ended, nothing follows


def test_events_a_worker_in_another_process_records_reach_the_reader(
    service_project: Path, write_file: Callable[..., Path]
) -> None:
    write_file(
        "agentmap_config.yaml",
        "jobs:\n  executor: workers\n  poll_interval: 0.05\n  heartbeat: 0.2\n",
    )

    async def follow() -> list[JobEvent]:
        feed = EventFeed(job_host(None, None).queue.table, poll=0.05)
        job = create_job("graphs/flow.csv::Hello", {"input": "hi"})
        worker = subprocess.Popen(
            [str(AGENTMAP), "worker"], cwd=service_project, env=clean_env(),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            async with asyncio.timeout(60):
                return [event async for event in feed.follow(job.id)]
        finally:
            worker.terminate()
            worker.communicate(timeout=30)
            await feed.close()

    events = asyncio.run(follow())

    assert kinds(events)[0] == ("job_started", None) and events[-1].kind == "job_finished"


def test_jobs_events_prints_what_happened_and_json_for_scripts(service_project: Path) -> None:
    job = create_job("graphs/flow.csv::Fail", {"input": "x"})
    assert wait_for_job(job.id, timeout=60).state == "failed"

    shown = agentmap(service_project, "jobs", "events", job.id[:8])
    as_json = agentmap(service_project, "jobs", "events", job.id, "--after", "3", "--json")

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "job_started" in lines[0] and "attempt 1" in lines[0]
    assert any("node_failed" in line and "Boom" in line for line in lines)
    assert "job_finished" in lines[-1] and "failed" in lines[-1]
    assert [e["seq"] for e in json.loads(as_json.stdout)] == list(range(4, len(lines) + 1))
    unknown = agentmap(service_project, "jobs", "events", "f" * 32)
    assert unknown.returncode == 2 and "no job" in unknown.stderr


def test_jobs_events_follow_prints_each_event_as_a_worker_records_it(
    service_project: Path, write_file: Callable[..., Path]
) -> None:
    write_file(
        "agentmap_config.yaml",
        "jobs:\n  executor: workers\n  poll_interval: 0.05\n  heartbeat: 0.2\n",
    )
    job = create_job("graphs/flow.csv::Nap", {"input": "f", "nap": 0.5})
    follower = subprocess.Popen(
        [str(AGENTMAP), "jobs", "events", job.id, "--follow", "--json"], cwd=service_project,
        env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    worker = subprocess.Popen(
        [str(AGENTMAP), "worker"], cwd=service_project, env=clean_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        out, err = follower.communicate(timeout=60)
    finally:
        worker.terminate()
        worker.communicate(timeout=30)

    assert follower.returncode == 0, err
    kinds_seen = [json.loads(line)["kind"] for line in out.splitlines()]
    assert kinds_seen == ["job_started", "node_started", "node_completed", "job_finished"]


# --- over HTTP --------------------------------------------------------------------------------


class SSE:
    """A Server-Sent Events reader over a real HTTP connection."""

    def __init__(self, response: httpx2.Response) -> None:
        self.response = response
        self._lines = response.iter_lines()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        event: dict[str, Any] = {}
        for line in self._lines:
            if not line:
                if event:
                    yield event
                event = {}
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                event[field] = value.removeprefix(" ")
                if field == "data":
                    event["json"] = json.loads(event["data"])


def post_job(server: Server, graph: str, inputs: dict[str, Any]) -> str:
    made = server.post("/jobs", json={"graph": graph, "inputs": inputs})
    assert made.status_code == 202, made.text
    job_id: str = made.json()["job"]["id"]
    return job_id


def test_sse_streams_a_jobs_events_then_ends(server: Server) -> None:
    job_id = post_job(server, "flow.csv::Nap", {"input": "a", "nap": 0.2})

    with httpx2.stream("GET", f"{server.url}/jobs/{job_id}/events", timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(SSE(response))

    assert [e["event"] for e in events] == [
        "job_started", "node_started", "node_completed", "job_finished",
    ]  # fmt: skip
    assert [e["id"] for e in events] == ["1", "2", "3", "4"]
    assert events[1]["json"]["node"] == "Rest" and events[-1]["json"]["state"] == "completed"
    assert all(e["json"]["job_id"] == job_id for e in events)


def test_a_dropped_stream_resumes_after_last_event_id_without_gaps_or_repeats(
    server: Server,
) -> None:
    job_id = post_job(server, "flow.csv::Nap", {"input": "b", "nap": 1})
    with httpx2.stream("GET", f"{server.url}/jobs/{job_id}/events", timeout=30) as response:
        first = []
        for event in SSE(response):
            first.append(event)
            if event["event"] == "node_started":
                break  # the connection drops mid-job

    headers = {"Last-Event-ID": first[-1]["id"]}
    with httpx2.stream(
        "GET", f"{server.url}/jobs/{job_id}/events", headers=headers, timeout=30
    ) as response:
        rest = list(SSE(response))

    ids = [int(e["id"]) for e in first + rest]
    assert ids == list(range(1, len(ids) + 1))
    assert rest[-1]["event"] == "job_finished"
    ended = server.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": rest[-1]["id"]})
    assert ended.status_code == 204  # nothing more will come: an EventSource stops here


def test_a_stream_for_an_unknown_job_is_404_and_a_bad_last_event_id_422(server: Server) -> None:
    missing = server.get("/jobs/" + "f" * 32 + "/events")
    assert missing.status_code == 404 and missing.json()["type"].endswith("not-found")
    job_id = post_job(server, "flow.csv::Hello", {"input": "c"})

    bad = server.get(f"/jobs/{job_id}/events", headers={"Last-Event-ID": "seven"})

    assert bad.status_code == 422 and "Last-Event-ID" in bad.json()["detail"]


def test_the_stream_of_every_job_carries_each_jobs_events(server: Server) -> None:
    since = time.time()
    made = [post_job(server, "flow.csv::Hello", {"input": str(i)}) for i in range(3)]
    for job_id in made:
        wait_state(server, job_id, {"completed"})

    finished: set[str] = set()
    with httpx2.stream(
        "GET", f"{server.url}/events", params={"since": since}, timeout=30
    ) as response:
        for event in SSE(response):
            job_id, _, seq = event["id"].partition(":")
            assert event["json"]["job_id"] == job_id and int(seq) == event["json"]["seq"]
            if event["event"] == "job_finished":
                finished.add(job_id)
            if finished == set(made):
                break

    assert finished == set(made)


def test_event_streams_need_a_key_when_keys_are_set(service_project: Path) -> None:
    running = Server(service_project, env={"AGENTMAP_API_KEYS": "k1"})
    try:
        assert running.get("/events").status_code == 401
        assert running.get("/jobs/" + "a" * 32 + "/events").status_code == 401
    finally:
        running.stop()


PRICED = """
from agentmap import Agent, Output, Usage


class PricedAgent(Agent):
    def process(self, inputs):
        return Output("answer", usage=Usage(12, 3, cost=0.5, model="m"))
"""


def test_metrics_count_node_durations_failures_tokens_and_events_by_kind(
    service_project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file("agents/priced.py", PRICED)
    graph_csv(
        csv_row("Model", "Ask", "priced", inputs="input", output="a"), name="graphs/model.csv"
    )
    running = Server(service_project)
    try:
        for graph in ("flow.csv::Hello", "flow.csv::Fail", "model.csv", "model.csv"):
            made = running.post("/jobs", json={"graph": graph, "inputs": {"input": "x"}})
            wait_state(running, made.json()["job"]["id"], {"completed", "failed"})

        text = running.get("/metrics").text
        system = running.get("/monitoring/system").json()
    finally:
        running.stop()

    assert 'agentmap_node_failures_total{graph="Fail",node="Boom"} 1.0' in text
    assert 'agentmap_node_duration_seconds_count{graph="Hello",node="Start"} 1.0' in text
    assert 'agentmap_llm_tokens_total{graph="Model",kind="prompt",node="Ask"} 24.0' in text
    assert 'agentmap_llm_cost_total{graph="Model",node="Ask"} 1.0' in text
    assert 'agentmap_job_events_total{kind="job_finished"} 4.0' in text
    assert system["events"]["job_finished"] == 4 and system["events"]["node_failed"] == 1
