"""``summary``: combine a node's inputs into one text — joined, or summarised by a model.

Context ``template`` (``"[{route}] {answer}"``) fills each ``{field}`` from the inputs; without
one, the inputs' values are joined with Context ``separator`` (default: a blank line). With
Context ``"strategy": "llm"`` — or AgentMap's ``"llm": "<provider>"``, which also names the
provider — that text goes to the model, after the node's Prompt, if it has one, else after
``DEFAULT_INSTRUCTION``, and the model's summary is the output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from agentmap.agents.base import Output
from agentmap.llm.base import MODEL_CONTEXT_KEYS, MODEL_IGNORED_KEYS, ModelAgent, text_of
from agentmap.llm.errors import LLMError
from agentmap.prompts import fill

STRATEGIES = ("join", "llm")
DEFAULT_INSTRUCTION = "Summarize the following concisely, keeping every fact that matters."


class SummaryAgent(ModelAgent):
    """Joins its inputs (Context ``template`` or ``separator``), or has a model summarise them
    (Context ``"strategy": "llm"``, with the model settings of an ``llm`` node)."""

    agent_type = "summary"
    context_keys: ClassVar[frozenset[str] | None] = MODEL_CONTEXT_KEYS | {
        "strategy",
        "template",
        "separator",
        "llm",
    }
    ignored_context_keys: ClassVar[frozenset[str]] = MODEL_IGNORED_KEYS | {  # AgentMap's
        "format",
        "include_keys",
    }

    @property
    def options(self) -> Mapping[str, Any]:
        """The Context, with AgentMap's ``llm`` (a provider name) read as ``provider``."""
        context = super().options
        named = context.get("llm")
        if named is None or "provider" in context:
            return context
        return {**context, "provider": named}

    async def respond(self, inputs: Mapping[str, Any]) -> Any:
        """The joined text, or the model's summary of it."""
        text = self._joined(inputs)
        strategy = self.options.get("strategy", "llm" if "llm" in self.options else "join")
        if strategy == "join":
            return text
        if strategy != "llm":
            raise LLMError(f"Context strategy must be one of {', '.join(STRATEGIES)}: {strategy!r}")
        instruction = self.render_prompt(inputs) if self.prompt else DEFAULT_INSTRUCTION
        completion = await self.ask([{"role": "user", "content": f"{instruction}\n\n{text}"}])
        return Output(completion.text, usage=completion.usage)

    def _joined(self, inputs: Mapping[str, Any]) -> str:
        template = self.options.get("template")
        separator = self.options.get("separator", "\n\n")
        if template is None:
            if not isinstance(separator, str):
                raise LLMError(f"Context separator must be text, not {separator!r}")
            return text_of(inputs, separator)
        if not isinstance(template, str):
            raise LLMError(f"Context template must be text, not {template!r}")
        try:
            return fill(template, inputs)
        except (ValueError, LookupError, AttributeError) as exc:
            raise LLMError(
                f"Context template {template!r} can't be filled ({exc}) — use {{field}} "
                "placeholders, and {{ }} for literal braces"
            ) from exc
