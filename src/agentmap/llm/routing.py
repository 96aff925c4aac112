"""Which provider and model a node with Context ``routing_enabled`` asks: AgentMap's routing,
as one small deterministic choice from ``llm.routing`` and the node's Context.

1. **Task type**: Context ``task_type``, else ``llm.routing.default_task_type``; its settings
   come from ``llm.routing.task_types`` (a task type not listed there has none).
2. **Complexity** (``low`` < ``medium`` < ``high`` < ``critical``): Context
   ``complexity_override``; else the highest tier whose task-type ``complexity_keywords`` occur
   in the request (unless Context ``auto_detect_complexity`` is false); else the task type's
   ``default_complexity`` (``medium``). Context ``max_cost_tier`` caps it.
3. **Provider**: the first available one — configured, and with an API key now (every one, when
   a cassette replays) — of Context ``provider_preference``, else the task type's, else
   ``llm.routing.provider_preference``, else the routing matrix's providers in the order
   written; then ``llm.default_provider`` and Context ``fallback_provider``; never one in
   Context ``exclude_providers``. A node whose agent type names a provider (``openai``,
   ``anthropic``, ``google``), or whose Context does (``provider``, ``llm_type``), keeps it:
   routing picks only its model.
4. **Model**: Context ``model``; else ``routing_matrix[provider][complexity]``; else Context
   ``fallback_model`` for the fallback provider; else the provider's configured model.

The same node and request always get the same answer; there is no cache, cost model or
circuit breaker, so AgentMap's other routing settings are accepted and have no effect here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args

from agentmap.config import Complexity, LLMSettings, TaskTypeSettings
from agentmap.llm.errors import LLMError
from agentmap.llm.providers import resolve_provider

TIERS: tuple[Complexity, ...] = get_args(Complexity)

ROUTING_KEYS = frozenset(
    {
        "routing_enabled",
        "task_type",
        "complexity_override",
        "auto_detect_complexity",
        "provider_preference",
        "exclude_providers",
        "fallback_provider",
        "fallback_model",
        "max_cost_tier",
    }
)
"""Context keys routing reads."""
ACCEPTED_KEYS = frozenset(
    {"retry_with_lower_complexity", "cost_optimization", "activity", "router_profile"}
)
"""AgentMap routing keys accepted without effect: retries are the node's retry policy, and
there is no cost model, activity table or router profile here."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where a routed request goes, and why (logged at INFO)."""

    provider: str
    model: str | None
    task_type: str
    complexity: Complexity

    @property
    def reason(self) -> str:
        """``task type 'general', complexity high → openai (gpt-4.1)``."""
        model = f" ({self.model})" if self.model else ""
        return (
            f"task type {self.task_type!r}, complexity {self.complexity} → {self.provider}{model}"
        )


def routing_requested(context: Mapping[str, Any]) -> bool:
    """Whether a node's Context turns routing on (``routing_enabled``: true)."""
    value = context.get("routing_enabled", False)
    if not isinstance(value, bool):
        raise LLMError(f"Context routing_enabled must be true or false, not {value!r}")
    return value


def route(
    llm: LLMSettings, context: Mapping[str, Any], request: str, fixed: str | None = None
) -> Route:
    """The provider and model for ``request`` (the text sent), by the steps in the module
    docstring; ``fixed`` is the provider of an agent type that names one (Context ``provider``
    or ``llm_type`` fixes it too)."""
    fixed = fixed or _text(context, "provider") or _text(context, "llm_type")
    task_name = _text(context, "task_type") or llm.routing.default_task_type
    task = llm.routing.task_types.get(task_name, TaskTypeSettings())
    complexity = _complexity(context, task, request)
    fallback = _text(context, "fallback_provider")
    provider = fixed or _provider(llm, context, task, fallback)
    model = _text(context, "model") or llm.routing.routing_matrix.get(provider, {}).get(complexity)
    if model is None and provider == fallback:
        model = _text(context, "fallback_model")
    return Route(provider, model, task_name, complexity)


def _complexity(context: Mapping[str, Any], task: TaskTypeSettings, request: str) -> Complexity:
    level = _tier(context, "complexity_override")
    if level is None and context.get("auto_detect_complexity", True) is not False:
        level = _keyword_tier(task, request)
    level = level or task.default_complexity
    cap = _tier(context, "max_cost_tier")
    return min(level, cap, key=TIERS.index) if cap is not None else level


def _keyword_tier(task: TaskTypeSettings, request: str) -> Complexity | None:
    """The highest tier one of whose keywords (a word or phrase) the request holds."""
    text = request.casefold()
    for tier in reversed(TIERS):
        for keyword in task.complexity_keywords.get(tier, ()):
            if re.search(rf"\b{re.escape(keyword.casefold())}\b", text):
                return tier
    return None


def _provider(
    llm: LLMSettings, context: Mapping[str, Any], task: TaskTypeSettings, fallback: str | None
) -> str:
    preferred = (
        _names(context, "provider_preference")
        or task.provider_preference
        or llm.routing.provider_preference
        or tuple(llm.routing.routing_matrix)
    )
    excluded = set(_names(context, "exclude_providers"))
    order = [*preferred, llm.default_provider, *([fallback] if fallback else [])]
    candidates = list(dict.fromkeys(name for name in order if name not in excluded))
    for name in candidates:
        if _available(llm, name):
            return name
    raise LLMError(
        f"routing found no provider with an API key among {', '.join(candidates) or 'none'} — "
        "set the key of one of them (see llm.<provider>.api_key_env), or list another in "
        "Context provider_preference"
    )


def _available(llm: LLMSettings, name: str) -> bool:
    """Configured, and with a key now (replay sends nothing, so needs none)."""
    if llm.provider(name) is None:
        return False
    try:
        provider = resolve_provider(llm, {"provider": name})
    except LLMError:
        return False  # no model configured: it can't be asked
    return llm.replay is not None or provider.key() is not None


def _tier(context: Mapping[str, Any], key: str) -> Complexity | None:
    value = context.get(key)
    if value is None:
        return None
    for tier in TIERS:
        if isinstance(value, str) and value.casefold() == tier:
            return tier
    raise LLMError(f"Context {key} must be one of {', '.join(TIERS)}, not {value!r}")


def _names(context: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """A list of provider names, or AgentMap's ``"a|b"`` / ``"a,b"`` text."""
    value = context.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in re.split(r"[|,]", value) if part.strip())
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise LLMError(f"Context {key} must be a list of provider names, not {value!r}")


def _text(context: Mapping[str, Any], key: str) -> str | None:
    value = context.get(key)
    if value is None or isinstance(value, str):
        return value or None
    raise LLMError(f"Context {key!r} must be text, not {value!r}")
