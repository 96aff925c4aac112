"""Loading + validating a 10,000-node CSV graph (median of several loads).

Run: python benchmarks/bench_load.py [--nodes 10000]

Two more shapes show that validation grows linearly with what a file holds (issue 10):

    python benchmarks/bench_load.py --keys 8000 32000 500000
        one node whose Input_Fields and Output_Field each list N keys (``k0|k1|...``)
    python benchmarks/bench_load.py --cli-chain 100000 1000000
        ``agentmap validate`` of an N-node chain (``G,N0,echo,N1,,,x,x,,,Node 0``), run as a
        command of its own: wall time and its peak RSS (target for 1,000,000: <= 10 s, 500 MB)
    python benchmarks/bench_load.py --subgraphs 200 1000
        N graphs that run one another: a root graph runs N/50 chains of 50 subgraphs, all in
        one file, then each graph in a file of its own; and a chain of N graphs in one file
        (nested past 64 deep, so it must come back as one problem — found as fast)
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agentmap.container import build_container

HEADER = "GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,Prompt,Context,Description\n"
CHAIN = 50  # graphs per chain in the subgraph shapes: within the 64 graphs one run may nest


def write_chain(path: Path, n: int) -> None:
    rows = [HEADER]
    for i in range(n):
        nxt = f"N{i + 1}" if i + 1 < n else ""
        fail = "N0" if i % 10 == 5 else ""
        context = '"{""retries"": 1, ""tag"": ""x""}"' if i % 3 == 0 else "plain text context"
        rows.append(
            f"Big,N{i},echo,,{nxt},{fail},in{i}|shared:alias,out{i},Prompt for node {i},{context},Node {i}\n"
        )
    path.write_text("".join(rows), encoding="utf-8")


def write_keys(path: Path, n: int) -> None:
    keys = "|".join(f"k{i}" for i in range(n))
    path.write_text(f"{HEADER}Wide,A,echo,,,,{keys},{keys},,,\n", encoding="utf-8")


def _runs(ref: str) -> str:
    return '"{""graph"": ""' + ref + '""}"'


def write_subgraphs(folder: Path, n: int, *, one_file: bool) -> Path:
    """A root graph running n/CHAIN chains of CHAIN graphs; returns the root's file."""
    rows: dict[str, list[str]] = {}

    def ref(name: str) -> str:
        return name if one_file else f"{name}.csv::{name}"

    heads = [f"C{c}_0" for c in range(n // CHAIN)]
    rows["Root"] = [
        f"Root,R{c},graph,{f'R{c + 1}' if c + 1 < len(heads) else ''},,,x,x,,{_runs(ref(head))},\n"
        for c, head in enumerate(heads)
    ]
    for c in range(len(heads)):
        for i in range(CHAIN):
            name = f"C{c}_{i}"
            last = i + 1 == CHAIN
            kind, context = ("echo", "") if last else ("graph", _runs(ref(f"C{c}_{i + 1}")))
            rows[name] = [f"{name},A,{kind},,,,x,x,,{context},\n"]
    if one_file:
        (folder / "all.csv").write_text(HEADER + "".join(r for g in rows.values() for r in g))
        return folder / "all.csv"
    for name, lines in rows.items():
        (folder / f"{name}.csv").write_text(HEADER + "".join(lines))
    return folder / "Root.csv"


def write_nested(path: Path, n: int) -> None:
    """n graphs in one file, each running the next."""
    rows = [HEADER]
    for i in range(n):
        context = _runs(f"G{i + 1}") if i + 1 < n else ""
        rows.append(f"G{i},A,{'graph' if context else 'echo'},,,,x,x,,{context},\n")
    path.write_text("".join(rows))


def _validate_once(path: Path, graph: str | None = None) -> tuple[float, int]:
    loader = build_container({}).loader()  # a fresh loader: nothing cached from a run before
    t0 = time.perf_counter()
    report = loader.validate(path, graph)
    return time.perf_counter() - t0, len(report.errors)


def bench_keys(sizes: list[int]) -> None:
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "wide.csv"
            write_keys(path, n)
            seconds, errors = _validate_once(path)
        print(
            f"validate a node of {n:>7,} keys        {seconds * 1000:9.1f} ms   ({errors} errors)"
        )


def bench_subgraphs(sizes: list[int]) -> None:
    for n in sizes:
        for one_file in (True, False):
            with tempfile.TemporaryDirectory() as tmp:
                root = write_subgraphs(Path(tmp), n, one_file=one_file)
                seconds, errors = _validate_once(root, "Root")
            where = "one file" if one_file else "a file each"
            print(
                f"validate {n:>5,} subgraphs, {where:<11}  {seconds * 1000:9.1f} ms   "
                f"({errors} errors)"
            )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "nested.csv"
            write_nested(path, n)
            seconds, errors = _validate_once(path, "G0")
        print(
            f"validate a chain of {n:>5,} in one file  {seconds * 1000:9.1f} ms   ({errors} errors)"
        )


def write_plain_chain(path: Path, n: int) -> None:
    """One graph, a chain of n echo nodes (43 MB for a million)."""
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for i in range(n):
            nxt = f"N{i + 1}" if i + 1 < n else ""
            out.write(f"G,N{i},echo,{nxt},,,x,x,,,Node {i}\n")


def bench_cli_chain(sizes: list[int]) -> None:
    """Each size validated by a fresh ``agentmap validate`` process: wall time and peak RSS.

    The peak comes from ``/usr/bin/time -v`` when there is one (else the largest child so
    far, which is right for sizes in rising order)."""
    timer = Path("/usr/bin/time")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "chain.csv"
            write_plain_chain(path, n)
            command = [sys.executable, "-m", "agentmap", "validate", str(path)]
            if timer.exists():
                command = [str(timer), "-v", *command]
            t0 = time.perf_counter()
            done = subprocess.run(command, cwd=tmp, capture_output=True, text=True)
            seconds = time.perf_counter() - t0
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        kb = int(found[1]) if found else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        # CPU time too: on a busy machine the wall time is mostly waiting for a core.
        cpu = sum(
            float(t) for t in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", done.stderr)
        )
        print(
            f"agentmap validate {n:>9,}-node chain  {seconds:7.2f} s ({cpu:.2f} s CPU)   "
            f"peak {kb / 1024:6.0f} MB   (exit {done.returncode})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keys", type=int, nargs="+", help="validate one node of N keys")
    parser.add_argument("--subgraphs", type=int, nargs="+", help="validate N subgraphs")
    parser.add_argument(
        "--cli-chain", type=int, nargs="+", help="agentmap validate an N-node chain"
    )
    args = parser.parse_args()
    if args.cli_chain:
        bench_cli_chain(args.cli_chain)
        return
    if args.keys or args.subgraphs:
        bench_keys(args.keys or [])
        bench_subgraphs(args.subgraphs or [])
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        write_chain(path, args.nodes)
        container = build_container({})
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            graph = container.loader().load(path)  # load_graph without building services
            times.append(time.perf_counter() - t0)
        assert len(graph.nodes) == args.nodes
    print(
        f"load + validate {args.nodes}-node CSV   median {statistics.median(times) * 1000:7.1f} ms   target <= 500 ms"
    )


if __name__ == "__main__":
    main()
