"""Engine overhead per node, in-process, tracking on (import and load excluded).

The run store is off here: bench_store.py measures what checkpointing adds.

Shape (a): every node writes its own output key, so the state grows to N keys.
Shape (b): every node rewrites the same key.
Run: python benchmarks/bench_engine.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time

from agentmap import Graph, Node
from agentmap.container import build_container


def chain(n: int, shape: str) -> Graph:
    nodes = {}
    for i in range(n):
        out = f"k{i}" if shape == "a" else "value"
        source = "input" if i == 0 or shape == "b" else f"k{i - 1}"
        if shape == "b" and i > 0:
            source = "value"
        nodes[f"n{i}"] = Node(
            name=f"n{i}",
            agent_type="echo",
            edge=f"n{i + 1}" if i + 1 < n else None,
            inputs=((source, source),),
            outputs=(out,),
        )
    return Graph(name=f"chain_{shape}_{n}", nodes=nodes, entry="n0")


def per_node_us(n: int, shape: str, repeats: int) -> float:
    container = build_container(
        {"execution": {"max_steps": max(n, 10)}, "storage": {"url": "none"}}
    )
    runner = container.runner()
    graph = chain(n, shape)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = runner.run(graph, {"input": "x"})
        times.append(time.perf_counter() - t0)
        assert result.success and len(result.summary.execution_path) == n
    return statistics.median(times) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args()
    sizes = {"a": [10, 100, 1_000, 10_000], "b": [10, 100, 1_000, 10_000, 100_000]}
    if args.quick:
        sizes = {"a": [10, 1_000], "b": [10, 1_000]}
    print(f"{'shape':<6}{'N':>9}{'µs/node':>10}   target")
    for shape, ns in sizes.items():
        target = "<= 20" if shape == "a" else "<= 15"
        for n in ns:
            repeats = 5 if n >= 10_000 else 21
            print(f"{shape:<6}{n:>9}{per_node_us(n, shape, repeats):>10.2f}   {target}")


if __name__ == "__main__":
    main()
