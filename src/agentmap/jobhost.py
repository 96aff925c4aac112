"""A process's job services, one set per configuration: the queue, its worker thread
(``jobs.executor: local``) or its Dask dispatcher (``dask``), kept until the process exits.

The public functions (``create_job``, ``get_job_status``...) are called with a configuration
each time; building a container and opening a store per call would cost more than the call
itself, so the services for a configuration are made once and shared.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from agentmap.agents.catalog import AgentSource
from agentmap.config import Settings, load_settings, settings_from_dict
from agentmap.container import ConfigSource, build_container
from agentmap.jobs import Job, JobQueue
from agentmap.worker import Worker

if TYPE_CHECKING:
    from agentmap.batch import BatchRunner


class Dispatcher(Protocol):
    """Hands jobs to workers elsewhere (``dask_executor.DaskDispatcher``)."""

    def start(self) -> Dispatcher: ...
    def dispatch(self) -> int: ...
    def hand(self, jobs: Iterable[tuple[str, Sequence[str]]]) -> None: ...
    def stop(self) -> None: ...


class JobHost:
    """One configuration's long-lived services for jobs."""

    def __init__(self, settings: Settings, agents: Mapping[str, AgentSource] | None) -> None:
        self.settings = settings
        self.container = build_container(settings, agents)
        self.queue: JobQueue = self.container.jobs()
        self.dispatcher: Dispatcher | None = None
        self._make_dispatcher: Callable[[], Dispatcher] | None = None
        self._worker: Worker | None = None
        self._lock = threading.Lock()

    def use_dispatcher(self, make: Callable[[], Dispatcher]) -> None:
        """Hand jobs out with the dispatcher ``make()`` returns (made on the first job)."""
        self._make_dispatcher = make

    def dispatching(self) -> Callable[[], int] | None:
        """The dispatcher's ``dispatch``, started if need be (None: no dispatcher here)."""
        if self._make_dispatcher is None:
            return None
        with self._lock:
            if self.dispatcher is None:
                self.dispatcher = self._make_dispatcher().start()
        return self.dispatcher.dispatch

    def jobs_added(self, jobs: Iterable[Job]) -> None:
        """Make sure the new jobs run: hand them to the dispatcher (``jobs.executor: dask``),
        or wake this process's worker thread (``local``)."""
        if self._make_dispatcher is not None:
            with self._lock:
                if self.dispatcher is None:
                    self.dispatcher = self._make_dispatcher().start()
            self.dispatcher.hand((job.id, job.tags) for job in jobs)  # before create_job returns
            return
        if self.settings.jobs.executor != "local":
            return
        with self._lock:
            if self._worker is None or not self._worker.alive:
                runner = self.container.runner()
                self._worker = Worker(self.queue, runner, self.settings.jobs).start()
        self._worker.wake()

    def run_worker(
        self,
        *,
        tags: Iterable[str] | None = None,
        only: Iterable[str] | None = None,
        concurrency: int | None = None,
        until: Callable[[], bool] | None = None,
    ) -> int:
        """Run queued jobs on this thread until interrupted or ``until()``; attempts settled."""
        worker = Worker(
            self.queue,
            self.container.runner(),
            self.settings.jobs,
            tags=None if tags is None else frozenset(tags),
            only=None if only is None else frozenset(only),
            concurrency=concurrency,
        )
        with contextlib.suppress(KeyboardInterrupt):  # serve() gave its jobs back on the way out
            asyncio.run(worker.serve(until))
        return worker.ran

    def batches(self) -> BatchRunner:
        """Runs batches of this configuration's jobs, in this process."""
        from agentmap.batch import BatchRunner

        return BatchRunner(self.queue, self.container.runner(), self.settings.jobs)

    def close(self) -> None:
        """Stop the dispatcher and the worker thread (its jobs are given back), close the store."""
        if self.dispatcher is not None:
            self.dispatcher.stop()
        if self._worker is not None:
            self._worker.stop()
        self.container.shutdown_resources()


_HOSTS: dict[tuple[Any, ...], JobHost] = {}
_HOSTS_LOCK = threading.Lock()
_BY_OBJECT: dict[int, tuple[Settings, JobHost]] = {}  # id(settings) → (it, its host): no
# rebuilding the key (a JSON dump of every setting) for each call with the same Settings


def job_host(config: ConfigSource, agents: Mapping[str, AgentSource] | None) -> JobHost:
    """The job services for ``config`` (and ``agents``), made on first use."""
    if isinstance(config, Settings) and not agents:  # the service's case: the same object
        known = _BY_OBJECT.get(id(config))
        if known is not None and known[0] is config:
            return known[1]
    settings = config if isinstance(config, Settings) else settings_of(config)
    key = (
        settings.model_dump_json(),
        str(settings.source),
        tuple(sorted(agents.items(), key=lambda item: item[0])) if agents else (),
    )
    with _HOSTS_LOCK:
        host = _HOSTS.get(key)
        if host is None:
            if not _HOSTS:
                atexit.register(close_jobs)
            host = _HOSTS[key] = JobHost(settings, agents)
        if isinstance(config, Settings) and not agents:
            _BY_OBJECT[id(config)] = (config, host)
        return host


def settings_of(config: ConfigSource) -> Settings:
    """``config`` (a path, a mapping, or None: found or default) as ``Settings``."""
    if isinstance(config, Settings):
        return config
    if isinstance(config, Mapping):
        return settings_from_dict(config)
    return load_settings(config)


def close_jobs() -> None:
    """Stop this process's job workers and dispatchers (running jobs are given back to be
    carried on) and close their stores. Done at exit; call it to end them sooner."""
    with _HOSTS_LOCK:
        hosts = list(_HOSTS.values())
        _HOSTS.clear()
        _BY_OBJECT.clear()
    for host in hosts:
        host.close()
