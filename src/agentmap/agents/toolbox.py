"""A ``tool_agent``'s tools: found in its Tool_Source file, checked before the run, and called
with the node's inputs (``agentmap.agents.tools`` has the agent, and how it chooses one).

Validation imports this module for every graph with a Tool_Source column; the agent's own
module, which imports the model agents, only for graphs that have a ``tool_agent``.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

from pydantic import ConfigDict, TypeAdapter, ValidationError

from agentmap.exceptions import AgentError, Problem
from agentmap.graph.model import Graph, Node, graph_folder
from agentmap.graph.problems import problem_at
from agentmap.modules import import_file
from agentmap.pydantic_errors import error_text
from agentmap.security import AllowedPaths
from agentmap.suggest import did_you_mean

SELECTOR = "tool"
"""The state key that names the tool to call when a node has several."""
TOOL_TYPE = "tool"
"""The agent type (``tool_agent`` and ``ToolAgent`` read as ``tool``)."""
_NO_MODULE = "toolnode"
"""AgentMap's Tool_Source for tools bound in its own code; there are none such here."""


class Tool(NamedTuple):
    """A function a ``tool_agent`` may call, with what it says it does (for choosing)."""

    name: str
    description: str
    function: Callable[..., Any]

    @classmethod
    def of(cls, name: str, value: Any) -> Tool | None:
        """A tool from a module's attribute: a function, or a LangChain tool object."""
        if inspect.isfunction(value):
            return cls(name, _first_line(inspect.getdoc(value)), value)
        function = getattr(value, "func", None) or getattr(value, "coroutine", None)
        if not isinstance(value, type) and callable(function) and hasattr(value, "description"):
            return cls(str(getattr(value, "name", name)), str(value.description or ""), function)
        return None

    def described(self, text: str) -> Tool:
        """The same tool, described as the Available_Tools cell says (when it says)."""
        return Tool(self.name, text, self.function) if text else self

    async def call(self, inputs: Mapping[str, Any], order: tuple[str, ...]) -> Any:
        """Call the function with its parameters filled from ``inputs`` (see the module)."""
        arguments = converted(self.name, self.function, fill_parameters(self, inputs, order))
        if inspect.iscoroutinefunction(self.function):
            return await self.function(**arguments)
        return await asyncio.to_thread(self.function, **arguments)  # a slow tool can't stall


def fill_parameters(
    tool: Tool, inputs: Mapping[str, Any], order: tuple[str, ...]
) -> dict[str, Any]:
    """The keyword arguments of a call of ``tool``: each parameter from the input of its name;
    the required parameters left over take the inputs left over, in ``order`` (Input_Fields).
    A parameter with a default no input names keeps its default."""
    signature = inspect.signature(tool.function)
    parameters = [
        p
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY, p.POSITIONAL_ONLY)
    ]
    arguments = {p.name: inputs[p.name] for p in parameters if p.name in inputs}
    spare = [key for key in (*order, *inputs) if key in inputs and key not in arguments]
    spare = [key for key in dict.fromkeys(spare) if key != SELECTOR]
    for parameter in (p for p in parameters if p.name not in arguments and p.default is p.empty):
        if not spare:
            break
        arguments[parameter.name] = inputs[spare.pop(0)]
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        arguments |= {key: inputs[key] for key in spare}
    missing = [p.name for p in parameters if p.name not in arguments and p.default is p.empty]
    if missing:
        given = ", ".join(k for k in inputs if k != SELECTOR) or "no inputs"
        raise AgentError(
            f"tool '{tool.name}' needs {', '.join(missing)}; the node gives {given} — list them in "
            "its Input_Fields"
        )
    return arguments


def converted(name: str, function: Callable[..., Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments converted to the parameters' annotations, as LangChain's ``@tool`` does
    (``"3"`` for ``a: int`` is 3); a parameter whose annotation pydantic can't read, or that
    has none, takes the value as it is."""
    try:
        parameters = inspect.signature(function, eval_str=True).parameters
    except Exception:  # an annotation naming what the module doesn't define: no conversion
        return arguments
    result = dict(arguments)
    for key, value in arguments.items():
        parameter = parameters.get(key)
        if parameter is None or parameter.annotation is parameter.empty:
            continue
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(parameter.annotation, config=_LAX)
        except Exception:  # a type pydantic can't build a validator for
            continue
        try:
            result[key] = adapter.validate_python(value)
        except ValidationError as exc:
            wrong = "; ".join(error_text(error) for error in exc.errors())
            raise AgentError(
                f"tool '{name}' can't take {value!r} for its parameter '{key}' ({wrong}) — "
                "check the value the node passes it"
            ) from exc
    return result


_LAX = ConfigDict(arbitrary_types_allowed=True)


# --- finding the tools -----------------------------------------------------------------------


def _setup_error(message: str, column: str) -> AgentError:
    """A node's tools can't be found: ``column`` is the cell to fix."""
    return AgentError(message, column=column)


def node_tools(graph: Graph, node: Node, allowed: AllowedPaths) -> dict[str, Tool]:
    """The tools ``node`` may call, by name, in the order Available_Tools lists them."""
    source = (node.tool_source or "").strip()
    if not source or source.casefold() == _NO_MODULE:
        said = f"is '{source}' (AgentMap's tools bound in code)" if source else "is empty"
        raise _setup_error(
            f"Tool_Source {said} — name the Python file (or folder) the node's tools are "
            "functions in, such as tools/math_tools.py",
            "Tool_Source",
        )
    found = tools_in(source_path(source, graph_folder(graph), allowed))
    if not node.tools:
        if not found:
            raise _setup_error(
                f"{source} defines no public function — a tool_agent needs at least one tool",
                "Tool_Source",
            )
        return found
    missing = [name for name, _ in node.tools if name not in found]
    if missing:
        hint = did_you_mean(missing[0], found)
        defined = ", ".join(found) or "none"
        raise _setup_error(
            f"no tool named '{missing[0]}' in {source}{hint} (its functions: {defined})",
            "Available_Tools",
        )
    return {name: found[name].described(text) for name, text in node.tools}


def source_path(source: str, folder: Path | None, allowed: AllowedPaths) -> Path:
    """The file or folder Tool_Source names: as written if absolute, else relative to the
    graph file's folder, else to the current folder (where AgentMap looks)."""
    written = Path(source)
    tried = [written] if written.is_absolute() or folder is None else [folder / written, written]
    if len(tried) == 2 and _same(*tried):
        tried = [written]  # the graph's folder is the current one: say the path as written
    path = next((p for p in tried if p.exists()), None)
    if path is None:
        places = " or ".join(str(p) for p in tried)
        raise _setup_error(
            f"Tool_Source '{source}': no such file or folder (looked for {places}) — give the "
            "path of the Python file, relative to the graph file or to the current folder",
            "Tool_Source",
        )
    refusal = allowed.refusal(path, "tool module")
    if refusal is not None:
        raise _setup_error(refusal, "Tool_Source")
    if path.is_file() and path.suffix != ".py":
        raise _setup_error(
            f"Tool_Source '{source}' is not a Python file (.py) — name the file its tools are in",
            "Tool_Source",
        )
    return allowed.target(path)


def _same(one: Path, other: Path) -> bool:
    try:
        return one.resolve() == other.resolve()
    except (OSError, RuntimeError, ValueError):
        return False


def tools_in(path: Path) -> dict[str, Tool]:
    """The tools of a file, or of every top-level ``.py`` file of a folder (not ``_x.py``)."""
    if path.is_file():
        return _file_tools(path)
    found: dict[str, Tool] = {}
    where: dict[str, Path] = {}
    for file in sorted(p for p in path.glob("*.py") if not p.name.startswith("_")):
        for name, tool in _file_tools(file).items():
            if name in where and found[name].function is not tool.function:
                raise _setup_error(
                    f"two files of {path} define a tool '{name}': {where[name].name} and "
                    f"{file.name} — rename one",
                    "Tool_Source",
                )
            found[name], where[name] = tool, file
    return found


_LOADED: dict[tuple[Path, int, int], dict[str, Tool]] = {}
"""The tools of each file imported, by its path, modification time and size: a file shared by
several nodes is imported once (validation and every compiled plan ask again), and an edited
one again."""
_LOADED_MAX = 256


def _file_tools(file: Path) -> dict[str, Tool]:
    try:
        status = file.stat()
        key = (file.resolve(), status.st_mtime_ns, status.st_size)
    except (OSError, RuntimeError, ValueError):  # importing it says what is wrong
        return _module_tools(_imported(file))
    found = _LOADED.get(key)
    if found is None:
        found = _module_tools(_imported(file))
        if len(_LOADED) >= _LOADED_MAX:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = found
    return dict(found)


def _imported(file: Path) -> ModuleType:
    try:
        return import_file(file)
    except AgentError as exc:
        cause = exc.__cause__
        hint = ""
        if isinstance(cause, ModuleNotFoundError) and (cause.name or "").startswith("langchain"):
            hint = (
                " (AgentMap's tool modules use langchain-core's @tool: install langchain-core, "
                "or remove the decorator — plain functions are tools here)"
            )
        raise _setup_error(f"{exc}{hint}", "Tool_Source") from exc


def _module_tools(module: ModuleType) -> dict[str, Tool]:
    """The module's public functions (those it defines) and LangChain tool objects."""
    tools: dict[str, Tool] = {}
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        if inspect.isfunction(value) and value.__module__ != module.__name__:
            continue  # imported from elsewhere (``from math import sqrt``): not this file's tool
        tool = Tool.of(name, value)
        if tool is not None:
            tools[tool.name] = tool
    return tools


# --- validation ------------------------------------------------------------------------------


def tool_problems(
    graph: Graph, node: Node, is_tool_agent: bool, allowed: AllowedPaths
) -> list[Problem]:
    """What is wrong with a node's tool columns, placed at the cell to fix."""
    if not is_tool_agent:
        column = "Tool_Source" if node.tool_source else "Available_Tools"
        return [
            problem_at(
                graph,
                node,
                column,
                f"{column} is read only by tool_agent nodes; this node is '{node.agent_type}', "
                "so it is ignored — clear it, or make the node a tool_agent",
                severity="warning",
            )
        ]
    try:
        node_tools(graph, node, allowed)
    except AgentError as error:
        return [problem_at(graph, node, error.column or "Tool_Source", str(error))]
    return []


def _first_line(text: str | None) -> str:
    return text.strip().splitlines()[0] if text and text.strip() else ""
