"""``agentmap graph``: see a graph as an outline, or export it as a Mermaid or DOT diagram."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.text import Text
from rich.tree import Tree

from agentmap.api import load_graph
from agentmap.cli.errors import reported_errors
from agentmap.cli.options import ConfigOption, DebugOption, GraphFileArgument, GraphOption
from agentmap.cli.render import stderr, stdout
from agentmap.config import load_settings
from agentmap.graph.diagram import (
    LOOP_MARK,
    Outline,
    OutlineNode,
    Route,
    mermaid_limits_warning,
    outline,
    render_outline_text,
    to_dot,
    to_mermaid,
)
from agentmap.graph.model import Graph


class DiagramFormat(StrEnum):
    """What ``agentmap graph`` prints."""

    OUTLINE = "outline"
    MERMAID = "mermaid"
    DOT = "dot"


FormatOption = Annotated[
    DiagramFormat,
    typer.Option(
        "--format",
        "-f",
        help="outline (for reading in the terminal), mermaid (a flowchart for Markdown and "
        "mermaid.live), or dot (Graphviz: pipe into `dot -Tsvg`).",
        case_sensitive=False,
    ),
]

_ROUTE_STYLES = {"edge": "bold", "success": "green", "failure": "red"}


def graph(
    file: GraphFileArgument,
    graph_name: GraphOption = None,
    output_format: FormatOption = DiagramFormat.OUTLINE,
    config: ConfigOption = None,
    debug: DebugOption = False,
) -> None:
    """Show a graph: entry node, agent types, where success and failure go, loops marked."""
    with reported_errors(debug):
        loaded = load_graph(file, graph_name, config=load_settings(config))
        if output_format is DiagramFormat.MERMAID:
            _show_mermaid(loaded)
        elif output_format is DiagramFormat.DOT:
            _write(to_dot(loaded))
        else:
            _show_outline(loaded)


def _show_mermaid(loaded: Graph) -> None:
    """The diagram on stdout; a warning on stderr if Mermaid's defaults would refuse to draw it."""
    text = to_mermaid(loaded)
    if (warning := mermaid_limits_warning(loaded, text)) is not None:
        stderr().print(Text.assemble(("warning ", "yellow"), warning))
    _write(text)


def _show_outline(loaded: Graph) -> None:
    """A coloured tree in a terminal; plain text in a pipe or file, where colour codes are noise."""
    if stdout().is_terminal:
        stdout().print(outline_tree(outline(loaded)))
    else:
        _write(render_outline_text(loaded))


def _write(text: str) -> None:
    """Exactly ``text`` on stdout: no wrapping, markup or highlighting by rich."""
    stdout().file.write(text)


def outline_tree(shape: Outline) -> Tree:
    """The outline as a rich tree: one branch per node, its routes beneath it."""
    tree = Tree(Text(shape.title, "bold"))
    for node in shape.reached:
        _add_node(tree, node)
    if shape.unreached:
        rest = tree.add(Text(shape.unreached_heading, "yellow"))
        for node in shape.unreached:
            _add_node(rest, node)
    return tree


def _add_node(parent: Tree, node: OutlineNode) -> None:
    label = Text.assemble((node.name, "bold"), " ", (f"[{node.agent_type}]", "cyan"))
    if node.entry:
        label.append(" (entry)", "green")
    branch = parent.add(label)
    if not node.routes:
        branch.add(Text("→ end", "dim"))
    for route in node.routes:
        branch.add(_route_text(route))


def _route_text(route: Route) -> Text:
    text = Text.assemble((route.outcome, _ROUTE_STYLES[route.outcome]), " → ")
    style = "magenta" if route.function else "dim" if route.target is None else ""
    text.append(route.destination, style)
    if route.loop:
        text.append(f"  {LOOP_MARK}", "yellow")
    return text
