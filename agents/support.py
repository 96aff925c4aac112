"""Agents of graphs/routing.csv: a keyword classifier and a countdown."""

from collections.abc import Mapping
from typing import Any

from agentmap import Agent, agent

_KEYWORDS = {
    "billing": ("invoice", "refund", "charge", "payment"),
    "bug": ("error", "crash", "broken"),
}


@agent("classify")
def classify(inputs: Mapping[str, Any]) -> str:
    """The first category whose keywords appear in the message, else 'other'."""
    text = str(inputs["message"]).casefold()
    for category, words in _KEYWORDS.items():
        if any(word in text for word in words):
            return category
    return "other"


class CountdownAgent(Agent):
    """Returns its count minus one (a loop body)."""

    def process(self, inputs: Mapping[str, Any]) -> int:
        return int(inputs["count"]) - 1
