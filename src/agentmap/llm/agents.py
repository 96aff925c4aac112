"""The agent types that call language models (filled in by the LLM work)."""

from __future__ import annotations

from agentmap.agents.base import Agent

LLM_AGENTS: tuple[type[Agent], ...] = ()
