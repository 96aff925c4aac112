"""Loading + validating a 10,000-node CSV graph (median of several loads).

Run: python benchmarks/bench_load.py [--nodes 10000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from agentmap.container import build_container

HEADER = "GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,Prompt,Context,Description\n"


def write_chain(path: Path, n: int) -> None:
    rows = [HEADER]
    for i in range(n):
        nxt = f"N{i + 1}" if i + 1 < n else ""
        fail = "N0" if i % 10 == 5 else ""
        context = '"{""retries"": 1, ""tag"": ""x""}"' if i % 3 == 0 else "plain text context"
        rows.append(
            f"Big,N{i},echo,,{nxt},{fail},in{i}|shared:alias,out{i},Prompt for node {i},{context},Node {i}\n"
        )
    path.write_text("".join(rows), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        write_chain(path, args.nodes)
        container = build_container({})
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            graph = container.loader().load(path)  # load_graph without building services
            times.append(time.perf_counter() - t0)
        assert len(graph.nodes) == args.nodes
    print(
        f"load + validate {args.nodes}-node CSV   median {statistics.median(times) * 1000:7.1f} ms   target <= 500 ms"
    )


if __name__ == "__main__":
    main()
