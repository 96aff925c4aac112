"""The same chain of echo nodes built in agentmap, PocketFlow or LangGraph: bench_peers.py's worker.

It runs under whichever interpreter has the engine (the project's .venv for agentmap, the
throwaway venv in benchmarks/.peers/ for the peers), so only the standard library is imported
at the top. Two ways to use it:

  serve ENGINE N [options]   build the chain, run it once and check the result, print
                             {"ready": ...}; then time one run per "run" line read on stdin
                             and print {"seconds": ...}. Keeping the worker alive between runs
                             lets bench_peers.py interleave the engines run by run.
  memory ENGINE N [options]  in this fresh process: run a 2-node chain (every import done),
                             note the peak RSS, then build and run the N-node chain and print
                             both peaks (getrusage ru_maxrss: the whole process).

Shape b (the default): every node copies ``value`` into ``value``. Shape a: node i copies
``k{i-1}`` into ``k{i}``, so the state grows to N keys.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import itertools
import json
import resource
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

TOKEN = "passed along"
Chain = tuple[Callable[[], Any], Callable[[Any], None]]
"""``run`` (runs the chain once and returns what the engine returns) and ``check`` (raises if
that result isn't a complete run)."""


def keys(i: int, shape: str) -> tuple[str, str]:
    """The key node ``i`` reads and the key it writes."""
    if shape == "b":
        return "value", "value"
    return ("input" if i == 0 else f"k{i - 1}"), f"k{i}"


def first_state(shape: str) -> dict[str, str]:
    return {"value": TOKEN} if shape == "b" else {"input": TOKEN}


def expect_token(state: Mapping[str, Any], n: int, shape: str) -> None:
    key = keys(n - 1, shape)[1]
    if state.get(key) != TOKEN:
        raise RuntimeError(f"the chain didn't carry the value to its end: {key}={state.get(key)!r}")


def agentmap_chain(n: int, shape: str, store: str, durability: str | None) -> Chain:
    """Our engine, through a runner built once (container build excluded, as bench_engine.py)."""
    from agentmap import Graph, Node
    from agentmap.container import build_container

    storage: dict[str, Any] = {"url": store}
    if durability:
        storage["durability"] = durability
    config = {"storage": storage, "execution": {"max_steps": 2 * n + 10}}
    runner = build_container(config).runner()
    nodes = {}
    for i in range(n):
        source, target = keys(i, shape)
        nodes[f"n{i}"] = Node(
            name=f"n{i}",
            agent_type="echo",
            edge=f"n{i + 1}" if i + 1 < n else None,
            inputs=((source, source),),
            outputs=(target,),
        )
    graph = Graph(name=f"chain_{n}", nodes=nodes, entry="n0")

    def run() -> Any:
        return runner.run(graph, first_state(shape))

    def check(result: Any) -> None:
        if not result.success or len(result.summary.execution_path) != n:
            raise RuntimeError(f"agentmap run failed or stopped early: {result.summary}")
        expect_token(result.final_state, n, shape)

    return run, check


def pocketflow_chain(n: int, shape: str) -> Chain:
    """PocketFlow's loop: a Flow of N Nodes that read and write one shared dict."""
    from pocketflow import Flow
    from pocketflow import Node as FlowNode

    class Echo(FlowNode):
        def __init__(self, source: str, target: str) -> None:
            super().__init__()
            self.source, self.target = source, target

        def prep(self, shared: dict[str, Any]) -> Any:
            return shared[self.source]

        def exec(self, value: Any) -> Any:
            return value

        def post(self, shared: dict[str, Any], prep_res: Any, exec_res: Any) -> None:
            shared[self.target] = exec_res

    nodes = [Echo(*keys(i, shape)) for i in range(n)]
    for node, following in itertools.pairwise(nodes):
        node.next(following)
    flow = Flow(start=nodes[0])

    def run() -> Any:
        shared = first_state(shape)
        flow.run(shared)
        return shared

    return run, lambda shared: expect_token(shared, n, shape)


def langgraph_chain(n: int, shape: str, saver: str | None, durability: str | None) -> Chain:
    """A LangGraph StateGraph of N nodes; with ``saver`` (a file) compiled with a SqliteSaver."""
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    fields = {"value": str} if shape == "b" else {"input": str, **{f"k{i}": str for i in range(n)}}
    builder = StateGraph(TypedDict("ChainState", fields, total=False))
    previous = START
    for i in range(n):
        builder.add_node(f"n{i}", copier(*keys(i, shape)))
        builder.add_edge(previous, f"n{i}")
        previous = f"n{i}"
    builder.add_edge(previous, END)
    checkpointer = None
    if saver:
        import sqlite3

        from langgraph.checkpoint.sqlite import SqliteSaver

        # As LangGraph documents it; the saver locks around the connection itself.
        checkpointer = SqliteSaver(sqlite3.connect(saver, check_same_thread=False))
    app = builder.compile(checkpointer=checkpointer)
    threads = itertools.count()
    extra = {"durability": durability} if durability else {}

    def run() -> Any:
        thread = {"thread_id": f"run-{next(threads)}"}  # a new history for every run
        config = {"recursion_limit": n + 10, "configurable": thread}
        return app.invoke(first_state(shape), config, **extra)

    return run, lambda state: expect_token(state, n, shape)


def copier(source: str, target: str) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    def echo(state: Mapping[str, Any]) -> dict[str, Any]:
        return {target: state[source]}

    return echo


def build(args: argparse.Namespace, n: int) -> Chain:
    if args.engine == "agentmap":
        return agentmap_chain(n, args.shape, args.store, args.durability)
    if args.engine == "pocketflow":
        return pocketflow_chain(n, args.shape)
    return langgraph_chain(n, args.shape, args.saver, args.durability)


def version(engine: str) -> str:
    if engine == "agentmap":
        import agentmap

        return f"{agentmap.__version__} ({agentmap.__file__})"
    from importlib.metadata import version as installed

    return installed(engine)


def serve(args: argparse.Namespace, out: Any) -> None:
    run, check = build(args, args.nodes)
    check(run())  # the first run checks the chain and warms every cache
    say(out, ready=version(args.engine))
    for line in sys.stdin:
        if line.strip() != "run":
            break
        gc.collect()  # the last run's garbage isn't charged to this one
        t0 = time.perf_counter()
        run()
        say(out, seconds=time.perf_counter() - t0)


def memory(args: argparse.Namespace, out: Any) -> None:
    run, check = build(args, 2)
    check(run())
    base = peak_rss_mb()
    run, check = build(args, args.nodes)
    t0 = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - t0
    check(result)
    say(out, base_mb=base, peak_mb=peak_rss_mb(), seconds=seconds)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def say(out: Any, **fields: Any) -> None:
    out.write(json.dumps(fields) + "\n")
    out.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["serve", "memory"])
    parser.add_argument("engine", choices=["agentmap", "pocketflow", "langgraph"])
    parser.add_argument("nodes", type=int)
    parser.add_argument("--shape", choices=["a", "b"], default="b")
    parser.add_argument("--store", default="none", help="agentmap: storage.url")
    parser.add_argument("--durability", help="agentmap: storage.durability; LangGraph: invoke's")
    parser.add_argument("--saver", help="LangGraph: a SQLite file for a SqliteSaver")
    args = parser.parse_args()
    out = sys.stdout
    try:
        # Anything an engine prints goes to stderr, so stdout carries only our JSON lines.
        with contextlib.redirect_stdout(sys.stderr):
            (serve if args.mode == "serve" else memory)(args, out)
    except Exception as exc:
        say(out, error=f"{type(exc).__name__}: {exc}")
        raise SystemExit(1) from exc


if __name__ == "__main__":
    main()
