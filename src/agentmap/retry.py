"""Retry policies: how many times a failing node is tried again, and how long to wait between.

A policy comes from the node's Context (``{"retry": {"type": "exponential", "max_retries": 3}}``),
else from ``execution.retry_by_graph.<Graph>``, else from ``execution.retry``; with none, a
failure is final at once (and costs nothing extra). Only exceptions (including a node timeout)
are retried — an agent that *returns* ``Failure`` has decided, and is not asked again.

>>> policy = RetryPolicy.from_dict({"type": "exponential", "initial_delay": 0.5, "max_retries": 3})
>>> [policy.get_retry_delay(n, 3) for n in (1, 2, 3, 4)]
[0.5, 1.0, 2.0, None]
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from agentmap.exceptions import RetryPolicyError
from agentmap.suggest import did_you_mean

_JITTER = random.Random()
_EXAMPLE = '{"type": "fixed", "delay": 1}'


def _non_negative(name: str, value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:  # float() names neither the setting nor a fix
        raise RetryPolicyError(f"{name} must be a number, 0 or more (got {value!r})") from exc
    if number < 0:
        raise RetryPolicyError(f"{name} must be 0 or more (got {value!r})")
    return number


def _retry_count(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RetryPolicyError(f"max_retries must be a whole number, 0 or more (got {value!r})")
    if value < 0:
        raise RetryPolicyError("max_retries must be 0 or more")
    return value


def _exception_names(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise RetryPolicyError(f"retry_on must be a list of exception names, e.g. [{value!r}]")
    names = tuple(value) if isinstance(value, Iterable) else None
    if names is None or not all(isinstance(name, str) for name in names):
        raise RetryPolicyError(
            f"retry_on must be a list of exception names such as ['TimeoutError'] (got {value!r})"
        )
    return names


class RetryPolicy:
    """Base class: ``max_retries`` tries after the first, on the listed exception types only.

    ``retry_on`` names exception classes (``"TimeoutError"``, ``"httpx.ConnectError"``); an
    exception matches when any class in its hierarchy has that name. Empty means every
    exception.
    """

    type: ClassVar[str] = ""
    setting_names: ClassVar[tuple[str, ...]] = ("max_retries", "retry_on")
    """The keys ``from_dict`` accepts besides ``type``."""

    def __init__(
        self, max_retries: int = 3, retry_on: Sequence[str] = (), rng: random.Random | None = None
    ) -> None:
        self.max_retries = _retry_count(max_retries)
        self.retry_on = _exception_names(retry_on)
        self._rng = rng or _JITTER  # seeding a Random per policy costs more than a node run

    def get_retry_delay(self, attempt: int, max_retries: int | None = None) -> float | None:
        """Seconds to wait before retry number ``attempt`` (1-based), or ``None``: give up."""
        limit = self.max_retries if max_retries is None else max_retries
        if attempt > limit:
            return None
        return max(0.0, self._base_delay(attempt))

    def retries(self, error: BaseException) -> bool:
        """Whether ``error`` is of a kind this policy retries."""
        if not self.retry_on:
            return True
        names = {c.__name__ for c in type(error).__mro__}
        names |= {f"{c.__module__}.{c.__qualname__}" for c in type(error).__mro__}
        return any(name in names for name in self.retry_on)

    def to_dict(self) -> dict[str, Any]:
        """The policy as ``from_dict`` reads it."""
        data: dict[str, Any] = {"type": self.type, "max_retries": self.max_retries}
        if self.retry_on:
            data["retry_on"] = list(self.retry_on)
        return data | self._settings()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RetryPolicy:
        """Build the policy ``data["type"]`` names (``fixed`` or ``exponential``).

        A wrong type or setting raises ``RetryPolicyError`` (a ``ConfigError``, and a
        ``ValueError``) saying what to write instead.
        """
        if not isinstance(data, Mapping):
            raise RetryPolicyError(f"a retry policy is an object such as {_EXAMPLE} (got {data!r})")
        kinds = {kind.type: kind for kind in (FixedDelayRetryPolicy, ExponentialBackoffRetryPolicy)}
        kind = kinds.get(str(data.get("type", "")))
        if kind is None:
            raise RetryPolicyError(
                f"retry type must be one of {', '.join(kinds)} (got {data.get('type')!r})"
            )
        settings = {str(key): value for key, value in data.items() if key != "type"}
        known = kind.setting_names
        for key in settings:
            if key not in known:
                raise RetryPolicyError(
                    f"unknown {kind.type} retry setting '{key}'{did_you_mean(key, known)} "
                    f"({kind.type} policies take {', '.join(known)})"
                )
        return kind(**settings)

    def _base_delay(self, attempt: int) -> float:
        raise NotImplementedError

    def _settings(self) -> dict[str, Any]:
        raise NotImplementedError

    def _jittered(self, delay: float, jitter: float) -> float:
        return delay * (1 + self._rng.uniform(-jitter, jitter)) if jitter else delay

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RetryPolicy) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()})"


class FixedDelayRetryPolicy(RetryPolicy):
    """The same ``delay`` before every retry, give or take ``jitter`` (a fraction, 0.1 = ±10%)."""

    type = "fixed"
    setting_names = ("delay", "jitter", *RetryPolicy.setting_names)

    def __init__(
        self,
        delay: float = 1.0,
        jitter: float = 0.0,
        max_retries: int = 3,
        retry_on: Sequence[str] = (),
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(max_retries, retry_on, rng)
        self.delay = _non_negative("delay", delay)
        self.jitter = _non_negative("jitter", jitter)

    def _base_delay(self, attempt: int) -> float:
        return self._jittered(self.delay, self.jitter)

    def _settings(self) -> dict[str, Any]:
        return {"delay": self.delay, "jitter": self.jitter}


class ExponentialBackoffRetryPolicy(RetryPolicy):
    """Waits ``initial_delay * multiplier**(attempt-1)``, at most ``max_delay``, ± ``jitter``."""

    type = "exponential"
    setting_names = (
        "initial_delay",
        "max_delay",
        "multiplier",
        "jitter",
        *RetryPolicy.setting_names,
    )

    def __init__(
        self,
        initial_delay: float = 0.5,
        max_delay: float = 30.0,
        multiplier: float = 2.0,
        jitter: float = 0.0,
        max_retries: int = 3,
        retry_on: Sequence[str] = (),
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(max_retries, retry_on, rng)
        self.initial_delay = _non_negative("initial_delay", initial_delay)
        self.max_delay = _non_negative("max_delay", max_delay)
        self.multiplier = _non_negative("multiplier", multiplier)
        self.jitter = _non_negative("jitter", jitter)

    def _base_delay(self, attempt: int) -> float:
        delay = min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1))
        return self._jittered(delay, self.jitter)

    def _settings(self) -> dict[str, Any]:
        return {
            "initial_delay": self.initial_delay,
            "max_delay": self.max_delay,
            "multiplier": self.multiplier,
            "jitter": self.jitter,
        }
