"""The table columns of a graph file, and the header spellings that mean each one."""

from __future__ import annotations

import re

COLUMNS = (
    "GraphName",
    "Node",
    "AgentType",
    "Edge",
    "Success_Next",
    "Failure_Next",
    "Input_Fields",
    "Output_Field",
    "Prompt",
    "Context",
    "Description",
)
REQUIRED = ("GraphName", "Node")

# Folded spelling (lower case, no spaces/underscores/hyphens) → canonical column.
_ALIASES = {
    "graphname": "GraphName",
    "graph": "GraphName",
    "workflow": "GraphName",
    "node": "Node",
    "nodename": "Node",
    "agenttype": "AgentType",
    "agent": "AgentType",
    "type": "AgentType",
    "edge": "Edge",
    "nextnode": "Edge",
    "next": "Edge",
    "successnext": "Success_Next",
    "onsuccess": "Success_Next",
    "nextonsuccess": "Success_Next",
    "failurenext": "Failure_Next",
    "onfailure": "Failure_Next",
    "nextonfailure": "Failure_Next",
    "inputfields": "Input_Fields",
    "inputfield": "Input_Fields",
    "inputs": "Input_Fields",
    "input": "Input_Fields",
    "outputfield": "Output_Field",
    "outputfields": "Output_Field",
    "output": "Output_Field",
    "outputs": "Output_Field",
    "prompt": "Prompt",
    "context": "Context",
    "description": "Description",
    "desc": "Description",
}


def fold(header: str) -> str:
    """``' Success_Next '`` and ``'success next'`` both fold to ``'successnext'``."""
    return re.sub(r"[\s_\-]+", "", header).casefold()


def canonical(header: str) -> str | None:
    """The canonical column a header cell names, or ``None`` for an unknown column."""
    return _ALIASES.get(fold(header))


def letter(index: int) -> str:
    """Spreadsheet column letters for a 0-based index: 0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
