"""What durability costs: checkpointing per node, and memory over repeated runs.

Each N-node chain (every node writes its own key, so the state grows to N keys) runs with the
store off and with a SQLite store on; the difference divided by N is what a checkpoint costs.
Set AGENTMAP_BENCH_DATABASE_URL=postgresql+psycopg://... to measure a PostgreSQL store too.
Run: python benchmarks/bench_store.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from agentmap import Graph, Node
from agentmap.container import build_container


def chain(n: int) -> Graph:
    nodes = {
        f"n{i}": Node(
            name=f"n{i}",
            agent_type="echo",
            edge=f"n{i + 1}" if i + 1 < n else None,
            inputs=(("input" if i == 0 else f"k{i - 1}",) * 2,),
            outputs=(f"k{i}",),
        )
        for i in range(n)
    }
    return Graph(name=f"chain_{n}", nodes=nodes, entry="n0")


def median_run(url: str, graph: Graph, repeats: int) -> float:
    config = {"execution": {"max_steps": len(graph.nodes) + 1}, "storage": {"url": url}}
    runner = build_container(config).runner()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = runner.run(graph, {"input": "x"})
        times.append(time.perf_counter() - t0)
        assert result.success
    return statistics.median(times)


def overhead(url: str, sizes: list[int]) -> None:
    print(f"{'N':>7}{'off µs/node':>13}{'on µs/node':>12}{'checkpoint µs':>15}   target <= 150")
    for n in sizes:
        graph = chain(n)
        repeats = 3 if n >= 10_000 else 11
        off = median_run("none", graph, repeats) / n * 1e6
        on = median_run(url, graph, repeats) / n * 1e6
        print(f"{n:>7}{off:>13.1f}{on:>12.1f}{on - off:>15.1f}")


def memory(url: str, runs: int, n: int) -> None:
    """Python heap after each of ``runs`` runs of an ``n``-node chain (store on)."""
    config = {"execution": {"max_steps": n + 1}, "storage": {"url": url}}
    runner = build_container(config).runner()
    graph = chain(n)
    tracemalloc.start()
    sizes = []
    for _ in range(runs):
        runner.run(graph, {"input": "x"})
        gc.collect()
        sizes.append(tracemalloc.get_traced_memory()[0] / 1e6)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    print(
        f"heap after each of {runs} runs of {n} nodes (MB): "
        + " ".join(f"{size:.1f}" for size in sizes)
        + f"; peak {peak:.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args()
    sizes = [10, 1_000] if args.quick else [10, 100, 1_000, 10_000]
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'runs.db'}"
        print("SQLite store (WAL, synchronous=NORMAL), one committed checkpoint per node")
        overhead(url, sizes)
        memory(url, 10, 1_000)
    server = os.environ.get("AGENTMAP_BENCH_DATABASE_URL")
    if server:
        print("\nPostgreSQL store")
        overhead(server, sizes)


if __name__ == "__main__":
    main()
