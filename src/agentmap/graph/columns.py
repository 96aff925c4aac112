"""The table columns of a graph file, and the header spellings that mean each one."""

from __future__ import annotations

import re

from agentmap.suggest import closest

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
"""The standard columns: every table agentmap writes has them, in this order."""
TOOL_COLUMNS = ("Tool_Source", "Available_Tools")
"""The columns of ``tool_agent`` nodes, read from any table and written only by a file that
uses them (a graph without tools keeps the 11 standard columns)."""
ALL_COLUMNS = (*COLUMNS, *TOOL_COLUMNS)
REQUIRED = ("GraphName", "Node")

# Folded spelling (lower case, no spaces/underscores/hyphens) → canonical column. AgentMap's
# own aliases are here too (Step, Instructions, Config, SuccessTarget...), so its tables load.
_ALIASES = {
    "graphname": "GraphName",
    "graph": "GraphName",
    "workflow": "GraphName",
    "workflowname": "GraphName",
    "node": "Node",
    "nodename": "Node",
    "name": "Node",
    "step": "Node",
    "stepname": "Node",
    "agenttype": "AgentType",
    "agent": "AgentType",
    "type": "AgentType",
    "edge": "Edge",
    "nextnode": "Edge",
    "next": "Edge",
    "target": "Edge",
    "successnext": "Success_Next",
    "onsuccess": "Success_Next",
    "nextonsuccess": "Success_Next",
    "successtarget": "Success_Next",
    "failurenext": "Failure_Next",
    "onfailure": "Failure_Next",
    "nextonfailure": "Failure_Next",
    "failuretarget": "Failure_Next",
    "inputfields": "Input_Fields",
    "inputfield": "Input_Fields",
    "inputs": "Input_Fields",
    "input": "Input_Fields",
    "outputfield": "Output_Field",
    "outputfields": "Output_Field",
    "output": "Output_Field",
    "outputs": "Output_Field",
    "prompt": "Prompt",
    "prompttemplate": "Prompt",
    "template": "Prompt",
    "instructions": "Prompt",
    "context": "Context",
    "config": "Context",
    "configuration": "Context",
    "description": "Description",
    "desc": "Description",
    "details": "Description",
    "toolsource": "Tool_Source",
    "toolfile": "Tool_Source",
    "toolmodule": "Tool_Source",
    "availabletools": "Available_Tools",
    "tools": "Available_Tools",
    "toollist": "Available_Tools",
}


def fold(header: str) -> str:
    """``' Success_Next '`` and ``'success next'`` both fold to ``'successnext'``."""
    return re.sub(r"[\s_\-]+", "", header).casefold()


def canonical(header: str) -> str | None:
    """The canonical column a header cell names, or ``None`` for an unknown column."""
    return _ALIASES.get(fold(header))


def look_alike(header: str) -> str | None:
    """The column an unknown header is most likely a slip for (``Promt`` → ``Prompt``,
    ``Sucess_Next`` → ``Success_Next``), or ``None`` when it looks like none of them."""
    match = closest(fold(header), _ALIASES)
    return _ALIASES[match] if match is not None else None


def letter(index: int) -> str:
    """Spreadsheet column letters for a 0-based index: 0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
