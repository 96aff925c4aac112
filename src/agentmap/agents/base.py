"""What an agent is: the ``Agent`` base class, the ``@agent`` decorator and ``Failure``."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar, overload

F = TypeVar("F", bound=Callable[..., Any])

AGENT_TYPE_ATTRIBUTE = "__agentmap_agent_type__"


@dataclass(frozen=True, slots=True)
class Failure:
    """Return this from ``process`` to fail without raising.

    The run follows the node's ``Failure_Next``; ``error`` goes into the state's ``error`` key
    and ``value`` (if not ``None``) into the node's Output_Field.

    >>> Failure("amount is negative", value=-3).error
    'amount is negative'
    """

    error: str
    value: Any = None


PauseKind = Literal["text", "approval", "choice", "suspend"]


@dataclass(frozen=True, slots=True)
class Pause:
    """Return this from ``process`` to stop and wait for a person (or for ``agentmap resume``).

    ``kind`` is ``text`` (a free answer), ``approval`` (approve or reject), ``choice`` (one of
    ``options``) or ``suspend`` (no question: wait until resumed). In a terminal the CLI asks
    right away; elsewhere the run stops as ``waiting`` and ``agentmap resume RUN_ID --value ...``
    (or ``resume_run``) puts the answer in the node's Output_Field.

    >>> Pause("Ship it?", kind="approval").kind
    'approval'
    """

    question: str
    kind: PauseKind = "text"
    options: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "kind": self.kind, "options": list(self.options)}


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens a node's model calls used, and their cost when prices are configured."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    model: str | None = None

    def __add__(self, other: Usage) -> Usage:
        cost = (
            None
            if self.cost is None and other.cost is None
            else (self.cost or 0) + (other.cost or 0)
        )
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            cost,
            self.model if self.model == other.model else None,
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }
        if self.cost is not None:
            data["cost"] = self.cost
        if self.model is not None:
            data["model"] = self.model
        return data


@dataclass(frozen=True, slots=True)
class Output:
    """Return this from ``process`` to report more than the value.

    ``updates`` are written to the state besides the Output_Field (a conversation memory, say);
    ``usage`` is the tokens the node used; ``next`` picks the node to go to — one of the
    targets of the routing cell that applies (how an orchestrator routes).

    >>> Output("Paris", usage=Usage(12, 3)).usage.prompt_tokens
    12
    """

    value: Any
    updates: Mapping[str, Any] = field(default_factory=dict)
    usage: Usage | None = None
    next: str | None = None


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

    agent_type: ClassVar[str | None] = None
    aliases: ClassVar[tuple[str, ...]] = ()
    """Other AgentType names this class answers to (``gpt`` and ``chatgpt`` for ``openai``)."""
    requires: ClassVar[tuple[str, ...]] = ()
    """Modules the agent imports when it runs; a graph using it is invalid without them."""
    install_hint: ClassVar[str] = ""
    """How to install ``requires``, shown in that validation error."""
    streams: ClassVar[bool] = False
    """Set by agents that call ``emit_chunk``: only they get a chunk sink (one per node run)."""
    default_retry: ClassVar[Mapping[str, Any] | None] = None
    """A retry policy (as ``RetryPolicy.from_dict`` reads it) for nodes with none configured."""

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
        sink = getattr(self, "_chunk_sink", None)
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
