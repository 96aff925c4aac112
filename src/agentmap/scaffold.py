"""Write ready-to-fill modules for the agent types and routing functions a graph names but lacks."""

from __future__ import annotations

import keyword
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from agentmap.agents.base import type_name_of
from agentmap.container import ConfigSource, build_container
from agentmap.graph.loader import read_graph_file, resolve_source, select_graph
from agentmap.graph.model import FUNC_PREFIX, Graph, Node
from agentmap.project_agents import defined_elsewhere, project_root


@dataclass(frozen=True, slots=True)
class ScaffoldResult:
    """Files written, and files left alone because they already exist (never overwritten)."""

    written: tuple[Path, ...] = ()
    skipped: tuple[Path, ...] = ()
    notes: tuple[str, ...] = field(default=())


def scaffold_graph(
    source: str | Path, graph: str | None = None, *, config: ConfigSource = None
) -> ScaffoldResult:
    """Write a stub per unknown agent type and per missing ``func:`` function of a graph file.

    Agents go to ``paths.custom_agents``, functions to ``paths.functions``; each stub is built
    from the rows that use it (description, inputs, output). Existing files are never touched.
    """
    container = build_container(config)
    path, name = resolve_source(source, graph)
    settings = container.settings()
    graph_file, _ = read_graph_file(path, settings.limits.max_file_mb)
    graphs = [select_graph(graph_file, name)] if name else list(graph_file.graphs.values())
    agents, functions = container.agents(), container.functions()
    agent_nodes: dict[str, list[tuple[Graph, Node]]] = {}
    function_nodes: dict[str, list[tuple[Graph, Node]]] = {}
    for g in graphs:
        for node in g.nodes.values():
            if not agents.has(node.agent_type):
                agent_nodes.setdefault(type_name_of(node.agent_type), []).append((g, node))
            for _, target in node.targets:
                fn = target[len(FUNC_PREFIX) :].strip() if target.startswith(FUNC_PREFIX) else None
                if fn and functions.get(fn) is None:
                    function_nodes.setdefault(fn, []).append((g, node))
    written: list[Path] = []
    skipped: list[Path] = []
    notes: list[str] = []
    root = project_root(path.parent)
    for type_name, uses in agent_nodes.items():
        if root is not None and (elsewhere := defined_elsewhere(type_name, root)) is not None:
            notes.append(
                f"agent type {type_name} is defined in {elsewhere}, outside "
                f"{settings.paths.custom_agents} — no stub written; run agentmap from the "
                "project's folder, or set paths.custom_agents to that file's folder"
            )
            continue
        file = settings.paths.custom_agents / f"{_module_name(type_name)}.py"
        _write(file, _agent_stub(type_name, uses), written, skipped)
    for fn, uses in function_nodes.items():
        if not fn.isidentifier() or keyword.iskeyword(fn):
            notes.append(f"func:{fn} is not a valid Python function name — rename it in the graph")
            continue
        _write(settings.paths.functions / f"{fn}.py", _function_stub(fn, uses), written, skipped)
    return ScaffoldResult(tuple(written), tuple(skipped), tuple(notes))


def _write(file: Path, text: str, written: list[Path], skipped: list[Path]) -> None:
    if file.exists():
        skipped.append(file)
        return
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    written.append(file)


def _module_name(type_name: str) -> str:
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in type_name) or "agent"
    return f"agent_{name}" if name[0].isdigit() or keyword.iskeyword(name) else name


def _class_name(type_name: str) -> str:
    camel = "".join(part.capitalize() for part in _module_name(type_name).split("_"))
    return f"{camel}Agent"


def _used_by(uses: Iterable[tuple[Graph, Node]]) -> str:
    return "\n".join(
        f"    - {node.name} in graph {g.name} ({g.file}, row {node.row})"
        + (f": {node.description.strip()}" if node.description.strip() else "")
        for g, node in uses
    )


def _agent_stub(type_name: str, uses: list[tuple[Graph, Node]]) -> str:
    node = uses[0][1]
    params = [param for _, param in node.inputs]
    reads = "".join(f"        {_identifier(p)} = inputs[{p!r}]\n" for p in params)
    if len(node.outputs) > 1:
        returns = "{" + ", ".join(f"{key!r}: ..." for key in node.outputs) + "}"
        output = f"a mapping with keys {', '.join(node.outputs)}"
    else:
        returns = "..."
        output = (
            f"the value for {node.outputs[0]!r}"
            if node.outputs
            else "a value (the node has no Output_Field)"
        )
    summary = node.description.strip() or f"The {type_name} agent."
    return f'''"""{type_name} agent, written by `agentmap scaffold` — fill in process()."""

from collections.abc import Mapping
from typing import Any

from agentmap import Agent


class {_class_name(type_name)}(Agent):
    """{summary}

    Used by:
{_used_by(uses)}

    Inputs: {", ".join(params) or "(none)"}
    Returns: {output}
    """

    agent_type = {type_name!r}

    def process(self, inputs: Mapping[str, Any]) -> Any:
{reads}        # Replace the next line with the agent's work and return {returns}.
        raise NotImplementedError("{type_name} agent is not written yet — edit this file")
'''


def _function_stub(name: str, uses: list[tuple[Graph, Node]]) -> str:
    return f'''"""Routing function {name}, written by `agentmap scaffold` — adjust the choice."""

from collections.abc import Mapping
from typing import Any


def {name}(
    state: Mapping[str, Any], success_target: str | None, failure_target: str | None
) -> str | None:
    """Pick the node to run next (return its name), or return None to end the run.

    Used by:
{_used_by(uses)}
    """
    return success_target if state.get("last_action_success") else failure_target
'''


def _identifier(name: str) -> str:
    ident = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    if not ident or ident[0].isdigit() or keyword.iskeyword(ident):
        ident = f"input_{ident}"
    return ident
