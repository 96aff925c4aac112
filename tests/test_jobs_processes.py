"""Jobs across real processes: the CLI, a worker killed mid-run and started again, and many
processes submitting into one SQLite store while workers drain it."""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from agentmap import get_job_status, list_jobs
from helpers import clean_env, csv_row, ctrl_c_works
from test_durable import AGENTMAP, agentmap

# Each node logs "<input>:<node>" to ran.log as it ends (so a node that was killed mid-way is
# not counted), after napping `nap` seconds; started-<input>-<node> marks that it began.
AGENTS = """
import time
from pathlib import Path

from agentmap import Agent


class StepAgent(Agent):
    def process(self, inputs):
        Path(f"started-{inputs['input']}-{self.name}").write_text("")
        time.sleep(float(inputs.get("nap") or 0))
        with open("ran.log", "a", encoding="utf-8") as log:
            log.write(f"{inputs['input']}:{self.name}\\n")
        return f"{self.name}<{inputs['input']}"
"""
NODES = ("A", "B", "C", "D")


@pytest.fixture
def jobs_project(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> Path:
    write_file("agents/steps.py", AGENTS)
    write_file(
        "agentmap_config.yaml",
        "storage:\n  durability: sync\n"
        "jobs:\n  executor: workers\n  concurrency: 4\n  lease: 1\n  heartbeat: 0.2\n"
        "  poll_interval: 0.05\n",
    )
    rows = []
    for i, node in enumerate(NODES):
        after = NODES[i + 1] if i + 1 < len(NODES) else ""
        source = "input|nap" if i == 0 else f"input|nap|{NODES[i - 1].lower()}"
        rows.append(
            csv_row("Chain", node, "step", success=after, inputs=source, output=node.lower())
        )
    graph_csv(*rows, csv_row("One", "Only", "step", inputs="input", output="only"))
    return project


def ran(project: Path) -> list[str]:
    log = project / "ran.log"
    return log.read_text("utf-8").split() if log.exists() else []


def start_worker(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(AGENTMAP), "worker", *args],
        cwd=project,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=ctrl_c_works,
    )


def wait_until(check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.02)


def all_ended() -> bool:
    return all(job.ended for job in list_jobs(limit=None))


# --- the CLI --------------------------------------------------------------------------------


def test_submit_then_a_worker_runs_it_and_results_show_it(jobs_project: Path) -> None:
    submitted = agentmap(
        jobs_project,
        "jobs",
        "submit",
        "flow.csv::One",
        "--state",
        '{"input": "x"}',
        "--tag",
        "demo",
        "--json",
    )
    assert submitted.returncode == 0, submitted.stderr
    job_id = json.loads(submitted.stdout)["job_id"]

    early = agentmap(jobs_project, "jobs", "results", job_id)
    assert early.returncode == 75 and f"job {job_id} is queued, not finished" in early.stderr

    worker = start_worker(jobs_project)
    wait_until(lambda: get_job_status(job_id).ended)
    worker.send_signal(signal.SIGINT)
    _, err = worker.communicate(timeout=30)
    assert worker.returncode == 0 and "worker stopped after 1 job attempt" in err

    status = json.loads(agentmap(jobs_project, "jobs", "status", job_id[:8], "--json").stdout)
    assert status["state"] == "completed" and status["tags"] == ["demo"]
    results = agentmap(jobs_project, "jobs", "results", job_id, "--json")
    assert results.returncode == 0 and json.loads(results.stdout)["final_state"]["only"] == "Only<x"
    listed = agentmap(jobs_project, "jobs", "list", "--tag", "demo", "--json")
    assert [job["id"] for job in json.loads(listed.stdout)["jobs"]] == [job_id]
    shown = agentmap(jobs_project, "runs", "show", job_id)
    assert shown.returncode == 0 and "demo" in shown.stdout  # jobs are runs, with their tags


def test_submit_wait_runs_the_job_here_and_exits_as_run_does(jobs_project: Path) -> None:
    done = agentmap(
        jobs_project,
        "jobs",
        "submit",
        "flow.csv",
        "--graph",
        "One",
        "--state",
        '{"input": "x"}',
        "--wait",
    )

    assert done.returncode == 0, done.stderr
    assert "completed" in done.stdout and "Only<x" in done.stdout


def test_jobs_answer_from_the_cli_carries_a_waiting_job_on(
    jobs_project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(
        csv_row("Ask", "Pick", "human", success="Done", inputs="input", output="picked",
                prompt="Which?", context={"interaction_type": "choice", "options": ["a", "b"]}),
        csv_row("Ask", "Done", "echo", inputs="picked", output="done"),
        name="ask.csv",
    )  # fmt: skip
    waiting = agentmap(jobs_project, "jobs", "submit", "ask.csv", "--state", '{"input": 1}',
                       "--wait")  # fmt: skip
    assert waiting.returncode == 3, waiting.stderr  # as `run` exits for a waiting run
    (job,) = list_jobs()
    assert job.state == "waiting"

    none = agentmap(jobs_project, "jobs", "answer", job.id)
    assert none.returncode == 2 and "give the answer" in none.stderr
    answered = agentmap(jobs_project, "jobs", "answer", job.id[:8], "--choice", "2")
    assert answered.returncode == 0, answered.stderr
    worker = start_worker(jobs_project)
    try:
        wait_until(lambda: get_job_status(job.id).ended)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=30)
    results = json.loads(agentmap(jobs_project, "jobs", "results", job.id, "--json").stdout)
    assert results["final_state"]["done"] == "b"


def test_submit_records_tags_priority_retries_and_name(jobs_project: Path) -> None:
    done = agentmap(jobs_project, "jobs", "submit", "flow.csv::One", "--state", '{"input": "x"}',
                    "--tag", "b", "--tag", "a", "--priority", "7", "--retries", "2",
                    "--name", "nightly", "--json")  # fmt: skip
    job_id = json.loads(done.stdout)["job_id"]

    status = json.loads(agentmap(jobs_project, "jobs", "status", job_id, "--json").stdout)
    assert (status["tags"], status["priority"], status["max_retries"], status["name"]) == (
        ["a", "b"], 7, 2, "nightly"
    )  # fmt: skip


def test_sigterm_stops_a_tagged_worker_which_gives_its_job_back(jobs_project: Path) -> None:
    from agentmap import create_job
    from agentmap.api import open_run_store
    from agentmap.store.jobstore import JobStore

    other = create_job("flow.csv::Chain", {"input": "plain", "nap": 0}, tags=["cpu"])
    job = create_job("flow.csv::Chain", {"input": "slow", "nap": 30}, tags=["gpu"])
    worker = start_worker(jobs_project, "--tags", "gpu,big")
    wait_until(lambda: (jobs_project / "started-slow-A").exists())

    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=30)

    assert worker.returncode == 0 and "worker stopped after 1 job attempt" in err
    assert get_job_status(other.id).state == "queued"  # not its tags: never taken
    with open_run_store() as store:
        takeable = [job_id for job_id, _ in JobStore(store).takeable()]
    assert job.id in takeable  # given back: the next worker carries it on at once


def test_cancel_from_another_process_stops_a_running_job(jobs_project: Path) -> None:
    submitted = agentmap(
        jobs_project, "jobs", "submit", "flow.csv::Chain", "--state", '{"input": "x", "nap": 30}'
    )
    job_id = submitted.stdout.strip()
    worker = start_worker(jobs_project)
    try:
        wait_until(lambda: (jobs_project / "started-x-A").exists())

        cancelled = agentmap(jobs_project, "jobs", "cancel", job_id)

        assert cancelled.returncode == 0 and "cancelled" in cancelled.stdout, cancelled.stderr
        assert get_job_status(job_id).state == "cancelled"
    finally:
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=30)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["jobs", "submit", "missing.csv"], 2, "missing.csv: no such file"),
        (["jobs", "submit", "flow.csv::Nope"], 2, "Nope"),
        (["jobs", "submit", "flow.csv::One", "--state", "[1, 2]"], 2, "got a JSON list"),
        (["jobs", "submit", "flow.csv::One", "--state", "{"], 2, "not valid JSON"),
        (["jobs", "submit", "flow.csv::One", "--tag", "a,b"], 2, "'a,b' is not a tag"),
        (["jobs", "status", "0badc0de"], 2, "no job '0badc0de'"),
        (["jobs", "results", "nothex"], 2, "no job 'nothex'"),
        (["jobs", "cancel", "0badc0de"], 2, "no job '0badc0de'"),
        (["jobs", "list", "--status", "done"], 2, "'done' is not a job state"),
        (["jobs", "list", "--before", "0badc0de"], 2, "no job '0badc0de'"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(
    jobs_project: Path, args: list[str], code: int, message: str
) -> None:
    done = agentmap(jobs_project, *args)

    assert done.returncode == code, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr + done.stdout


def test_results_of_a_failed_job_exit_1_with_its_error(
    jobs_project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(csv_row("Bad", "Boom", "failure", inputs="input", output="x"), name="bad.csv")
    done = agentmap(
        jobs_project, "jobs", "submit", "bad.csv", "--state", '{"input": 1}', "--wait", "--json"
    )
    job_id = json.loads(done.stdout)["id"]
    assert done.returncode == 1 and json.loads(done.stdout)["state"] == "failed"

    results = agentmap(jobs_project, "jobs", "results", job_id)

    assert results.returncode == 1
    assert f"job {job_id} failed after 1 attempt: node 'Boom' failed" in results.stderr


# --- faults ---------------------------------------------------------------------------------


def test_a_worker_killed_mid_run_is_carried_on_by_the_next_from_checkpoints(
    jobs_project: Path,
) -> None:
    from agentmap import create_job

    jobs = [create_job("flow.csv::Chain", {"input": f"j{i}", "nap": 0.05}) for i in range(20)]
    first = start_worker(jobs_project)
    wait_until(lambda: len(ran(jobs_project)) >= 25)  # some jobs done, some part-way
    first.kill()
    first.communicate(timeout=30)
    assert not all_ended()

    second = start_worker(jobs_project)
    try:
        wait_until(all_ended)
    finally:
        second.send_signal(signal.SIGINT)
        second.communicate(timeout=30)

    assert {get_job_status(job.id).state for job in jobs} == {"completed"}
    counts = collections.Counter(ran(jobs_project))
    assert set(counts) == {f"j{i}:{node}" for i in range(20) for node in NODES}
    # only the nodes running when the worker was killed ran again: at most one per job it held
    assert sum(counts.values()) - len(counts) <= 4


def test_eight_processes_submitting_while_workers_drain_lose_and_repeat_nothing(
    jobs_project: Path,
) -> None:
    submit = (
        "import sys\n"
        "from agentmap import create_job\n"
        "for i in range(250):\n"
        "    create_job('flow.csv::One', {'input': f'{sys.argv[1]}-{i}'})\n"
    )
    workers = [start_worker(jobs_project, "--concurrency", "16") for _ in range(2)]
    try:
        submitters = [
            subprocess.Popen(
                [sys.executable, "-c", submit, f"p{p}"],
                cwd=jobs_project,
                env=clean_env(),
                stderr=subprocess.PIPE,
                text=True,
            )
            for p in range(8)
        ]
        errors = [process.communicate(timeout=300)[1] for process in submitters]
        assert [process.returncode for process in submitters] == [0] * 8, errors
        wait_until(lambda: len(list_jobs(status="completed", limit=None)) == 2000, timeout=300)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        outputs = [worker.communicate(timeout=60) for worker in workers]

    counts = collections.Counter(ran(jobs_project))
    assert len(counts) == 2000 and set(counts.values()) == {1}
    everything = "".join(errors) + "".join(out + err for out, err in outputs)
    assert "database is locked" not in everything and "Traceback" not in everything
