"""Loading + validating a 10,000-node YAML graph (and the same graph as JSON), median of runs.

Run: python benchmarks/bench_yaml.py [--nodes 10000] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from agentmap.container import build_container
from agentmap.graph.validation import check_graph
from agentmap.graph.yaml_reader import read_structured_graphs


def node_lines(i: int, n: int) -> list[str]:
    """One node with every kind of value: routes, lists, a multi-line prompt, both contexts."""
    lines = [f"      - name: N{i}", "        agent_type: echo"]
    if i + 1 < n:
        lines.append(f"        success_next: N{i + 1}")
    if i % 10 == 5:
        lines.append("        failure_next: N0")
    lines += [
        f'        inputs: [in{i}, "shared:alias"]',
        f"        output: out{i}",
        "        prompt: |",
        f"          Prompt for node {i}",
        "          on two lines",
    ]
    if i % 3 == 0:
        lines += ["        context:", "          retries: 1", "          tag: x"]
    else:
        lines.append("        context: plain text context")
    lines.append(f"        description: Node {i}")
    return lines


def write_chain(folder: Path, n: int) -> tuple[Path, Path]:
    """The same graph as ``big.yaml`` and ``big.json``."""
    lines = ["graphs:", "  Big:", "    nodes:"]
    for i in range(n):
        lines += node_lines(i, n)
    text = "\n".join(lines) + "\n"
    yaml_path, json_path = folder / "big.yaml", folder / "big.json"
    yaml_path.write_text(text, encoding="utf-8")
    data = yaml.load(text, Loader=yaml.CSafeLoader)
    json_path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return yaml_path, json_path


def median_load_seconds(path: Path, runs: int) -> float:
    """Median time to read ``path`` and check every graph in it, as ``validate_file`` does."""
    container = build_container({})
    agents, functions, prompts = container.agents(), container.functions(), container.prompts()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        graph_file, problems = read_structured_graphs(path, path.name)
        for graph in graph_file.graphs.values():
            problems.extend(check_graph(graph, agents, functions, prompts))
        times.append(time.perf_counter() - t0)
        assert not [p for p in problems if p.severity == "error"], problems[:3]
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        yaml_path, json_path = write_chain(Path(tmp), args.nodes)
        for path, target in ((yaml_path, "   target <= 1000 ms"), (json_path, "")):
            seconds = median_load_seconds(path, args.runs)
            print(
                f"load + validate {args.nodes}-node {path.suffix[1:].upper():4}  "
                f"median {seconds * 1000:7.1f} ms{target}"
            )


if __name__ == "__main__":
    main()
