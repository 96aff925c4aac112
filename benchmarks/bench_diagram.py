"""Diagrams of a 1,000-node graph: ``to_mermaid`` / ``to_dot`` / the outline in-process, and
``agentmap graph FILE --format mermaid`` end to end (target <= 500 ms, median of N runs).

The graph mixes Edge, Success_Next/Failure_Next branches, loops back, and func: routes, so every
kind of arrow is drawn. Run from the repo root: python benchmarks/bench_diagram.py [--runs 11]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

from timing import agentmap_command, median_seconds

from agentmap import Graph, load_graph
from agentmap.graph.diagram import render_outline_text, to_dot, to_mermaid

HEADER = (
    "GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,"
    "Prompt,Context,Description\n"
)
ROUTES = "def pick(state, success_target, failure_target):\n    return success_target\n"


def write_project(folder: Path, n: int) -> Path:
    """A project folder with functions/routes.py and an ``n``-node graph CSV; returns the CSV."""
    (folder / "functions").mkdir()
    (folder / "functions" / "routes.py").write_text(ROUTES, encoding="utf-8")
    rows = [HEADER]
    for i in range(n):
        last = i + 1 == n
        nxt = "" if last else f"Step {i + 1}"
        if i % 4 == 0:  # a plain Edge
            routes = f"{nxt},,"
        elif i % 4 == 3:  # a func: route, with the next step as its candidate
            routes = f",func:pick,{nxt}" if nxt else ",,"
        else:  # success goes on, failure loops back a few steps
            routes = f",{nxt},Step {max(i - 3, 0)}"
        rows.append(f'Big,Step {i},echo,{routes},in,in,,,"Node ""{i}"""\n')
    path = folder / "big.csv"
    path.write_text("".join(rows), encoding="utf-8")
    return path


def in_process(folder: Path, path: Path, runs: int) -> None:
    config = {"paths": {"functions": str(folder / "functions")}}
    graph = load_graph(path, config=config)
    loading = median_seconds(lambda: load_graph(path, config=config), runs)
    print(f"{len(graph.nodes)} nodes, loaded + validated        median {loading * 1000:7.1f} ms")
    drawings: dict[str, Callable[[Graph], str]] = {
        "to_mermaid": to_mermaid,
        "to_dot": to_dot,
        "render_outline_text": render_outline_text,
    }
    for name, draw in drawings.items():
        seconds = median_seconds(partial(draw, graph), runs)
        print(f"{name:<32} median {seconds * 1000:7.1f} ms")
    print(f"mermaid text: {len(to_mermaid(graph)):,} characters")


def end_to_end(folder: Path, path: Path, runs: int) -> None:
    command = [*agentmap_command(), "graph", str(path), "--format", "mermaid"]
    probe = subprocess.run([*agentmap_command(), "graph", "--help"], capture_output=True)
    if probe.returncode != 0:
        print("agentmap graph: not registered in agentmap.cli.app yet — end-to-end timing skipped")
        return

    def run() -> None:
        subprocess.run(command, cwd=folder, check=True, capture_output=True)

    run()  # warm the OS file cache and .pyc files
    wall = median_seconds(run, runs)
    bare = median_seconds(lambda: subprocess.run([sys.executable, "-c", "pass"]), runs)
    print(f"agentmap graph --format mermaid   median {wall * 1000:7.1f} ms   target <= 500 ms")
    print(f"python -c pass (floor)            median {bare * 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = write_project(folder, args.nodes)
        in_process(folder, path, args.runs)
        end_to_end(folder, path, args.runs)


if __name__ == "__main__":
    main()
