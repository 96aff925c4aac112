"""What every model-calling agent shares: its settings, its Context, and asking the model."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from agentmap.agents.base import Agent, Failure
from agentmap.config import LLMSettings
from agentmap.llm.errors import DEFAULT_RETRY, INSTALL_HINT, LLMError, TransientLLMError
from agentmap.llm.routing import ACCEPTED_KEYS, ROUTING_KEYS, route, routing_requested

if TYPE_CHECKING:
    from agentmap.llm.client import Completion, Message
    from agentmap.llm.providers import Protocol


MODEL_KEYS = frozenset(
    {"provider", "llm_type", "model", "temperature", "max_tokens", "system", "base_url"}
)
"""Context keys of every model-calling node: where its requests go (``llm_type`` is AgentMap's
name for ``provider``) and how ``llm.routing`` picks them."""
MODEL_CONTEXT_KEYS = MODEL_KEYS | ROUTING_KEYS
MODEL_IGNORED_KEYS = ACCEPTED_KEYS | {
    "api_key",
    "input_context",
    "prefer_quality",  # AgentMap's routing preferences and capability filters
    "prefer_speed",
    "requires_vision",
    "requires_prompt_caching",
    "model_override",
    "excluded_providers",
}
"""AgentMap's keys of its model agents that mean nothing here (a key in a graph file would be
a secret in plain sight; AgentMap's routing extras): accepted with a warning."""


class ModelAgent(Agent):
    """An agent that may ask a model: subclasses implement ``respond`` and call ``ask``.

    A setup or model error the node can't get past (no key, HTTP 401, a bad Context setting)
    becomes a node failure — routed to ``Failure_Next``, never retried; a transient one
    (``TransientLLMError``) is raised, so the node's retry policy — by default
    ``DEFAULT_RETRY`` — decides whether to try again.
    """

    install_hint: ClassVar[str] = INSTALL_HINT
    context_keys: ClassVar[frozenset[str] | None] = MODEL_CONTEXT_KEYS
    ignored_context_keys: ClassVar[frozenset[str]] = MODEL_IGNORED_KEYS
    streams: ClassVar[bool] = True  # model replies stream to emit_chunk with llm.stream on
    default_retry: ClassVar[Mapping[str, Any] | None] = DEFAULT_RETRY
    provider_name: ClassVar[str | None] = None
    """The provider used when Context names none (``None``: ``llm.default_provider``)."""
    protocol: ClassVar[Protocol | None] = None
    """The protocol this type speaks (``None``: whatever its provider speaks)."""

    def __init__(
        self,
        name: str,
        prompt: str = "",
        context: Mapping[str, Any] | str | None = None,
        description: str = "",
    ) -> None:
        super().__init__(name, prompt, context, description)
        self.graph: Any = None
        self.llm = LLMSettings()  # until bind() hands over the run's settings

    def bind(self, graph: Any, settings: Any) -> None:
        """Keep the graph (an orchestrator looks at its nodes) and the ``llm`` settings."""
        self.graph = graph
        self.llm = getattr(settings, "llm", None) or LLMSettings()

    @property
    def options(self) -> Mapping[str, Any]:
        """The node's Context as settings (a Context of plain text sets nothing)."""
        return self.context if isinstance(self.context, Mapping) else {}

    async def process(self, inputs: Mapping[str, Any]) -> Any:
        """``respond``, with errors that can't be retried turned into the node's failure."""
        try:
            return await self.respond(inputs)
        except TransientLLMError:
            raise
        except LLMError as error:
            self.logger.info("%s", error)
            return Failure(str(error))

    async def respond(self, inputs: Mapping[str, Any]) -> Any:
        """Do the node's work; raise ``LLMError`` to fail."""
        raise NotImplementedError(f"{type(self).__name__} must implement respond(self, inputs)")

    async def ask(
        self,
        messages: Sequence[Message],
        *,
        system: str | None = None,
        json_mode: bool = False,
        stream: bool = True,
    ) -> Completion:
        """Ask the node's model; ``system`` goes before Context ``system``.

        The reply streams to ``emit_chunk`` when ``llm.stream`` is on and ``stream`` is true.
        """
        from agentmap.llm.client import Chat, complete  # loaded by the first model call only
        from agentmap.llm.providers import resolve_provider

        options = self._routed(messages)
        provider = resolve_provider(self.llm, options, self.provider_name, self.protocol)
        instructions = "\n\n".join(part for part in (system, provider.system) if part)
        chat = Chat(tuple(messages), instructions or None, json_mode)
        sink = self.emit_chunk if stream and self.llm.stream else None
        return await complete(provider, chat, self.llm, sink)

    def _routed(self, messages: Sequence[Message]) -> Mapping[str, Any]:
        """The Context the provider is resolved from: with Context ``routing_enabled``, its
        ``provider`` and ``model`` are the ones ``llm.routing`` picks for the request."""
        if not routing_requested(self.options):
            return self.options
        if not self.llm.routing.enabled:
            self.logger.warning(
                "Context routing_enabled is set but llm.routing.enabled is false: asking the "
                "node's own provider and model"
            )
            return self.options
        asked = [m["content"] for m in messages if m.get("role") == "user"]
        chosen = route(self.llm, self.options, asked[-1] if asked else "", self.provider_name)
        self.logger.info("routing: %s", chosen.reason)
        model = {"model": chosen.model} if chosen.model else {}
        return {**self.options, "provider": chosen.provider, **model}


def text_of(inputs: Mapping[str, Any], separator: str = "\n\n", skip: Sequence[str] = ()) -> str:
    """The inputs' values as one text: strings as they are, other values as JSON, no ``None``.

    >>> text_of({"a": "hi", "b": None, "c": [1, 2]}, " | ")
    'hi | [1, 2]'
    """
    parts = []
    for name, value in inputs.items():
        if value is None or name in skip:
            continue
        parts.append(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return separator.join(parts)
