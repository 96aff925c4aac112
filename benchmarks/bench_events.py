"""Live job events over HTTP (issue 12): how soon an SSE event reaches a client after its node
ends, and one `agentmap serve` holding 1,000 open streams.

Starts `agentmap serve` on a temporary project (default config: SQLite, jobs run in the
server's process) and, from this second process on loopback:

1. latency: runs jobs of five nodes, each a 20 ms sleep, one at a time, with a client
   following each job's `/jobs/{id}/events`; for every `node_completed` event, the time from
   the node's end (the event's `at`, stamped as the node ends; same machine, same clock) to
   the moment the client has parsed it;
2. streams: queues 1,000 jobs that wait for a person, opens one stream per job (1,000 open
   at once), answers every job, and checks that every stream saw its job finish; reports the
   latency of those events too (from the answer's job finishing to the client), and the
   server's memory.

Run: python benchmarks/bench_events.py [--jobs N] [--streams N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2

sys.path.insert(0, str(Path(__file__).parent))
from bench_service import free_port
from timing import agentmap_command

GRAPH = """GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,Prompt,Context,Description
Naps,A,nap,,B,,input,a,,,
Naps,B,nap,,C,,a,b,,,
Naps,C,nap,,D,,b,c,,,
Naps,D,nap,,E,,c,d,,,
Naps,E,nap,,,,d,e,,,
Ask,Check,human,,Done,,input,ok,Ship it?,"{""interaction_type"": ""approval""}",
Ask,Done,echo,,,,ok,done,,,
"""
NAP = """
import asyncio
from agentmap import Agent


class NapAgent(Agent):
    async def process(self, inputs):
        await asyncio.sleep(0.02)
        return "rested"
"""


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return (
        f"median {statistics.median(ordered) * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms, "
        f"max {ordered[-1] * 1e3:.1f} ms ({len(ordered)} events)"
    )


async def follow(
    client: httpx2.AsyncClient, job_id: str, kinds: set[str], seen: list[float]
) -> str | None:
    """Read the job's stream to its end; the delay of each event of ``kinds``."""
    last = None
    async with client.stream("GET", f"/jobs/{job_id}/events") as response:
        assert response.status_code == 200, response.status_code
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                event = json.loads(line[5:])
                if event["kind"] in kinds:
                    seen.append(time.time() - event["at"])
                last = event["kind"]
    return last


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def bench(url: str, jobs: int, streams: int, pid: int) -> None:
    limits = httpx2.Limits(max_connections=streams + 50, max_keepalive_connections=streams + 50)
    async with httpx2.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        delays: list[float] = []
        for n in range(jobs):
            made = await client.post(
                "/jobs", json={"graph": "flow.csv::Naps", "inputs": {"input": n}}
            )
            assert made.status_code == 202, made.text
            last = await follow(client, made.json()["job"]["id"], {"node_completed"}, delays)
            assert last == "job_finished", last
        print(f"node_completed → client, one stream: {summary(delays)}")

        idle = rss_mib(pid)
        ids = []
        for n in range(streams):
            made = await client.post(
                "/jobs", json={"graph": "flow.csv::Ask", "inputs": {"input": n}}
            )
            ids.append(made.json()["job"]["id"])
        deadline = time.monotonic() + 120
        while True:
            waiting = (await client.get("/jobs", params={"status": "waiting", "limit": 1})).json()
            page = await client.get("/monitoring/jobs")
            if page.json()["by_state"].get("waiting", 0) >= streams:
                break
            assert time.monotonic() < deadline, waiting
            await asyncio.sleep(0.2)
        finished: list[float] = []
        t0 = time.perf_counter()
        readers = [
            asyncio.create_task(follow(client, job_id, {"job_finished"}, finished))
            for job_id in ids
        ]
        await asyncio.sleep(3)  # every stream open and replayed
        held = rss_mib(pid)
        print(f"{streams} streams open (replayed) after {time.perf_counter() - t0:.1f} s; "
              f"server RSS {idle:.0f} MiB → {held:.0f} MiB")  # fmt: skip
        t1 = time.perf_counter()
        answering: list[float] = []
        for job_id in ids:
            t = time.perf_counter()
            answered = await client.post(f"/jobs/{job_id}/answer", json={"approve": True})
            answering.append(time.perf_counter() - t)
            assert answered.status_code == 200, answered.text
        print(f"POST /jobs/{{id}}/answer with {streams} streams open: {summary(answering)}")
        ends = await asyncio.gather(*readers)
        assert all(end == "job_finished" for end in ends), set(ends)
        print(f"{streams} jobs answered and every stream saw its job finish in "
              f"{time.perf_counter() - t1:.1f} s")  # fmt: skip
        print(f"job_finished → client, {streams} streams open: {summary(finished)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--streams", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "graphs").mkdir()
        (root / "agents").mkdir()
        (root / "graphs" / "flow.csv").write_text(GRAPH)
        (root / "agents" / "nap.py").write_text(NAP)
        port = free_port()
        server = subprocess.Popen(
            [*agentmap_command(), "serve", "--port", str(port)],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            while True:
                try:
                    httpx2.get(f"{url}/healthz", timeout=1)
                    break
                except httpx2.TransportError:
                    assert server.poll() is None, server.communicate()
                    time.sleep(0.05)
            asyncio.run(bench(url, args.jobs, args.streams, server.pid))
        finally:
            server.terminate()
            _, err = server.communicate(timeout=60)
            if "Traceback" in err:
                print(err[-3000:], file=sys.stderr)


if __name__ == "__main__":
    main()
