"""Jobs on a Dask cluster (``jobs.executor: dask``): Dask places them, the run store keeps them.

Dask decides where each job runs (a job's tags are the worker resources it needs: a worker
started with ``--resources gpu=1`` takes jobs tagged ``gpu``), watches its workers, and runs a
task again elsewhere when its worker died. Nothing durable is left to it: the dispatcher here
hands every job a worker could take now (queued, a retry that fell due, a lease that lapsed)
to the cluster as a task, and the task claims the job in the store before it runs it, exactly
as a local worker does — so a task Dask runs twice (its worker was only slow) finds the job
held and does nothing, and a job whose task was lost with the scheduler or with the process
that submitted it is handed out again by the next dispatcher that looks.

Workers need the project (its agents and functions) and its configuration: start them with
``agentmap worker --scheduler tcp://...`` from the project folder, or ``dask worker
tcp://... --preload agentmap.dask_executor`` there; the on-demand cluster of this machine gets
its configuration from the dispatcher. Dask is imported only here (``agentmap-runner[dask]``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterable, Sequence
from urllib.parse import urlparse

import distributed
from distributed import WorkerPlugin

from agentmap.config import Settings, load_settings
from agentmap.exceptions import ConfigError
from agentmap.jobhost import close_jobs, job_host
from agentmap.jobs import JobQueue

logger = logging.getLogger(__name__)

PLUGIN = "agentmap"
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "")


def check_store(settings: Settings) -> None:
    """Refuse a SQLite store for a cluster on other machines: they can't share its file."""
    address = settings.jobs.dask.address
    if address is None or not settings.storage.url.startswith("sqlite:"):
        return
    if not _is_local(address):
        raise ConfigError(
            f"jobs.dask.address is {address}, a cluster that may span several machines, but "
            f"the run store is a SQLite file ({settings.storage.url}), which only this machine "
            "can reach — set storage.url to a PostgreSQL database (postgresql://...)"
        )


class Plugin(WorkerPlugin):
    """The configuration a Dask worker runs jobs with (a Dask worker plugin)."""

    name = PLUGIN

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def setup(self, worker: distributed.Worker) -> None:
        """Nothing to start: the job services are made by the first job a worker runs."""

    def teardown(self, worker: distributed.Worker) -> None:
        """Give back the jobs this worker process runs, and close its store."""
        close_jobs()


def run_job(job_id: str) -> str:
    """The Dask task of a job: take it (if nobody holds it), run it until its attempt ends;
    the state it is left in."""
    plugin = distributed.get_worker().plugins.get(PLUGIN)
    if not isinstance(plugin, Plugin):
        raise ConfigError(
            "this Dask worker was not started for agentmap — start workers with `agentmap "
            "worker --scheduler ADDRESS` or `dask worker ADDRESS --preload agentmap.dask_executor`"
        )
    host = job_host(plugin.settings, None)
    host.run_worker(only=[job_id], concurrency=1, until=lambda: True)
    return host.queue.status(job_id).state


def dask_setup(worker: distributed.Worker) -> None:
    """``dask worker --preload agentmap.dask_executor``: run jobs with the configuration of the
    folder the worker was started in (its agentmap_config.yaml, AGENTMAP_* variables)."""
    worker.plugins[PLUGIN] = Plugin(load_settings())


class DaskDispatcher:
    """Hands the jobs of one run store to a Dask cluster, from a thread of its own."""

    def __init__(self, queue: JobQueue, settings: Settings) -> None:
        check_store(settings)
        self.queue = queue
        self.settings = settings
        self.client: distributed.Client | None = None
        self._cluster: distributed.LocalCluster | None = None
        self._submitted: dict[str, distributed.Future[str]] = {}
        self._wakeup = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._dispatching = threading.Lock()

    def start(self) -> DaskDispatcher:
        """Connect to the cluster (or make this machine's) and start handing out jobs."""
        with self._lock:
            if self.client is None:
                self.client = self.connect()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._serve, name="agentmap-dask-dispatcher", daemon=True
                )
                self._thread.start()
        return self

    def dispatch(self) -> int:
        """Hand every job a worker could take now, and that has no task running, to the
        cluster; how many were handed out."""
        takeable = self.queue.table.takeable()  # outside the lock: create_job needn't wait
        with self._dispatching:
            for job_id in [key for key, task in self._submitted.items() if task.done()]:
                del self._submitted[job_id]  # ended (or lost): its job may be handed out again
            return sum(self._hand(job_id, tags) for job_id, tags in takeable)

    def hand(self, jobs: Iterable[tuple[str, Sequence[str]]]) -> None:
        """Hand these new jobs (id, tags) to the cluster now, without looking at the others:
        ``create_job`` returns once its job is with the scheduler."""
        with self._dispatching:
            for job_id, tags in jobs:
                self._hand(job_id, tags)

    def _hand(self, job_id: str, tags: Sequence[str]) -> bool:
        assert self.client is not None
        task = self._submitted.get(job_id)
        if task is not None and not task.done():
            return False  # its task is queued or running: it will take it, or find it held
        task = self.client.submit(
            run_job,
            job_id,
            key=f"agentmap-job-{job_id}-{uuid.uuid4().hex[:8]}",
            resources={tag: 1 for tag in tags} or None,
            pure=False,
        )
        distributed.fire_and_forget(task)  # it runs even if this process goes
        self._submitted[job_id] = task
        return True

    def stop(self) -> None:
        """Stop handing out jobs; close the client (and this machine's cluster, if made)."""
        self._stopping = True
        self._wakeup.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)
        with self._dispatching:
            self._submitted.clear()  # their tasks go on without us (fire and forget)
        with contextlib.suppress(Exception):
            if self.client is not None:
                self.client.close()
        with contextlib.suppress(Exception):
            if self._cluster is not None:
                self._cluster.close()

    def _serve(self) -> None:
        while not self._stopping:
            try:
                self.dispatch()
            except Exception:  # the store or the scheduler is away: say so, look again later
                logger.warning("can't hand jobs to the Dask cluster", exc_info=True)
            self._wakeup.wait(self.settings.jobs.poll_interval)
            self._wakeup.clear()

    def connect(self) -> distributed.Client:
        """A client of the configured scheduler, or of a cluster of this machine made now."""
        dask = self.settings.jobs.dask
        if dask.address is not None:
            try:
                return distributed.Client(dask.address, timeout=10, set_as_default=False)
            except OSError as exc:
                raise ConfigError(
                    f"jobs.dask.address: can't reach the Dask scheduler at {dask.address} "
                    f"({exc}) — start it with `dask scheduler`, or fix the address"
                ) from exc
        self._cluster = distributed.LocalCluster(
            n_workers=dask.workers,
            threads_per_worker=dask.threads,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,  # no HTTP server nobody asked for
            silence_logs=logging.WARNING,
        )
        client = distributed.Client(self._cluster, set_as_default=False)
        client.register_plugin(Plugin(self.settings), name=PLUGIN)
        return client


async def serve_worker(
    scheduler: str, settings: Settings, *, tags: tuple[str, ...] = (), nthreads: int = 4
) -> None:
    """Be a Dask worker of ``scheduler`` that runs this project's jobs (``agentmap worker
    --scheduler``), until cancelled. ``tags`` become resources: it takes jobs tagged with
    them, ``nthreads`` at a time."""
    check_store(
        settings.model_copy(
            update={
                "jobs": settings.jobs.model_copy(
                    update={"dask": settings.jobs.dask.model_copy(update={"address": scheduler})}
                )
            }
        )
    )
    resources = {tag: float(nthreads) for tag in tags} or None
    try:
        worker = distributed.Worker(
            scheduler,
            nthreads=nthreads,
            resources=resources,
            plugins=(Plugin(settings),),
            dashboard=False,
            host="127.0.0.1" if _is_local(scheduler) else None,
        )
        await worker
    except OSError as exc:
        raise ConfigError(
            f"--scheduler: can't reach the Dask scheduler at {scheduler} ({exc}) — start it "
            "with `dask scheduler`, or fix the address"
        ) from exc
    try:
        await worker.finished()
    finally:
        await worker.close()


def _is_local(address: str) -> bool:
    host = urlparse(address if "://" in address else f"tcp://{address}").hostname or ""
    return host in _LOCAL_HOSTS
