"""Wiring: configuration in, services out. The only module that knows dependency-injector.

Tests build one from a dict and ``override()`` any provider::

    container = build_container({"execution": {"max_steps": 5}})
    container.agents.override(providers.Object(AgentCatalog({"mine": MyAgent})))
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from dependency_injector import containers, providers

from agentmap.agents.catalog import AgentCatalog
from agentmap.config import Settings, load_settings, settings_from_dict
from agentmap.events import EventBus
from agentmap.functions import FunctionCatalog
from agentmap.graph.loader import GraphLoader
from agentmap.prompts import PromptCatalog
from agentmap.runner import Clock, GraphRunnerService
from agentmap.state import StateAdapterService
from agentmap.store import store_resource
from agentmap.tracking import ExecutionTrackingService

ConfigSource = str | os.PathLike[str] | Mapping[str, Any] | Settings | None
"""A config file path, a settings mapping, ready ``Settings``, or ``None`` (find or default)."""


class Container(containers.DeclarativeContainer):
    """Every service agentmap runs with, built once per container from ``settings``."""

    settings = providers.Dependency(instance_of=Settings)

    state_adapter = providers.Singleton(StateAdapterService)
    agents = providers.Singleton(
        AgentCatalog.discover, settings.provided.paths.custom_agents, settings
    )
    functions = providers.Singleton(FunctionCatalog.discover, settings.provided.paths.functions)
    prompts = providers.Singleton(PromptCatalog.load, settings.provided.paths.prompts)
    tracking = providers.Singleton(
        ExecutionTrackingService,
        settings=settings.provided.execution.tracking,
        policy=settings.provided.execution.success_policy,
        functions=functions,
    )
    loader = providers.Singleton(
        GraphLoader, agents, functions, prompts, settings.provided.execution.reducers
    )
    events = providers.Singleton(EventBus)
    clock = providers.Singleton(Clock)
    store = providers.Resource(store_resource, settings.provided.storage)
    runner = providers.Singleton(
        GraphRunnerService,
        agents=agents,
        functions=functions,
        prompts=prompts,
        state_adapter=state_adapter,
        tracking=tracking,
        loader=loader,
        max_steps=settings.provided.execution.max_steps,
        max_concurrency=settings.provided.execution.max_concurrency,
        timeout=settings.provided.execution.timeout,
        retry=settings.provided.execution.retry,
        retry_by_graph=settings.provided.execution.retry_by_graph,
        reducers=settings.provided.execution.reducers,
        events=events,
        clock=clock,
        store=store,
        checkpoints=settings.provided.storage.checkpoints,
    )


def as_container(config: ConfigSource | Container) -> Container:
    """``config`` itself if it is already a container, else a new container built from it."""
    if isinstance(config, containers.Container):
        return config  # type: ignore[return-value]  # instances are DynamicContainers
    return build_container(config)


def build_container(config: ConfigSource = None) -> Container:
    """A container for ``config``: a file path, a mapping, ``Settings``, or ``None``."""
    if isinstance(config, Settings):
        settings = config
    elif isinstance(config, Mapping):
        settings = settings_from_dict(config)
    else:
        settings = load_settings(config)
    return Container(settings=providers.Object(settings))
