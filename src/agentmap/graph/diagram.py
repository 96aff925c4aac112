"""Draw a graph: an outline for the terminal, a Mermaid flowchart, a Graphviz DOT digraph.

Everything here returns data or text; the CLI decides how to show it.

>>> print(to_mermaid(load_graph("graphs/hello.csv")))  # doctest: +SKIP
flowchart TD
    n0(["Start<br/><i>echo</i>"]):::entry
    ...
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from agentmap.graph.model import FUNC_PREFIX, Graph, Node

Outcome = Literal["edge", "success", "failure"]
"""The routing cell of a route: ``Edge`` (both outcomes), ``Success_Next``, ``Failure_Next``."""

LOOP_MARK = "↺ loop"
MERMAID_MAX_EDGES = 500
MERMAID_MAX_TEXT = 50_000
"""Mermaid's default ``maxEdges`` and ``maxTextSize``: past them it refuses to draw a diagram."""
SUCCESS_COLOUR = "#2e7d32"
FAILURE_COLOUR = "#c62828"


@dataclass(frozen=True, slots=True)
class Route:
    """Where one outcome of a node leads.

    ``target`` is a node name, or ``None``: the run ends there, unless ``function`` is set (a
    ``func:`` route, whose function picks the next node only at run time). ``loop`` marks a
    route back to a node on the current path of the depth-first walk (an ancestor, or itself).
    """

    outcome: Outcome
    target: str | None
    function: str | None = None
    loop: bool = False

    @property
    def destination(self) -> str:
        """Where the route leads, in words: ``Check``, ``end``, ``func:pick decides``."""
        if self.function is not None:
            return f"{FUNC_PREFIX}{self.function} decides"
        return self.target if self.target is not None else "end"


@dataclass(frozen=True, slots=True)
class OutlineNode:
    """One node of an outline: its agent type and its routes, in cell order."""

    name: str
    agent_type: str
    routes: tuple[Route, ...]
    entry: bool = False


@dataclass(frozen=True, slots=True)
class Outline:
    """A graph as a reader follows it: ``reached`` in depth-first order from the entry, then
    the nodes no fixed route leads to.

    ``dynamic`` is true when a reached node has a ``func:`` route: such a function may pick any
    node, so the ``unreached`` ones are not necessarily dead.
    """

    graph: str
    entry: str
    reached: tuple[OutlineNode, ...]
    unreached: tuple[OutlineNode, ...]
    dynamic: bool

    @property
    def title(self) -> str:
        """``Review: 6 nodes, entry Draft``."""
        count = len(self.reached) + len(self.unreached)
        return f"{self.graph}: {count} node{'s' if count != 1 else ''}, entry {self.entry}"

    @property
    def unreached_heading(self) -> str:
        """What the ``unreached`` nodes are, so a reader doesn't take a live node for dead."""
        if self.dynamic:
            return "Reached only if a func: route picks them:"
        return f"Unreachable from {self.entry}:"


def outline(graph: Graph) -> Outline:
    """The graph as an outline: every node once, each with its routes, loops marked.

    >>> outline(load_graph("graphs/hello.csv")).reached[0].routes  # doctest: +SKIP
    (Route(outcome='edge', target='Respond', function=None, loop=False),)
    """
    done: set[str] = set()
    reached = _walk(graph, graph.entry, done) if graph.entry in graph.nodes else []
    unreached: list[OutlineNode] = []
    for name in graph.nodes:
        if name not in done:
            unreached.extend(_walk(graph, name, done))
    return Outline(
        graph=graph.name,
        entry=graph.entry,
        reached=tuple(reached),
        unreached=tuple(unreached),
        dynamic=any(route.function for node in reached for route in node.routes),
    )


def render_outline_text(graph: Graph) -> str:
    """The outline as plain text, for pipes, files and tests.

    >>> print(render_outline_text(load_graph("graphs/hello.csv")), end="")  # doctest: +SKIP
    Hello: 2 nodes, entry Start
    Start [echo] (entry)
      edge → Respond
    Respond [default]
      → end
    """
    shape = outline(graph)
    lines = [shape.title]
    for node in shape.reached:
        lines.extend(_outline_node_lines(node))
    if shape.unreached:
        lines.append(shape.unreached_heading)
        for node in shape.unreached:
            lines.extend(_outline_node_lines(node))
    return "\n".join(lines) + "\n"


def _outline_node_lines(node: OutlineNode) -> Iterator[str]:
    yield f"{node.name} [{node.agent_type}]" + (" (entry)" if node.entry else "")
    if not node.routes:
        yield "  → end"
    for route in node.routes:
        yield f"  {route.outcome} → {route.destination}" + (f"  {LOOP_MARK}" if route.loop else "")


def _walk(graph: Graph, start: str, done: set[str]) -> list[OutlineNode]:
    """Depth-first from ``start`` over nodes not yet ``done``, in the order they are found.

    Iterative, so a 10,000-node chain doesn't hit Python's recursion limit. A route is a loop
    when it leads back to a node still on the path (an ancestor, or the node itself).
    """
    order: list[str] = []
    routes: dict[str, list[Route]] = {}
    on_path: set[str] = set()
    stack: list[tuple[str, Iterator[tuple[Outcome, str | None]]]] = []

    def enter(name: str) -> None:
        done.add(name)
        on_path.add(name)
        order.append(name)
        routes[name] = []
        stack.append((name, iter(_cells(graph.nodes[name]))))

    enter(start)
    while stack:
        name, cells = stack[-1]
        cell = next(cells, None)
        if cell is None:
            stack.pop()
            on_path.discard(name)
            continue
        route = _route(*cell, on_path)
        routes[name].append(route)
        if route.target is not None and route.target in graph.nodes and route.target not in done:
            enter(route.target)
    return [_outline_node(graph, name, routes[name]) for name in order]


def _outline_node(graph: Graph, name: str, routes: list[Route]) -> OutlineNode:
    node = graph.nodes[name]
    return OutlineNode(name, node.agent_type, tuple(routes), entry=name == graph.entry)


def _cells(node: Node) -> tuple[tuple[Outcome, str | None], ...]:
    """The routing cells that say where a run goes next.

    An ``Edge`` covers both outcomes and wins over Success_Next/Failure_Next written beside it
    (as when run: those arrows would never be taken, so they are not drawn); when a node
    branches instead, the missing outcome is kept as ``None`` (the run ends there), so the
    outline says so rather than hiding it.
    """
    if node.edge:
        return (("edge", node.edge),)
    if not (node.success_next or node.failure_next):
        return ()
    return (("success", node.success_next), ("failure", node.failure_next))


def _route(outcome: Outcome, target: str | None, on_path: set[str]) -> Route:
    function = _function(target)
    if function is not None:
        return Route(outcome, None, function)
    return Route(outcome, target, loop=target in on_path)


def _function(target: str | None) -> str | None:
    """``func:pick`` → ``pick``; anything else → ``None``."""
    if target is None or not target.startswith(FUNC_PREFIX):
        return None
    return target[len(FUNC_PREFIX) :].strip()


# Diagrams --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Link:
    """One arrow of a diagram. ``target`` is a node name, or ``None`` for a "decides" marker."""

    source: str
    outcome: Outcome
    target: str | None
    function: str | None

    @property
    def label(self) -> str | None:
        """``success``, ``failure``, ``func:pick``, ``success · func:pick``; an Edge has none."""
        words: list[str] = [] if self.outcome == "edge" else [self.outcome]
        if self.function is not None:
            words.append(f"{FUNC_PREFIX}{self.function}")
        return " · ".join(words) or None


def _links(graph: Graph) -> Iterator[_Link]:
    """Every arrow to draw, in row order.

    A ``func:`` route is drawn to the row's plain ``Success_Next``/``Failure_Next`` (the targets
    the function is handed), or to a marker when there are none. A target that is no node of the
    graph (possible only in a graph that was never validated) has nothing to point at and is
    left out.
    """
    for node in graph.nodes.values():
        for outcome, cell in _cells(node):
            function = _function(cell)
            if function is None:  # a node, or parallel nodes "A|B|C" (an arrow to each)
                whole = cell is not None and cell in graph.nodes
                names = [cell] if whole else [t.strip() for t in (cell or "").split("|")]
                for name in names:
                    if name in graph.nodes:
                        yield _Link(node.name, outcome, name, None)
                continue
            targets: list[str | None] = [*_candidates(graph, node)] or [None]
            for target in targets:
                yield _Link(node.name, outcome, target, function)


def _candidates(graph: Graph, node: Node) -> list[str]:
    plain = (node.success_next, node.failure_next)
    found = [t for t in plain if t and _function(t) is None and t in graph.nodes]
    return list(dict.fromkeys(found))


def _ids(graph: Graph) -> dict[str, str]:
    """Ids ``n0``, ``n1``, … in row order: any node name is safe as a label, not as an id."""
    return {name: f"n{index}" for index, name in enumerate(graph.nodes)}


# Mermaid ---------------------------------------------------------------------------------------

# Mermaid decodes "#name;" and "#123;" in labels; using them for every character that could end a
# quoted label, start an entity, or become HTML keeps any node name literal.
_MERMAID_ESCAPES = str.maketrans(
    {
        "#": "#35;",
        '"': "#quot;",
        "&": "#amp;",
        "<": "#lt;",
        ">": "#gt;",
        "`": "#96;",
        "\r": "",
        "\n": "#32;",
    }
)
_MERMAID_ARROWS: dict[Outcome, str] = {"edge": "-->", "success": "-->", "failure": "-.->"}
_MERMAID_LINK_STYLES: dict[Outcome, str] = {
    "success": f"stroke:{SUCCESS_COLOUR},color:{SUCCESS_COLOUR}",
    "failure": f"stroke:{FAILURE_COLOUR},color:{FAILURE_COLOUR}",
}


def to_mermaid(graph: Graph) -> str:
    """A Mermaid flowchart: nodes labelled with name and agent type, the entry node in a thick
    stadium, success arrows green, failure arrows red and dotted, ``func:`` arrows labelled.

    >>> to_mermaid(load_graph("graphs/hello.csv")).splitlines()[0]  # doctest: +SKIP
    'flowchart TD'
    """
    ids = _ids(graph)
    lines = ["flowchart TD"]
    lines.extend(_mermaid_node(graph, node, ids[node.name]) for node in graph.nodes.values())
    styled: dict[Outcome, list[int]] = {"success": [], "failure": []}
    for index, link in enumerate(_links(graph)):
        if link.target is None:
            lines.append(f'    d{index}{{{{"{_mermaid_text(link.function or "")} decides"}}}}')
        target = ids[link.target] if link.target is not None else f"d{index}"
        lines.append(f"    {ids[link.source]} {_mermaid_arrow(link)} {target}")
        if link.outcome in styled:
            styled[link.outcome].append(index)
    lines.append("    classDef entry stroke-width:3px")
    lines.extend(_mermaid_link_styles(styled))
    return "\n".join(lines) + "\n"


def mermaid_limits_warning(graph: Graph, text: str) -> str | None:
    """Why Mermaid's default settings would refuse ``text`` (from ``to_mermaid(graph)``), if so.

    The limits are "secure" settings a diagram can't raise itself, so the reader is told what
    to do instead of meeting an error in a browser.
    """
    edges = sum(1 for _ in _links(graph))
    if edges <= MERMAID_MAX_EDGES and len(text) <= MERMAID_MAX_TEXT:
        return None
    return (
        f"this diagram has {edges} edges and {len(text):,} characters; Mermaid's defaults stop "
        f"at {MERMAID_MAX_EDGES} edges and {MERMAID_MAX_TEXT:,} characters — raise maxEdges and "
        "maxTextSize where you call mermaid.initialize, or use --format dot"
    )


def _mermaid_node(graph: Graph, node: Node, node_id: str) -> str:
    label = f"{_mermaid_text(node.name)}<br/><i>{_mermaid_text(node.agent_type)}</i>"
    if node.name == graph.entry:
        return f'    {node_id}(["{label}"]):::entry'
    return f'    {node_id}["{label}"]'


def _mermaid_arrow(link: _Link) -> str:
    arrow = _MERMAID_ARROWS[link.outcome]
    label = link.label
    return arrow if label is None else f'{arrow}|"{_mermaid_text(label)}"|'


def _mermaid_link_styles(styled: dict[Outcome, list[int]]) -> Iterator[str]:
    for outcome, indices in styled.items():
        if indices:
            yield f"    linkStyle {','.join(map(str, indices))} {_MERMAID_LINK_STYLES[outcome]}"


def _mermaid_text(text: str) -> str:
    return text.translate(_MERMAID_ESCAPES)


# Graphviz DOT ----------------------------------------------------------------------------------

_DOT_LINK_STYLES: dict[Outcome, str] = {
    "edge": "",
    "success": f'color="{SUCCESS_COLOUR}", fontcolor="{SUCCESS_COLOUR}"',
    "failure": f'color="{FAILURE_COLOUR}", fontcolor="{FAILURE_COLOUR}", style=dashed',
}


def to_dot(graph: Graph) -> str:
    """A Graphviz digraph with what ``to_mermaid`` shows: render it with ``dot -Tsvg``.

    >>> to_dot(load_graph("graphs/hello.csv")).splitlines()[0]  # doctest: +SKIP
    'digraph "Hello" {'
    """
    ids = _ids(graph)
    lines = [
        f"digraph {_dot_string(graph.name)} {{",
        '    node [shape=box, style=rounded, fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
    ]
    lines.extend(_dot_node(graph, node, ids[node.name]) for node in graph.nodes.values())
    for index, link in enumerate(_links(graph)):
        if link.target is None:
            decides = _dot_string(f"{link.function} decides")
            lines.append(f"    d{index} [label={decides}, shape=hexagon, fontsize=10];")
        target = ids[link.target] if link.target is not None else f"d{index}"
        lines.append(f"    {ids[link.source]} -> {target}{_dot_link_attributes(link)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_node(graph: Graph, node: Node, node_id: str) -> str:
    label = _dot_string(f"{node.name}\n[{node.agent_type}]")
    entry = ', style="rounded,bold", penwidth=2' if node.name == graph.entry else ""
    return f"    {node_id} [label={label}{entry}];"


def _dot_link_attributes(link: _Link) -> str:
    parts = [f"label={_dot_string(link.label)}"] if link.label is not None else []
    if _DOT_LINK_STYLES[link.outcome]:
        parts.append(_DOT_LINK_STYLES[link.outcome])
    return f" [{', '.join(parts)}]" if parts else ""


def _dot_string(text: str) -> str:
    """A quoted DOT string whose label shows ``text`` literally (``\\N`` etc. stay text)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "")
    return '"' + escaped.replace("\n", "\\n") + '"'
