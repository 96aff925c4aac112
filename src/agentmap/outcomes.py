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


PauseKind = Literal["text", "approval", "choice", "edit", "conversation", "suspend"]


@dataclass(frozen=True, slots=True)
class Pause:
    """Return this from ``process`` to stop and wait for a person (or for ``agentmap resume``).

    ``kind`` is ``text`` (a free answer), ``approval`` (approve or reject), ``choice`` (one of
    ``options``), ``edit`` (change ``draft`` and send it back), ``conversation`` (a message;
    an empty one ends the exchange) or ``suspend`` (no question: wait until resumed). In a
    terminal the CLI asks right away; elsewhere the run stops as ``waiting`` and ``agentmap
    resume RUN_ID --value ...`` (or ``resume_run``) puts the answer in the node's Output_Field.

    ``timeout`` (seconds) and ``deadline`` (a Unix time) bound the wait: after the deadline the
    question takes no answer and ``default`` is taken instead (with no default the node fails).
    ``history`` is a conversation's exchange so far, kept in the state key ``history_key``.

    >>> Pause("Ship it?", kind="approval").kind
    'approval'
    """

    question: str
    kind: PauseKind = "text"
    options: tuple[str, ...] = ()
    draft: str | None = None
    timeout: float | None = None
    deadline: float | None = None
    default: Any = None
    history_key: str | None = None
    history: tuple[Mapping[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "question": self.question,
            "kind": self.kind,
            "options": list(self.options),
        }
        extra = {
            "draft": self.draft,
            "timeout": self.timeout,
            "deadline": self.deadline,
            "default": self.default,
            "history_key": self.history_key,
        }
        data.update({key: value for key, value in extra.items() if value is not None})
        if self.history:
            data["history"] = [dict(message) for message in self.history]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pause:
        """The pause ``to_dict`` wrote (a waiting run's stored question)."""
        return cls(
            str(data.get("question", "")),
            data.get("kind", "text"),
            tuple(str(option) for option in data.get("options") or ()),
            draft=data.get("draft"),
            timeout=data.get("timeout"),
            deadline=data.get("deadline"),
            default=data.get("default"),
            history_key=data.get("history_key"),
            history=tuple(data.get("history") or ()),
        )


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
    targets of the routing cell that applies, or any node when none does (how an orchestrator
    routes).

    >>> Output("Paris", usage=Usage(12, 3)).usage.prompt_tokens
    12
    """

    value: Any
    updates: Mapping[str, Any] = field(default_factory=dict)
    usage: Usage | None = None
    next: str | None = None
