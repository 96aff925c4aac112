"""``AgentMapApp``: agentmap inside a Python service — its agents, tools and graphs registered
in code, its jobs created and followed with ``await``, its routers mounted in a FastAPI app.

    app = AgentMapApp()

    @app.agent("text_processor")
    class TextProcessor(Agent):
        def process(self, inputs): ...

    @app.tool("echo")
    def echo(message: str) -> str:
        return message

    app.register_graph("graphs/flow.csv", id="flow", version="1.0.0")

    @app.on("node_failed")
    async def alert(event): ...

    job = await app.create_job("flow", {"input": "hi"}, tags=["text"])
    app.include_in_app(fastapi_app, prefix="/agents")

The app is a thin layer over the public API (``create_job`` and its kin, with the app's agents
and configuration); FastAPI is imported only by ``include_in_app`` and ``routers``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agentmap.agents.base import Agent, type_name_of
from agentmap.agents.catalog import AgentSource
from agentmap.api import (
    acancel_job,
    acreate_job,
    aget_job_results,
    aget_job_status,
    alist_jobs,
    answer_job,
    await_for_job,
    run_worker,
    validate_graph,
)
from agentmap.container import ConfigSource
from agentmap.eventfeed import EventFeed
from agentmap.exceptions import (
    AgentError,
    GraphSelectionError,
    GraphValidationError,
)
from agentmap.graph.loader import split_source
from agentmap.jobhost import JobHost, job_host, settings_of
from agentmap.jobs import Job, JobStatus
from agentmap.results import JobResult
from agentmap.retry import RetryPolicy
from agentmap.security import enforced
from agentmap.store.jobstore import JobEvent, JobState
from agentmap.store.records import fingerprint
from agentmap.store.registry import (
    GraphRegistry,
    RegisteredGraph,
    check_id_and_version,
    version_key,
)
from agentmap.suggest import did_you_mean

if TYPE_CHECKING:
    from fastapi import APIRouter, FastAPI

logger = logging.getLogger(__name__)

T = TypeVar("T")
EventHandler = Callable[[JobEvent], None] | Callable[[JobEvent], Awaitable[None]]

EVENT_KINDS = (
    "job_started",
    "node_started",
    "node_completed",
    "node_failed",
    "node_retrying",
    "output_chunk",
    "job_waiting",
    "job_answered",
    "job_retrying",
    "job_released",
    "job_queued",
    "job_finished",
)
"""What ``@app.on`` can listen to (``"*"``: every event)."""


class AgentMapApp:
    """Agent types, tools and graphs registered in code, and the jobs that run them.

    ``config`` is what every public function takes (a path, a mapping, ``Settings``, or None:
    ``agentmap_config.yaml`` found upward, then defaults, with ``AGENTMAP_*`` on top). Register
    agents and tools before the first job: the workers of this process run jobs with the agent
    types registered by then.

    An app serves graphs that may come from anyone (its routers take them over HTTP), so, as
    ``agentmap serve`` does, it reads prompt and subgraph files only inside the project and
    graphs folders unless ``security.allowed_paths`` says otherwise.
    """

    def __init__(self, config: ConfigSource = None) -> None:
        self.settings = enforced(settings_of(config))
        self._agents: dict[str, AgentSource] = {}
        self._origins: dict[str, dict[str, Any]] = {}  # agent type -> what /agents shows
        self._graphs: dict[str, dict[str, RegisteredGraph]] = {}  # id -> version -> graph
        self._handlers: dict[str, list[EventHandler]] = {}
        self._feed: EventFeed | None = None
        self._dispatching: asyncio.Task[None] | None = None
        self._started = 0

    # --- agents and tools -------------------------------------------------------------------

    def agent(self, name: str | None = None, *, description: str | None = None) -> Callable[[T], T]:
        """Make a class or a function an agent type (named ``name``, else after it).

        An ``Agent`` subclass is used as it is. Another class needs a ``process(inputs)``
        method (sync or async): one instance, made with no arguments, serves every node. A
        function is called with the node's inputs mapping, like an ``@agent`` function."""

        def register(target: T) -> T:
            type_name = type_name_of(name or getattr(target, "__name__", ""))
            if isinstance(target, type) and issubclass(target, Agent):
                source: AgentSource = target
                type_name = type_name_of(name or target.type_name())
            elif isinstance(target, type):
                if not callable(getattr(target, "process", None)):
                    raise AgentError(
                        f"@app.agent: class {target.__qualname__} has no process(inputs) method"
                        " — add one, or subclass agentmap.Agent"
                    )
                source = target().process
            elif callable(target):
                source = target
            else:
                raise AgentError(f"@app.agent: {target!r} is neither a class nor a function")
            self._add(type_name, source, target, "agent", description)
            return target

        return register

    def tool(self, name: str | None = None, *, description: str | None = None) -> Callable[[T], T]:
        """Make a plain function an agent type that graphs call: its parameters are filled
        from the node's inputs by name (a function of one parameter takes a node's only
        input whatever its name), and what it returns is the node's output."""

        def register(function: T) -> T:
            if not callable(function) or isinstance(function, type):
                raise AgentError(f"@app.tool: {function!r} is not a function")
            type_name = type_name_of(name or getattr(function, "__name__", ""))
            self._add(type_name, _tool(function, type_name), function, "tool", description)
            return function

        return register

    @property
    def agents(self) -> Mapping[str, AgentSource]:
        """The agent types registered here (type name → class or function)."""
        return dict(self._agents)

    def agent_types(self) -> list[dict[str, Any]]:
        """Every agent type jobs of this app can use: built-in, the agents folder's, and
        this app's, with their description, inputs, outputs and where they come from."""
        from agentmap.agents.catalog import describe_agents

        described = {
            info["name"]: info
            for info in describe_agents(Path(self.settings.paths.custom_agents), self._agents)
        }
        for type_name, origin in self._origins.items():
            described[type_name] = {**described.get(type_name, {}), **origin}
        return [described[name] for name in sorted(described)]

    def _add(
        self,
        type_name: str,
        source: AgentSource,
        target: object,
        kind: str,
        description: str | None,
    ) -> None:
        if not type_name:
            raise AgentError(f"@app.{kind}: give the agent type a name")
        if type_name in self._agents:
            raise AgentError(
                f"agent type '{type_name}' is registered twice on this app — rename one"
            )
        self._agents[type_name] = source
        self._origins[type_name] = {
            "name": type_name,
            "kind": kind,
            "description": description or _first_line(inspect.getdoc(target)),
            "source": _where(target),
            **_parameters(target, kind),
        }

    # --- graphs -----------------------------------------------------------------------------

    def register_graph(
        self, source: str | os.PathLike[str], *, id: str, version: str
    ) -> RegisteredGraph:
        """Register the graph in ``source`` (``flow.csv``, or ``flow.csv::Graph`` when the file
        holds several) as ``id`` at semantic ``version``; it is validated now, with this app's
        agents. The same id and version registered again (now or at a later start) must have
        the same content: other content raises ``GraphRegistrationError`` saying what changed
        — register it as a new version."""
        check_id_and_version(id, version)
        path, name = split_source(str(source))
        report = validate_graph(path, name, config=self.settings, agents=self._agents or None)
        if not report.ok:
            raise GraphValidationError(report.errors, report.warnings)
        graphs = report.file.graphs
        if name is None and len(graphs) != 1:
            raise GraphSelectionError(
                f"{path} holds {len(graphs)} graphs ({', '.join(graphs)}) — register one: "
                f"'{path}::{next(iter(graphs))}'",
                file=str(path),
            )
        graph = graphs[name] if name is not None else next(iter(graphs.values()))
        digest, nodes = fingerprint(graph)
        entry = RegisteredGraph(
            id=id,
            version=version,
            graph_file=str(Path(path).resolve()),
            graph_name=graph.name,
            graph_hash=digest,
            node_hashes=nodes,
            registered_at=time.time(),
        )
        entry = GraphRegistry(self._host().queue.store).register(entry)
        self._graphs.setdefault(id, {})[version] = entry
        return entry

    def graphs(self) -> list[RegisteredGraph]:
        """The graph versions registered by this app, by id then version."""
        return [
            entry
            for graph_id in sorted(self._graphs)
            for _, entry in sorted(
                self._graphs[graph_id].items(), key=lambda item: version_key(item[0])
            )
        ]

    def has_graph(self, graph_id: str) -> bool:
        """Whether a graph is registered here as ``graph_id``."""
        return graph_id in self._graphs

    def graph(self, graph_id: str, version: str | None = None) -> RegisteredGraph:
        """The registered graph ``graph_id`` at ``version`` (default: the highest)."""
        versions = self._graphs.get(graph_id)
        if not versions:
            raise GraphSelectionError(
                f"no graph registered as '{graph_id}'"
                + did_you_mean(graph_id, list(self._graphs))
                + " — app.register_graph(file, id=..., version=...) registers one"
            )
        if version is None:
            return versions[max(versions, key=version_key)]
        if version not in versions:
            known = ", ".join(sorted(versions, key=version_key))
            raise GraphSelectionError(
                f"graph '{graph_id}' has no version {version} registered (it has {known})"
            )
        return versions[version]

    # --- jobs -------------------------------------------------------------------------------

    async def create_job(
        self,
        graph: str,
        inputs: Any = None,
        *,
        version: str | None = None,
        tags: Iterable[str] = (),
        retry_policy: RetryPolicy | Mapping[str, Any] | None = None,
        max_retries: int | None = None,
        priority: int = 0,
        name: str | None = None,
    ) -> Job:
        """Queue a run of registered graph ``graph`` (at ``version``, default the highest);
        the job records the id and version it runs. See ``agentmap.create_job``."""
        entry = self.graph(graph, version)
        return await acreate_job(
            entry.source,
            inputs,
            tags=tags,
            retry_policy=retry_policy,
            max_retries=max_retries,
            priority=priority,
            name=name,
            config=self.settings,
            agents=self._agents or None,
            graph_id=entry.id,
            graph_version=entry.version,
        )

    async def get_job_status(self, job_id: str) -> JobStatus:
        """Where job ``job_id`` stands."""
        return await aget_job_status(job_id, config=self.settings)

    async def get_job_results(self, job_id: str) -> JobResult:
        """A finished job's final state and summary (see ``agentmap.get_job_results``)."""
        return await aget_job_results(job_id, config=self.settings)

    async def wait_for_job(self, job_id: str, timeout: float | None = None) -> JobStatus:
        """Wait until job ``job_id`` ends or waits for a person."""
        return await await_for_job(job_id, timeout, config=self.settings)

    async def cancel_job(self, job_id: str) -> JobStatus:
        """Cancel job ``job_id``."""
        return await acancel_job(job_id, config=self.settings)

    async def answer_job(self, job_id: str, value: Any, *, node: str | None = None) -> JobStatus:
        """Answer the person's step job ``job_id`` waits at (see ``agentmap.answer_job``)."""
        return await asyncio.to_thread(
            answer_job, job_id, value, node=node, config=self.settings, agents=self._agents or None
        )

    async def list_jobs(
        self,
        status: JobState | Iterable[JobState] | None = None,
        tags: Iterable[str] = (),
        graph: str | None = None,
        limit: int | None = 20,
    ) -> list[JobStatus]:
        """Jobs, newest first (see ``agentmap.list_jobs``)."""
        return await alist_jobs(status, tags, graph, limit, config=self.settings)

    def run_worker(self, **options: Any) -> int:
        """Run jobs on this thread with this app's agents (``jobs.executor: workers``: the
        processes that run jobs must know the agent types registered in code)."""
        return run_worker(config=self.settings, agents=self._agents or None, **options)

    # --- events -----------------------------------------------------------------------------

    def on(self, kind: str) -> Callable[[T], T]:
        """Call the decorated function (sync or async) with each job event of ``kind``
        (``"node_failed"``, ``"job_finished"``..., ``"*"`` for all) while the app is started
        (``async with app``, or its FastAPI app's lifespan after ``include_in_app``). A
        handler that raises is logged, and the next event still comes."""
        if kind != "*" and kind not in EVENT_KINDS:
            raise AgentError(
                f"@app.on({kind!r}): no such event{did_you_mean(kind, EVENT_KINDS)}; the "
                f"events are {', '.join(EVENT_KINDS)} (or '*' for all)"
            )

        def register(handler: T) -> T:
            if not callable(handler):
                raise AgentError(f"@app.on({kind!r}): {handler!r} is not callable")
            self._handlers.setdefault(kind, []).append(handler)
            return handler

        return register

    async def start(self) -> None:
        """Start this process's job worker (``jobs.executor: local``) and the delivery of
        events to ``@app.on`` handlers. Nested starts are counted."""
        self._started += 1
        if self._started > 1:
            return
        host = self._host()
        host.jobs_added([])  # the worker starts now: jobs left queued run too
        if self._handlers:
            self._feed = EventFeed(host.queue.table)
            self._dispatching = asyncio.create_task(self._dispatch(self._feed))

    async def stop(self) -> None:
        """Stop delivering events (when the last ``start`` ends)."""
        self._started = max(0, self._started - 1)
        if self._started:
            return
        if self._feed is not None:
            await self._feed.close()
            self._feed = None
        if self._dispatching is not None:
            self._dispatching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatching
            self._dispatching = None

    async def __aenter__(self) -> AgentMapApp:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def _dispatch(self, feed: EventFeed) -> None:
        async for event in feed.every():
            for handler in [*self._handlers.get(event.kind, ()), *self._handlers.get("*", ())]:
                try:
                    result = handler(event)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    logger.warning(
                        "event handler %r failed on %s of job %s",
                        handler,
                        event.kind,
                        event.job_id,
                        exc_info=True,
                    )

    # --- HTTP -------------------------------------------------------------------------------

    def routers(self) -> list[APIRouter]:
        """Every router of the service: jobs, events, graphs, agents, runs, monitoring."""
        from agentmap.service.app import ROUTERS

        return list(ROUTERS)

    def include_in_app(self, app: FastAPI, prefix: str = "") -> None:
        """Mount every router in ``app`` under ``prefix``, answering with this app's agents,
        graphs and configuration; ``app``'s lifespan starts and stops this one."""
        from agentmap.service.app import install

        install(app, self.settings, application=self, prefix=prefix)
        before = app.router.lifespan_context

        @contextlib.asynccontextmanager
        async def lifespan(served: Any) -> AsyncIterator[Any]:
            async with self, before(served) as state:
                yield state

        app.router.lifespan_context = lifespan

    def _host(self) -> JobHost:
        return job_host(self.settings, self._agents or None)


def _tool(function: Callable[..., Any], type_name: str) -> Callable[[Mapping[str, Any]], Any]:
    """``function`` as a node's process: its parameters filled from the inputs by name."""
    signature = inspect.signature(function)
    parameters = [
        p
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY, p.POSITIONAL_ONLY)
    ]
    required = [p.name for p in parameters if p.default is p.empty]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())

    def arguments(inputs: Mapping[str, Any]) -> dict[str, Any]:
        named = {p.name: inputs[p.name] for p in parameters if p.name in inputs}
        if takes_any:
            named |= {k: v for k, v in inputs.items() if k not in named}
        missing = [name for name in required if name not in named]
        if missing and len(parameters) == 1 and len(inputs) == 1:
            return {parameters[0].name: next(iter(inputs.values()))}
        if missing:
            raise AgentError(
                f"tool '{type_name}' needs {', '.join(missing)}; the node gives "
                f"{', '.join(inputs) or 'no inputs'} — name them in its Input_Fields"
            )
        return named

    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def call_async(inputs: Mapping[str, Any]) -> Any:
            return await function(**arguments(inputs))

        return call_async

    @functools.wraps(function)
    def call(inputs: Mapping[str, Any]) -> Any:
        return function(**arguments(inputs))

    return call


def _parameters(target: object, kind: str) -> dict[str, Any]:
    """A tool's inputs (its parameters) and output (its return annotation)."""
    if kind != "tool" or not callable(target):
        return {}
    signature = inspect.signature(target)
    returns = signature.return_annotation
    return {
        "inputs": [name for name in signature.parameters if not name.startswith("*")],
        "output": None if returns is signature.empty else _annotation(returns),
    }


def _annotation(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    return str(getattr(annotation, "__name__", annotation))


def _where(target: object) -> str:
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"


def _first_line(text: str | None) -> str | None:
    return text.strip().splitlines()[0] if text and text.strip() else None
