"""Which agent types exist: the built-ins plus the custom agents found in the agents folder."""

from __future__ import annotations

import copy
import importlib.util
import inspect
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any, Literal

from agentmap.agents.base import (
    AGENT_TYPE_ATTRIBUTE,
    AGENTMAP_CONTEXT_KEYS,
    ENGINE_CONTEXT_KEYS,
    Agent,
    type_name_of,
)
from agentmap.agents.builtin_types import IMPORTED_ON_USE, BuiltinType
from agentmap.agents.builtins import BUILTIN_AGENTS
from agentmap.exceptions import AgentError
from agentmap.graph.model import Node
from agentmap.modules import import_folder
from agentmap.suggest import did_you_mean

logger = logging.getLogger(__name__)

SUBGRAPH_TYPE = "graph"
"""The agent type that runs another graph; the runner itself provides it."""

Process = Callable[[Mapping[str, Any]], Any]
"""What a node runs: ``process(inputs) -> output`` (a bound method or an ``@agent`` function)."""

AgentSource = type[Agent] | Process

KeyProblem = tuple[Literal["error", "warning"], str]
"""A Context key's problem: its severity and message."""


class AgentCatalog:
    """Maps AgentType cells to agents. Lookup ignores case and spelling (``Echo``, ``EchoAgent``).

    >>> AgentCatalog().has("EchoAgent")
    True
    """

    def __init__(
        self, custom: Mapping[str, AgentSource] | None = None, settings: Any = None
    ) -> None:
        self._settings = settings
        # The model, tool and storage agents' modules are imported when a graph uses them.
        self._sources: dict[str, AgentSource | BuiltinType] = dict(IMPORTED_ON_USE)
        for cls in BUILTIN_AGENTS:
            self._sources.update(dict.fromkeys((cls.type_name(), *cls.aliases), cls))
        for name, source in (custom or {}).items():
            if name in self._sources:
                logger.info("custom agent %r replaces the built-in agent of that type", name)
            self._sources[name] = source
        self._async: dict[str, bool] = {}  # by type, as each is first asked about

    @classmethod
    def discover(
        cls, folder: Path, settings: Any = None, extra: Mapping[str, AgentSource] | None = None
    ) -> AgentCatalog:
        """Built-ins plus every ``Agent`` subclass and ``@agent`` function in ``folder``, plus
        ``extra`` (type name → class or function; these win over both)."""
        found: dict[str, tuple[AgentSource, str]] = {}
        for module in import_folder(folder):
            for name, source in _agents_in(module):
                if name in found:
                    raise AgentError(
                        f"agent type '{name}' is defined twice: in {found[name][1]} and in "
                        f"{module.__file__} — rename one (or set its agent_type)",
                        file=module.__file__,
                    )
                found[name] = (source, str(module.__file__))
        sources = {name: source for name, (source, _) in found.items()}
        return cls({**sources, **{type_name_of(n): s for n, s in (extra or {}).items()}}, settings)

    @property
    def settings(self) -> Any:
        """The settings agents are bound with (``None``: the defaults)."""
        return self._settings

    def types(self) -> list[str]:
        """Every known type name, sorted."""
        return sorted([*self._sources, SUBGRAPH_TYPE])

    def has(self, agent_type: str) -> bool:
        """Whether an AgentType cell names a known agent."""
        name = type_name_of(agent_type)
        return name in self._sources or name == SUBGRAPH_TYPE

    def missing_requirement(self, agent_type: str) -> str | None:
        """Why agents of this type can't run here (a package isn't installed), or None."""
        cls = _agent_class(self._source(agent_type))
        if cls is None:
            return None
        missing = [name for name in cls.requires if importlib.util.find_spec(name) is None]
        if not missing:
            return None
        hint = f" — install it with {cls.install_hint}" if cls.install_hint else ""
        verb = "is" if len(missing) == 1 else "are"
        return (
            f"agent type '{agent_type}' needs {' and '.join(missing)}, which {verb} not "
            f"installed{hint}"
        )

    def context_problem(
        self, agent_type: str, context: Mapping[str, Any] | str | None
    ) -> str | None:
        """What the agent class finds wrong with a node's Context, or None."""
        cls = _agent_class(self._source(agent_type))
        return None if cls is None else cls.context_problem(context)

    def context_key_problems(self, agent_type: str, keys: frozenset[str]) -> list[KeyProblem]:
        """Context keys an agent of this type doesn't read: ``(severity, message)`` each.

        A key of AgentMap's that means nothing here is a warning; any other key the agent
        doesn't declare is an error (a misspelt setting would be ignored without a word).
        Agents that declare no ``context_keys`` accept every key.
        """
        cls = _agent_class(self._source(agent_type))
        accepted = None if cls is None else _declared_keys(cls)
        if cls is None or accepted is None:
            return []
        return [
            _key_problem(cls, key, accepted)
            for key in sorted(keys)
            if key not in accepted and key not in ENGINE_CONTEXT_KEYS
        ]

    def is_async(self, agent_type: str) -> bool:
        """Whether agents of this type are ``async def`` (and so need an event loop)."""
        name = type_name_of(agent_type)
        found = self._async.get(name)
        if found is None:
            source = self._source(name)
            found = source is not None and inspect.iscoroutinefunction(_process_of(source))
            self._async[name] = found
        return found

    def _source(self, agent_type: str) -> AgentSource | None:
        """The type's class or function; a built-in's module is imported on first use."""
        name = type_name_of(agent_type)
        source = self._sources.get(name)
        if isinstance(source, BuiltinType):
            source = self._sources[name] = source.load()
        return source

    def process_for(self, node: Node, prompt: str | None = None, graph: Any = None) -> Process:
        """Build the node's agent and return the callable that runs it.

        ``prompt`` is the node's resolved prompt text (default: the Prompt cell as written);
        the agent is bound to ``graph`` and the catalog's settings.
        """
        source = self._source(node.agent_type)
        if source is None:
            raise AgentError(f"unknown agent type '{node.agent_type}'", node=node.name)
        cls = _agent_class(source)
        if cls is None:
            return source  # an @agent function is its own process
        agent = cls(
            name=node.name,
            prompt=node.prompt if prompt is None else prompt,
            context=_private(node.context),
            description=node.description,
        )
        if cls.bind is not Agent.bind:  # only agents that need it: this runs for every node
            agent.bind(graph, self._settings)
        return agent.process


def describe_agents(
    folder: Path, extra: Mapping[str, AgentSource] | None = None
) -> list[dict[str, Any]]:
    """Every agent type there is — built-in, found in ``folder``, given in ``extra`` — with
    what it says of itself: description, aliases, the packages it needs, whether it is async,
    and where it comes from. Sorted by name."""
    described: dict[str, dict[str, Any]] = {}
    for cls in _builtins():
        described[cls.type_name()] = _described(cls.type_name(), cls, "builtin")
    for module in import_folder(folder):
        for name, source in _agents_in(module):
            described[name] = _described(name, source, "agents folder", module.__file__)
    for name, source in (extra or {}).items():
        described[type_name_of(name)] = _described(type_name_of(name), source, "code")
    described[SUBGRAPH_TYPE] = {
        "name": SUBGRAPH_TYPE,
        "kind": "builtin",
        "description": "Runs another graph (Context or Prompt names it) as this node.",
        "aliases": [],
        "requires": [],
        "async": False,
        "source": "agentmap",
    }
    return [described[name] for name in sorted(described)]


def _described(
    name: str, source: AgentSource, kind: str, file: str | None = None
) -> dict[str, Any]:
    cls = _agent_class(source)
    doc = inspect.getdoc(cls if cls is not None else source) or ""
    where = file or f"{getattr(source, '__module__', '?')}.{getattr(source, '__qualname__', '?')}"
    return {
        "name": name,
        "kind": kind,
        "description": doc.strip().splitlines()[0] if doc.strip() else None,
        "aliases": list(cls.aliases) if cls is not None else [],
        "requires": list(cls.requires) if cls is not None else [],
        "async": inspect.iscoroutinefunction(_process_of(source)),
        "source": where,
    }


def _declared_keys(cls: type[Agent]) -> frozenset[str] | None:
    """The keys ``cls`` reads, or None for any: a subclass written outside agentmap doesn't
    inherit a built-in's list, since it may read keys of its own."""
    if "context_keys" not in vars(cls) and not cls.__module__.startswith("agentmap."):
        return None
    return cls.context_keys


def _key_problem(cls: type[Agent], key: str, accepted: frozenset[str]) -> KeyProblem:
    kind = f"agent type '{cls.type_name()}'"
    if key in cls.ignored_context_keys or key in AGENTMAP_CONTEXT_KEYS:
        fix = _FIX_FOR.get(key, "delete it to silence this")
        return (
            "warning",
            f"Context key '{key}' is AgentMap's and means nothing to {kind}: it is ignored ({fix})",
        )
    hint = did_you_mean(key, [*accepted, *ENGINE_CONTEXT_KEYS])
    reads = ", ".join(sorted(accepted)) or "no keys of its own"
    every = ", ".join(sorted(ENGINE_CONTEXT_KEYS))
    return "error", (
        f"Context key '{key}' means nothing to {kind}{hint} (it reads {reads}; every node reads "
        f"{every}) — fix the key or delete it"
    )


_MATCHED_ON = "an orchestrator here matches a node on its name, Description and Prompt"
_FIX_FOR = {
    "description": "the Description column says this here",
    "input_fields": "the Input_Fields column says this here",
    "output_field": "the Output_Field column says this here",
    "keywords": _MATCHED_ON,
    "intent": _MATCHED_ON,
    "purpose": _MATCHED_ON,
}
"""What to do instead, for AgentMap keys whose meaning something of ours carries."""


def _private(context: Mapping[str, Any] | str | None) -> Mapping[str, Any] | str | None:
    """The agent's own read-only copy: nothing it does can change the graph for later runs."""
    if context is None or isinstance(context, str):
        return context
    return MappingProxyType(copy.deepcopy(dict(context)))


def _process_of(source: AgentSource) -> Callable[..., Any]:
    cls = _agent_class(source)
    return cls.process if cls is not None else source


def _builtins() -> tuple[type[Agent], ...]:
    from agentmap.agents.storage import STORAGE_AGENTS
    from agentmap.agents.tools import ToolAgent
    from agentmap.llm.agents import LLM_AGENTS  # their SDKs load only when a node calls a model

    return (*BUILTIN_AGENTS, *LLM_AGENTS, ToolAgent, *STORAGE_AGENTS)


def _agent_class(source: AgentSource | None) -> type[Agent] | None:
    return source if isinstance(source, type) and issubclass(source, Agent) else None


def _agents_in(module: ModuleType) -> list[tuple[str, AgentSource]]:
    agents: list[tuple[str, AgentSource]] = []
    for value in vars(module).values():
        if getattr(value, "__module__", None) != module.__name__:
            continue  # imported from elsewhere, e.g. `from agentmap import Agent`
        if inspect.isclass(value) and issubclass(value, Agent) and not inspect.isabstract(value):
            agents.append((value.type_name(), value))
        elif inspect.isfunction(value) and hasattr(value, AGENT_TYPE_ATTRIBUTE):
            agents.append((getattr(value, AGENT_TYPE_ATTRIBUTE), value))
    return agents
