"""Write graphs as YAML or JSON graph files that read back as exactly the same graphs.

The shape is the one ``yaml_reader`` documents. Text is kept exactly: YAML strings that another
YAML tool would read as something else (``yes``, ``0``, ``null``, dates) are quoted, and a
Context whose values aren't all text (numbers, booleans, null from a JSON Context cell) is
written as its JSON text, which reads back to the same values.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

import yaml
from yaml.representer import BaseRepresenter

from agentmap.graph.model import GraphFile, Node

_NO_WRAP = 1_000_000  # long prompts stay on one line: folded lines are hard to edit
# Line breaks YAML would turn into '\n' (or a space) unless written as escapes in double quotes.
_OTHER_LINE_BREAKS = frozenset("\r\x85\u2028\u2029")


def dump_structured(graph_file: GraphFile, fmt: Literal["yaml", "json"]) -> str:
    """The graphs of ``graph_file`` as the text of a ``.yaml`` or ``.json`` graph file.

    >>> from agentmap.graph.model import Graph
    >>> graph = Graph(name="Hello", nodes={"Start": Node(name="Start")}, entry="Start")
    >>> print(dump_structured(GraphFile(path="x", graphs={"Hello": graph}), "yaml"), end="")
    graphs:
      Hello:
        nodes:
          - name: Start
            agent_type: default
    """
    data = {
        "graphs": {
            name: {"nodes": [node_data(node) for node in graph.nodes.values()]}
            for name, graph in graph_file.graphs.items()
        }
    }
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=_NO_WRAP, indent=2
    )


def node_data(node: Node) -> dict[str, Any]:
    """One node as the mapping a graph file holds; empty fields are left out."""
    data: dict[str, Any] = {"name": node.name, "agent_type": node.agent_type}
    routes = (
        ("edge", node.edge),
        ("success_next", node.success_next),
        ("failure_next", node.failure_next),
    )
    data.update((key, target) for key, target in routes if target)
    if node.inputs:
        data["inputs"] = [key if key == param else f"{key}:{param}" for key, param in node.inputs]
    if node.outputs:
        data["output"] = node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)
    if node.prompt:
        data["prompt"] = node.prompt
    if node.context is not None:
        data["context"] = _context_data(node.context)
    if node.description:
        data["description"] = node.description
    if node.tool_source:
        data["tool_source"] = node.tool_source
    if node.tools:
        data["available_tools"] = [
            f'{name}("{text}")' if text else name for name, text in node.tools
        ]
    return data


def _context_data(context: Mapping[str, Any] | str) -> Any:
    """Text, a mapping of text, or — when values are numbers etc. — the JSON text of it.

    Graph files read every value as text, so a mapping holding ``1`` or ``true`` would come
    back as ``"1"``; as JSON text it is parsed like a CSV Context cell and keeps its types.
    """
    if isinstance(context, str):
        return context
    plain = _plain(context)
    return plain if _all_text(plain) else json.dumps(plain, ensure_ascii=False)


def _plain(value: Any) -> Any:
    """Read-only mappings (the model freezes them) as dicts, so both writers accept them."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _all_text(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_all_text(item) for item in value.values())
    if isinstance(value, list):
        return all(_all_text(item) for item in value)
    return isinstance(value, str)


def _represent_text(dumper: BaseRepresenter, text: str) -> yaml.Node:
    """Multi-line text as a literal block (``|``), so a prompt reads as it will be sent."""
    style = None
    if _OTHER_LINE_BREAKS.intersection(text):
        style = '"'
    elif "\n" in text:
        style = "|"  # the emitter still quotes it when a block can't hold the text exactly
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _represent_list(dumper: BaseRepresenter, items: list[Any]) -> yaml.Node:
    """``[a, 'user:name']`` on one line for lists of text; nodes and nested data as blocks."""
    flow = all(isinstance(item, str) and "\n" not in item for item in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)


class _Dumper(yaml.SafeDumper):
    """YAML as people write it: nested lists indented, lists of names on one line."""

    yaml_representers: ClassVar[dict[Any, Callable[[BaseRepresenter, Any], yaml.Node]]] = {
        **yaml.SafeDumper.yaml_representers,
        str: _represent_text,
        list: _represent_list,
    }

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # '- name:' indented under 'nodes:'
