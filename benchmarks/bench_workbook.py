"""Loading + validating a 10,000-row workbook (.xlsx by default, or .ods).

The workbook is written with openpyxl (or pandas' odf writer) the way a user's file looks: one
sheet of string cells. The first load includes importing pandas; the median is of the rest.
Run: python benchmarks/bench_workbook.py [--rows 10000] [--format xlsx|ods]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from agentmap.container import build_container
from agentmap.graph.columns import COLUMNS


def chain_rows(n: int) -> list[list[str]]:
    """The same 10,000-node chain as bench_load.py, as rows of cells."""
    rows = [list(COLUMNS)]
    for i in range(n):
        rows.append(
            [
                "Big",
                f"N{i}",
                "echo",
                "",
                f"N{i + 1}" if i + 1 < n else "",
                "N0" if i % 10 == 5 else "",
                f"in{i}|shared:alias",
                f"out{i}",
                f"Prompt for node {i}",
                '{"retries": 1, "tag": "x"}' if i % 3 == 0 else "plain text context",
                f"Node {i}",
            ]
        )
    return rows


def write_xlsx(path: Path, rows: list[list[str]]) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Big")
    for row in rows:
        sheet.append(row)
    workbook.save(path)


def write_ods(path: Path, rows: list[list[str]]) -> None:
    import pandas as pd

    with pd.ExcelWriter(path, engine="odf") as writer:
        pd.DataFrame(rows).to_excel(writer, sheet_name="Big", header=False, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--format", choices=["xlsx", "ods"], default="xlsx")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"big.{args.format}"
        (write_xlsx if args.format == "xlsx" else write_ods)(path, chain_rows(args.rows))
        container = build_container({})
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            graph = container.loader().load(path)  # load_graph without building services
            times.append(time.perf_counter() - t0)
        assert len(graph.nodes) == args.rows
    print(
        f"load + validate {args.rows}-row .{args.format}   first {times[0]:6.2f} s   "
        f"median {statistics.median(times[1:] or times):6.2f} s   target <= 3 s"
    )


if __name__ == "__main__":
    main()
