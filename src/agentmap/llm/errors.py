"""Why a model call failed: for good (the node fails), or for now (the node may try again).

    AgentMapError
    └── LLMError              the node fails with this message, and is not tried again
        └── TransientLLMError a rate limit, a server error or a lost connection: the node's
                              retry policy (by default LLM agents' own) tries it again

An LLM agent returns ``Failure(str(error))`` for an ``LLMError`` — an agent that returns a
failure has decided, so no retry policy can repeat a request that can't succeed (a bad key) —
and raises a ``TransientLLMError``, so the runner's retry policy sees it.
"""

from __future__ import annotations

from types import MappingProxyType

from agentmap.distribution import install_hint
from agentmap.exceptions import AgentMapError


class LLMError(AgentMapError):
    """A model call (or its setup: provider, key, memory, reply) failed; the message says why.

    Messages name the provider, the model and the HTTP status where there is one, and never
    an API key.
    """


class TransientLLMError(LLMError):
    """A failure that may pass: HTTP 429, a 5xx, a connection error.

    ``retry_after`` is the server's ``Retry-After`` in seconds, if it sent one; the runner
    never waits less than that before the next attempt.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


INSTALL_HINT = install_hint("llm")
"""How to install the SDKs the LLM agents use."""

DEFAULT_RETRY = MappingProxyType(
    {
        "type": "exponential",
        "initial_delay": 1.0,
        "max_delay": 30.0,
        "max_retries": 3,
        "retry_on": ("TransientLLMError",),
    }
)
"""The retry policy of LLM nodes that have none configured: transient failures only."""
