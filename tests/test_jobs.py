"""Jobs from Python: created at once, run by this process's worker, watched, retried, cancelled.

Every job here runs on a real worker thread against a real SQLite store in the test's folder;
agents write what they ran to ran.log, so "not run again" is counted, not assumed.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import agentmap
from agentmap import (
    ExponentialBackoffRetryPolicy,
    FixedDelayRetryPolicy,
    GraphFileError,
    GraphValidationError,
    JobError,
    JobFailedError,
    JobNotFinishedError,
    JobNotFoundError,
    ResumeError,
    answer_job,
    cancel_job,
    create_job,
    get_job_results,
    get_job_status,
    list_jobs,
    resume_run,
    wait_for_job,
)
from agentmap.api import open_run_store
from agentmap.exceptions import JobStateError, RetryPolicyError
from helpers import csv_row

# A node logs "<input>:<node>" to ran.log; fail-<node> (holding a count) makes it fail that many
# times; a "nap" node awaits `nap` seconds; started-<input> marks that a job began.
AGENTS = """
import asyncio
import threading
from pathlib import Path

from agentmap import Agent, Failure


class StepAgent(Agent):
    def process(self, inputs):
        with open("ran.log", "a", encoding="utf-8") as log:
            log.write(f"{inputs['input']}:{self.name}\\n")
        fail = Path(f"fail-{self.name}")
        if fail.exists():
            left = int(fail.read_text() or "1")
            if left <= 1:
                fail.unlink()
            else:
                fail.write_text(str(left - 1))
            return Failure(f"{self.name} is told to fail")
        return f"{self.name}<{inputs['input']}"


class WhereAgent(Agent):
    quick = True

    def process(self, inputs):
        return threading.current_thread().name


class WhereSlowAgent(Agent):
    def process(self, inputs):
        return threading.current_thread().name


class NapAgent(Agent):
    async def process(self, inputs):
        Path(f"started-{inputs['input']}").write_text("")
        await asyncio.sleep(float(inputs.get("nap") or 0))
        return "rested"
"""


@pytest.fixture
def jobs_project(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> Path:
    write_file("agents/steps.py", AGENTS)
    write_file("agentmap_config.yaml", "jobs:\n  poll_interval: 0.05\n  heartbeat: 0.2\n")
    graph_csv(
        csv_row("Chain", "A", "step", success="B", inputs="input", output="a"),
        csv_row("Chain", "B", "step", success="C", inputs="input|a", output="b"),
        csv_row("Chain", "C", "step", inputs="input|b", output="c"),
        csv_row("Nap", "Rest", "nap", inputs="input|nap", output="rest"),
        csv_row("Where", "Quick", "where", success="Slow", inputs="input", output="quick"),
        csv_row("Where", "Slow", "where_slow", inputs="input", output="slow"),
        csv_row(
            "Ask",
            "Check",
            "human",
            success="Done",
            inputs="input",
            output="ok",
            prompt="Ship it?",
            context={"interaction_type": "approval"},
        ),
        csv_row("Ask", "Done", "echo", inputs="ok", output="done"),
        name="flow.csv",
    )
    return project


def ran(project: Path) -> list[str]:
    log = project / "ran.log"
    return log.read_text("utf-8").split() if log.exists() else []


def test_a_job_is_queued_at_once_and_a_worker_here_runs_it(jobs_project: Path) -> None:
    job = create_job("flow.csv::Chain", {"input": "x"}, tags=["demo", "a"], name="first")

    assert job.state == "queued" and job.tags == ("a", "demo") and job.name == "first"
    done = wait_for_job(job.id, timeout=60)
    assert done.state == "completed" and done.attempt == 1 and done.nodes_done == 3
    assert done.started_at and done.finished_at and done.worker is None
    results = get_job_results(job.id)
    assert results.final_state["c"] == "C<x" and results.summary["execution_path"] == [
        "A",
        "B",
        "C",
    ]
    assert ran(jobs_project) == ["x:A", "x:B", "x:C"]


def test_a_job_is_a_run_in_the_store_with_the_same_id(jobs_project: Path) -> None:
    job = create_job("flow.csv::Chain", {"input": "x"})
    wait_for_job(job.id, timeout=60)

    with open_run_store() as store:
        run = store.get(job.id)
    assert run.status == "succeeded" and run.graph_name == "Chain"
    assert run.final_state is not None and run.final_state["c"] == "C<x"


def test_a_failed_attempt_is_tried_again_from_its_last_checkpoint(jobs_project: Path) -> None:
    (jobs_project / "fail-B").write_text("2")  # B fails twice, then works

    job = create_job("flow.csv::Chain", {"input": "x"}, max_retries=2)
    done = wait_for_job(job.id, timeout=60)

    assert done.state == "completed" and done.attempt == 3
    # A ran once: the retries carried on from its checkpoint, at B
    assert collections.Counter(ran(jobs_project)) == {"x:A": 1, "x:B": 3, "x:C": 1}
    assert get_job_results(job.id).final_state["c"] == "C<x"


def test_a_job_out_of_retries_fails_with_its_error(jobs_project: Path) -> None:
    (jobs_project / "fail-B").write_text("5")

    job = create_job("flow.csv::Chain", {"input": "x"}, max_retries=1)
    done = wait_for_job(job.id, timeout=60)

    assert done.state == "failed" and done.attempt == 2
    assert done.error == "node 'B' failed: B is told to fail"
    with pytest.raises(JobFailedError, match="after 2 attempts: node 'B' failed") as failed:
        get_job_results(job.id)
    assert failed.value.job is not None and failed.value.job.final_state["a"] == "A<x"


def test_a_retry_waits_the_delay_its_policy_gives(jobs_project: Path) -> None:
    (jobs_project / "fail-A").write_text("1")
    policy = FixedDelayRetryPolicy(max_retries=1, delay=0.6)

    job = create_job("flow.csv::Chain", {"input": "x"}, retry_policy=policy)
    deadline = time.monotonic() + 60
    while (status := get_job_status(job.id)).state != "retrying":
        assert time.monotonic() < deadline and status.state in ("queued", "running")
        time.sleep(0.005)
    assert status.error == "node 'A' failed: A is told to fail" and status.max_retries == 1
    assert status.next_attempt_at is not None
    assert 0 < status.next_attempt_at - status.updated_at <= 0.6

    done = wait_for_job(job.id, timeout=60)
    assert done.state == "completed" and done.finished_at is not None
    assert done.finished_at >= status.next_attempt_at


def test_a_retry_policy_is_stored_by_its_type_and_read_back(jobs_project: Path) -> None:
    policy = ExponentialBackoffRetryPolicy(max_retries=4, initial_delay=0.01, jitter=0)
    (jobs_project / "fail-A").write_text("3")

    job = create_job("flow.csv::Chain", {"input": "x"}, retry_policy=policy.to_dict())

    assert job.max_retries == 4  # the policy's own, when none is given
    assert wait_for_job(job.id, timeout=60).attempt == 4


def test_workers_take_the_highest_priority_first_then_the_oldest(jobs_project: Path) -> None:
    config = {"jobs": {"executor": "workers"}}
    low = create_job("flow.csv::Chain", {"input": "low"}, config=config)
    high = create_job("flow.csv::Chain", {"input": "high"}, priority=5, config=config)
    older = create_job("flow.csv::Chain", {"input": "mid1"}, priority=1, config=config)
    newer = create_job("flow.csv::Chain", {"input": "mid2"}, priority=1, config=config)

    agentmap.run_worker(config=config, concurrency=1, until=lambda: True)

    first_nodes = [line.split(":")[0] for line in ran(jobs_project) if line.endswith(":A")]
    assert first_nodes == ["high", "mid1", "mid2", "low"]
    assert all(get_job_status(j.id).state == "completed" for j in (low, high, older, newer))


def test_a_worker_with_tags_takes_only_jobs_it_has_every_tag_for(jobs_project: Path) -> None:
    config = {"jobs": {"executor": "workers"}}
    gpu = create_job("flow.csv::Chain", {"input": "gpu"}, tags=["gpu"], config=config)
    both = create_job("flow.csv::Chain", {"input": "both"}, tags=["gpu", "big"], config=config)
    plain = create_job("flow.csv::Chain", {"input": "plain"}, config=config)

    agentmap.run_worker(config=config, tags=["gpu"], until=lambda: True)

    assert get_job_status(gpu.id).state == "completed"
    assert get_job_status(plain.id).state == "completed"  # untagged jobs need nothing
    assert get_job_status(both.id).state == "queued"


def test_cancelling_a_queued_job_means_it_never_runs(jobs_project: Path) -> None:
    config = {"jobs": {"executor": "workers"}}
    job = create_job("flow.csv::Chain", {"input": "x"}, config=config)

    assert cancel_job(job.id).state == "cancelled"
    agentmap.run_worker(config=config, until=lambda: True)

    assert get_job_status(job.id).state == "cancelled" and ran(jobs_project) == []
    with pytest.raises(JobFailedError, match="cancelled"):
        get_job_results(job.id)


def test_cancelling_a_running_job_stops_it_at_once(jobs_project: Path) -> None:
    job = create_job("flow.csv::Nap", {"input": "x", "nap": 30})
    _wait_for(jobs_project / "started-x")

    status = cancel_job(job.id)  # waits for the worker to stop it: the nap has 30 s to go

    assert status.state == "cancelled"
    with open_run_store() as store:
        assert store.get(job.id).status == "cancelled"


def test_status_shows_the_node_running_now_and_the_worker_holding_it(jobs_project: Path) -> None:
    job = create_job("flow.csv::Nap", {"input": "x", "nap": 30})
    _wait_for(jobs_project / "started-x")

    deadline = time.monotonic() + 60
    while (status := get_job_status(job.id)).running_nodes != ("Rest",):
        assert time.monotonic() < deadline, status  # reported at the next heartbeat (0.2 s)
        time.sleep(0.02)

    assert status.state == "running" and status.attempt == 1
    assert status.worker is not None and status.worker.split(":")[1] == str(os.getpid())
    cancel_job(job.id)


def test_a_job_waiting_for_a_person_follows_its_run_when_resumed(jobs_project: Path) -> None:
    job = create_job("flow.csv::Ask", {"input": "x"})
    assert wait_for_job(job.id, timeout=60).state == "waiting"
    with pytest.raises(JobNotFinishedError, match="is waiting, not finished"):
        get_job_results(job.id)

    resume_run(job.id, True)

    assert get_job_status(job.id).state == "completed"
    assert get_job_results(job.id).final_state["done"] is True


def test_answering_a_waiting_job_has_a_worker_carry_it_on(jobs_project: Path) -> None:
    job = create_job("flow.csv::Ask", {"input": "x"})
    assert wait_for_job(job.id, timeout=60).state == "waiting"

    with pytest.raises(ResumeError, match="can't take that answer"):
        answer_job(job.id, "yes please")  # an approval takes true or false
    answer_job(job.id, True)

    assert wait_for_job(job.id, timeout=60).state == "completed"
    assert get_job_results(job.id).final_state["done"] is True
    with pytest.raises(JobStateError, match="is completed, not waiting"):
        answer_job(job.id, True)


def test_list_jobs_filters_by_state_tag_and_graph_newest_first(jobs_project: Path) -> None:
    config = {"jobs": {"executor": "workers"}}
    made = [
        create_job(
            "flow.csv::Chain",
            {"input": str(i)},
            tags=["even" if i % 2 == 0 else "odd"],
            config=config,
        )
        for i in range(6)
    ]
    nap = create_job("flow.csv::Nap", {"input": "n"}, config=config)
    cancel_job(made[0].id)

    assert [j.id for j in list_jobs()] == [nap.id, *[j.id for j in reversed(made)]]
    assert [j.id for j in list_jobs(tags=["even"])] == [made[4].id, made[2].id, made[0].id]
    assert [j.id for j in list_jobs(status="cancelled")] == [made[0].id]
    assert [j.id for j in list_jobs(graph="Nap")] == [nap.id]
    assert len(list_jobs(status=["queued", "cancelled"], limit=None)) == 7
    page = list_jobs(limit=3)
    assert [j.id for j in list_jobs(limit=3, before=page[-1].id)] == [
        made[3].id,
        made[2].id,
        made[1].id,
    ]


def test_status_finds_a_job_by_the_start_of_its_id(jobs_project: Path) -> None:
    job = create_job("flow.csv::Chain", {"input": "x"}, config={"jobs": {"executor": "workers"}})

    assert get_job_status(job.id[:8]).id == job.id


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: create_job("missing.csv"), GraphFileError, "missing.csv: no such file"),
        (lambda: create_job("flow.csv::Nope"), agentmap.GraphSelectionError, "Nope"),
        (lambda: create_job("flow.csv::Chain", ["x"]), JobError, "must be a mapping"),
        (lambda: create_job("flow.csv::Chain", {1: "x"}), JobError, "keys must be text"),
        (lambda: create_job("flow.csv::Chain", {"s": {1, 2}}), JobError, "'s' holds a set"),
        (lambda: create_job("flow.csv::Chain", tags=["a b"]), JobError, "'a b' is not a tag"),
        (lambda: create_job("flow.csv::Chain", max_retries=-1), JobError, "max_retries"),
        (
            lambda: create_job("flow.csv::Chain", retry_policy={"type": "sometimes"}),
            RetryPolicyError,
            "retry type must be one of fixed, exponential",
        ),
        (lambda: get_job_status("0123abc"), JobNotFoundError, "no job '0123abc'"),
        (lambda: get_job_results("not-hex"), JobNotFoundError, "no job 'not-hex'"),
        (lambda: list_jobs(status="done"), JobError, "'done' is not a job state"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_is_a_clear_error_and_records_nothing(
    jobs_project: Path, make: Callable[[], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make()
    assert list_jobs() == []


def test_a_graph_with_problems_is_refused_when_the_job_is_made(
    jobs_project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(csv_row("Bad", "A", "step", success="Nowhere"), name="bad.csv")

    with pytest.raises(GraphValidationError) as refused:
        create_job("bad.csv")

    (problem,) = refused.value.problems
    assert problem.row == 2 and problem.field == "Success_Next" and "Nowhere" in problem.message


def test_the_async_twins_do_the_same(jobs_project: Path) -> None:
    async def main() -> tuple[str, str, int]:
        job = await agentmap.acreate_job("flow.csv::Chain", {"input": "x"})
        done = await agentmap.await_for_job(job.id, timeout=60)
        result = await agentmap.aget_job_results(job.id)
        listed = await agentmap.alist_jobs(status="completed")
        assert (await agentmap.aget_job_status(job.id)).state == "completed"
        assert (await agentmap.acancel_job(job.id)).state == "completed"  # too late: unchanged
        return done.state, result.final_state["c"], len(listed)

    assert asyncio.run(main()) == ("completed", "C<x", 1)


def test_a_worker_runs_jobs_concurrency_at_a_time_on_one_loop(jobs_project: Path) -> None:
    jobs = [create_job("flow.csv::Nap", {"input": f"n{i}", "nap": 0.3}) for i in range(40)]

    assert {wait_for_job(job.id, timeout=30).state for job in jobs} == {"completed"}

    with open_run_store() as store:
        runs = [store.get(job.id) for job in jobs]
    edges = sorted(
        [(run.started_at, 1) for run in runs] + [(run.finished_at or 0, -1) for run in runs]
    )
    at_once = max(itertools.accumulate(step for _, step in edges))
    assert at_once == 16  # jobs.concurrency: never more, and every slot used


def test_a_worker_calls_quick_agents_on_its_loop_and_others_on_threads(
    jobs_project: Path,
) -> None:
    job = create_job("flow.csv::Where", {"input": "x"})
    wait_for_job(job.id, timeout=60)

    state = get_job_results(job.id).final_state
    assert state["quick"].startswith("agentmap-worker")  # the worker's own thread
    assert state["slow"].startswith("agentmap-agent")  # the runner's pool for sync agents


def _wait_for(path: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.005)
