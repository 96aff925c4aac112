"""What the benchmark scripts share: timing a callable, and finding the installed command."""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path


def median_seconds(action: Callable[[], object], runs: int) -> float:
    """The median wall time of ``runs`` calls of ``action``."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        action()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def agentmap_command() -> list[str]:
    """The ``agentmap`` console script next to this Python, else on PATH, else ``-m``."""
    script = Path(sys.executable).parent / "agentmap"
    if script.exists():
        return [str(script)]
    found = shutil.which("agentmap")
    return [found] if found else [sys.executable, "-m", "agentmap"]
