"""What an agent may return besides a plain value: ``Failure``, ``Output``, ``Pause`` and ``Usage``.

Plain data with no imports from the rest of agentmap, so results, events and errors can all
refer to it without import cycles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Failure", "Output", "Pause", "PauseKind", "Usage"]


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
