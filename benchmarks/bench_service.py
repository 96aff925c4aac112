"""The HTTP service (issue 12): request latency from a second process on loopback.

Starts `agentmap serve` on a temporary project, then from this process sends ``POST /jobs`` at a
steady 200 requests/s (paced, not as fast as possible) and ``GET /jobs/{id}`` for each job,
over one keep-alive connection, and reports the median and p99 of each.
Run: python benchmarks/bench_service.py [--requests N]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2

GRAPH = """GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,Prompt,Context,Description
Echo,A,echo,B,,,input,a,,,
Echo,B,echo,,,,a,b,,,
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return f"median {statistics.median(ordered) * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "graphs").mkdir()
        (root / "graphs" / "flow.csv").write_text(GRAPH)
        port = free_port()
        agentmap = Path(sys.executable).parent / "agentmap"
        server = subprocess.Popen(
            [str(agentmap), "serve", "--port", str(port)],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            with httpx2.Client(base_url=url, timeout=30) as client:
                while True:
                    try:
                        client.get("/healthz")
                        break
                    except httpx2.TransportError:
                        time.sleep(0.05)
                posts, gets, ids = [], [], []
                body = {"graph": "flow.csv::Echo", "inputs": {"input": "x"}}
                start = time.perf_counter()
                for n in range(args.requests):
                    due = start + n / args.rate
                    time.sleep(max(0.0, due - time.perf_counter()))
                    t = time.perf_counter()
                    made = client.post("/jobs", json=body)
                    posts.append(time.perf_counter() - t)
                    assert made.status_code == 202, made.text
                    ids.append(made.json()["job"]["id"])
                for job_id in ids:
                    due = time.perf_counter() + 1 / args.rate
                    t = time.perf_counter()
                    assert client.get(f"/jobs/{job_id}").status_code == 200
                    gets.append(time.perf_counter() - t)
                    time.sleep(max(0.0, due - time.perf_counter()))
            print(f"POST /jobs at {args.rate:g}/s ({args.requests}): {percentiles(posts)}")
            print(f"GET /jobs/{{id}} at {args.rate:g}/s ({len(ids)}): {percentiles(gets)}")
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
