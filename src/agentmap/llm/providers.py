"""Where a node's model calls go: its provider's settings, with the node's Context on top.

A node's Context may set ``provider`` (AgentMap's ``llm_type`` means the same), ``model``,
``temperature``, ``max_tokens``, ``system`` and ``base_url``; everything else comes from
``llm.<provider>`` in the config. The API key is read when the call is made — from the config,
else from the environment variable it names (for Google, ``GEMINI_API_KEY`` after
``GOOGLE_API_KEY``, as Google's SDK reads them) — and is held as a ``SecretStr`` so no repr,
log line or error can show it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import SecretStr

from agentmap.config import GEMINI_KEY_ENV, LLMSettings
from agentmap.llm.errors import LLMError

Protocol = Literal["openai", "anthropic", "google"]
GOOGLE_KEY_ENV = "GOOGLE_API_KEY"


@dataclass(frozen=True, slots=True)
class Provider:
    """One node's model endpoint and request settings, resolved from the config and Context.

    >>> Provider("openai", "openai", "gpt-4o-mini", prompt_price=0.15).cost(1000, 0)
    0.00015
    """

    name: str
    protocol: Protocol
    model: str
    base_url: str | None = None
    api_key: SecretStr | None = field(default=None, repr=False)
    key_env: str | None = None
    key_fallback_env: str | None = None
    key_setting: str = ""
    temperature: float | None = None
    max_tokens: int | None = None
    system: str | None = None
    timeout: float = 60.0
    prompt_price: float | None = None
    completion_price: float | None = None

    @property
    def label(self) -> str:
        """``openai (gpt-4o-mini)``: how messages name the provider and its model."""
        return f"{self.name} ({self.model})"

    def key(self) -> SecretStr | None:
        """The API key from the settings, else from the variable ``key_env`` (read now)."""
        if self.api_key is not None and self.api_key.get_secret_value():
            return self.api_key
        for variable in self._key_variables():
            value = os.environ.get(variable)
            if value:
                return SecretStr(value)
        return None

    def key_source(self) -> str:
        """Where the key comes from: the config setting, or the environment variable."""
        if self.api_key is not None and self.api_key.get_secret_value():
            return self.key_setting
        found = [name for name in self._key_variables() if os.environ.get(name)]
        return (found or [self.key_env or self.key_setting])[0]

    def missing_key(self) -> LLMError:
        """The error for a call with no key: where to put one."""
        where = f"{self.key_setting} in agentmap_config.yaml"
        names = " or ".join(self._key_variables())
        variable = "variable" if len(self._key_variables()) == 1 else "variables"
        fix = f"set the {names} environment {variable}, or {where}" if names else where
        return LLMError(f"no API key for provider {self.label} — {fix}")

    def _key_variables(self) -> tuple[str, ...]:
        return tuple(name for name in (self.key_env, self.key_fallback_env) if name)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """What the tokens cost at the configured prices per million, or None without prices."""
        if self.prompt_price is None and self.completion_price is None:
            return None
        spent = prompt_tokens * (self.prompt_price or 0.0)
        spent += completion_tokens * (self.completion_price or 0.0)
        return spent / 1_000_000


def resolve_provider(
    llm: LLMSettings,
    context: Mapping[str, Any],
    default: str | None = None,
    protocol: Protocol | None = None,
) -> Provider:
    """The provider a node uses: Context ``provider``, else ``default``, else the config's.

    ``protocol`` is the one an ``openai``/``anthropic`` node speaks; a provider speaking the
    other one is an error rather than a surprise.
    """
    name = _text(context, "provider") or _text(context, "llm_type") or default
    name = name or llm.default_provider
    settings = llm.provider(name)
    if settings is None:
        known = ", ".join(sorted({"openai", "anthropic", "google", *llm.providers}))
        raise LLMError(
            f"no provider named '{name}' — configured providers: {known} (add it under "
            "llm.providers in agentmap_config.yaml)"
        )
    if protocol is not None and settings.protocol != protocol:
        raise LLMError(
            f"provider '{name}' speaks the {settings.protocol} protocol, but this node's agent "
            f"type is {protocol} — use AgentType llm with Context provider '{name}'"
        )
    section = f"llm.providers.{name}" if name in llm.providers else f"llm.{name}"
    model = _text(context, "model") or settings.model
    if not model:
        raise LLMError(f"provider '{name}' has no model — set {section}.model or Context model")
    return Provider(
        name=name,
        protocol=settings.protocol,
        model=model,
        base_url=_text(context, "base_url") or settings.base_url,
        api_key=settings.api_key,
        key_env=settings.api_key_env,
        key_fallback_env=_fallback_variable(settings.protocol, settings.api_key_env),
        key_setting=f"{section}.api_key",
        temperature=_number(context, "temperature", settings.temperature),
        max_tokens=_count(context, "max_tokens", settings.max_tokens),
        system=_text(context, "system"),
        timeout=settings.timeout,
        prompt_price=settings.prompt_price,
        completion_price=settings.completion_price,
    )


def _fallback_variable(protocol: Protocol, variable: str | None) -> str | None:
    """``GEMINI_API_KEY`` beside ``GOOGLE_API_KEY``: Google's SDK reads either."""
    return GEMINI_KEY_ENV if protocol == "google" and variable == GOOGLE_KEY_ENV else None


def _text(context: Mapping[str, Any], key: str) -> str | None:
    value = context.get(key)
    if value is None or isinstance(value, str):
        return value or None
    raise LLMError(f"Context {key!r} must be text, not {value!r}")


def _number(context: Mapping[str, Any], key: str, fallback: float | None) -> float | None:
    value = context.get(key, fallback)
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    raise LLMError(f"Context {key!r} must be a number, not {value!r}")


def _count(context: Mapping[str, Any], key: str, fallback: int | None) -> int | None:
    value = context.get(key, fallback)
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        return value
    raise LLMError(f"Context {key!r} must be a whole number above 0, not {value!r}")
