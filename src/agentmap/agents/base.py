"""What an agent is: the ``Agent`` base class and the ``@agent`` decorator.

What ``process`` may return besides a plain value (``Failure``, ``Output``, ``Pause``) is plain
data in ``agentmap.outcomes``, re-exported here.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, ClassVar, TypeVar, overload

from agentmap.outcomes import Failure, Output, Pause, PauseKind, Usage

__all__ = [
    "AGENTMAP_CONTEXT_KEYS",
    "AGENT_TYPE_ATTRIBUTE",
    "CHUNK_SINK",
    "ENGINE_CONTEXT_KEYS",
    "Agent",
    "Failure",
    "Output",
    "Pause",
    "PauseKind",
    "Usage",
    "agent",
    "type_name_of",
]

F = TypeVar("F", bound=Callable[..., Any])

CHUNK_SINK: ContextVar[Callable[[str], None] | None] = ContextVar(
    "agentmap_chunk_sink", default=None
)
"""Where ``emit_chunk`` sends output chunks: set by the runner around each call of a streaming
agent (an agent serves every run of its graph, so the sink can't live on the agent)."""

AGENT_TYPE_ATTRIBUTE = "__agentmap_agent_type__"

ENGINE_CONTEXT_KEYS = frozenset({"retry", "timeout", "reduce"})
"""Context keys the engine reads from any node (the retry policy, the time limit, how a parallel
join merges the node's outputs): no agent needs to list them in ``context_keys``."""

AGENTMAP_CONTEXT_KEYS = frozenset(
    {
        "description",
        "input_fields",
        "output_field",
        "capture_agent_inputs",
        "capture_agent_outputs",
        "output_validation",
        "graph_name",
        "keywords",
        "intent",
        "purpose",
    }
)
"""Keys AgentMap reads from any node that mean nothing to a built-in agent here (a column says
the same, or the feature is AgentMap's own; its orchestrator matches a candidate node on the
last three): accepted with a warning."""


class Agent:
    """Base class of every agent: subclass it and implement ``process``.

    ``process`` receives the node's inputs (a fresh dict built from ``Input_Fields``) and
    returns the node's output; it may be ``async def``. Raise, or return ``Failure``, to fail.
    The agent's type name comes from ``agent_type`` or the class name
    (``CustomProcessorAgent`` → ``custom_processor``).

    >>> class ShoutAgent(Agent):
    ...     def process(self, inputs):
    ...         return str(inputs["text"]).upper()
    >>> ShoutAgent(name="Shout").process({"text": "hi"})
    'HI'
    """

    # Fixed slots rather than a __dict__: a graph holds an agent per node (a 100,000-node graph,
    # 100,000 agents), and four slots take 40 bytes fewer each. A subclass that declares no
    # __slots__ of its own (any agent you write) gets a __dict__ again, for attributes of its own.
    __slots__ = ("context", "description", "name", "prompt")

    agent_type: ClassVar[str | None] = None
    aliases: ClassVar[tuple[str, ...]] = ()
    """Other AgentType names this class answers to (``gpt`` and ``chatgpt`` for ``openai``)."""
    requires: ClassVar[tuple[str, ...]] = ()
    """Modules the agent imports when it runs; a graph using it is invalid without them."""
    install_hint: ClassVar[str] = ""
    """How to install ``requires``, shown in that validation error."""
    streams: ClassVar[bool] = False
    """Set by agents that call ``emit_chunk``: only their calls get a chunk sink."""
    default_retry: ClassVar[Mapping[str, Any] | None] = None
    """A retry policy (as ``RetryPolicy.from_dict`` reads it) for nodes with none configured."""
    context_keys: ClassVar[frozenset[str] | None] = None
    """The Context keys this agent reads; None accepts any, as custom agents do. Validation
    refuses a key outside these and ``ENGINE_CONTEXT_KEYS`` — a misspelt setting would
    otherwise be ignored without a word. A subclass written elsewhere inherits no list: until
    it declares its own, any key is accepted, as it may read keys of its own."""
    ignored_context_keys: ClassVar[frozenset[str]] = frozenset()
    """Keys AgentMap's agent of this type reads that mean nothing here: accepted, with a
    warning, so an AgentMap graph still runs."""
    quick: ClassVar[bool] = False
    """Set by sync agents that never block (no I/O, no sleeping, microseconds of work): a
    worker running many jobs on one loop calls them right there instead of on a thread,
    whose hand-off would cost more than the call."""

    def __init__(
        self,
        name: str,
        prompt: str = "",
        context: Mapping[str, Any] | str | None = None,
        description: str = "",
    ) -> None:
        self.name = name
        self.prompt = prompt
        self.context = context
        self.description = description

    @property
    def logger(self) -> logging.Logger:
        """``agentmap.agent.<node name>``: log here rather than print."""
        return logging.getLogger(f"agentmap.agent.{self.name}")

    def process(self, inputs: Mapping[str, Any]) -> Any:
        """Do the node's work and return its output."""
        raise NotImplementedError(f"{type(self).__name__} must implement process(self, inputs)")

    def bind(self, graph: Any, settings: Any) -> None:
        """Called once the agent is built, with its ``Graph`` and the ``Settings``.

        Agents that need configuration (model providers) or to know the graph (an
        orchestrator choosing among nodes) override this; the default does nothing.
        """

    @classmethod
    def context_problem(cls, context: Mapping[str, Any] | str | None) -> str | None:
        """What is wrong with a node's Context for this agent, found before any run (or None)."""
        return None

    def state_keys(self) -> tuple[str, ...]:
        """State keys the agent reads besides its Input_Fields (a memory key, say)."""
        return ()

    def emit_chunk(self, text: str) -> None:
        """Report a piece of output as it is produced (``agentmap run --stream`` shows it)."""
        sink = CHUNK_SINK.get()
        if sink is not None:
            sink(text)

    def render_prompt(self, inputs: Mapping[str, Any]) -> str:
        """The prompt with each ``{field}`` filled from ``inputs`` (absent fields → empty)."""
        from agentmap.prompts import fill

        return fill(self.prompt, inputs)

    @classmethod
    def type_name(cls) -> str:
        """The AgentType this class answers to."""
        return cls.agent_type or type_name_of(cls.__name__)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


@functools.lru_cache(maxsize=4096)  # called for every node prepared; the answer never changes
def type_name_of(name: str) -> str:
    """``CustomProcessorAgent`` → ``custom_processor``."""
    name = name.strip()
    if name.casefold().startswith("custom:"):
        name = name[len("custom:") :].strip()
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|[\s\-]+", "_", name)
    snake = snake.casefold()
    snake = re.sub(r"_+", "_", snake).strip("_")
    return snake[: -len("_agent")] if snake.endswith("_agent") and snake != "_agent" else snake


@overload
def agent(name: F) -> F: ...
@overload
def agent(name: str | None = None) -> Callable[[F], F]: ...
def agent(name: str | F | None = None) -> F | Callable[[F], F]:
    """Mark a function in the agents folder as an agent type.

    The function receives the same inputs mapping as ``Agent.process`` and may be async.
    Nothing is registered at import time: discovery finds marked functions when it scans the
    folder.

    >>> @agent("greet")
    ... def greet(inputs):
    ...     return f"hello {inputs['name']}"
    >>> greet({"name": "Ada"})
    'hello Ada'
    """

    def mark(function: F, type_name: str | None = None) -> F:
        setattr(function, AGENT_TYPE_ATTRIBUTE, type_name_of(type_name or function.__name__))
        return function

    if callable(name):
        return mark(name)
    return lambda function: mark(function, name)
