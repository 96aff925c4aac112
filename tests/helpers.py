"""Helpers several test modules share: a clock that never sleeps, and CSV rows from keywords."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
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
