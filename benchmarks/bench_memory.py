"""Peak memory (max RSS of the whole process) of a 100,000-node run, shape (b), loaded from CSV.

The run store is off (bench_store.py measures the store's memory over repeated runs).

Each measurement runs in a fresh subprocess so earlier work can't inflate it.
Run: python benchmarks/bench_memory.py [--nodes 100000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    import resource, sys, tempfile, time
    from pathlib import Path
    from agentmap import run_graph
    n = int(sys.argv[1])
    header = "GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,Prompt,Context,Description\\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chain.csv"
        with path.open("w") as f:
            f.write(header)
            for i in range(n):
                nxt = f"N{i + 1}" if i + 1 < n else ""
                f.write(f"Chain,N{i},echo,{nxt},,,value,value,,,\\n")
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        result = run_graph(path, {"value": 0}, config={"execution": {"max_steps": n}, "storage": {"url": "none"}})
        wall = time.perf_counter() - t0
    assert result.success and len(result.summary.execution_path) == n
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(base / 1024, peak / 1024, wall)
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=100_000)
    args = parser.parse_args()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(args.nodes)], capture_output=True, text=True, check=True
    )
    base, peak, wall = (float(x) for x in out.stdout.split())
    print(
        f"{args.nodes}-node run (shape b, load from CSV + run): peak RSS {peak:6.1f} MB "
        f"(interpreter + imports {base:5.1f} MB), wall {wall:5.2f} s   target <= 200 MB"
    )


if __name__ == "__main__":
    main()
