"""`agentmap run graphs/hello.csv` end to end, as a user runs it: median wall time of N runs.

Also lists the heavy modules that must stay off this path (pandas, asyncio, yaml only when a
config file exists). Run from the repo root: python benchmarks/bench_cli.py [--runs 21]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
from timing import agentmap_command, median_seconds  # noqa: E402


def median_wall(command: list[str], runs: int) -> float:
    return median_seconds(
        lambda: subprocess.run(command, cwd=ROOT, check=True, capture_output=True), runs
    )


def heavy_modules_loaded() -> list[str]:
    probe = (
        "import sys; from agentmap.cli.app import main; sys.argv=['agentmap','run',"
        "'graphs/hello.csv','--json']\ntry:\n main()\nexcept SystemExit: pass\n"
        "print(' '.join(m for m in ('pandas','numpy','asyncio') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1].split() if out.stdout.strip() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    command = [*agentmap_command(), "run", "graphs/hello.csv", "--state", '{"input": "hi"}']
    median_wall(command, 2)  # warm the OS file cache and .pyc files
    wall = median_wall(command, args.runs)
    bare = median_wall([sys.executable, "-c", "pass"], args.runs)
    print(f"agentmap run graphs/hello.csv   median {wall * 1000:7.1f} ms   target <= 300 ms")
    print(f"python -c pass (floor)          median {bare * 1000:7.1f} ms")
    print(f"heavy modules imported: {', '.join(heavy_modules_loaded()) or 'none'}")


if __name__ == "__main__":
    main()
