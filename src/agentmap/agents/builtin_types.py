"""Where the built-in agent types beyond the core ones are defined, by type name and alias.

A catalog knows every type from this table and imports a type's module when a graph first
uses it: a graph of ``echo`` nodes never imports the model, tool or storage agents (a fifth
of a plain ``agentmap run``'s start-up). A test checks the table against the classes.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from agentmap.agents.base import Agent


class BuiltinType(NamedTuple):
    """A built-in agent class, named by its module and attribute, imported on ``load()``."""

    module: str
    attribute: str

    def load(self) -> type[Agent]:
        """The class (importing its module the first time)."""
        cls: type[Agent] = getattr(importlib.import_module(self.module), self.attribute)
        return cls


_LLM = "agentmap.llm.agents"
_STORAGE = "agentmap.agents.storage.agents"
_CLASSES = {
    # (module, class): its type name, then its aliases
    (_LLM, "LLMAgent"): ("llm",),
    (_LLM, "OpenAIAgent"): ("openai", "gpt", "chatgpt"),
    (_LLM, "AnthropicAgent"): ("anthropic", "claude"),
    (_LLM, "GoogleAgent"): ("google", "gemini"),
    ("agentmap.llm.orchestrator", "OrchestratorAgent"): ("orchestrator",),
    ("agentmap.llm.summary", "SummaryAgent"): ("summary",),
    ("agentmap.agents.tools", "ToolAgent"): ("tool",),
    (_STORAGE, "CSVReaderAgent"): ("csv_reader",),
    (_STORAGE, "CSVWriterAgent"): ("csv_writer",),
    (_STORAGE, "JSONReaderAgent"): ("json_reader", "json_document_reader"),
    (_STORAGE, "JSONWriterAgent"): ("json_writer", "json_document_writer"),
    (_STORAGE, "FileReaderAgent"): ("file_reader",),
    (_STORAGE, "FileWriterAgent"): ("file_writer",),
}

IMPORTED_ON_USE: Mapping[str, BuiltinType] = MappingProxyType(
    {name: BuiltinType(*where) for where, names in _CLASSES.items() for name in names}
)
"""Type name or alias → where its class is defined."""

STORAGE_TYPES = frozenset(name for name, at in IMPORTED_ON_USE.items() if at.module == _STORAGE)
"""The storage agents' type names and aliases (``agentmap.agents.storage``)."""
