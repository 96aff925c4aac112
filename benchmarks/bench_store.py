"""What durability costs: checkpointing per node in each durability mode, and memory.

Each N-node chain (every node writes its own key, so the state grows to N keys) runs with the
store off and with a SQLite store in each ``storage.durability`` mode (sync, async, exit),
the runs interleaved (off, sync, async, exit, off, ...) so that a noisy machine slows them
alike; each mode is reported as µs per node and as a ratio to the store off.
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


MODES = ("sync", "async", "exit")


def medians(url: str, graph: Graph, repeats: int) -> dict[str, float]:
    """Median seconds per run: store off, and each durability mode, interleaved."""
    steps = len(graph.nodes) + 1
    runners = {
        "off": build_container(
            {"storage": {"url": "none"}, "execution": {"max_steps": steps}}
        ).runner()
    }
    for mode in MODES:
        config = {"execution": {"max_steps": steps}, "storage": {"url": url, "durability": mode}}
        runners[mode] = build_container(config).runner()
    times: dict[str, list[float]] = {name: [] for name in runners}
    for runner in runners.values():  # warm up: compile the graph, open the store
        runner.run(graph, {"input": "x"})
    for _ in range(repeats):
        for name, runner in runners.items():
            t0 = time.perf_counter()
            result = runner.run(graph, {"input": "x"})
            times[name].append(time.perf_counter() - t0)
            assert result.success
    return {name: statistics.median(values) for name, values in times.items()}


def overhead(url: str, sizes: list[int]) -> None:
    print(f"{'N':>7}{'off µs/node':>13}" + "".join(f"{m + ' µs (xoff)':>20}" for m in MODES))
    for n in sizes:
        repeats = 5 if n >= 10_000 else 11
        found = medians(url, chain(n), repeats)
        off = found["off"] / n * 1e6
        cells = "".join(
            f"{found[m] / n * 1e6:>11.1f} ({found[m] / found['off']:.2f}x)" for m in MODES
        )
        print(f"{n:>7}{off:>13.1f}{cells}")
    print("target: the default mode (async) <= 1.5x the store off")


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
        print("SQLite store (WAL, synchronous=NORMAL)")
        overhead(url, sizes)
        memory(url, 10, 1_000)
    server = os.environ.get("AGENTMAP_BENCH_DATABASE_URL")
    if server:
        print("\nPostgreSQL store")
        overhead(server, sizes)


if __name__ == "__main__":
    main()
