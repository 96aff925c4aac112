"""50 parallel branches, each waiting 0.1 s: awaiting (async agent) or blocking (sync agent).

Whole-run wall time, in-process, median of several runs; plus the engine's per-node overhead
with an event handler subscribed and a retry policy configured (which never fires).
Run: python benchmarks/bench_parallel.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dependency_injector import providers

from agentmap import Agent, Graph, Node
from agentmap.agents.catalog import AgentCatalog
from agentmap.container import build_container

sys.path.insert(0, str(Path(__file__).parent))
from bench_engine import chain


class AwaitAgent(Agent):
    async def process(self, inputs: Mapping[str, Any]) -> str:
        await asyncio.sleep(0.1)
        return self.name


class BlockAgent(Agent):
    def process(self, inputs: Mapping[str, Any]) -> str:
        time.sleep(0.1)
        return self.name


def fan(width: int, agent_type: str) -> Graph:
    names = [f"B{i}" for i in range(width)]
    nodes = {
        "Start": Node(
            name="Start",
            agent_type="echo",
            edge="|".join(names),
            inputs=(("input", "input"),),
            outputs=("seed",),
        )
    }
    for name in names:
        nodes[name] = Node(name=name, agent_type=agent_type, edge="Join", outputs=(f"out_{name}",))
    nodes["Join"] = Node(name="Join", agent_type="success")
    return Graph(name=f"fan_{agent_type}", nodes=nodes, entry="Start")


def wall(graph: Graph, runs: int = 7) -> float:
    container = build_container({"storage": {"url": "none"}})  # engine only; see bench_store
    container.agents.override(
        providers.Object(AgentCatalog({"await": AwaitAgent, "block": BlockAgent}))
    )
    runner = container.runner()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = runner.run(graph, {"input": "x"})
        times.append(time.perf_counter() - t0)
        assert result.success and len(result.summary.execution_path) == len(graph.nodes)
    return statistics.median(times)


def overhead(n: int) -> float:
    config = {
        "execution": {"max_steps": n, "retry": {"type": "fixed", "delay": 0.01, "max_retries": 2}},
        "storage": {"url": "none"},
    }
    runner = build_container(config).runner()
    graph = chain(n, "b")
    seen = [0]

    def count(event: object) -> None:
        seen[0] += 1

    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        runner.run(graph, {"input": "x"}, handlers=[count])
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / n * 1e6


def main() -> None:
    print(
        f"50 branches awaiting 0.1 s (async)   median {wall(fan(50, 'await')) * 1000:6.1f} ms   target <= 130 ms"
    )
    print(
        f"50 branches blocking 0.1 s (sync)    median {wall(fan(50, 'block')) * 1000:6.1f} ms   target <= 200 ms"
    )
    for n in (10, 1_000, 10_000):
        print(f"chain N={n:<6} handler + retry policy: {overhead(n):5.2f} µs/node   target <= 15")


if __name__ == "__main__":
    main()
