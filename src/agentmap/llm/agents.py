"""The agent types that call language models: ``llm``, ``openai`` (``gpt``, ``chatgpt``),
``anthropic`` (``claude``), ``google`` (``gemini``), ``orchestrator`` and ``summary``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from agentmap.agents.base import Agent, Failure, Output
from agentmap.llm.base import MODEL_CONTEXT_KEYS, MODEL_IGNORED_KEYS, ModelAgent, text_of
from agentmap.llm.errors import LLMError
from agentmap.llm.orchestrator import OrchestratorAgent
from agentmap.llm.summary import SummaryAgent
from agentmap.secrets import redact

if TYPE_CHECKING:
    from agentmap.llm.memory import Memory
    from agentmap.llm.providers import Protocol

RESPONSE_FORMATS = ("text", "json")


class LLMAgent(ModelAgent):
    """Sends the node's Prompt, its ``{field}`` placeholders filled from the inputs, to a model.

    The output is the reply's text, or its parsed JSON with Context
    ``"response_format": "json"``. The provider is Context ``provider``, else
    ``llm.default_provider``; Context ``model``, ``temperature``, ``max_tokens``, ``system`` and
    ``base_url`` override the provider's settings. With Context ``memory`` the conversation so
    far goes with the prompt, and the node writes it back to the state (see ``memory.py``).
    A node with no Prompt sends its inputs' values.
    """

    agent_type = "llm"
    requires: ClassVar[tuple[str, ...]] = ("openai", "anthropic")  # either protocol
    context_keys: ClassVar[frozenset[str] | None] = MODEL_CONTEXT_KEYS | {
        "memory",
        "response_format",
    }
    ignored_context_keys: ClassVar[frozenset[str]] = MODEL_IGNORED_KEYS | {
        "memory_key",  # AgentMap's always-on memory: Context memory turns ours on
        "max_memory_messages",
    }

    def state_keys(self) -> tuple[str, ...]:
        """The memory key, so the conversation so far arrives with the inputs."""
        from agentmap.llm.memory import Memory  # every catalog loads this module: keep it light

        try:
            memory = Memory.from_context(self.options)
        except LLMError:
            return ()  # respond() reports the bad setting as the node's failure
        return (memory.key,) if memory is not None else ()

    async def respond(self, inputs: Mapping[str, Any]) -> Output:
        """Ask the model; the reply (text or JSON), the updated memory and the tokens used."""
        from agentmap.llm.memory import Memory

        memory = Memory.from_context(self.options)
        history = memory.recall(inputs.get(memory.key)) if memory is not None else []
        prompt = self._prompt(inputs, memory)
        json_mode = _json_mode(self.options)
        completion = await self.ask(
            [*history, {"role": "user", "content": prompt}], json_mode=json_mode
        )
        value: Any = completion.text
        if json_mode:
            try:
                value = parse_json(completion.text)
            except LLMError as error:
                return Output(Failure(str(error)), usage=completion.usage)
        updates = {}
        if memory is not None:
            updates[memory.key] = memory.remember(history, prompt, completion.text)
        return Output(value, updates=updates, usage=completion.usage)

    def _prompt(self, inputs: Mapping[str, Any], memory: Memory | None) -> str:
        skip = (memory.key,) if memory is not None else ()
        if self.prompt:
            prompt = self.render_prompt({k: v for k, v in inputs.items() if k not in skip})
        else:
            prompt = text_of(inputs, skip=skip)
        if not prompt.strip():
            raise LLMError(
                "nothing to ask the model: the Prompt is empty and so are the inputs — write a "
                "Prompt, or check the Input_Fields"
            )
        return prompt


class OpenAIAgent(LLMAgent):
    """An ``llm`` node on the ``openai`` provider (or another one speaking its protocol)."""

    agent_type = "openai"
    aliases = ("gpt", "chatgpt")
    requires = ("openai",)
    provider_name: ClassVar[str | None] = "openai"
    protocol: ClassVar[Protocol | None] = "openai"


class AnthropicAgent(LLMAgent):
    """An ``llm`` node on the ``anthropic`` provider (or another one speaking its protocol)."""

    agent_type = "anthropic"
    aliases = ("claude",)
    requires = ("anthropic",)
    provider_name: ClassVar[str | None] = "anthropic"
    protocol: ClassVar[Protocol | None] = "anthropic"


class GoogleAgent(LLMAgent):
    """An ``llm`` node on the ``google`` provider: Gemini, through Google's Gen AI SDK.

    The SDK (package ``google-genai``) is imported by the first call; without it the node fails
    with the install hint. It is not a validation requirement: ``google`` is a namespace many
    packages share, so whether the SDK is there can't be asked without importing.
    """

    agent_type = "google"
    aliases = ("gemini",)
    requires = ()
    provider_name: ClassVar[str | None] = "google"
    protocol: ClassVar[Protocol | None] = "google"


def parse_json(text: str) -> Any:
    """The JSON a reply holds (a Markdown code fence around it is allowed).

    >>> parse_json('```json\\n{"ok": true}\\n```')
    {'ok': True}
    """
    body = text.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", body, flags=re.DOTALL)
    try:
        return json.loads(fenced.group(1) if fenced else body)
    except ValueError as exc:
        shown = redact(text)  # before the cut: no part of a key is left at it
        shown = shown if len(shown) <= 2000 else shown[:1997] + "..."
        raise LLMError(f"the model's reply is not valid JSON ({exc}); it replied: {shown}") from exc


def _json_mode(options: Mapping[str, Any]) -> bool:
    kind = options.get("response_format", "text")
    if kind not in RESPONSE_FORMATS:
        raise LLMError(f"Context response_format must be 'text' or 'json', not {kind!r}")
    return bool(kind == "json")


LLM_AGENTS: tuple[type[Agent], ...] = (
    LLMAgent,
    OpenAIAgent,
    AnthropicAgent,
    GoogleAgent,
    OrchestratorAgent,
    SummaryAgent,
)
