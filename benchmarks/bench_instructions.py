"""agentmap against its peers in CPU instructions: the same comparisons as bench_peers.py's
engine and cli sections, counted by valgrind rather than timed, so a busy machine can't move them.

On this shared machine the same code measures 6.5 or 9.5 µs per node minutes apart, and
interleaving the contenders cancels only part of it: bench_peers.py's engine ratio against
PocketFlow ranged 1.6-2.8x over one afternoon without a change to either. An instruction count
is the same on every run (valgrind's cachegrind, cache simulation off: ~50x slower than a real
run, so the sizes are small). It is not time — cache misses and I/O don't count, and AgentMap's
CLI, which reads far more files, spends more time per instruction than ours — so bench_peers.py
stays the measure of record; this one says whether a change made the work smaller.

  engine   instructions per node of an N-node echo chain, store off: (count of 1 + R runs -
           count of 1 run) / R / N, so imports and building the chain cancel out.
  cli      instructions of a whole cold ``agentmap run`` of the 3-node CSV, each tool in its own
           folder after two uncounted runs (as bench_peers.py).

Needs valgrind on PATH; the peers come from bench_peers.py's virtualenvs (installed if absent).
.venv/bin/python benchmarks/bench_instructions.py [--only engine,cli] [--nodes 2000]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_peers import AGENTMAP, STATE, THREE_NODES, byte_compile_ours, clean_env, install_peers
from timing import agentmap_command

HERE = Path(__file__).resolve().parent
CHAIN = """
import sys
sys.path.insert(0, {here!r})
import peer_chains
n, runs = {n}, {runs}
run, check = {build}
for _ in range(runs):
    check(run())
"""
BUILDERS = {
    "agentmap": "peer_chains.agentmap_chain(n, 'b', 'none', None)",
    "pocketflow": "peer_chains.pocketflow_chain(n, 'b')",
}


def instructions(command: list[str], cwd: Path, env: dict[str, str]) -> int:
    """The instructions ``command`` runs, all its threads counted, by cachegrind."""
    valgrind = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
    ]
    done = subprocess.run(
        [*valgrind, *command],
        cwd=cwd,
        env={**env, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if done.returncode or found is None:
        raise SystemExit(f"{' '.join(command)} failed under valgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_node(python: Path, engine: str, n: int, runs: int, folder: Path, peer: bool) -> float:
    def count(times: int) -> int:
        code = CHAIN.format(here=str(HERE), n=n, runs=times, build=BUILDERS[engine])
        return instructions([str(python), "-c", code], folder, clean_env(peer=peer))

    return (count(1 + runs) - count(1)) / runs / n


def engine_row(n: int, runs: int, folder: Path) -> tuple[str, float, float | None]:
    peers = install_peers(reinstall=False)
    ours = per_node(Path(sys.executable), "agentmap", n, runs, folder, peer=False)
    theirs = None
    if peers.engines is not None:
        theirs = per_node(peers.engines, "pocketflow", n, runs, folder, peer=True)
    return f"engine, instructions per node, N={n:,}, store off, vs PocketFlow", ours, theirs


def cli_row(folder: Path) -> tuple[str, float, float | None]:
    peers = install_peers(reinstall=False)
    byte_compile_ours()
    commands = {"agentmap": [*agentmap_command(), "run", "three.csv", "--state", STATE]}
    if peers.cli is not None:
        commands[AGENTMAP] = [str(peers.cli), "run", "three.csv::Three", "--state", STATE]
    counts: dict[str, int] = {}
    for label, command in commands.items():
        where = folder / ("ours" if label == "agentmap" else "theirs")
        where.mkdir()
        (where / "three.csv").write_text(THREE_NODES, encoding="utf-8")
        env = clean_env(peer=label != "agentmap")
        for _ in range(2):  # its run store, bundle cache and .pyc files exist before counting
            subprocess.run(command, cwd=where, env=env, capture_output=True, check=True)
        counts[label] = instructions(command, where, env)
    ours = float(counts["agentmap"])
    theirs = float(counts[AGENTMAP]) if AGENTMAP in counts else None
    return "cold `agentmap run` of a 3-node CSV, instructions, vs AgentMap's CLI", ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="engine,cli", help="some of: engine,cli")
    parser.add_argument("--nodes", type=int, default=2000, help="engine chain length")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not on PATH (Debian: apt-get install valgrind)")
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as folder:
        if "engine" in only:
            rows.append(engine_row(args.nodes, 2, Path(folder)))
        if "cli" in only:
            rows.append(cli_row(Path(folder)))
    print(f"\n{'what':<72}  {'agentmap':>14}  {'peer':>14}  ratio")
    for what, ours, theirs in rows:
        ratio = f"{ours / theirs:.3f}x" if theirs else "not measured"
        peer = f"{theirs:,.0f}" if theirs else "-"
        print(f"{what:<72}  {ours:>14,.0f}  {peer:>14}  {ratio}")
    print(f"\nPython {sys.version.split()[0]}, {os.cpu_count()} cores; counts repeat run to run.")


if __name__ == "__main__":
    main()
