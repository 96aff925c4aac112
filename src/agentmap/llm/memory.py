"""Conversation memory: what an LLM node said and heard, kept in the state as plain JSON.

Context ``{"memory": {"key": "chat_memory", "type": "window", "max_messages": 20}}`` makes a node
send the conversation so far before its prompt, and write the conversation back to the state
key with the new exchange added::

    {"type": "window", "max_messages": 20,
     "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}

Plain JSON, so it survives checkpoints, resume and a change of process, and any node naming
the same key continues the same conversation. ``buffer`` keeps every message (its
``max_messages`` is ``null``); ``window`` keeps the last ``max_messages`` (default 20), cut so
it starts with a user message, as the providers expect a conversation to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from agentmap.llm.errors import LLMError

MemoryType = Literal["buffer", "window"]
DEFAULT_KEY = "chat_memory"
DEFAULT_WINDOW = 20
ROLES = ("user", "assistant")


@dataclass(frozen=True, slots=True)
class Memory:
    """Where a node keeps its conversation, and how much of it.

    >>> memory = Memory("chat", "window", 2)
    >>> memory.remember([], "Hi", "Hello!")["messages"]
    [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello!'}]
    """

    key: str = DEFAULT_KEY
    type: MemoryType = "buffer"
    max_messages: int | None = None

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Memory | None:
        """The node's Context ``memory`` setting (a mapping, or just the state key), if any."""
        setting = context.get("memory")
        if setting is None:
            return None
        if isinstance(setting, str) and setting:
            return cls(setting)
        if not isinstance(setting, Mapping):
            raise _bad(f"write it as {{'key': 'chat_memory', 'type': 'buffer'}}, not {setting!r}")
        unknown = set(setting) - {"key", "type", "max_messages"}
        if unknown:
            raise _bad(f"unknown setting(s) {', '.join(sorted(map(repr, unknown)))}")
        key, kind = setting.get("key", DEFAULT_KEY), setting.get("type", "buffer")
        if not isinstance(key, str) or not key:
            raise _bad(f"key must be the name of a state key, not {key!r}")
        if kind not in ("buffer", "window"):
            raise _bad(f"type must be 'buffer' or 'window', not {kind!r}")
        return cls(key, kind, _max_messages(kind, setting.get("max_messages")))

    def recall(self, stored: Any) -> list[dict[str, str]]:
        """The conversation held in the state (nothing yet: none), cut to this node's window."""
        if stored is None:
            return []
        messages = stored.get("messages") if isinstance(stored, Mapping) else None
        if not isinstance(messages, Sequence) or not all(map(_is_message, messages)):
            raise LLMError(
                f"state key '{self.key}' does not hold a conversation memory (expected "
                '{"type": ..., "messages": [{"role": "user", "content": ...}, ...]}) — give this '
                "memory a key of its own, or clear it"
            )
        return self._kept([{"role": m["role"], "content": m["content"]} for m in messages])

    def remember(self, history: list[dict[str, str]], prompt: str, reply: str) -> dict[str, Any]:
        """The memory to store: ``history`` plus this exchange, cut to the window."""
        messages = [
            *history,
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": reply},
        ]
        return {
            "type": self.type,
            "max_messages": self.max_messages,
            "messages": self._kept(messages),
        }

    def _kept(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        if self.max_messages is None:
            return messages
        kept = messages[-self.max_messages :]
        while kept and kept[0]["role"] != "user":
            kept = kept[1:]
        return kept


def _max_messages(kind: str, value: Any) -> int | None:
    if kind == "buffer":
        if value is not None:
            raise _bad("max_messages applies to type 'window' only (a buffer keeps everything)")
        return None
    if value is None:
        return DEFAULT_WINDOW
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise _bad(f"max_messages must be a whole number of at least 2, not {value!r}")
    return value


def _is_message(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and value.get("role") in ROLES
        and isinstance(value.get("content"), str)
    )


def _bad(why: str) -> LLMError:
    return LLMError(f"Context memory: {why}")
