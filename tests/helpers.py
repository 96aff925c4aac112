"""Helpers several test modules share: a clock that never sleeps, and CSV rows from keywords."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentmap.runner import Clock


class FakeClock(Clock):
    """Time that only moves when the run sleeps; every sleep is recorded, none is real."""

    def __init__(self, start: float = 100.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds


def csv_row(
    graph: str,
    node: str,
    agent_type: str,
    *,
    edge: str = "",
    success: str = "",
    failure: str = "",
    inputs: str = "",
    output: str = "",
    prompt: str = "",
    context: Mapping[str, Any] | None = None,
    description: str = "",
) -> str:
    """One data row of the standard 11 columns, quoted as needed, Context written as JSON."""
    cells = [graph, node, agent_type, edge, success, failure, inputs, output, prompt]
    cells += [json.dumps(context) if context is not None else "", description]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def in_terminal(command: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> str:
    """What ``command`` writes to stdout when stdout is a terminal (a pseudo-terminal).

    Escape sequences and carriage returns are removed, so the text can be compared.
    """
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=follower, stderr=subprocess.DEVNULL, env=dict(env or os.environ)
    )
    os.close(follower)
    output = bytearray()
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process has exited
            break
        if not data:
            break
        output += data
    process.wait(timeout=60)
    os.close(leader)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode()).replace("\r", "")
