"""Agents of graphs/error_handling.csv: process numbers, and clean up after a failure."""

from collections.abc import Mapping
from typing import Any

from agentmap import Agent


class ProcessDataAgent(Agent):
    """Sums comma-separated numbers; raises on an item that is not a number."""

    def process(self, inputs: Mapping[str, Any]) -> float:
        items = [item.strip() for item in str(inputs["data"] or "").split(",") if item.strip()]
        if not items:
            raise ValueError("no numbers to process")
        total = 0.0
        for item in items:
            try:
                total += float(item)
            except ValueError:
                raise ValueError(f"{item!r} is not a number") from None
        return total


class ErrorHandlerAgent(Agent):
    """Keeps only the items that are numbers, so a retry can succeed."""

    def process(self, inputs: Mapping[str, Any]) -> str:
        self.logger.info("recovering from: %s", inputs["error"])
        kept = []
        for item in str(inputs["data"] or "").split(","):
            try:
                float(item)
            except ValueError:
                continue
            kept.append(item.strip())
        return ",".join(kept)
