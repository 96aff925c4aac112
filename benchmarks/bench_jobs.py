"""Jobs (issue 11): how quickly jobs are made and read, how many run at once, and a batch
against a Python loop calling ``run_graph`` per row — each pair measured in the same run.

1. ``create_job`` and ``get_job_status`` on a SQLite store: median and p99 of single calls.
2. 1,000 jobs whose agent awaits 1 s, ``jobs.concurrency: 1000``: time until all completed.
3. With 10,000 jobs in the store: ``list_jobs`` (20 newest, and by tag) and ``get_job_status``.
4. A batch of N rows through a 3-node echo graph (store on) against a loop of ``run_graph``
   over the same rows, interleaved in one run; the ratio is the throughput of one over the other.
5. Per-job overhead: the same 3-node echo jobs on the local executor and on a Dask
   ``LocalCluster`` of 2 worker processes, one after the other in one run.
Run: python benchmarks/bench_jobs.py [--rows N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import agentmap

GRAPH = """GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,Prompt,Context,Description
Echo,A,echo,B,,,input,a,,,
Echo,B,echo,C,,,a,b,,,
Echo,C,echo,,,,b,c,,,
Nap,Rest,nap,,,,input,rest,,,
"""
NAP = """
import asyncio
from agentmap import Agent

class NapAgent(Agent):
    async def process(self, inputs):
        await asyncio.sleep(1)
        return "rested"
"""


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e3, ordered[int(len(ordered) * 0.99) - 1] * 1e3


def project(root: Path, concurrency: int) -> dict[str, object]:
    (root / "agents").mkdir(exist_ok=True)
    (root / "agents" / "nap.py").write_text(NAP)
    (root / "flow.csv").write_text(GRAPH)
    return {
        "paths": {"custom_agents": str(root / "agents")},
        "storage": {"url": f"sqlite:///{root / 'runs.db'}"},
        "jobs": {"concurrency": concurrency, "executor": "workers"},
    }


def calls(root: Path) -> None:
    config = project(root, 16)
    graph = str(root / "flow.csv::Echo")
    made, read = [], []
    ids = []
    for i in range(2000):
        t = time.perf_counter()
        job = agentmap.create_job(graph, {"input": i}, config=config)
        made.append(time.perf_counter() - t)
        ids.append(job.id)
    for job_id in ids:
        t = time.perf_counter()
        agentmap.get_job_status(job_id, config=config)
        read.append(time.perf_counter() - t)
    print("create_job      median {:.2f} ms  p99 {:.2f} ms".format(*percentiles(made)))
    print("get_job_status  median {:.2f} ms  p99 {:.2f} ms".format(*percentiles(read)))


def thousand_naps(root: Path) -> None:
    config = project(root, 1000)
    graph = str(root / "flow.csv::Nap")
    for i in range(1000):
        agentmap.create_job(graph, {"input": i}, config=config)
    t = time.perf_counter()
    agentmap.run_worker(
        config=config,
        until=lambda: not agentmap.list_jobs(status=["queued", "running"], config=config),
    )
    done = len(agentmap.list_jobs(status="completed", limit=None, config=config))
    print(
        f"1,000 jobs awaiting 1 s, concurrency 1000: {done} completed in "
        f"{time.perf_counter() - t:.2f} s"
    )


def crowded(root: Path) -> None:
    config = project(root, 16)
    graph = str(root / "flow.csv::Echo")
    from agentmap.jobhost import job_host

    queue = job_host(config, None).queue
    for _ in range(10):
        jobs = queue.create_many(graph, [{"input": i} for i in range(1000)])
    tagged = agentmap.create_job(graph, {"input": 1}, tags=["rare"], config=config)
    some = jobs[500].id
    for name, call in (
        ("list_jobs (20 newest)", lambda: agentmap.list_jobs(config=config)),
        ("list_jobs (by tag)", lambda: agentmap.list_jobs(tags=["rare"], config=config)),
        ("list_jobs (queued)", lambda: agentmap.list_jobs(status="queued", config=config)),
        ("get_job_status", lambda: agentmap.get_job_status(some, config=config)),
    ):
        samples = []
        for _ in range(50):
            t = time.perf_counter()
            call()
            samples.append(time.perf_counter() - t)
        median, p99 = percentiles(samples)
        print(f"10,000 jobs stored: {name:<22} median {median:.2f} ms  p99 {p99:.2f} ms")
    assert agentmap.list_jobs(tags=["rare"], config=config)[0].id == tagged.id


def batch_against_loop(root: Path, rows: int) -> None:
    config = project(root, 64)
    config["jobs"] = {"concurrency": 64}
    graph = str(root / "flow.csv::Echo")
    inputs = [{"input": f"r{i}"} for i in range(rows)]
    batch_times, loop_times = [], []
    for _ in range(2):  # interleaved: batch, loop, batch, loop
        t = time.perf_counter()
        table = agentmap.run_batch(graph, inputs, config=config)
        batch_times.append(time.perf_counter() - t)
        assert (table["status"] == "completed").all()
        t = time.perf_counter()
        for row in inputs:
            agentmap.run_graph(graph, row, config=config)
        loop_times.append(time.perf_counter() - t)
    b, loop = min(batch_times), min(loop_times)
    print(
        f"batch of {rows:,} rows: {rows / b:,.0f} rows/s; run_graph loop: {rows / loop:,.0f} "
        f"rows/s; batch/loop throughput {loop / b:.2f}x"
    )


def dask_against_local(root: Path, jobs: int = 400) -> None:
    per_job = {}
    for executor in ("local", "dask"):
        config = project(root / executor, 8)
        graph = str(root / executor / "flow.csv::Echo")
        config["jobs"] = {
            "executor": executor,
            "concurrency": 8,
            "poll_interval": 0.05,
            "dask": {"workers": 2, "threads": 4},
        }
        warm = agentmap.create_job(graph, {"input": 0}, config=config)
        agentmap.wait_for_job(warm.id, config=config)
        t = time.perf_counter()
        made = [agentmap.create_job(graph, {"input": i}, config=config) for i in range(jobs)]
        for job in made:
            agentmap.wait_for_job(job.id, config=config)
        per_job[executor] = (time.perf_counter() - t) / jobs
    print(
        f"per job ({jobs} echo jobs, 8 at a time): local {per_job['local'] * 1e3:.2f} ms, "
        f"Dask LocalCluster (2 workers x 4 threads) {per_job['dask'] * 1e3:.2f} ms "
        f"({per_job['dask'] / per_job['local']:.1f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        calls(Path(a))
        crowded(Path(b))
    with tempfile.TemporaryDirectory() as c:
        thousand_naps(Path(c))
    with tempfile.TemporaryDirectory() as d:
        batch_against_loop(Path(d), args.rows)
    with tempfile.TemporaryDirectory() as e:
        for executor in ("local", "dask"):
            (Path(e) / executor).mkdir()
        dask_against_local(Path(e))
    agentmap.api.close_jobs()


if __name__ == "__main__":
    main()
