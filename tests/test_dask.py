"""Jobs on a real Dask cluster: `dask scheduler` and `dask worker` processes on 127.0.0.1 (and
`agentmap worker --scheduler`), workers killed while they run jobs, tags as resources, and a
cluster of this machine's made on demand."""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentmap import (
    ConfigError,
    create_job,
    get_job_results,
    get_job_status,
    list_jobs,
    wait_for_job,
)
from agentmap.api import open_run_store
from helpers import clean_env, csv_row
from test_durable import AGENTMAP, agentmap

DASK = Path(sys.executable).parent / "dask"

# Each node naps `nap` seconds, then logs "<input>:<node>" (so a node killed mid-nap is not
# counted) and returns a value made of its inputs.
AGENTS = """
import time

from agentmap import Agent


class StepAgent(Agent):
    def process(self, inputs):
        time.sleep(float(inputs.get("nap") or 0))
        with open("ran.log", "a", encoding="utf-8") as log:
            log.write(f"{inputs['input']}:{self.name}\\n")
        return f"{self.name}<{inputs['input']}"
"""
NODES = ("A", "B", "C")


def ran(project: Path) -> list[str]:
    log = project / "ran.log"
    return log.read_text("utf-8").split() if log.exists() else []


class Cluster:
    """A `dask scheduler` and its workers, each a process of its own, in ``project``."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.workers: list[subprocess.Popen[str]] = []
        info = project / "scheduler.json"
        self.scheduler = self._start(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(info)]
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip():
            assert self.scheduler.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        self.address: str = json.loads(info.read_text())["address"]

    def add_worker(self, *extra: str) -> subprocess.Popen[str]:
        worker = self._start(
            [str(DASK), "worker", self.address, "--preload", "agentmap.dask_executor",
             "--nthreads", "2", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", *extra]
        )  # fmt: skip
        self.workers.append(worker)
        return worker

    def _start(self, command: list[str]) -> subprocess.Popen[str]:
        log = (self.project / f"process-{len(self.workers)}-{time.monotonic_ns()}.log").open("w")
        return subprocess.Popen(
            command, cwd=self.project, env=clean_env(), stdout=log, stderr=log, text=True
        )

    def close(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.kill()
            process.wait(30)


@pytest.fixture
def dask_project(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> Path:
    write_file("agents/steps.py", AGENTS)
    rows = [
        csv_row("Chain", node, "step", success=NODES[i + 1] if i + 1 < len(NODES) else "",
                inputs="input|nap", output=node.lower())
        for i, node in enumerate(NODES)
    ]  # fmt: skip
    graph_csv(*rows)
    return project


@pytest.fixture
def cluster(dask_project: Path, write_file: Callable[..., Path]) -> Iterator[Cluster]:
    made = Cluster(dask_project)
    write_file(
        "agentmap_config.yaml",
        "storage:\n  durability: sync\n"
        "jobs:\n  executor: dask\n  lease: 1\n  heartbeat: 0.2\n  poll_interval: 0.1\n"
        f"  dask:\n    address: {made.address}\n",
    )
    try:
        yield made
    finally:
        made.close()


def expected(job_input: str) -> dict[str, object]:
    return {
        "input": job_input,
        "nap": 0.05,
        "a": f"A<{job_input}",
        "b": f"B<{job_input}",
        "c": f"C<{job_input}",
        "last_action_success": True,
    }


def test_jobs_run_on_the_clusters_worker_processes(dask_project: Path, cluster: Cluster) -> None:
    workers = [cluster.add_worker() for _ in range(2)]

    jobs = [create_job("flow.csv", {"input": f"j{i}", "nap": 0.05}) for i in range(6)]

    assert {wait_for_job(job.id, timeout=60).state for job in jobs} == {"completed"}
    with open_run_store() as store:
        pids = {store.get(job.id).pid for job in jobs}
    assert pids <= {worker.pid for worker in workers} and os.getpid() not in pids
    assert get_job_results(jobs[0].id).final_state == expected("j0")


def test_tags_are_resources_only_a_worker_that_has_them_takes(
    dask_project: Path, cluster: Cluster
) -> None:
    plain = cluster.add_worker()
    gpu = subprocess.Popen(
        [str(AGENTMAP), "worker", "--scheduler", cluster.address, "--tags", "gpu",
         "--nthreads", "2"],
        cwd=dask_project, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    cluster.workers.append(gpu)

    tagged = [create_job("flow.csv", {"input": f"g{i}"}, tags=["gpu"]) for i in range(4)]
    untagged = [create_job("flow.csv", {"input": f"u{i}"}) for i in range(4)]

    for job in tagged + untagged:
        assert wait_for_job(job.id, timeout=60).state == "completed"
    with open_run_store() as store:
        assert {store.get(job.id).pid for job in tagged} == {gpu.pid}
        assert {store.get(job.id).pid for job in untagged} <= {gpu.pid, plain.pid}


def test_workers_killed_ten_times_lose_nothing_and_repeat_no_checkpointed_node(
    dask_project: Path, cluster: Cluster
) -> None:
    cluster.add_worker()
    cluster.add_worker()
    jobs = [create_job("flow.csv", {"input": f"j{i}", "nap": 0.05}) for i in range(100)]
    chance = random.Random(11)

    for _ in range(10):
        time.sleep(chance.uniform(0.2, 0.8))
        victim = chance.choice([w for w in cluster.workers if w.poll() is None])
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
        cluster.workers.remove(victim)
        cluster.add_worker()

    states = {wait_for_job(job.id, timeout=240).state for job in jobs}

    assert states == {"completed"}
    assert not list_jobs(status="running", limit=None)
    for i, job in enumerate(jobs):
        assert get_job_results(job.id).final_state == expected(f"j{i}")
    counts = collections.Counter(ran(dask_project))
    assert set(counts) == {f"j{i}:{node}" for i in range(100) for node in NODES}
    # A node ran again only if its worker was killed while it ran (before its checkpoint):
    # at most one per thread of a killed worker, per kill.
    assert sum(counts.values()) - len(counts) <= 10 * 2


def test_jobs_survive_a_restart_of_the_scheduler(dask_project: Path, cluster: Cluster) -> None:
    cluster.add_worker()
    first = [create_job("flow.csv", {"input": f"a{i}", "nap": 0.2}) for i in range(6)]
    time.sleep(0.5)  # some run, some wait in the scheduler
    assert not all(get_job_status(job.id).ended for job in first)

    port = cluster.address.rsplit(":", 1)[1]
    for process in [*cluster.workers, cluster.scheduler]:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    cluster.workers.clear()
    cluster.scheduler = cluster._start(
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"]
    )
    cluster.add_worker()

    assert {wait_for_job(job.id, timeout=120).state for job in first} == {"completed"}
    for i, job in enumerate(first):
        assert get_job_results(job.id).final_state == expected(f"a{i}") | {"nap": 0.2}


def test_jobs_run_after_the_process_that_created_them_exited(
    dask_project: Path, cluster: Cluster
) -> None:
    cluster.add_worker()
    script = (
        "from agentmap import create_job\n"
        "for i in range(4):\n"
        "    print(create_job('flow.csv', {'input': f'gone{i}', 'nap': 0.2}).id)\n"
    )
    made = subprocess.run(
        [sys.executable, "-c", script], cwd=dask_project, env=clean_env(),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr

    ids = made.stdout.split()
    assert {wait_for_job(job_id, timeout=120).state for job_id in ids} == {"completed"}


def test_a_task_dask_runs_twice_runs_its_job_once(dask_project: Path, cluster: Cluster) -> None:
    from distributed import Client

    from agentmap.dask_executor import run_job

    cluster.add_worker()
    cluster.add_worker()
    job = create_job("flow.csv", {"input": "once", "nap": 0.3})
    with Client(cluster.address, set_as_default=False) as client:
        again = [client.submit(run_job, job.id, pure=False) for _ in range(3)]
        client.gather(again)

    assert wait_for_job(job.id, timeout=60).state == "completed"
    assert collections.Counter(ran(dask_project)) == {"once:A": 1, "once:B": 1, "once:C": 1}


def test_a_batch_runs_on_the_cluster_with_executor_dask(
    dask_project: Path, cluster: Cluster
) -> None:
    worker = cluster.add_worker()
    (dask_project / "rows.csv").write_text("input,nap\na,0\nb,0\nc,0\n")

    done = agentmap(
        dask_project, "batch", "flow.csv", "--inputs", "rows.csv", "--executor", "dask",
        "--out", "r.jsonl",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (dask_project / "r.jsonl").read_text().splitlines()]
    assert [(row["input"], row["status"], row["c"]) for row in rows] == [
        ("a", "completed", "C<a"), ("b", "completed", "C<b"), ("c", "completed", "C<c")
    ]  # fmt: skip
    with open_run_store() as store:
        assert {store.get(row["run_id"]).pid for row in rows} == {worker.pid}


def test_a_cluster_of_this_machine_is_made_when_no_address_is_given(
    dask_project: Path, write_file: Callable[..., Path]
) -> None:
    write_file(
        "agentmap_config.yaml",
        "jobs:\n  executor: dask\n  poll_interval: 0.1\n  dask:\n    workers: 1\n    threads: 2\n",
    )

    jobs = [create_job("flow.csv", {"input": f"j{i}"}) for i in range(3)]

    assert {wait_for_job(job.id, timeout=120).state for job in jobs} == {"completed"}
    with open_run_store() as store:
        assert os.getpid() not in {store.get(job.id).pid for job in jobs}


def test_a_sqlite_store_is_refused_for_a_cluster_on_other_machines(
    dask_project: Path, write_file: Callable[..., Path]
) -> None:
    write_file(
        "agentmap_config.yaml",
        "jobs:\n  executor: dask\n  dask:\n    address: tcp://10.20.30.40:8786\n",
    )

    with pytest.raises(ConfigError, match=r"set storage\.url to a PostgreSQL database"):
        create_job("flow.csv", {"input": "x"})
    done = agentmap(dask_project, "jobs", "submit", "flow.csv", "--state", '{"input": "x"}')
    assert done.returncode == 2 and "only this machine can reach" in done.stderr


def test_an_unreachable_scheduler_is_a_clear_error(
    dask_project: Path, write_file: Callable[..., Path]
) -> None:
    write_file(
        "agentmap_config.yaml",
        "jobs:\n  executor: dask\n  dask:\n    address: tcp://127.0.0.1:9\n",
    )

    done = agentmap(dask_project, "jobs", "submit", "flow.csv", "--state", '{"input": "x"}')

    assert done.returncode == 2 and "can't reach the Dask scheduler at tcp://127.0.0.1:9" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr
