"""Run history at scale: a SQLite run store holding 100,000 runs (4 node checkpoints each), then
``agentmap runs list`` end to end (target <= 500 ms, median of N runs, new process each) and
``agentmap runs stats`` / ``runs list --status failed`` / ``node_stats`` for comparison.

The rows are what real runs write: a summary with node results, states as JSON, a few failed,
waiting and cancelled runs, start times spread over the last 20 days (inside the default 30-day
retention, so opening the store prunes nothing). Run from the repo root:
python benchmarks/bench_history.py [--runs 11] [--count 100000] [--keep FOLDER]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from timing import agentmap_command, median_seconds

from agentmap.store import schema
from agentmap.store.analytics import node_stats
from agentmap.store.runstore import RunStore

GRAPHS = {
    "Triage": ["Classify", "Route", "Answer", "Log"],
    "Report": ["Fetch", "Summarise", "Review", "Publish"],
    "Hello": ["Start", "Respond", "Echo", "End"],
}
STATUSES = ["succeeded"] * 90 + ["failed"] * 6 + ["waiting"] * 2 + ["cancelled"] * 2


def build_store(folder: Path, count: int, seed: int = 7) -> int:
    """A run store with ``count`` runs in ``folder`` (and a config file pointing at it);
    returns how many checkpoints it holds."""
    (folder / "agentmap_config.yaml").write_text("storage:\n  url: sqlite:///runs.db\n")
    store = RunStore.open(f"sqlite:///{folder / 'runs.db'}")
    rng = random.Random(seed)
    now = time.time()
    runs: list[dict[str, Any]] = []
    points: list[dict[str, Any]] = []
    for _ in range(count):
        graph = rng.choice(list(GRAPHS))
        started = now - rng.uniform(0, 20 * 86400)
        run, nodes = _run(rng, graph, started)
        runs.append(run)
        points.extend(nodes)
    with store.writer() as connection:  # one transaction
        connection.execute_many(schema.INSERT_RUN, runs)
        connection.execute_many(schema.INSERT_CHECKPOINT, points)
        connection.commit()
    store.close()
    return len(points)


def _run(rng: random.Random, graph: str, started: float) -> tuple[dict[str, Any], list[Any]]:
    run_id = uuid.uuid4().hex
    status = rng.choice(STATUSES)
    names = GRAPHS[graph] if status != "waiting" else GRAPHS[graph][:2]
    results, points, clock = [], [], 0.002
    for seq, node in enumerate(names, 1):
        duration = rng.lognormvariate(-6, 1)  # ~2.5 ms typical, a long tail
        success = not (status == "failed" and seq == len(names))
        error = None if success else f"{node} failed: upstream returned 502"
        results.append(
            {
                "node": node,
                "success": success,
                "duration": duration,
                "started": clock,
                "error": error,
            }
        )
        points.append(
            {
                "run_id": run_id,
                "seq": seq,
                "kind": "node",
                "branch": 0,
                "node": node,
                "attempt": 1,
                "success": success,
                "error": error,
                "started": clock,
                "duration": duration,
                "updates": json.dumps({node.lower(): f"output of {node}"}),
                "next": json.dumps(names[seq : seq + 1]),
                "fork": None,
                "children": None,
                "merged": None,
                "at": started + clock + duration,
            }
        )
        clock += duration + 0.0005
    summary = {
        "graph_name": graph,
        "execution_path": names,
        "node_results": results,
        "failed_nodes": [r["node"] for r in results if not r["success"]],
        "total_duration": clock,
        "start_time": started,
        "success": status == "succeeded",
    }
    state = {"input": "a customer message of a realistic length, give or take " + run_id[:8]}
    final = {**state, **{n.lower(): f"output of {n}" for n in names}}
    run = {
        "id": run_id,
        "graph_name": graph,
        "graph_file": f"graphs/{graph.lower()}.csv",
        "entry": names[0],
        "graph_hash": uuid.uuid4().hex,
        "node_hashes": json.dumps({n: uuid.uuid4().hex[:16] for n in GRAPHS[graph]}),
        "status": status,
        "initial_state": json.dumps(state),
        "final_state": None if status == "waiting" else json.dumps(final),
        "summary": json.dumps(summary),
        "error": "Publish failed" if status == "failed" else None,
        "waiting": json.dumps(
            [{"node": names[-1], "question": "OK?", "kind": "approval", "options": []}]
        )
        if status == "waiting"
        else None,
        "started_at": started,
        "updated_at": started + clock,
        "finished_at": None if status == "waiting" else started + clock,
        "duration": clock,
        "pid": 4242,
        "host": "bench-host",
        "process_start": "123456",
        "checkpoints": True,
        "version": "0.1.0",
    }
    return run, points


def median_wall(command: list[str], folder: Path, runs: int) -> float:
    def once() -> None:
        subprocess.run(command, cwd=folder, check=True, capture_output=True)

    return median_seconds(once, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build the store in this (empty) folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        checkpoints = build_store(folder, args.count)
        database = folder / "runs.db"
        size = database.stat().st_size / 1e6
        print(
            f"built {args.count:,} runs, {checkpoints:,} checkpoints ({size:.0f} MB) "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        agentmap = agentmap_command()
        median_wall([*agentmap, "runs", "list"], folder, 2)  # warm caches, and the daily prune
        commands = {
            "agentmap runs list": ["runs", "list"],
            "agentmap runs list --status failed": ["runs", "list", "--status", "failed"],
            "agentmap runs list --graph Hello --json": ["runs", "list", "-g", "Hello", "--json"],
            "agentmap --help (floor)": ["--help"],
        }
        for label, extra in commands.items():
            wall = median_wall([*agentmap, *extra], folder, args.runs)
            target = "   target <= 500 ms" if label == "agentmap runs list" else ""
            print(f"{label:<42} median {wall * 1000:7.1f} ms{target}")
        stats_runs = max(3, args.runs // 3)
        wall = median_wall([*agentmap, "runs", "stats"], folder, stats_runs)
        print(f"{'agentmap runs stats':<42} median {wall * 1000:7.1f} ms")
        store = RunStore.open(f"sqlite:///{database}")
        inside = median_seconds(lambda: node_stats(store), stats_runs)
        print(f"{'node_stats(store) in-process':<42} median {inside * 1000:7.1f} ms")
        store.close()


if __name__ == "__main__":
    main()
