"""Draw a graph as SVG, on the server, for the web dashboard (no JavaScript library needed).

A simple layered layout: each node is ranked by its distance from the entry (nodes the entry
never reaches come below, ranked from their own first node), a rank wider than
``MAX_PER_ROW`` nodes is wrapped onto several rows, and each row is ordered by where its
nodes' parents stand, then centred. Boxes show the node's name and agent type; plain ``Edge``
arrows are grey, ``Success_Next`` green, ``Failure_Next`` red and dashed, ``func:`` arrows
labelled. An arrow between adjacent rows is a curve through the gap between them; one that
skips rows runs down a lane on the left, one going back up (a loop) a lane on the right, so
no arrow crosses a box.

Every node is a ``<g class="node" data-node="NAME">`` and every arrow a ``<g class="edge
success" data-from="A" data-to="B">``, so a page can mark the path a run took, its running
node and its failed ones with CSS classes. Everything written is escaped.

>>> to_svg(load_graph("graphs/hello.csv")).startswith("<svg")  # doctest: +SKIP
True
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from agentmap.graph.diagram import (
    FAILURE_COLOUR,
    SUCCESS_COLOUR,
    Outcome,
    _candidates,
    _cells,
    _function,
    _Link,
)
from agentmap.graph.model import FUNC_PREFIX, Graph

MAX_PER_ROW = 6
"""A rank with more nodes than this is wrapped onto several rows (keeps wide fans readable)."""
NODE_HEIGHT = 46
MIN_WIDTH = 112
MAX_WIDTH = 220
PADDING_X = 14
GAP_X = 28
GAP_Y = 58
MARGIN = 24
LANE = 9
"""Space between two arrows sharing the left or right lane."""
LANES = 8
"""Lanes on each side; more arrows than that share them."""
NAME_SIZE = 13
TYPE_SIZE = 11
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
EDGE_COLOUR = "#64748b"
COLOURS: dict[Outcome, str] = {
    "edge": EDGE_COLOUR,
    "success": SUCCESS_COLOUR,
    "failure": FAILURE_COLOUR,
}

Key = tuple[str, str]
"""What a box draws: ``("node", name)``, or ``("decides", index)`` for a ``func:`` route's
marker when the function has no plain target to point at."""


@dataclass(frozen=True, slots=True)
class Box:
    """Where one node (or ``func:`` marker) is drawn: its top-left corner and size."""

    key: Key
    x: float
    y: float
    width: float
    height: float
    rank: int
    row: int

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def centre(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True, slots=True)
class Layout:
    """Every box, the arrows between them (with the key of each end), and the drawing's size."""

    boxes: dict[Key, Box]
    links: tuple[tuple[_Link, Key, Key], ...]
    width: float
    height: float
    row_tops: tuple[float, ...]


def layout(graph: Graph) -> Layout:
    """Place every node of ``graph`` (and each ``func:`` marker) and measure the drawing."""
    keys: list[Key] = [("node", name) for name in graph.nodes]
    links: list[tuple[_Link, Key, Key]] = []
    for index, link in enumerate(arrows(graph)):
        target: Key = ("node", link.target) if link.target is not None else ("decides", str(index))
        if link.target is None:
            keys.append(target)
        links.append((link, ("node", link.source), target))
    children: dict[Key, list[Key]] = {key: [] for key in keys}
    for _, source, target in links:
        children[source].append(target)
    ranks = _ranks(graph, keys, children)
    rows = _rows(keys, ranks, links)
    widths = {key: _box_width(graph, key, links) for key in keys}
    row_widths = [sum(widths[k] for k in row) + GAP_X * (len(row) - 1) for row in rows]
    inner = max(row_widths, default=0.0)
    left = MARGIN + _lanes_used(links, ranks, rows, "left") * LANE
    boxes: dict[Key, Box] = {}
    tops: list[float] = []
    y = MARGIN + 12.0  # room for the entry's start mark
    for number, (row, row_width) in enumerate(zip(rows, row_widths, strict=True)):
        x = left + (inner - row_width) / 2
        tops.append(y)
        for key in row:
            boxes[key] = Box(key, x, y, widths[key], NODE_HEIGHT, ranks[key], number)
            x += widths[key] + GAP_X
        y += NODE_HEIGHT + GAP_Y
    right_lanes = _lanes_used(links, ranks, rows, "right")
    width = left + inner + (right_lanes * LANE + 8 if right_lanes else 0) + MARGIN
    height = (y - GAP_Y if rows else y) + MARGIN
    return Layout(boxes, tuple(links), width, height, tuple(tops))


def to_svg(graph: Graph, *, id_prefix: str = "am") -> str:
    """``graph`` as a standalone SVG document (also fine inline in HTML). ``id_prefix`` keeps
    the arrowheads' ids apart when a page shows several drawings."""
    shape = layout(graph)
    prefix = "".join(c for c in id_prefix if c.isalnum() or c in "-_") or "am"
    edges, reach = _edges(shape, prefix)
    width = max(shape.width, reach + MARGIN)  # a func: label may stick out to the right
    title = f"{graph.name}: {len(graph.nodes)} node{'s' if len(graph.nodes) != 1 else ''}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="am-graph" '
        f'viewBox="0 0 {_n(width)} {_n(shape.height)}" width="{_n(width)}" '
        f'height="{_n(shape.height)}" role="img" aria-label="{_attr(title)}" '
        f'data-graph="{_attr(graph.name)}" font-family="{_attr(FONT)}">',
        f"<title>{_text(title)}</title>",
        "<defs>",
        *(_marker(prefix, outcome, colour) for outcome, colour in COLOURS.items()),
        "</defs>",
        '<g class="edges">',
        *edges,
        "</g>",
        '<g class="nodes">',
        *_boxes(graph, shape),
        "</g>",
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def arrows(graph: Graph) -> list[_Link]:
    """Every arrow to draw, in row order: one per target of each routing cell (``A|B`` starts
    parallel branches: an arrow to each). A ``func:`` route points at the row's plain
    ``Success_Next``/``Failure_Next`` (the targets the function is handed), or at a marker
    (``target`` None) when there are none; a target that is no node of the graph is left out."""
    found: list[_Link] = []
    for node in graph.nodes.values():
        for outcome, cell in _cells(node):
            for piece in (p.strip() for p in (cell or "").split("|")):
                function = _function(piece)
                if function is not None:
                    targets: list[str | None] = [*_candidates(graph, node)] or [None]
                    found.extend(_Link(node.name, outcome, t, function) for t in targets)
                elif piece in graph.nodes:
                    found.append(_Link(node.name, outcome, piece, None))
    return found


# Layout ----------------------------------------------------------------------------------------


def _ranks(graph: Graph, keys: list[Key], children: dict[Key, list[Key]]) -> dict[Key, int]:
    """Each box's rank: the longest way to it from the entry, not counting arrows that close a
    loop (so every other arrow points down, as in Graphviz). Nodes the entry never reaches come
    below the rest, ranked the same way from the first of them in row order."""
    ranks: dict[Key, int] = {}
    starts = [("node", graph.entry)] if graph.entry in graph.nodes else []
    starts += [key for key in keys if key[0] == "node"]
    for start in starts:
        if start in ranks:
            continue
        order, parents = _component(start, children, ranks)
        base = max(ranks.values(), default=-1) + 1
        for key in order:
            ranks[key] = max((ranks[p] + 1 for p in parents[key]), default=base)
    return ranks


def _component(
    start: Key, children: dict[Key, list[Key]], ranked: dict[Key, int]
) -> tuple[list[Key], dict[Key, list[Key]]]:
    """The boxes reached from ``start`` that are not ``ranked`` yet, parents first, and each
    one's parents among them by the arrows that don't close a loop (depth first, iterative)."""
    seen: set[Key] = {start}
    on_path: set[Key] = {start}
    finished: list[Key] = []
    parents: dict[Key, list[Key]] = {start: []}
    stack = [(start, iter(children[start]))]
    while stack:
        key, rest = stack[-1]
        child = next(rest, None)
        if child is None:
            stack.pop()
            on_path.discard(key)
            finished.append(key)
            continue
        if child in ranked or child in on_path:
            continue  # an earlier component's box, or a loop closing
        parents.setdefault(child, []).append(key)
        if child not in seen:
            seen.add(child)
            on_path.add(child)
            stack.append((child, iter(children[child])))
    return finished[::-1], parents


def _rows(
    keys: list[Key], ranks: dict[Key, int], links: list[tuple[_Link, Key, Key]]
) -> list[list[Key]]:
    """Each rank's boxes in rows of at most ``MAX_PER_ROW``, ordered by their parents."""
    parents: dict[Key, list[Key]] = {key: [] for key in keys}
    for _, source, target in links:
        if ranks[source] < ranks[target]:
            parents[target].append(source)
    by_rank: dict[int, list[Key]] = {}
    for key in keys:
        by_rank.setdefault(ranks[key], []).append(key)
    rows: list[list[Key]] = []
    place: dict[Key, float] = {}
    for rank in sorted(by_rank):
        found = by_rank[rank]
        ordered = sorted(found, key=lambda key: _barycentre(parents[key], place))
        for start in range(0, len(ordered), MAX_PER_ROW):
            row = ordered[start : start + MAX_PER_ROW]
            for index, key in enumerate(row):
                place[key] = index - (len(row) - 1) / 2  # relative to the row's middle
            rows.append(row)
    return rows


def _barycentre(parents: list[Key], place: dict[Key, float]) -> float:
    """Where a box's parents stand, on average (boxes without placed parents go last; the
    sort is stable, so they keep their row order)."""
    placed = [place[p] for p in parents if p in place]
    return sum(placed) / len(placed) if placed else float("inf")


def _row_of(rows: list[list[Key]]) -> dict[Key, int]:
    return {key: number for number, row in enumerate(rows) for key in row}


def _route(source_row: int, target_row: int, same: bool) -> str:
    """How an arrow is drawn: ``self``, ``across`` (adjacent rows), ``side`` (same row),
    ``left`` (down over rows), ``right`` (back up)."""
    if same:
        return "self"
    if target_row == source_row + 1:
        return "across"
    if target_row == source_row:
        return "side"
    return "left" if target_row > source_row else "right"


def _lanes_used(
    links: list[tuple[_Link, Key, Key]],
    ranks: dict[Key, int],
    rows: list[list[Key]],
    side: str,
) -> int:
    row_of = _row_of(rows)
    count = sum(
        1
        for _, source, target in links
        if _route(row_of[source], row_of[target], source == target) == side
    )
    return min(count, LANES)


def _box_width(graph: Graph, key: Key, links: list[tuple[_Link, Key, Key]]) -> float:
    if key[0] == "decides":
        link = next(link for link, _, target in links if target == key)
        wanted = _measure(f"{FUNC_PREFIX}{link.function} decides", TYPE_SIZE) + 28
        return float(max(MIN_WIDTH, min(MAX_WIDTH, round(wanted + 2 * PADDING_X))))
    name, kind = key[1], graph.nodes[key[1]].agent_type
    wanted = max(_measure(name, NAME_SIZE, bold=True), _measure(kind, TYPE_SIZE))
    return float(max(MIN_WIDTH, min(MAX_WIDTH, round(wanted + 2 * PADDING_X))))


def _measure(text: str, size: float, bold: bool = False) -> float:
    """About how wide ``text`` is in a sans-serif font (wide East Asian characters count two)."""
    units = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return units * size * (0.62 if bold else 0.58)


def _fit(text: str, size: float, bold: bool = False) -> str:
    """``text``, cut with an ellipsis where it would overflow the widest box."""
    room = MAX_WIDTH - 2 * PADDING_X
    if _measure(text, size, bold) <= room:
        return text
    while text and _measure(text + "…", size, bold) > room:
        text = text[:-1]
    return text + "…"


# Drawing ---------------------------------------------------------------------------------------


def _n(value: float) -> str:
    """A coordinate, short: ``12``, ``12.5``."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _attr(text: str) -> str:
    return escape(_printable(text), quote=True)


def _text(text: str) -> str:
    return escape(_printable(text), quote=False)


def _printable(text: str) -> str:
    """Control characters are not allowed in XML: shown as a replacement character."""
    return "".join("\ufffd" if ord(c) < 32 and c not in "\t\n" else c for c in text)


def _marker(prefix: str, outcome: Outcome, colour: str) -> str:
    return (
        f'<marker id="{prefix}-arrow-{outcome}" viewBox="0 0 10 10" refX="9" refY="5" '
        f'markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" '
        'orient="auto-start-reverse">'
        f'<path d="M 0 0 L 10 5 L 0 10 z" fill="{colour}"/></marker>'
    )


def _boxes(graph: Graph, shape: Layout) -> Iterable[str]:
    for key, box in shape.boxes.items():
        if key[0] == "decides":
            yield _decides(graph, shape, box)
            continue
        node = graph.nodes[key[1]]
        entry = node.name == graph.entry
        classes = "node entry" if entry else "node"
        tip = f"{node.name} ({node.agent_type})" + (
            f" — {node.description}" if node.description else ""
        )
        cx, cy = box.centre, box.y + box.height / 2
        lines = [
            f'<g class="{classes}" data-node="{_attr(node.name)}" '
            f'data-agent-type="{_attr(node.agent_type)}">',
            f"<title>{_text(tip)}</title>",
        ]
        if entry:
            lines.append(
                f'<g class="start"><circle cx="{_n(cx)}" cy="{_n(box.y - 14)}" r="4" '
                f'fill="#334155"/><line x1="{_n(cx)}" y1="{_n(box.y - 10)}" x2="{_n(cx)}" '
                f'y2="{_n(box.y)}" stroke="#334155" stroke-width="1.5"/></g>'
            )
        stroke, thickness = ("#334155", "2") if entry else ("#cbd5e1", "1.2")
        kind = _text(_fit(node.agent_type, TYPE_SIZE))
        lines += [
            f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}" '
            f'height="{_n(box.height)}" rx="8" fill="#ffffff" stroke="{stroke}" '
            f'stroke-width="{thickness}"/>',
            f'<text class="name" x="{_n(cx)}" y="{_n(cy - 3)}" text-anchor="middle" '
            f'font-size="{NAME_SIZE}" font-weight="600" fill="#0f172a">'
            f"{_text(_fit(node.name, NAME_SIZE, bold=True))}</text>",
            f'<text class="type" x="{_n(cx)}" y="{_n(cy + 13)}" text-anchor="middle" '
            f'font-size="{TYPE_SIZE}" fill="#64748b">{kind}</text>',
            "</g>",
        ]
        yield "".join(lines)


def _decides(graph: Graph, shape: Layout, box: Box) -> str:
    link = next(link for link, _, target in shape.links if target == box.key)
    words = f"{FUNC_PREFIX}{link.function} decides"
    cx, cy, half, w = box.centre, box.y + box.height / 2, box.height / 2, box.width / 2
    points = [
        (cx - w, cy),
        (cx - w + 14, cy - half),
        (cx + w - 14, cy - half),
        (cx + w, cy),
        (cx + w - 14, cy + half),
        (cx - w + 14, cy + half),
    ]
    drawn = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
    return (
        f'<g class="decides" data-from="{_attr(link.source)}"><title>{_text(words)}</title>'
        f'<polygon points="{drawn}" fill="#f8fafc" stroke="#94a3b8" stroke-dasharray="4 3"/>'
        f'<text x="{_n(cx)}" y="{_n(cy + 4)}" text-anchor="middle" font-size="{TYPE_SIZE}" '
        f'fill="#475569">{_text(_fit(words, TYPE_SIZE))}</text></g>'
    )


def _edges(shape: Layout, prefix: str) -> tuple[list[str], float]:
    """Every arrow drawn, and how far right its labels reach."""
    drawn: list[str] = []
    reach = 0.0
    boxes = shape.boxes
    rows = {box.key: box.row for box in boxes.values()}
    routes = [
        _route(rows[source], rows[target], source == target) for _, source, target in shape.links
    ]
    # where each arrow leaves its source and reaches its target: spread along the box's edge,
    # in the order of the other end's position, so arrows don't start on one point or cross
    out_ports = _ports(shape, routes, outgoing=True)
    in_ports = _ports(shape, routes, outgoing=False)
    left_edge = min((box.x for box in boxes.values()), default=MARGIN)
    right_edge = max((box.right for box in boxes.values()), default=MARGIN)
    lanes = {"left": 0, "right": 0}
    for index, ((link, source_key, target_key), route) in enumerate(
        zip(shape.links, routes, strict=True)
    ):
        source, target = boxes[source_key], boxes[target_key]
        sx, tx = out_ports[index], in_ports[index]
        if route == "self":
            x, y = source.right, source.y + source.height / 2
            path = _path("M", (x, y - 8), "C", (x + 34, y - 26), (x + 34, y + 26), (x, y + 8))
        elif route == "across":
            y1, y2 = source.bottom, target.y
            middle = (y1 + y2) / 2
            path = _path("M", (sx, y1), "C", (sx, middle), (tx, middle), (tx, y2))
        elif route == "side":
            top = source.y - 16 - 5 * (index % 3)
            path = _polyline([(sx, source.y), (sx, top), (tx, top), (tx, target.y)])
        else:
            lane = lanes[route] % LANES
            lanes[route] += 1
            x = left_edge - LANE * (lane + 1) if route == "left" else right_edge + LANE * (lane + 1)
            below = source.bottom + 12 + 4 * (lane % 4)
            above = target.y - 14 - 4 * (lane % 4)
            path = _polyline(
                [
                    (sx, source.bottom),
                    (sx, below),
                    (x, below),
                    (x, above),
                    (tx, above),
                    (tx, target.y),
                ]
            )
        drawn.append(_edge(link, path, prefix))
        if link.function is not None:
            reach = max(reach, sx + 5 + _measure(_fit(f"{FUNC_PREFIX}{link.function}", 10), 10))
    return drawn, reach


def _ports(shape: Layout, routes: list[str], *, outgoing: bool) -> list[float]:
    """The x each arrow leaves (``outgoing``) or reaches its box at."""
    at_box: dict[Key, list[tuple[float, int]]] = {}
    for index, ((_, source, target), route) in enumerate(zip(shape.links, routes, strict=True)):
        mine, other = (source, target) if outgoing else (target, source)
        toward = shape.boxes[other].centre
        if route == "left":
            toward = float("-inf")
        elif route == "right":
            toward = float("inf")
        at_box.setdefault(mine, []).append((toward, index))
    ports = [0.0] * len(routes)
    for key, ends in at_box.items():
        box = shape.boxes[key]
        ends.sort()
        step = min(box.width / (len(ends) + 1), 24.0)
        start = box.centre - step * (len(ends) - 1) / 2
        for order, (_, index) in enumerate(ends):
            ports[index] = start + step * order
    return ports


def _path(*steps: str | tuple[float, float]) -> str:
    """Path data from commands and points: ``_path("M", (0, 0), "L", (5, 5))``."""
    return " ".join(s if isinstance(s, str) else f"{_n(s[0])} {_n(s[1])}" for s in steps)


def _polyline(points: list[tuple[float, float]], radius: float = 6.0) -> str:
    """A path through ``points`` with rounded corners."""
    (x0, y0), rest = points[0], points[1:]
    parts = [f"M {_n(x0)} {_n(y0)}"]
    previous = points[0]
    for index, corner in enumerate(rest[:-1]):
        after = rest[index + 1]
        into = _toward(corner, previous, radius)
        out = _toward(corner, after, radius)
        parts.append(_path("L", into, "Q", corner, out))
        previous = corner
    parts.append(f"L {_n(rest[-1][0])} {_n(rest[-1][1])}")
    return " ".join(parts)


def _toward(
    corner: tuple[float, float], other: tuple[float, float], radius: float
) -> tuple[float, float]:
    """The point ``radius`` (at most half the segment) from ``corner`` toward ``other``."""
    dx, dy = other[0] - corner[0], other[1] - corner[1]
    length = (dx * dx + dy * dy) ** 0.5
    if length == 0:
        return corner
    step = min(radius, length / 2) / length
    return corner[0] + dx * step, corner[1] + dy * step


def _edge(link: _Link, path: str, prefix: str) -> str:
    colour = COLOURS[link.outcome]
    target = link.target if link.target is not None else f"{FUNC_PREFIX}{link.function} decides"
    label = link.label
    tip = f"{link.source} → {target}" + (f" ({label})" if label else "")
    data_to = f' data-to="{_attr(link.target)}"' if link.target is not None else ""
    dash = ' stroke-dasharray="6 4"' if link.outcome == "failure" else ""
    parts = [
        f'<g class="edge {link.outcome}" data-from="{_attr(link.source)}"{data_to}>',
        f"<title>{_text(tip)}</title>",
        f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="1.6"{dash} '
        f'marker-end="url(#{prefix}-arrow-{link.outcome})"/>',
    ]
    if link.function is not None:
        x, y = _label_point(path)
        parts.append(
            f'<text class="label" x="{_n(x + 5)}" y="{_n(y + 14)}" font-size="10" '
            f'fill="{colour}">{_text(_fit(f"{FUNC_PREFIX}{link.function}", 10))}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def _label_point(path: str) -> tuple[float, float]:
    """Where a label goes: the start of the arrow (just below its source)."""
    words = path.split()
    return float(words[1]), float(words[2])
