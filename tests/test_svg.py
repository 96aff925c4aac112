"""The SVG drawing of a graph the dashboard shows (agentmap.graph.svg): every node and arrow
drawn and marked for the page's CSS, text escaped, and a layered layout whose boxes never
overlap, even for a few hundred nodes."""

from __future__ import annotations

import itertools
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from agentmap import Graph, Node
from agentmap.api import validate_graph
from agentmap.graph.svg import MAX_PER_ROW, Box, arrows, layout, to_svg

SVG = "{http://www.w3.org/2000/svg}"


def make_graph(name: str, *nodes: Node) -> Graph:
    return Graph(name=name, nodes={n.name: n for n in nodes}, entry=nodes[0].name)


def parsed(graph: Graph) -> ET.Element:
    return ET.fromstring(to_svg(graph))


def groups(root: ET.Element, kind: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if kind in (g.get("class") or "").split()]


# Draft → Check; Check succeeds to Publish, fails to Revise; Revise loops back to Draft;
# Publish fans out to Tweet|Mail (parallel branches); Tweet routes with a function that has no
# plain target (a "decides" marker); Mail retries itself; Orphan is reached by nothing.
REVIEW = make_graph(
    "Review",
    Node("Draft", "echo", edge="Check"),
    Node("Check", "branching", success_next="Publish", failure_next="Revise"),
    Node("Revise", "echo", edge="Draft"),
    Node("Publish", "echo", edge="Tweet|Mail"),
    Node("Tweet", "echo", edge="func:pick"),
    Node("Mail", "echo", success_next="Done", failure_next="Mail"),
    Node("Done", "echo"),
    Node("Orphan", "echo", edge="Done"),
)


def test_every_node_and_arrow_is_drawn_and_named_for_the_page() -> None:
    root = parsed(REVIEW)

    nodes = groups(root, "node")
    assert [g.get("data-node") for g in nodes] == list(REVIEW.nodes)
    assert {g.get("data-node"): g.get("data-agent-type") for g in nodes}["Check"] == "branching"
    assert [g.get("data-node") for g in groups(root, "entry")] == ["Draft"]
    drawn = {(g.get("data-from"), g.get("data-to"), g.get("class")) for g in groups(root, "edge")}
    assert drawn == {
        ("Draft", "Check", "edge edge"),
        ("Check", "Publish", "edge success"),
        ("Check", "Revise", "edge failure"),
        ("Revise", "Draft", "edge edge"),
        ("Publish", "Tweet", "edge edge"),
        ("Publish", "Mail", "edge edge"),
        ("Tweet", None, "edge edge"),  # to its func:pick marker
        ("Mail", "Done", "edge success"),
        ("Mail", "Mail", "edge failure"),
        ("Orphan", "Done", "edge edge"),
    }
    assert len(groups(root, "edge")) == len(arrows(REVIEW)) == 10
    (marker,) = groups(root, "decides")
    assert marker.get("data-from") == "Tweet" and "func:pick decides" in ET.tostring(
        marker, encoding="unicode"
    )


def test_success_arrows_are_solid_green_and_failure_arrows_dashed_red() -> None:
    root = parsed(REVIEW)
    paths = {
        (g.get("data-from"), g.get("data-to")): g.find(f"{SVG}path") for g in groups(root, "edge")
    }

    success = paths[("Check", "Publish")]
    failure = paths[("Check", "Revise")]
    assert success is not None and failure is not None
    assert success.get("stroke") == "#2e7d32" and success.get("stroke-dasharray") is None
    assert failure.get("stroke") == "#c62828" and failure.get("stroke-dasharray")
    assert failure.get("marker-end") == "url(#am-arrow-failure)"
    ids = {m.get("id") for m in root.iter(f"{SVG}marker")}
    assert ids == {"am-arrow-edge", "am-arrow-success", "am-arrow-failure"}


def test_nodes_go_down_by_rank_and_loops_go_back_up_on_the_right() -> None:
    shape = layout(REVIEW)
    top = {key[1]: box.y for key, box in shape.boxes.items() if key[0] == "node"}

    assert top["Draft"] < top["Check"] < top["Publish"] < top["Mail"] < top["Done"]
    assert top["Check"] < top["Revise"]
    assert top["Orphan"] > top["Done"]  # nothing reaches it: drawn below the rest
    root = parsed(REVIEW)
    loop = next(g for g in groups(root, "edge") if g.get("data-from") == "Revise")
    path = loop.find(f"{SVG}path")
    assert path is not None
    xs = [float(x) for x in re.findall(r"(-?[\d.]+) -?[\d.]+", path.get("d") or "")]
    assert max(xs) > max(box.right for box in shape.boxes.values())


def test_names_types_and_descriptions_are_escaped() -> None:
    evil = '<img src=x onerror="alert(1)">&amp;'
    graph = make_graph(
        '<script>alert("g")</script>',
        Node(evil, "<b>type</b>", edge="x'\"<>", description="</title><script>alert(2)</script>"),
        Node("x'\"<>", "echo", description="bell \x07 and nul-ish \x01 text"),
    )

    text = to_svg(graph)

    assert "<script" not in text and "<img" not in text and "<b>" not in text
    root = ET.fromstring(text)  # well-formed XML, control characters and all
    assert [g.get("data-node") for g in groups(root, "node")] == [evil, "x'\"<>"]
    (edge,) = groups(root, "edge")
    assert (edge.get("data-from"), edge.get("data-to")) == (evil, "x'\"<>")
    names = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "name"]
    assert names[1] == "x'\"<>" and names[0] is not None and names[0].startswith("<img")
    assert root.get("data-graph") == '<script>alert("g")</script>'


def test_long_names_are_cut_in_the_box_and_whole_in_its_tooltip() -> None:
    name = "A" + "very" * 40
    root = parsed(make_graph("Long", Node(name, "echo")))

    (node,) = groups(root, "node")
    shown = next(t.text for t in node.iter(f"{SVG}text") if t.get("class") == "name")
    title = node.find(f"{SVG}title")
    assert shown is not None and shown.endswith("…") and len(shown) < 40
    assert title is not None and title.text is not None and name in title.text
    assert node.get("data-node") == name


def test_a_wide_fan_is_wrapped_onto_rows() -> None:
    leaves = [f"Leaf{i}" for i in range(40)]
    graph = make_graph(
        "Fan", Node("Start", "echo", edge="|".join(leaves)), *(Node(n, "echo") for n in leaves)
    )

    shape = layout(graph)

    rows: dict[float, int] = {}
    for box in shape.boxes.values():
        rows[box.y] = rows.get(box.y, 0) + 1
    assert max(rows.values()) <= MAX_PER_ROW and len(rows) == 1 + 40 // MAX_PER_ROW + 1
    assert shape.width < 2000
    _no_overlap(list(shape.boxes.values()))


def test_two_hundred_nodes_are_laid_out_without_overlap_quickly() -> None:
    count = 200
    names = [f"Step{i:03d}" for i in range(count)]
    nodes = []
    for i, name in enumerate(names):
        if i == count - 1:
            nodes.append(Node(name, "echo"))
        elif i % 10 == 0 and i + 4 < count:  # a fan of three parallel branches
            nodes.append(Node(name, "echo", edge="|".join(names[i + 1 : i + 4])))
        else:
            back = names[(i * 7) % (i + 1)]  # some go back: loops
            ahead = names[min(count - 1, i + 1 + i % 5)]
            nodes.append(Node(name, "branching", success_next=ahead, failure_next=back))
    graph = make_graph("Big", *nodes)

    started = time.perf_counter()
    text = to_svg(graph)
    took = time.perf_counter() - started

    shape = layout(graph)
    boxes = list(shape.boxes.values())
    assert len(boxes) == count
    _no_overlap(boxes)
    for box in boxes:  # all on the canvas
        assert box.x >= 0 and box.y >= 0 and box.right <= shape.width
        assert box.bottom <= shape.height
    root = ET.fromstring(text)
    assert len(groups(root, "node")) == count
    assert len(groups(root, "edge")) == len(arrows(graph))
    assert took < 2.0, f"drawing 200 nodes took {took:.2f} s"


def test_the_example_graphs_draw(repo: Path) -> None:
    for path in sorted((repo / "graphs").glob("*.csv")):
        for graph in validate_graph(path).file.graphs.values():
            root = ET.fromstring(to_svg(graph))
            assert len(groups(root, "node")) == len(graph.nodes), path


def _no_overlap(boxes: list[Box]) -> None:
    for a, b in itertools.combinations(boxes, 2):
        apart = a.right <= b.x or b.right <= a.x or a.bottom <= b.y or b.bottom <= a.y
        assert apart, (a, b)
