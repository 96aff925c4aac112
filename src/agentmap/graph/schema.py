"""The JSON Schema of YAML/JSON graph files, so editors can complete keys and flag mistakes.

Save it (``agentmap-graph.schema.json``) and point the editor at it: in a YAML graph with a first
line ``# yaml-language-server: $schema=agentmap-graph.schema.json``, in a JSON graph with a
top-level ``"$schema"`` key. The schema lists the canonical node keys; the reader also accepts
the CSV column spellings (``Success_Next``...), which an editor flags, so that a file drifts
towards one spelling.
"""

from __future__ import annotations

from typing import Any


def _text(description: str, **extra: Any) -> dict[str, Any]:
    """A value agentmap reads as text.

    Editors read YAML scalars with types (``0`` is a number, ``yes`` may be a boolean, an empty
    value is null) while agentmap keeps each as the text written — so all of them are accepted.
    """
    return {"type": ["string", "number", "boolean", "null"], "description": description, **extra}


def _route(description: str) -> dict[str, Any]:
    return _text(description, examples=["NextNode", "func:route_by_category"])


def _text_or_list(description: str, examples: list[Any]) -> dict[str, Any]:
    return {
        "anyOf": [
            _text("One key, or keys separated by '|'."),
            {"type": "array", "items": _text("A key.")},
        ],
        "description": description,
        "examples": examples,
    }


def _node_properties() -> dict[str, dict[str, Any]]:
    """Each node key with what it means; the keys are ``yaml_reader.NODE_KEYS``'s."""
    return {
        "name": {
            "type": ["string", "number", "boolean"],
            "minLength": 1,
            "description": "The node's name, unique in its graph. Routing keys refer to it.",
        },
        "agent_type": _text(
            "The agent that runs the node: a built-in (default, echo, input, branching, success, "
            "failure) or one from your agents folder.",
            default="default",
        ),
        "edge": _route(
            "The node to go to next whatever the outcome, or func:name to let a routing "
            "function choose. Don't combine with success_next/failure_next."
        ),
        "success_next": _route("The node to go to when this one succeeds (or func:name)."),
        "failure_next": _route(
            "The node to go to when this one fails (or func:name). Without it a failure ends "
            "the run."
        ),
        "inputs": _text_or_list(
            "The state keys the agent reads; 'state_key:param' passes a key under another name. "
            "A list, or text with '|' between keys.",
            [["input", "user:name"], "input|user:name"],
        ),
        "output": _text_or_list(
            "The state key(s) the agent's result is stored under.", ["response", ["a", "b"]]
        ),
        "prompt": _text(
            "Text for the agent, with {field} placeholders filled from the inputs; or a "
            "reference: prompt:name (the prompts registry) or file:path/to.txt (relative to this "
            "file)."
        ),
        "context": {
            "anyOf": [_text("JSON text, key=value; pairs, or plain text."), {"type": "object"}],
            "examples": [{"field": "approved", "equals": "yes"}, "model=gpt-4o; temperature=0.2"],
            "description": "Settings for the agent: a mapping, or text — a JSON object when it "
            "starts with '{', key=value pairs separated by ';', or plain text. Mapping values "
            "are read as text; write JSON text to pass numbers or booleans.",
        },
        "description": _text("What the node is for, for people reading the graph."),
        "tool_source": _text(
            "For a tool_agent: the Python file (or folder of files) its tools are functions "
            "in, relative to this file or to the current folder."
        ),
        "available_tools": _text_or_list(
            'For a tool_agent: the tools it may call, by function name; name("description") '
            "describes one for choosing. Blank: every function of tool_source.",
            ["add|multiply", ["add", 'multiply("multiplies two numbers")']],
        ),
    }


def graph_json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) describing YAML/JSON graph files.

    >>> graph_json_schema()["required"]
    ['graphs']
    """
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "agentmap graph file",
        "description": "One or more agentmap graphs: each names its nodes in order, and a run "
        "starts at the first node.",
        "type": "object",
        "required": ["graphs"],
        "additionalProperties": False,
        "properties": {
            "$schema": {"type": "string", "description": "This schema, for editors; ignored."},
            "graphs": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"minLength": 1},
                "additionalProperties": {"$ref": "#/$defs/graph"},
                "description": "The graphs of this file, by name (choose one with --graph NAME "
                "or FILE::NAME).",
            },
        },
        "$defs": {"graph": _graph_schema(), "node": _node_schema()},
    }


def _graph_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["nodes"],
        "additionalProperties": False,
        "properties": {
            "nodes": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/$defs/node"},
                "description": "The graph's nodes; a run starts at the first one.",
            }
        },
    }


def _node_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": _node_properties(),
        "description": "One step of the graph: an agent, what it reads and writes, and where "
        "to go next.",
    }
