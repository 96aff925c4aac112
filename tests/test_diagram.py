"""Seeing a graph: the outline, Mermaid and DOT diagrams, and ``agentmap graph``.

The diagrams are checked by the tools that read them: Mermaid's own parser under Node (npm
packages installed once into pytest's cache folder, ``.pytest_cache/d/``) and Graphviz's ``dot``.
Those tests skip, saying why, where Node, npm or ``dot`` are missing or npm can't download.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from agentmap import Graph, Node
from agentmap.cli.app import app
from agentmap.cli.graph import outline_tree
from agentmap.graph.diagram import (
    MERMAID_MAX_EDGES,
    Route,
    mermaid_limits_warning,
    outline,
    render_outline_text,
    to_dot,
    to_mermaid,
)

GraphCsv = Callable[..., Path]


def make_graph(name: str, *nodes: Node) -> Graph:
    """A graph from nodes in row order, entered at the first (as the loader does)."""
    return Graph(name=name, nodes={n.name: n for n in nodes}, entry=nodes[0].name)


def chain(edges: int) -> Graph:
    """``N0 → N1 → … → N{edges}``, each step an Edge."""
    names = [f"N{i}" for i in range(edges + 1)]
    steps = (Node(a, "echo", edge=b) for a, b in pairwise(names))
    return make_graph("Chain", *steps, Node(names[-1], "echo"))


# A branching graph with a loop (Revise → Draft), a func: route with a plain Failure_Next
# (Publish), and a node only that function can reach (Web).
REVIEW = make_graph(
    "Review",
    Node("Draft", "echo", edge="Check"),
    Node("Check", "branching", success_next="Publish", failure_next="Revise"),
    Node("Revise", "default", edge="Draft"),
    Node("Publish", "echo", success_next="func:pick_channel", failure_next="Notify"),
    Node("Notify", "echo"),
    Node("Web", "echo"),
)
REVIEW_ROWS = (
    "Review,Draft,echo,Check,,,input,draft,,,",
    "Review,Check,branching,,Publish,Revise,draft,ok,,,",
    "Review,Revise,default,Draft,,,draft,draft,,,",
    "Review,Publish,echo,,func:pick_channel,Notify,draft,published,,,",
    "Review,Notify,echo,,,,published,notice,,,",
    "Review,Web,echo,,,,published,web,,,",
)
PICK_CHANNEL = """\
def pick_channel(state, success_target, failure_target):
    return "Web"
"""

REVIEW_OUTLINE = """\
Review: 6 nodes, entry Draft
Draft [echo] (entry)
  edge → Check
Check [branching]
  success → Publish
  failure → Revise
Publish [echo]
  success → func:pick_channel decides
  failure → Notify
Notify [echo]
  → end
Revise [default]
  edge → Draft  ↺ loop
Reached only if a func: route picks them:
Web [echo]
  → end
"""

REVIEW_TREE = """\
Review: 6 nodes, entry Draft
├── Draft [echo] (entry)
│   └── edge → Check
├── Check [branching]
│   ├── success → Publish
│   └── failure → Revise
├── Publish [echo]
│   ├── success → func:pick_channel decides
│   └── failure → Notify
├── Notify [echo]
│   └── → end
├── Revise [default]
│   └── edge → Draft  ↺ loop
└── Reached only if a func: route picks them:
    └── Web [echo]
        └── → end
"""

REVIEW_MERMAID = """\
flowchart TD
    n0(["Draft<br/><i>echo</i>"]):::entry
    n1["Check<br/><i>branching</i>"]
    n2["Revise<br/><i>default</i>"]
    n3["Publish<br/><i>echo</i>"]
    n4["Notify<br/><i>echo</i>"]
    n5["Web<br/><i>echo</i>"]
    n0 --> n1
    n1 -->|"success"| n3
    n1 -.->|"failure"| n2
    n2 --> n0
    n3 -->|"success · func:pick_channel"| n4
    n3 -.->|"failure"| n4
    classDef entry stroke-width:3px
    linkStyle 1,4 stroke:#2e7d32,color:#2e7d32
    linkStyle 2,5 stroke:#c62828,color:#c62828
"""

REVIEW_DOT = """\
digraph "Review" {
    node [shape=box, style=rounded, fontname="Helvetica"];
    edge [fontname="Helvetica", fontsize=10];
    n0 [label="Draft\\n[echo]", style="rounded,bold", penwidth=2];
    n1 [label="Check\\n[branching]"];
    n2 [label="Revise\\n[default]"];
    n3 [label="Publish\\n[echo]"];
    n4 [label="Notify\\n[echo]"];
    n5 [label="Web\\n[echo]"];
    n0 -> n1;
    n1 -> n3 [label="success", color="#2e7d32", fontcolor="#2e7d32"];
    n1 -> n2 [label="failure", color="#c62828", fontcolor="#c62828", style=dashed];
    n2 -> n0;
    n3 -> n4 [label="success · func:pick_channel", color="#2e7d32", fontcolor="#2e7d32"];
    n3 -> n4 [label="failure", color="#c62828", fontcolor="#c62828", style=dashed];
}
"""

# Only a function decides where Tick goes: no plain target to draw the func: route to.
COUNTDOWN = make_graph(
    "Countdown",
    Node("Tick", "countdown", success_next="func:until_zero"),
    Node("Done", "echo"),
)

# Names that break a diagram when written into it unescaped: quotes end a label, # starts a
# Mermaid entity, < > & make HTML, ` starts Markdown, | ; --> [ ] { } end or split a statement,
# a backslash starts a DOT escape (\N is "the node's name"), and keywords of either language.
TRICKY_NAMES = (
    'say "hi"',
    "it's",
    "C# & F#",
    "a#35;b",
    "<b>bold</b>",
    "back`tick`",
    "x|y; z",
    "A --> B",
    "x]y[z {w} (v)",
    "%% not a comment",
    ":::entry",
    "back\\slash \\N",
    "end",
    "graph",
    "node",
    "Ünïcødé 🚀",
)
TRICKY = make_graph(
    'Tricky "graph"',
    *(
        Node(name, 'agent "type" <i>', success_next=TRICKY_NAMES[(i + 1) % len(TRICKY_NAMES)])
        for i, name in enumerate(TRICKY_NAMES)
    ),
)


# --- the outline


def test_a_fan_out_to_parallel_nodes_draws_an_arrow_to_each() -> None:
    fan = make_graph(
        "Fan",
        Node("Start", "echo", success_next="A | B"),
        Node("A", "echo", edge="Join"),
        Node("B", "echo", edge="Join"),
        Node("Join", "echo"),
    )

    mermaid = to_mermaid(fan)

    assert '    n0 -->|"success"| n1' in mermaid.splitlines()
    assert '    n0 -->|"success"| n2' in mermaid.splitlines()
    assert to_dot(fan).count("n0 -> n") == 2


def test_an_edge_beside_success_and_failure_routes_is_drawn_alone_as_the_run_follows_it() -> None:
    both = make_graph(
        "Both",
        Node("Start", "echo", edge="Next", success_next="Yes", failure_next="No"),
        Node("Next", "echo"),
        Node("Yes", "echo"),
        Node("No", "echo"),
    )

    assert outline(both).reached[0].routes == (Route("edge", "Next"),)
    assert [line for line in to_mermaid(both).splitlines() if line.startswith("    n0 -")] == [
        "    n0 --> n1"
    ]
    assert to_dot(both).count("n0 -> n") == 1
    assert {node.name for node in outline(both).unreached} == {"Yes", "No"}


def test_outline_starts_at_the_entry_and_follows_routes_depth_first() -> None:
    assert render_outline_text(REVIEW) == REVIEW_OUTLINE


def test_outline_marks_a_route_back_to_a_node_on_the_current_path_as_a_loop() -> None:
    revise = next(node for node in outline(REVIEW).reached if node.name == "Revise")
    assert revise.routes == (Route("edge", "Draft", loop=True),)


def test_outline_does_not_call_a_second_way_into_a_node_a_loop() -> None:
    diamond = make_graph(
        "Diamond",
        Node("A", success_next="B", failure_next="C"),
        Node("B", edge="D"),
        Node("C", edge="D"),
        Node("D"),
    )
    routes = {node.name: node.routes for node in outline(diamond).reached}
    assert routes["C"] == (Route("edge", "D"),)
    assert [node.name for node in outline(diamond).reached] == ["A", "B", "D", "C"]


def test_outline_marks_a_node_routing_to_itself_as_a_loop() -> None:
    retry = make_graph("Retry", Node("Try", success_next="Done", failure_next="Try"), Node("Done"))
    assert outline(retry).reached[0].routes == (
        Route("success", "Done"),
        Route("failure", "Try", loop=True),
    )


def test_outline_says_the_run_ends_on_an_outcome_with_no_route() -> None:
    assert render_outline_text(COUNTDOWN).splitlines()[1:4] == [
        "Tick [countdown] (entry)",
        "  success → func:until_zero decides",
        "  failure → end",
    ]


def test_outline_lists_unreachable_nodes_last_when_no_function_can_reach_them() -> None:
    graph = make_graph("Main", Node("Start", edge="End"), Node("Orphan", edge="End"), Node("End"))
    assert render_outline_text(graph) == (
        "Main: 3 nodes, entry Start\n"
        "Start [default] (entry)\n"
        "  edge → End\n"
        "End [default]\n"
        "  → end\n"
        "Unreachable from Start:\n"
        "Orphan [default]\n"
        "  edge → End\n"
    )


def test_outline_of_a_long_chain_does_not_recurse() -> None:
    assert [node.name for node in outline(chain(5000)).reached] == [f"N{i}" for i in range(5001)]


def test_in_a_terminal_the_outline_is_a_tree() -> None:
    screen = io.StringIO()
    Console(file=screen, width=100, color_system=None).print(outline_tree(outline(REVIEW)))
    assert screen.getvalue() == REVIEW_TREE


# --- Mermaid and DOT, as text


def test_mermaid_of_a_branching_graph_with_a_loop_and_a_func_route() -> None:
    assert to_mermaid(REVIEW) == REVIEW_MERMAID


def test_dot_of_a_branching_graph_with_a_loop_and_a_func_route() -> None:
    assert to_dot(REVIEW) == REVIEW_DOT


def test_a_func_route_with_no_plain_target_points_at_a_marker_saying_the_function_decides() -> None:
    assert to_mermaid(COUNTDOWN).splitlines()[3:5] == [
        '    d0{{"until_zero decides"}}',
        '    n0 -->|"success · func:until_zero"| d0',
    ]
    assert to_dot(COUNTDOWN).splitlines()[5:7] == [
        '    d0 [label="until_zero decides", shape=hexagon, fontsize=10];',
        '    n0 -> d0 [label="success · func:until_zero", color="#2e7d32", fontcolor="#2e7d32"];',
    ]


@pytest.mark.parametrize(
    ("name", "mermaid_label", "dot_label"),
    [
        ('say "hi"', "say #quot;hi#quot;", 'say \\"hi\\"'),
        ("C# & F#", "C#35; #amp; F#35;", "C# & F#"),
        ("<b>bold</b>", "#lt;b#gt;bold#lt;/b#gt;", "<b>bold</b>"),
        ("back`tick`", "back#96;tick#96;", "back`tick`"),
        ("back\\slash \\N", "back\\slash \\N", "back\\\\slash \\\\N"),
    ],
)
def test_names_are_escaped_in_labels(name: str, mermaid_label: str, dot_label: str) -> None:
    graph = make_graph("G", Node(name, "echo"))
    assert f'n0(["{mermaid_label}<br/><i>echo</i>"]):::entry' in to_mermaid(graph)
    assert f'n0 [label="{dot_label}\\n[echo]"' in to_dot(graph)


def test_mermaid_warns_when_mermaid_would_refuse_to_draw_the_diagram() -> None:
    at_limit, past_limit = chain(MERMAID_MAX_EDGES), chain(MERMAID_MAX_EDGES + 1)
    assert mermaid_limits_warning(at_limit, to_mermaid(at_limit)) is None
    warning = mermaid_limits_warning(past_limit, to_mermaid(past_limit))
    assert warning is not None
    assert warning.startswith(f"this diagram has {MERMAID_MAX_EDGES + 1} edges")


# --- Mermaid, as Mermaid reads it

MERMAID_PACKAGES = {"mermaid": "11.17.2", "jsdom": "26.1.0"}

# Mermaid 11 needs a DOM (its sanitiser, DOMPurify, binds to `window` when first imported), so a
# jsdom window goes in first. Prints the nodes and links Mermaid's flowchart parser read, with
# labels as the HTML it renders (it stores "#quot;"-style entities as ﬂ°quot¶ß placeholders).
MERMAID_CHECK = """\
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const { window } = new JSDOM("");
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import("mermaid");
const html = (text) => text.replace(/ﬂ°°/g, "&#").replace(/ﬂ°/g, "&").replace(/¶ß/g, ";");
const text = readFileSync(0, "utf8");
try {
  await mermaid.parse(text);
  const { db } = await mermaid.mermaidAPI.getDiagramFromText(text);
  const nodes = [...db.getVertices().values()].map((v) => [v.id, html(v.text)]);
  const links = db.getEdges().map((e) => [e.start, e.end, e.stroke, html(e.text), e.style ?? []]);
  console.log(JSON.stringify({ nodes, links }));
} catch (error) {
  console.error(String(error?.message ?? error));
  process.exit(1);
}
"""


class MermaidRejected(Exception):
    """Mermaid's parser refused a diagram; the message is Mermaid's."""


@dataclass(frozen=True)
class MermaidReading:
    """What Mermaid read: node id → label HTML, and each link (from, to, stroke, label, styles)."""

    nodes: dict[str, str]
    links: list[tuple[str, str, str, str, list[str]]]


def _node_version() -> tuple[int, ...]:
    out = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout
    return tuple(int(part) for part in out.strip().lstrip("v").split("."))


def _npm_folder(request: pytest.FixtureRequest, tmp: pytest.TempPathFactory) -> Path:
    """Kept between sessions in pytest's (git-ignored) cache, so npm downloads once."""
    name = "mermaid-" + "-".join(f"{k}{v}" for k, v in MERMAID_PACKAGES.items())
    cache = getattr(request.config, "cache", None)
    return Path(cache.mkdir(name)) if cache is not None else tmp.mktemp(name)


def _npm_install(folder: Path) -> None:
    done = folder / "installed.ok"
    if done.exists():
        return
    package = {"private": True, "type": "module", "dependencies": MERMAID_PACKAGES}
    (folder / "package.json").write_text(json.dumps(package), encoding="utf-8")
    command = ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]
    try:
        subprocess.run(command, cwd=folder, capture_output=True, text=True, check=True, timeout=600)
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm install {' '.join(MERMAID_PACKAGES)} took over 10 minutes (offline?)")
    except subprocess.CalledProcessError as error:
        first = next(iter(error.stderr.strip().splitlines()), f"exit {error.returncode}")
        pytest.skip(f"npm install {' '.join(MERMAID_PACKAGES)} failed (offline?): {first}")
    done.write_text("ok", encoding="utf-8")


@pytest.fixture(scope="session")
def read_mermaid(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], MermaidReading]:
    """Parse Mermaid text with the ``mermaid`` npm package; raise ``MermaidRejected`` if invalid."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to check diagrams with Mermaid's parser")
    if _node_version() < (18,):
        pytest.skip(f"jsdom {MERMAID_PACKAGES['jsdom']} needs Node 18 or newer")
    folder = _npm_folder(request, tmp_path_factory)
    _npm_install(folder)
    script = folder / "check_mermaid.mjs"
    script.write_text(MERMAID_CHECK, encoding="utf-8")

    def read(text: str) -> MermaidReading:
        done = subprocess.run(["node", str(script)], input=text, capture_output=True, text=True)
        if done.returncode != 0:
            raise MermaidRejected(done.stderr.strip())
        parsed: dict[str, Any] = json.loads(done.stdout)
        return MermaidReading(dict(parsed["nodes"]), [tuple(link) for link in parsed["links"]])

    return read


class _ShownText(HTMLParser):
    """The lines of text a browser shows for a label's HTML (``<br>`` breaks a line)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lines = [""]
        self.tags: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.lines.append("")
        else:
            self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.lines[-1] += data


def test_mermaid_reads_the_branching_graph_as_drawn(
    read_mermaid: Callable[[str], MermaidReading],
) -> None:
    reading = read_mermaid(REVIEW_MERMAID)
    assert {node: _ShownText(html).lines for node, html in reading.nodes.items()} == {
        "n0": ["Draft", "echo"],
        "n1": ["Check", "branching"],
        "n2": ["Revise", "default"],
        "n3": ["Publish", "echo"],
        "n4": ["Notify", "echo"],
        "n5": ["Web", "echo"],
    }
    assert [link[:4] for link in reading.links] == [
        ("n0", "n1", "normal", ""),
        ("n1", "n3", "normal", "success"),
        ("n1", "n2", "dotted", "failure"),
        ("n2", "n0", "normal", ""),
        ("n3", "n4", "normal", "success · func:pick_channel"),
        ("n3", "n4", "dotted", "failure"),
    ]


def test_mermaid_styles_success_and_failure_links_differently(
    read_mermaid: Callable[[str], MermaidReading],
) -> None:
    styles = {(link[2], link[3]): link[4] for link in read_mermaid(REVIEW_MERMAID).links}
    assert "stroke:#2e7d32" in styles["normal", "success"]
    assert "stroke:#c62828" in styles["dotted", "failure"]
    assert styles["normal", ""] == []  # an Edge: Mermaid's default line


def test_mermaid_shows_every_tricky_name_literally(
    read_mermaid: Callable[[str], MermaidReading],
) -> None:
    reading = read_mermaid(to_mermaid(TRICKY))
    shown = {node: _ShownText(html) for node, html in reading.nodes.items()}
    assert {node: text.lines for node, text in shown.items()} == {
        f"n{i}": [name, 'agent "type" <i>'] for i, name in enumerate(TRICKY_NAMES)
    }
    assert {tag for text in shown.values() for tag in text.tags} == {"i"}  # only ours
    assert len(reading.links) == len(TRICKY_NAMES)


def test_mermaid_accepts_a_func_marker_node(
    read_mermaid: Callable[[str], MermaidReading],
) -> None:
    reading = read_mermaid(to_mermaid(COUNTDOWN))
    assert _ShownText(reading.nodes["d0"]).lines == ["until_zero decides"]
    assert reading.links[0][:2] == ("n0", "d0")


@pytest.mark.parametrize(
    "broken",
    [
        'flowchart TD\n    n0["unclosed] --> n1\n',
        "flowchart TD\n    n0 --> \n",
        'flowchart TD\n    n0["say "hi" now"]\n',  # a name written unescaped
        "flowchart TD\n    n0 -.-|> n1\n",
    ],
    ids=["unclosed label", "dangling arrow", "unescaped quote", "bad arrow"],
)
def test_the_mermaid_check_rejects_broken_mermaid(
    read_mermaid: Callable[[str], MermaidReading], broken: str
) -> None:
    with pytest.raises(MermaidRejected, match="Parse error"):
        read_mermaid(broken)


def test_mermaid_refuses_more_edges_than_the_warning_allows(
    read_mermaid: Callable[[str], MermaidReading],
) -> None:
    assert len(read_mermaid(to_mermaid(chain(MERMAID_MAX_EDGES))).links) == MERMAID_MAX_EDGES
    with pytest.raises(MermaidRejected, match="Edge limit exceeded"):
        read_mermaid(to_mermaid(chain(MERMAID_MAX_EDGES + 1)))


# --- DOT, as Graphviz reads it


@pytest.fixture(scope="session")
def dot_svg() -> Callable[[str], ET.Element]:
    """Render DOT text with Graphviz's ``dot -Tsvg``; fail on any error or warning."""
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is needed to check DOT output (apt-get install graphviz)")

    def render(text: str) -> ET.Element:
        done = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True)
        assert (done.returncode, done.stderr) == (0, "")
        return ET.fromstring(done.stdout)

    return render


SVG = "{http://www.w3.org/2000/svg}"


def _svg_nodes(svg: ET.Element) -> dict[str, list[str]]:
    """Node id → the lines of its label, as Graphviz drew them."""
    return {
        str(g.findtext(f"{SVG}title")): [str(t.text) for t in g.findall(f"{SVG}text")]
        for g in svg.iter(f"{SVG}g")
        if g.get("class") == "node"
    }


def _svg_edge_colours(svg: ET.Element) -> dict[str, tuple[str | None, str | None]]:
    """Edge label → (stroke colour, dash pattern) of its line."""
    found = {}
    for g in svg.iter(f"{SVG}g"):
        path = g.find(f"{SVG}path")
        if g.get("class") == "edge" and path is not None:
            label = g.findtext(f"{SVG}text") or ""
            found[label] = (path.get("stroke"), path.get("stroke-dasharray"))
    return found


def test_graphviz_draws_the_branching_graph(dot_svg: Callable[[str], ET.Element]) -> None:
    svg = dot_svg(REVIEW_DOT)
    assert _svg_nodes(svg) == {
        "n0": ["Draft", "[echo]"],
        "n1": ["Check", "[branching]"],
        "n2": ["Revise", "[default]"],
        "n3": ["Publish", "[echo]"],
        "n4": ["Notify", "[echo]"],
        "n5": ["Web", "[echo]"],
    }
    colours = _svg_edge_colours(svg)
    assert colours["success"] == ("#2e7d32", None)
    assert colours["failure"] == ("#c62828", "5,2")
    assert colours[""] == ("black", None)


def test_graphviz_shows_every_tricky_name_literally(dot_svg: Callable[[str], ET.Element]) -> None:
    assert _svg_nodes(dot_svg(to_dot(TRICKY))) == {
        f"n{i}": [name, '[agent "type" <i>]'] for i, name in enumerate(TRICKY_NAMES)
    }


@pytest.mark.parametrize(
    "broken",
    ["digraph { a -> }", 'digraph { a [label="say "hi""]; }', "digraph { a -> b"],
    ids=["dangling arrow", "unescaped quote", "unclosed graph"],
)
def test_the_dot_check_rejects_broken_dot(
    dot_svg: Callable[[str], ET.Element], broken: str
) -> None:
    with pytest.raises(AssertionError):
        dot_svg(broken)


# --- agentmap graph


runner = CliRunner()


@pytest.fixture
def review_csv(project: Path, graph_csv: GraphCsv) -> Path:
    """The Review graph as a CSV in a project whose functions folder defines pick_channel."""
    (project / "functions" / "routes.py").write_text(PICK_CHANNEL, encoding="utf-8")
    return graph_csv(*REVIEW_ROWS)


def cli(*args: str) -> Result:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_graph_prints_the_outline_as_plain_text_outside_a_terminal(review_csv: Path) -> None:
    result = cli("graph", str(review_csv))
    assert (result.exit_code, result.stdout, result.stderr) == (0, REVIEW_OUTLINE, "")


@pytest.mark.parametrize(
    ("output_format", "expected"), [("mermaid", REVIEW_MERMAID), ("dot", REVIEW_DOT)]
)
def test_graph_prints_only_the_diagram(review_csv: Path, output_format: str, expected: str) -> None:
    result = cli("graph", str(review_csv), "--format", output_format)
    assert (result.exit_code, result.stdout, result.stderr) == (0, expected, "")


def test_graph_picks_one_graph_of_several(project: Path, graph_csv: GraphCsv) -> None:
    path = graph_csv("One,A,echo,,,,,,,,", "Two,B,echo,,,,,,,,")
    result = cli("graph", str(path), "--graph", "Two")
    assert result.stdout == "Two: 1 node, entry B\nB [echo] (entry)\n  → end\n"


def test_graph_of_an_invalid_graph_lists_its_problems_and_exits_2(
    project: Path, graph_csv: GraphCsv
) -> None:
    path = graph_csv("Main,Start,echo,Procss,,,,,,,", "Main,Process,echo,,,,,,,,")
    result = cli("graph", str(path), "--format", "mermaid")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "no node named 'Procss' in graph 'Main' — did you mean 'Process'?" in result.stderr
    assert "Traceback" not in result.output


def test_graph_warns_on_stderr_when_mermaid_would_refuse_the_diagram(
    project: Path, graph_csv: GraphCsv
) -> None:
    count = MERMAID_MAX_EDGES + 2
    rows = [f"Chain,N{i},echo,{f'N{i + 1}' if i + 1 < count else ''},,,,,,," for i in range(count)]
    result = cli("graph", str(graph_csv(*rows)), "--format", "mermaid")
    assert result.exit_code == 0
    assert result.stdout.startswith("flowchart TD\n")
    assert result.stderr.startswith(f"warning this diagram has {MERMAID_MAX_EDGES + 1} edges")


def test_graph_rejects_an_unknown_format(review_csv: Path) -> None:
    result = cli("graph", str(review_csv), "--format", "svg")
    assert result.exit_code == 2
    assert "'svg' is not one of 'outline', 'mermaid', 'dot'" in result.stderr


def test_graph_runs_as_a_real_command(review_csv: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agentmap", "graph", str(review_csv), "--format", "mermaid"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, REVIEW_MERMAID, "")
