"""Read YAML and JSON graph files into the same graph model (and the same rules) as CSV tables.

A file holds one or more graphs under ``graphs``; each graph lists its nodes in order, and the
first node is where a run starts::

    graphs:
      Hello:
        nodes:
          - name: Start
            agent_type: echo
            edge: Respond
            inputs: [input]
            output: echoed
            description: Echo the input back into the state
          - name: Respond
            inputs: [echoed, "user:name"]
            output: response
            prompt: Say hello to {name}
            context: {tone: friendly}

The same file as JSON is ``{"graphs": {"Hello": {"nodes": [{"name": "Start", ...}]}}}``; a
top-level ``$schema`` key (for editors) is allowed and ignored.

Node keys mean what the CSV columns mean: ``name`` (required), ``agent_type`` (``default`` when
left out), ``edge``, ``success_next``, ``failure_next`` (a node name or ``func:name``),
``inputs`` (a list such as ``[a, "user:name"]`` or the CSV text ``a|user:name``), ``output``
(``a``, ``a|b`` or a list), ``prompt``, ``context`` (a mapping, or text as in a CSV cell:
text starting with ``{`` must be JSON), ``description``, and for a ``tool_agent``
``tool_source`` and ``available_tools`` (a list, or the CSV text ``add|multiply``). The CSV
column spellings (``Success_Next``, ``Input_Fields``, ``on_success``...) are accepted too.

Every value is kept as the text written: ``NA``, ``null``, ``yes``, ``0`` and dates are never
turned into other types (YAML is read event by event, without YAML's type guessing; JSON numbers
and literals become their JSON text). Problems name the line and the key path, 0-based:
``flow.yaml:14 graphs.Hello.nodes[3].success_next Success_Next: ...``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import yaml
from yaml import events

from agentmap.exceptions import GraphFileError, Problem
from agentmap.graph.collector import collector_paused
from agentmap.graph.columns import canonical
from agentmap.graph.context import ContextError, parse_context
from agentmap.graph.csv_reader import read_bytes
from agentmap.graph.model import Graph, GraphFile, Node
from agentmap.graph.table import Sheet, parse_inputs, parse_outputs, parse_tools
from agentmap.suggest import did_you_mean
from agentmap.userfiles import DEFAULT_MAX_FILE_MB

try:  # libyaml reads a 10,000-node graph several times faster than the pure-Python parser
    from yaml import CSafeLoader as _YamlParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _YamlParser  # type: ignore[assignment]

SUFFIXES = (".yaml", ".yml", ".json")
NODE_KEYS = {
    "Node": "name",
    "AgentType": "agent_type",
    "Edge": "edge",
    "Success_Next": "success_next",
    "Failure_Next": "failure_next",
    "Input_Fields": "inputs",
    "Output_Field": "output",
    "Prompt": "prompt",
    "Context": "context",
    "Description": "description",
    "Tool_Source": "tool_source",
    "Available_Tools": "available_tools",
}
"""Canonical column → the key a YAML/JSON node spells it with."""

_FIELD_OF_KEY = {key: column for column, key in NODE_KEYS.items()}
_VERBATIM = frozenset({"Prompt", "Description", "Context"})
_TOP_KEYS = ("graphs", "$schema")
_GRAPH_KEYS = ("nodes",)
_PLAIN_KEY = re.compile(r"[A-Za-z_][\w-]*\Z")
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{\[]|[^\s,:{}\[\]"]+')
# A \uD800-\uDFFF escape, which may leave half a character; and such a half, once decoded.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_T = TypeVar("_T")


# --- the document as a tree of text with line numbers ----------------------------------------
# Text values are plain ``str``, their lines kept beside them in the enclosing list or mapping:
# an object per value would be most of what a big graph costs to build and to free.


class _Seq(NamedTuple):
    """A list: its items, the 1-based line each item starts on, and the list's own line."""

    items: list[_Item]
    lines: list[int]
    line: int


class _Map(NamedTuple):
    """A mapping's ``(key, key line, value)`` in the order written, duplicates kept (to report)."""

    pairs: list[tuple[_Item, int, _Item]]
    line: int


_Item = str | _Seq | _Map


class _Malformed(Exception):
    """The file is not valid YAML/JSON; carries the line and what is wrong."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _compose_yaml(data: bytes) -> _Item | None:
    """The first YAML document as a tree of text, or ``None`` for an empty file.

    Built from parser events rather than ``yaml.compose``: this skips YAML's type resolution
    (so nothing is coerced) and is several times faster on big graphs.
    """
    parser = _YamlParser(data)
    try:
        return _YamlEvents(parser.get_event).document()
    except yaml.MarkedYAMLError as exc:
        line = _mark_line(exc)
        raise _Malformed(_yaml_message(exc, _has_tab(data, line)), line) from exc
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        line = data.decode("utf-8", "replace")[: exc.position].count("\n") + 1  # characters
        raise _Malformed(
            f"not valid YAML: character #x{exc.character:04X} is not allowed ({exc.reason}) — "
            "remove it, or write it as an escape in a double-quoted string",
            line,
        ) from exc
    except yaml.YAMLError as exc:  # any other: PyYAML's errors are marked or reader errors
        raise _Malformed(f"not valid YAML: {exc}", None) from exc
    finally:
        parser.dispose()


def _yaml_message(exc: yaml.MarkedYAMLError, tab: bool) -> str:
    context = f"{exc.context} (line {exc.context_mark.line + 1}), " if exc.context_mark else ""
    column = f" at column {exc.problem_mark.column + 1}" if exc.problem_mark else ""
    fix = (
        "indent with spaces: YAML does not allow tabs there"
        if tab
        else "check the indentation, quotes and colons there"
    )
    return f"not valid YAML: {context}{exc.problem}{column} — {fix}"


def _has_tab(data: bytes, line: int | None) -> bool:
    """Whether the line a YAML error points at is indented with a tab (the usual cause)."""
    lines = data.splitlines()
    if line is None or not 0 < line <= len(lines):
        return False
    text = lines[line - 1]
    return b"\t" in text[: len(text) - len(text.lstrip())]


def _mark_line(exc: yaml.MarkedYAMLError) -> int | None:
    mark = exc.problem_mark or exc.context_mark
    return mark.line + 1 if mark else None


class _Open(NamedTuple):
    """A list or mapping whose end event has not come yet."""

    children: list[_Item]
    lines: list[int]
    line: int
    is_map: bool
    anchor: str | None

    def close(self) -> _Item:
        if not self.is_map:
            return _Seq(self.children, self.lines, self.line)
        keys, values = self.children[::2], self.children[1::2]
        return _Map(list(zip(keys, self.lines[::2], values, strict=True)), self.line)


class _YamlEvents:
    """Turns a stream of YAML parser events into an ``_Item`` tree, resolving aliases.

    One loop with an explicit stack instead of a recursive call per value: on a 10,000-node
    graph the Python overhead per event is what decides the load time.
    """

    def __init__(self, get_event: Callable[[], events.Event | None]) -> None:
        self.get = get_event
        self.anchors: dict[str, _Item] = {}

    def document(self) -> _Item | None:
        self.get()  # StreamStart
        if isinstance(self.get(), events.StreamEndEvent):
            return None
        root = self.tree()
        self.get()  # DocumentEnd
        extra = self.get()
        if not isinstance(extra, events.StreamEndEvent):
            raise _Malformed(
                "a second YAML document starts here — keep every graph in one document under "
                "'graphs:'",
                _line_of(extra),
            )
        return root

    def tree(self) -> _Item:
        """The value that starts at the next event, with everything nested in it."""
        stack: list[_Open] = []
        while True:
            event = self.get()
            line = _line_of(event)
            if type(event) is events.ScalarEvent:
                item: _Item = event.value
                anchor = event.anchor
            elif isinstance(event, events.MappingStartEvent | events.SequenceStartEvent):
                is_map = type(event) is events.MappingStartEvent
                stack.append(_Open([], [], line, is_map, event.anchor))
                continue
            elif isinstance(event, events.AliasEvent):
                item, anchor = self.alias(event.anchor, line), None
            else:  # the end of the innermost open mapping or list
                done = stack.pop()
                item, line, anchor = done.close(), done.line, done.anchor
            if anchor is not None:
                self.anchors[anchor] = item
            if not stack:
                return item
            top = stack[-1]
            top.children.append(item)
            top.lines.append(line)

    def alias(self, anchor: str | None, line: int) -> _Item:
        found = self.anchors.get(anchor or "")
        if found is None:
            raise _Malformed(f"*{anchor} refers to no anchor &{anchor} written before it", line)
        return found


def _line_of(event: events.Event | None) -> int:
    mark = event.start_mark if event else None
    return mark.line + 1 if mark else 0


class _JsonObject(list[tuple[str, Any]]):
    """A JSON object's pairs in order; a list, so duplicate keys survive to be reported."""


def _compose_json(text: str) -> _Item:
    """The JSON document as a tree of text, with lines found by a second, C-speed token scan.

    The json module does the parsing (and the error messages); numbers keep their source text.
    """
    try:
        value = json.loads(
            text, object_pairs_hook=_JsonObject, parse_int=str, parse_float=str, parse_constant=str
        )
    except json.JSONDecodeError as exc:
        raise _Malformed(
            f"not valid JSON: {exc.msg} at column {exc.colno} — check the commas, quotes and "
            "brackets there",
            exc.lineno,
        ) from exc
    except RecursionError as exc:  # json's C parser gives up on very deep nesting this way
        raise _Malformed("JSON nested too deeply to read — flatten it", 1) from exc
    return _JsonPlaces(text, whole=_SURROGATE_ESCAPE.search(text) is not None).item(value)[0]


class _JsonPlaces:
    """Gives parsed JSON values their lines: values, keys and brackets appear in walk order.

    With ``whole``, it also refuses text holding half of a character: JSON can write a lone
    UTF-16 surrogate (``"\\ud800"``), which no output, file or store can hold.
    """

    def __init__(self, text: str, whole: bool = False) -> None:
        self.text = text
        self.tokens = _JSON_TOKEN.finditer(text)
        self.offset = 0
        self.line = 1
        self.whole = whole

    def check(self, text: str, line: int) -> None:
        """``_Malformed`` at ``line`` if ``text`` (a key or a value) is not whole characters."""
        half = _LONE_SURROGATE.search(text) if self.whole else None
        if half is not None:
            raise _Malformed(
                f"not valid JSON: {half[0]!a} is half of a character (a lone surrogate), "
                "which no output or store can hold — write the whole character, or both "
                "halves of its escape (\\ud83d\\ude00 for 😀)",
                line,
            )

    def next_line(self) -> int:
        """The line of the next value, key or opening bracket."""
        start = next(self.tokens).start()
        self.line += self.text.count("\n", self.offset, start)
        self.offset = start
        return self.line

    def item(self, value: Any) -> tuple[_Item, int]:
        """``value`` as a tree, and the line it starts on."""
        line = self.next_line()
        if isinstance(value, _JsonObject):
            pairs: list[tuple[_Item, int, _Item]] = []
            for key, child in value:
                key_line = self.next_line()
                self.check(key, key_line)
                pairs.append((key, key_line, self.item(child)[0]))
            return _Map(pairs, line), line
        if isinstance(value, list):
            children = [self.item(child) for child in value]
            return _Seq([c for c, _ in children], [n for _, n in children], line), line
        if isinstance(value, str):
            self.check(value, line)
            return value, line
        return json.dumps(value), line  # true/false/null


# --- from the tree to the graph model ---------------------------------------------------------


def read_structured_graphs(
    path: Path, display: str, max_mb: float = DEFAULT_MAX_FILE_MB
) -> tuple[GraphFile, list[Problem]]:
    """Read a ``.yaml``/``.yml``/``.json`` graph file into a ``GraphFile``, with every problem.

    A file that can't be read at all raises ``GraphFileError``; a file that is not valid YAML or
    JSON gives no graphs and one problem at the line the parser stopped.

    >>> file, problems = read_structured_graphs(Path("flow.yaml"), "flow.yaml")  # doctest: +SKIP
    >>> file.graphs["Hello"].entry  # doctest: +SKIP
    'Start'
    """
    data = read_bytes(path, display, max_mb)
    text = _decode(data, display)
    reader = _Reader(display)
    with collector_paused():
        try:
            root = _compose_json(text) if path.suffix.lower() == ".json" else _compose_yaml(data)
        except _Malformed as exc:
            reader.problem(exc.message, exc.line)
            return GraphFile(path=display, graphs={}), reader.problems
        graphs = reader.file(root)
    problems = sorted(reader.problems, key=lambda p: p.row or 0)
    return GraphFile(path=display, graphs=graphs), problems


def _decode(data: bytes, display: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        raise GraphFileError(
            f"{display}:{row}: the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at "
            f"offset {exc.start}) — save it as UTF-8 in your editor",
            file=display,
            row=row,
        ) from exc


def key_path(parent: str, key: str) -> str:
    """``graphs`` + ``Hello`` → ``graphs.Hello``; keys that aren't plain words are quoted."""
    if _PLAIN_KEY.match(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{json.dumps(key, ensure_ascii=False)}]"


class _Entry(NamedTuple):
    """A key as written and its value; a problem builds the key's path only when it occurs."""

    key: str
    line: int
    value: _Item


@dataclass
class _Reader:
    """What reading one file has found so far: the problems, and where to report them."""

    display: str
    problems: list[Problem] = field(default_factory=list)
    scratch: Sheet = field(init=False)

    def __post_init__(self) -> None:
        self.scratch = Sheet(file=self.display, prefix="")

    def problem(
        self,
        message: str,
        line: int | None,
        path: str | None = None,
        column: str | None = None,
        graph: str | None = None,
    ) -> None:
        self.problems.append(
            Problem(message, file=self.display, row=line, cell=path, field=column, graph=graph)
        )

    def file(self, root: _Item | None) -> dict[str, Graph]:
        """The graphs of the document, checking the keys around them."""
        if root is None:
            self.problem("the file is empty — start it with 'graphs:' and a graph's nodes", None)
            return {}
        if not isinstance(root, _Map):
            self.problem(
                f"the file holds {_kind(root)}, but a graph file is a mapping with a 'graphs' "
                "key — start it with 'graphs:'",
                root.line if isinstance(root, _Seq) else 1,
            )
            return {}
        top = self.keyed(root, "")
        for key, entry in top.items():
            if key not in _TOP_KEYS:
                self.unknown_key(entry, "", _TOP_KEYS)
        if "graphs" not in top:
            self.problem("no 'graphs' key — put your graphs under 'graphs:'", root.line)
            return {}
        return self.graphs(top["graphs"])

    def graphs(self, entry: _Entry) -> dict[str, Graph]:
        if not isinstance(entry.value, _Map) or not entry.value.pairs:
            self.problem(
                "'graphs' holds no graphs — write each graph's name under it, with its nodes",
                entry.line,
                "graphs",
            )
            return {}
        graphs: dict[str, Graph] = {}
        for name, graph_entry in self.keyed(entry.value, "graphs").items():
            graph = self.graph(name.strip(), graph_entry)
            if graph is not None and graph.name in graphs:
                self.problem(
                    f"two graphs are named '{graph.name}' — rename one of them",
                    graph_entry.line,
                    key_path("graphs", name),
                    "GraphName",
                    graph=graph.name,
                )
            elif graph is not None:
                graphs[graph.name] = graph
        return graphs

    def graph(self, name: str, entry: _Entry) -> Graph | None:
        path = key_path("graphs", entry.key)
        if not name:
            self.problem(
                "the graph's name is empty — name the graph", entry.line, path, "GraphName"
            )
        nodes_entry = self.graph_nodes(entry, path, name)
        if not name or nodes_entry is None:
            return None
        nodes: dict[str, Node] = {}
        places: dict[str, str] = {}
        nodes_path = key_path(path, "nodes")
        for index, (item, line) in enumerate(
            zip(nodes_entry.items, nodes_entry.lines, strict=True)
        ):
            node_path = f"{nodes_path}[{index}]"
            node = self.node(item, line, node_path, name)
            if node is not None:
                self.add_node(nodes, places, node, node_path, name)
        if not nodes:
            return None
        return Graph(
            name=name,
            nodes=nodes,
            entry=next(iter(nodes)),
            file=self.display,
            cells=NODE_KEYS,
            node_paths=places,
        )

    def graph_nodes(self, entry: _Entry, path: str, name: str) -> _Seq | None:
        """The graph's ``nodes`` list, after checking the graph's other keys."""
        if not isinstance(entry.value, _Map):
            self.problem(
                f"graph '{name}' holds {_kind(entry.value)} — give it a 'nodes:' list",
                entry.line,
                path,
                graph=name,
            )
            return None
        keys = self.keyed(entry.value, path)
        for key, key_entry in keys.items():
            if key not in _GRAPH_KEYS:
                self.unknown_key(key_entry, path, _GRAPH_KEYS, graph=name)
        nodes = keys.get("nodes")
        if nodes is None or not isinstance(nodes.value, _Seq) or not nodes.value.items:
            where = nodes or entry
            self.problem(
                f"graph '{name}' has no nodes — list them under 'nodes:', one '- name: ...' each",
                where.line,
                key_path(path, "nodes") if nodes else path,
                graph=name,
            )
            return None
        return nodes.value

    def add_node(
        self, nodes: dict[str, Node], places: dict[str, str], node: Node, path: str, graph: str
    ) -> None:
        first = nodes.get(node.name)
        if first is None:
            nodes[node.name] = node
            places[node.name] = path
            return
        self.problems.append(
            Problem(
                f"node '{node.name}' is defined twice in graph '{graph}' ({places[node.name]} on "
                f"line {first.row} and {path} on line {node.row}) — rename or delete one of them",
                file=self.display,
                row=node.row,
                cell=path,
                field="Node",
                graph=graph,
                node=node.name,
            )
        )

    def keyed(self, mapping: _Map, path: str) -> dict[str, _Entry]:
        """A mapping's entries by key; keys that aren't text, or appear twice, are problems."""
        entries: dict[str, _Entry] = {}
        for key, line, value in mapping.pairs:
            if not isinstance(key, str):
                self.problem(f"a key here is {_kind(key)} — keys must be plain text", line, path)
                continue
            first = entries.get(key)
            if first is not None:
                self.problem(
                    f"'{key}' is written twice (lines {first.line} and {line}) — keep one",
                    line,
                    key_path(path, key),
                )
                continue
            entries[key] = _Entry(key, line, value)
        return entries

    def unknown_key(
        self, entry: _Entry, path: str, known: tuple[str, ...], graph: str | None = None
    ) -> None:
        hint = did_you_mean(entry.key, known) or f" — use one of: {', '.join(known)}"
        self.problem(
            f"unknown key '{entry.key}'{hint}",
            entry.line,
            key_path(path, entry.key),
            graph=graph,
        )

    # --- one node ---------------------------------------------------------------------------

    def node(self, item: _Item, line: int, path: str, graph: str) -> Node | None:
        """The node one list item describes, with its problems tagged with graph and node."""
        start = len(self.problems)
        fields = self.node_fields(item, line, path)
        node = None if fields is None else self.node_from(fields, line, path)
        name = node.name if node else None
        self.problems[start:] = [replace(p, graph=graph, node=name) for p in self.problems[start:]]
        return node

    def node_fields(self, item: _Item, line: int, path: str) -> dict[str, _Entry] | None:
        """The node's entries by canonical column; unknown or doubled keys are problems."""
        if not isinstance(item, _Map):
            self.problem(
                f"a node is {_kind(item)} — write it as a mapping: '- name: ...' with its keys "
                "below",
                line,
                path,
            )
            return None
        fields: dict[str, _Entry] = {}
        for key, entry in self.keyed(item, path).items():
            column = _FIELD_OF_KEY.get(key) or canonical(key)
            if column is None or column == "GraphName":
                self.unknown_key(entry, path, tuple(NODE_KEYS.values()))
            elif column in fields:
                first = fields[column]
                self.problem(
                    f"two keys mean {column}: '{first.key}' (line {first.line}) and '{key}' — "
                    "keep one",
                    entry.line,
                    key_path(path, key),
                    column,
                )
            else:
                fields[column] = entry
        return fields

    def node_from(self, fields: dict[str, _Entry], line: int, path: str) -> Node | None:
        name = self.text(fields, "Node", path)
        if not name:
            where = fields.get("Node")
            self.problem(
                "name is empty — give the node a name"
                if where
                else "the node has no name — add 'name: ...'",
                where.line if where else line,
                key_path(path, where.key) if where else path,
                "Node",
            )
            return None
        return Node(
            name=name,
            agent_type=self.text(fields, "AgentType", path) or "default",
            edge=self.text(fields, "Edge", path) or None,
            success_next=self.text(fields, "Success_Next", path) or None,
            failure_next=self.text(fields, "Failure_Next", path) or None,
            inputs=self.table_rule(parse_inputs, fields, "Input_Fields", path),
            outputs=self.table_rule(parse_outputs, fields, "Output_Field", path),
            prompt=self.text(fields, "Prompt", path),
            context=self.context(fields, path),
            description=self.text(fields, "Description", path),
            row=line,
            tool_source=self.text(fields, "Tool_Source", path) or None,
            tools=self.table_rule(parse_tools, fields, "Available_Tools", path),
        )

    def text(self, fields: dict[str, _Entry], column: str, path: str) -> str:
        """A text field: stripped, except the ones kept verbatim (Prompt, Description)."""
        entry = fields.get(column)
        if entry is None:
            return ""
        if not isinstance(entry.value, str):
            self.problem(
                f"{entry.key} holds {_kind(entry.value)} — write it as text",
                entry.line,
                key_path(path, entry.key),
                column,
            )
            return ""
        return entry.value if column in _VERBATIM else entry.value.strip()

    def table_rule(
        self,
        parse: Callable[[Sheet, str, int], _T],
        fields: dict[str, _Entry],
        column: str,
        path: str,
    ) -> _T:
        """Parse a field with the CSV table's own rule, so both formats mean and say the same."""
        entry = fields.get(column)
        text = "" if entry is None else self.list_text(entry, column, path)
        line = entry.line if entry else 0
        value = parse(self.scratch, text, line)
        if self.scratch.problems:
            where = key_path(path, entry.key) if entry else path
            self.problems.extend(replace(p, cell=where) for p in self.scratch.problems)
            self.scratch.problems.clear()
        return value

    def list_text(self, entry: _Entry, column: str, path: str) -> str:
        """A list of text items (or CSV-style ``a|b`` text) as the CSV cell would hold it."""
        value = entry.value
        if isinstance(value, str):
            return value
        if isinstance(value, _Map):
            self.problem(
                f'{entry.key} holds a mapping — write a list like [a, "user:name"] or text '
                "like a|user:name",
                entry.line,
                key_path(path, entry.key),
                column,
            )
            return ""
        texts = []
        for index, (item, line) in enumerate(zip(value.items, value.lines, strict=True)):
            if isinstance(item, str):
                texts.append(item)
            else:
                self.problem(
                    f"item {index} of {entry.key} is {_kind(item)} — each item is a state key, "
                    "or state_key:param",
                    line,
                    f"{key_path(path, entry.key)}[{index}]",
                    column,
                )
        return "|".join(texts)

    def context(self, fields: dict[str, _Entry], path: str) -> dict[str, Any] | str | None:
        """A mapping becomes a dict of text; text means what a CSV Context cell means."""
        entry = fields.get("Context")
        if entry is None:
            return None
        where = key_path(path, entry.key)
        if isinstance(entry.value, str):
            try:
                return parse_context(entry.value)
            except ContextError as exc:
                self.problem(str(exc), entry.line, where, "Context")
                return None
        if isinstance(entry.value, _Seq):
            self.problem(
                "context holds a list — write a mapping (key: value lines) or text",
                entry.line,
                where,
                "Context",
            )
            return None
        plain = self.plain(entry.value, where)
        return plain if isinstance(plain, dict) else None

    def plain(self, item: _Item, path: str) -> str | list[Any] | dict[str, Any]:
        """Nested context data as Python values; every leaf stays the text written."""
        if isinstance(item, str):
            return item
        if isinstance(item, _Seq):
            return [self.plain(child, f"{path}[{i}]") for i, child in enumerate(item.items)]
        keys = self.keyed(item, path)
        return {key: self.plain(e.value, key_path(path, key)) for key, e in keys.items()}


def _kind(item: _Item) -> str:
    """What a value is, for a message saying it is the wrong kind."""
    if isinstance(item, _Map):
        return "a mapping"
    if isinstance(item, _Seq):
        return "a list"
    text = item if len(item) <= 40 else item[:37] + "..."
    return f"the text '{text}'" if text else "nothing"
