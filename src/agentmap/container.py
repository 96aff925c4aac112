"""Wiring: configuration in, services out. The only module that uses dependency-injector
(imported through ``_injector``, which keeps it from importing web frameworks).

The public API builds a container per call from configuration (``build_container``) and never
hands it out. Tests build one from a dict and ``override()`` any provider::

    container = build_container({"execution": {"max_steps": 5}})
    container.clock.override(providers.Object(FakeClock()))
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agentmap._injector import containers, providers
from agentmap.agents.catalog import AgentCatalog, AgentSource
from agentmap.clock import Clock
from agentmap.config import Settings, StorageSettings, load_settings, settings_from_dict
from agentmap.durability import Journaling
from agentmap.events import EventBus
from agentmap.functions import FunctionCatalog
from agentmap.graph.finder import GraphFinder
from agentmap.graph.loader import GraphLoader
from agentmap.plan import Compiler, RunPolicy
from agentmap.prompts import PromptCatalog
from agentmap.runner import GraphRunnerService
from agentmap.security import AllowedPaths
from agentmap.store import store_resource
from agentmap.store.journal import Durability
from agentmap.store.runstore import RunStore
from agentmap.tracking import ExecutionTrackingService

if TYPE_CHECKING:
    from agentmap.jobs import JobQueue

ConfigSource = str | os.PathLike[str] | Mapping[str, Any] | Settings | None
"""A config file path, a settings mapping, ready ``Settings``, or ``None`` (find or default)."""


def journaling_for(store: RunStore | None, settings: StorageSettings) -> Journaling | None:
    """How runs are recorded in ``store`` (None: no store, nothing recorded)."""
    if store is None:
        return None
    durability = Durability(settings.durability, settings.flush_interval, settings.flush_batch)
    return Journaling(store, settings.checkpoints, durability)


def job_queue(store: RunStore | None, loader: GraphLoader) -> JobQueue:
    """The job queue over ``store``. Its module (and the job store's) is imported when jobs
    are first used, not by every container: a plain run never needs them."""
    from agentmap.jobs import JobQueue

    return JobQueue(store, loader)


class Container(containers.DeclarativeContainer):
    """Every service agentmap runs with, built once per container from ``settings``."""

    settings = providers.Dependency(instance_of=Settings)
    extra_agents: providers.Object[Mapping[str, AgentSource] | None] = providers.Object(None)

    agents = providers.Singleton(
        AgentCatalog.discover, settings.provided.paths.custom_agents, settings, extra_agents
    )
    functions = providers.Singleton(FunctionCatalog.discover, settings.provided.paths.functions)
    allowed = providers.Singleton(AllowedPaths.of, settings)
    prompts = providers.Singleton(
        PromptCatalog.load,
        settings.provided.paths.prompts,
        settings.provided.limits.max_file_mb,
        allowed,
    )
    tracking = providers.Singleton(
        ExecutionTrackingService,
        settings=settings.provided.execution.tracking,
        policy=settings.provided.execution.success_policy,
        functions=functions,
    )
    loader = providers.Singleton(
        GraphLoader,
        agents,
        functions,
        prompts,
        settings.provided.execution.reducers,
        settings.provided.limits.max_file_mb,
        allowed,
    )
    policy = providers.Singleton(
        RunPolicy.from_settings,
        max_steps=settings.provided.execution.max_steps,
        max_concurrency=settings.provided.execution.max_concurrency,
        timeout=settings.provided.execution.timeout,
        retry=settings.provided.execution.retry,
        retry_by_graph=settings.provided.execution.retry_by_graph,
        reducers=settings.provided.execution.reducers,
    )
    compiler = providers.Singleton(
        Compiler, agents, functions, prompts, policy, subgraphs=loader.provided.subgraph
    )
    events = providers.Singleton(EventBus)
    clock = providers.Singleton(Clock)
    store = providers.Resource(store_resource, settings.provided.storage)
    journaling = providers.Singleton(journaling_for, store, settings.provided.storage)
    jobs = providers.Singleton(job_queue, store, loader)
    finder = providers.Singleton(GraphFinder, loader, settings.provided.paths.graphs)
    runner = providers.Singleton(
        GraphRunnerService,
        compiler,
        tracking,
        policy,
        events=events,
        journaling=journaling,
        clock=clock,
        find=finder,
    )


def build_container(
    config: ConfigSource = None, agents: Mapping[str, AgentSource] | None = None
) -> Container:
    """A container for ``config`` (a file path, a mapping, ``Settings``, or ``None``), with
    ``agents`` (type name → ``Agent`` class or function) added to the project's."""
    if isinstance(config, Settings):
        settings = config
    elif isinstance(config, Mapping):
        settings = settings_from_dict(config)
    else:
        settings = load_settings(config)
    container = Container(settings=providers.Object(settings))
    if agents:
        container.extra_agents.override(providers.Object(dict(agents)))
    return container
