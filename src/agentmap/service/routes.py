"""The service's routes, each a thin layer over one function of the public Python API.

The routers find their configuration on ``request.app.state.agentmap`` (a ``Service``, set by
``create_app``), so they can be included in any FastAPI app that has one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import tempfile
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.sse import KEEPALIVE_COMMENT, EventSourceResponse, format_sse_event
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from agentmap._version import __version__
from agentmap.api import (
    answer_job,
    cancel_job,
    create_job,
    get_job_results,
    get_job_status,
    list_jobs,
    open_run_store,
    validate_graph,
)
from agentmap.config import Settings
from agentmap.eventfeed import EventFeed
from agentmap.exceptions import GraphError, GraphFileError, JobError, JobFailedError, Problem
from agentmap.graph.loader import SUFFIXES, ValidationReport, split_source
from agentmap.jobs import page_cursor
from agentmap.service.auth import Keys
from agentmap.service.problems import problem
from agentmap.service.responses import problem_responses
from agentmap.store.jobstore import JobEvent, JobState, JobStore

if TYPE_CHECKING:
    from agentmap.agents.catalog import AgentSource
    from agentmap.jobhost import JobHost
    from agentmap.service.metrics import EventTally
    from agentmap.store.registry import RegisteredGraph

LARGEST = 2**31 - 1
"""The largest whole number a job's ``priority`` or ``max_retries`` may be: the store keeps them
in 32-bit columns (PostgreSQL's INTEGER), and a larger one must be refused (422), not fail the
insert."""


class Application(Protocol):
    """What the service asks of an ``AgentMapApp`` it serves (a protocol: the app object
    imports the service, not the other way round)."""

    @property
    def agents(self) -> Mapping[str, AgentSource]: ...
    def has_graph(self, graph_id: str) -> bool: ...
    def graph(self, graph_id: str, version: str | None = None) -> RegisteredGraph: ...
    def agent_types(self) -> list[dict[str, Any]]: ...


KEEPALIVE = 15.0
"""Seconds between comments on a quiet event stream (proxies close silent connections)."""


class Service:
    """What the routes need: the configuration, the API keys it accepts, and the feed of
    jobs' events its streams read."""

    def __init__(
        self, settings: Settings, keys: Keys, application: Application | None = None
    ) -> None:
        self.settings = settings
        self.keys = keys
        self.application = application
        self.agents = application.agents if application is not None else None
        self._feed: EventFeed | None = None
        self._tally: EventTally | None = None
        self._lock = threading.Lock()

    def host(self) -> JobHost:
        """This process's job services for the service's configuration (and agents)."""
        from agentmap.jobhost import job_host

        return job_host(self.settings, self.agents or None)

    @property
    def jobs(self) -> JobStore:
        """The job store the service's jobs are in."""
        return self.host().queue.table

    def tally(self) -> EventTally:
        """The node numbers counted from jobs' events (made on first use)."""
        from agentmap.service.metrics import EventTally

        with self._lock:
            if self._tally is None:
                self._tally = EventTally(self.jobs)
            return self._tally

    def feed(self) -> EventFeed:
        """The feed of jobs' events (made on first use, on the serving loop)."""
        if self._feed is None:
            self._feed = EventFeed(self.jobs)
        return self._feed

    def job_graph(self, graph: str, version: str | None) -> tuple[str, str | None, str | None]:
        """What ``POST /jobs`` runs: a graph the application registered (by id, at
        ``version`` or its highest), else a file in the graphs folder; with the registered
        id and version, if any."""
        application = self.application
        if application is not None and (version is not None or application.has_graph(graph)):
            entry = application.graph(graph, version)
            return entry.source, entry.id, entry.version
        if version is not None:
            raise JobError(
                "version: only a registered graph has versions; this service has none registered"
            )
        return self.graph_path(graph), None, None

    async def close(self) -> None:
        """Stop the feed: its streams end."""
        if self._feed is not None:
            await self._feed.close()
            self._feed = None

    @property
    def graphs(self) -> Path:
        """The folder graphs are read from (and nothing outside it)."""
        return Path(self.settings.paths.graphs).resolve()

    def graph_path(self, source: str) -> str:
        """``source`` (``flow.csv`` or ``flow.csv::Graph``) as a path inside the graphs
        folder; ``GraphFileError`` for anything that would reach outside it."""
        if "\x00" in source:  # no file name holds one (and the OS refuses to look one up)
            raise GraphFileError(
                f"graph: {source!r} holds a NUL character, so it names no file — name a file in "
                "the graphs folder, relative to it (e.g. flow.csv or flow.csv::Main)"
            )
        path, name = split_source(source)
        folder = self.graphs
        target = (folder / path).resolve()
        if path.is_absolute() or not target.is_relative_to(folder):
            raise GraphFileError(
                f"graph: '{path}' is outside the graphs folder — name a file in it, relative to "
                "it (e.g. flow.csv or flow.csv::Main)",
                file=str(path),
            )
        return f"{target}::{name}" if name else str(target)


def service(request: Request) -> Service:
    """The ``Service`` of the app serving ``request``."""
    found: Service = request.app.state.agentmap
    return found


def authorized(request: Request) -> None:
    """Every route but /healthz needs an accepted API key, when keys are set."""
    service(request).keys.check(request)


health_router = APIRouter(tags=["health"])
jobs_router = APIRouter(
    prefix="/jobs",
    tags=["jobs"],
    dependencies=[Depends(authorized)],
    responses=problem_responses(401, 422, 503),
)
graphs_router = APIRouter(
    prefix="/graphs",
    tags=["graphs"],
    dependencies=[Depends(authorized)],
    responses=problem_responses(401, 422),
)


# --- health -----------------------------------------------------------------------------------


@health_router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (no key needed)."""
    return {"status": "ok"}


@health_router.get(
    "/readyz", dependencies=[Depends(authorized)], responses=problem_responses(401, 503)
)
def readyz(request: Request) -> dict[str, str]:
    """The run store can be reached (503 otherwise)."""
    with open_run_store(service(request).settings) as store:
        store.list(limit=1)
    return {"status": "ready"}


@health_router.get(
    "/metrics",
    dependencies=[Depends(authorized)],
    response_class=Response,
    responses=problem_responses(401, 503),
)
def metrics(request: Request) -> Response:
    """Prometheus metrics: jobs by state, queue depth, retries, live workers, job durations;
    node durations, failures and retries by graph and node, model tokens and cost, events."""
    from agentmap.service.metrics import CONTENT_TYPE, metrics_text

    here = service(request)
    return Response(metrics_text(here.jobs, here.tally()), media_type=CONTENT_TYPE)


monitoring_router = APIRouter(
    prefix="/monitoring",
    tags=["monitoring"],
    dependencies=[Depends(authorized)],
    responses=problem_responses(401, 503),
)
_STARTED = time.time()


@monitoring_router.get("/jobs")
def monitoring_jobs(request: Request) -> dict[str, Any]:
    """Jobs by state, success rate of those that ended, p50/p95 duration, retries, queue."""
    numbers = service(request).jobs.numbers()
    ended = {state: numbers.by_state.get(state, 0) for state in ("completed", "failed")}
    finished = sum(ended.values())
    durations = sorted(numbers.durations)
    return {
        "by_state": numbers.by_state,
        "queue_depth": numbers.takeable,
        "retries": numbers.retries,
        "success_rate": ended["completed"] / finished if finished else None,
        "duration_p50": _quantile(durations, 0.50),
        "duration_p95": _quantile(durations, 0.95),
    }


@monitoring_router.get("/workers")
def monitoring_workers(request: Request) -> dict[str, Any]:
    """The workers holding jobs now, with their last lease renewal's deadline."""
    return {"workers": service(request).jobs.workers()}


@monitoring_router.get("/system")
def monitoring_system(request: Request) -> dict[str, Any]:
    """This service: version, uptime, executor, store (its location, never its password),
    and the jobs' events recorded, by kind."""
    here = service(request)
    settings = here.settings
    tally = here.tally()
    tally.update()
    return {
        "version": __version__,
        "uptime": time.time() - _STARTED,
        "executor": settings.jobs.executor,
        "concurrency": settings.jobs.concurrency,
        "store": service(request).jobs.location,
        "events": dict(sorted(tally.kinds.items())),
    }


def _quantile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- jobs -------------------------------------------------------------------------------------


def _unicode(value: Any) -> Any:
    """Refuse text that JSON can carry but UTF-8 can't: a lone surrogate (``"\\ud800"``).
    pydantic refuses it in ``str`` fields; a free-form value (a state, an answer) would be
    recorded, then fail every response and ``agentmap runs show`` that has to write it out."""
    found = _not_unicode(value, "")
    if found is not None:
        raise PydanticCustomError(
            "not_unicode",
            "{found} is not Unicode (a lone surrogate such as \\ud800) — send text as UTF-8",
            {"found": found},
        )
    return value


def _not_unicode(value: Any, where: str) -> str | None:
    """What in ``value`` can't be UTF-8 (``text at a.b[2]``, ``a key at a``), or None."""
    at = f" at {where}" if where else ""
    if isinstance(value, str):
        return None if _encodes(value) else f"text{at}"
    if isinstance(value, dict):
        for key, item in value.items():
            if not _encodes(str(key)):
                return f"a key{at}"
            found = _not_unicode(item, f"{where}.{key}" if where else str(key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _not_unicode(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


Unicode = Annotated[Any, AfterValidator(_unicode)]
"""A free-form JSON value whose text is all Unicode."""


class NewJob(BaseModel):
    """``POST /jobs``: what to run."""

    model_config = ConfigDict(extra="forbid")

    graph: str = Field(
        description="A graph file in the graphs folder (flow.csv, or flow.csv::Main), or the "
        "id of a graph registered with AgentMapApp.register_graph"
    )
    version: str | None = Field(
        default=None, description="A registered graph's version (default: its highest)"
    )
    inputs: dict[str, Unicode] = Field(default_factory=dict, description="The run's initial state")
    tags: list[str] = Field(default_factory=list)
    retry_policy: dict[str, Unicode] | None = Field(
        default=None, description='e.g. {"type": "exponential", "max_retries": 3}'
    )
    max_retries: int | None = Field(default=None, ge=0, le=LARGEST)
    priority: int = Field(default=0, ge=-LARGEST - 1, le=LARGEST, description="Higher runs first")
    name: str | None = None

    @field_validator("retry_policy")
    @classmethod
    def _retries_fit(cls, policy: dict[str, Any] | None) -> dict[str, Any] | None:
        """The policy's ``max_retries`` is stored with the job, so it must fit, as
        ``max_retries`` itself must (the policy checks the rest)."""
        retries = (policy or {}).get("max_retries")
        if isinstance(retries, int) and retries > LARGEST:
            raise PydanticCustomError(
                "too_large",
                "max_retries must be at most {largest} (got {retries})",
                {"largest": LARGEST, "retries": retries},
            )
        return policy


CREATED: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "The job, recorded: a worker runs it",
        "headers": {"Location": {"description": "The job's URL", "schema": {"type": "string"}}},
    }
}


@jobs_router.post("", status_code=202, responses=CREATED | problem_responses(404, 413))
def post_job(body: NewJob, request: Request, response: Response) -> dict[str, Any]:
    """Record a job; a worker runs it. 202 with the job and its URL."""
    here = service(request)
    graph, graph_id, version = here.job_graph(body.graph, body.version)
    job = create_job(
        graph,
        body.inputs,
        tags=body.tags,
        retry_policy=body.retry_policy,
        max_retries=body.max_retries,
        priority=body.priority,
        name=body.name,
        config=here.settings,
        agents=here.agents,
        graph_id=graph_id,
        graph_version=version,
    )
    url = f"{request.url.path.rstrip('/')}/{job.id}"
    response.headers["Location"] = url
    return {"job": job.as_created().to_dict(), "url": url}


@jobs_router.get("")
def get_jobs(
    request: Request,
    status: JobState | None = None,
    tag: Annotated[list[str] | None, Query()] = None,
    graph: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Jobs, newest first, a page at a time: pass ``next_cursor`` back as ``cursor``. An
    empty ``tag``, ``graph`` or ``cursor`` is as good as none (``?cursor=``: the first page)."""
    settings = service(request).settings
    tags = [given for given in tag or () if given]
    found = list_jobs(
        status, tags, graph or None, limit + 1, cursor=cursor or None, config=settings
    )
    more = len(found) > limit
    page = found[:limit]
    return {
        "jobs": [job.to_dict() for job in page],
        "next_cursor": page_cursor(page[-1]) if more and page else None,
    }


@jobs_router.get("/{job_id}", responses=problem_responses(404))
def get_job(job_id: str, request: Request) -> dict[str, Any]:
    """Where a job stands; a waiting job also says what it asks (``waiting``: per waiting
    node its ``node``, ``question``, ``kind`` and ``options``; an edit's ``draft``; with a time
    limit its ``deadline`` and ``on_timeout``), for ``/answer``."""
    here = service(request)
    status = get_job_status(job_id, config=here.settings)
    found = status.to_dict()
    if status.state == "waiting":
        found["waiting"] = here.host().queue.questions(status.id)
    return found


@jobs_router.get(
    "/{job_id}/events",
    response_class=Response,
    responses={
        200: {
            "description": "The job's events as Server-Sent Events",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        204: {"description": "The job ended, and has no event after Last-Event-ID"},
        **problem_responses(404, 422),
    },
)
async def get_events(
    job_id: str,
    request: Request,
    last_event_id: Annotated[
        str | None,
        Header(description="The id of the last event seen: the stream goes on after it"),
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, description="Start after this event number (as Last-Event-ID)")
    ] = None,
) -> Response:
    """The job's events as Server-Sent Events: those recorded first, then each as it comes,
    until the job finishes. Each has its number as ``id``, its kind as ``event``
    (``job_started``, ``node_started``, ``node_completed``, ``node_failed``,
    ``node_retrying``, ``output_chunk``, ``job_waiting``, ``job_answered``,
    ``job_retrying``, ``job_released``, ``job_queued``, ``job_finished``) and JSON ``data``.
    A client that reconnects with ``Last-Event-ID`` gets the events after it, no gap and no
    repeat."""
    here = service(request)
    status = await asyncio.to_thread(get_job_status, job_id, config=here.settings)
    start = _last_event_id(last_event_id) if last_event_id is not None else (after or 0)
    feed = here.feed()
    if status.ended:
        table = here.jobs
        if not await asyncio.to_thread(table.events, status.id, start, 1):
            return Response(status_code=204)  # tells an EventSource not to reconnect
    return EventSourceResponse(_sse(feed.follow(status.id, start)))


events_router = APIRouter(
    tags=["jobs"], dependencies=[Depends(authorized)], responses=problem_responses(401, 422, 503)
)


@events_router.get(
    "/events",
    response_class=Response,
    responses={
        200: {
            "description": "Every job's events as Server-Sent Events",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def get_all_events(
    request: Request,
    since: Annotated[
        float | None,
        Query(description="Seconds since the epoch: start with the events from then (now)"),
    ] = None,
) -> Response:
    """Every job's events as Server-Sent Events, as they are recorded (what a dashboard of
    all jobs listens to). Each event's ``id`` is ``<job id>:<number>``; within a job they
    come in order. For one job without gaps across reconnects, use /jobs/{id}/events."""
    feed = service(request).feed()
    return EventSourceResponse(_sse(feed.every(since), every=True))


def _last_event_id(text: str) -> int:
    if not text.strip().isdigit():
        raise JobError(
            f"Last-Event-ID: {text!r} is not an event's id — send back the id of the last "
            "event received (a whole number)"
        )
    return int(text)


async def _sse(events: AsyncGenerator[JobEvent], every: bool = False) -> AsyncIterator[bytes]:
    """``events`` in the SSE format, with a keep-alive comment when the stream is quiet
    (``every``: events of many jobs, whose ids then name their job)."""
    upcoming = asyncio.ensure_future(anext(events))
    try:
        while True:
            done, _ = await asyncio.wait({upcoming}, timeout=KEEPALIVE)
            if not done:
                yield KEEPALIVE_COMMENT
                continue
            try:
                event = upcoming.result()
            except StopAsyncIteration:
                return
            data = json.dumps(event.to_dict(), ensure_ascii=False, default=str)
            name = f"{event.job_id}:{event.seq}" if every else str(event.seq)
            yield format_sse_event(data_str=data, event=event.kind, id=name)
            upcoming = asyncio.ensure_future(anext(events))
    finally:
        upcoming.cancel()
        await asyncio.gather(upcoming, return_exceptions=True)
        await events.aclose()


@jobs_router.get("/{job_id}/results", responses=problem_responses(404, 409))
def get_results(job_id: str, request: Request) -> dict[str, Any]:
    """A finished job's final state and summary; a failed or cancelled job's too, with its
    error (409 while it is not finished)."""
    settings = service(request).settings
    try:
        return get_job_results(job_id, config=settings).to_dict()
    except JobFailedError as error:  # a failed or cancelled job: its results, with its error
        if error.job is None:
            raise
        return error.job.to_dict()


class Answer(BaseModel):
    """``POST /jobs/{id}/answer``: exactly one of ``value``, ``approve``, ``choice``.

    An edited text or a conversation's message is a ``value``; ``approve: true`` keeps an
    edit's text as it was, ``approve: false`` ends a conversation."""

    model_config = ConfigDict(extra="forbid")

    node: str | None = Field(default=None, description="The waiting node, when several wait")
    value: Unicode = None
    approve: bool | None = None
    choice: int | None = Field(default=None, ge=1, description="An option's number, from 1")


@jobs_router.post("/{job_id}/answer", responses=problem_responses(404, 409, 413))
def post_answer(job_id: str, body: Answer, request: Request) -> dict[str, Any]:
    """Answer the person's step a waiting job asks (409 if it isn't waiting, 422 if the
    answer doesn't fit); a worker carries the job on with it."""
    given = [v for v in (body.value, body.approve, body.choice) if v is not None]
    if len(given) != 1:
        raise JobError("give exactly one of value, approve, choice")
    here = service(request)
    answered = answer_job(
        job_id, given[0], node=body.node, config=here.settings, agents=here.agents
    )
    return answered.to_dict()


@jobs_router.post("/{job_id}/cancel", response_model=None, responses=problem_responses(404, 409))
def post_cancel(job_id: str, request: Request) -> dict[str, Any] | JSONResponse:
    """Cancel a job (409 if it already ended)."""
    settings = service(request).settings
    before = get_job_status(job_id, config=settings)
    if before.ended:
        return problem(
            409, "not-allowed", f"job {before.id} already {before.state}; it can't be cancelled",
            state=before.state,
        )  # fmt: skip
    return cancel_job(before.id, config=settings).to_dict()


# --- graphs -----------------------------------------------------------------------------------


@graphs_router.get("")
def get_graphs(request: Request) -> dict[str, Any]:
    """Every graph in the graphs folder: file and graph, entry node, node count, validity."""
    here = service(request)
    listed: list[dict[str, Any]] = []
    for path in sorted(p for p in here.graphs.rglob("*") if p.suffix.lower() in SUFFIXES):
        try:
            report = validate_graph(path, config=here.settings, agents=here.agents)
        except GraphFileError as error:
            listed.append({"file": _relative(path, here), "error": error.message})
            continue
        for name, graph in report.file.graphs.items():
            errors = [p for p in report.errors if p.graph in (None, name)]
            listed.append(
                {
                    "id": f"{_relative(path, here)}::{name}",
                    "file": _relative(path, here),
                    "graph": name,
                    "entry": graph.entry,
                    "nodes": len(graph.nodes),
                    "valid": not errors,
                    "problems": len(errors),
                }
            )
    return {"graphs": listed}


@graphs_router.get("/{file:path}", responses=problem_responses(404))
def get_graph(file: str, request: Request, graph: str | None = None) -> dict[str, Any]:
    """One graph file (or ``?graph=`` one graph of it): its nodes, its validation report with
    placed problems, and its Mermaid diagram."""
    from agentmap.graph.diagram import to_mermaid

    here = service(request)
    path, name = split_source(here.graph_path(f"{file}::{graph}" if graph else file))
    report = validate_graph(path, name, config=here.settings, agents=here.agents)
    graphs = {
        graph_name: {
            "entry": g.entry,
            "nodes": [
                {
                    "name": node.name,
                    "agent_type": node.agent_type,
                    "inputs": [key for key, _ in node.inputs],
                    "outputs": list(node.outputs),
                    "description": node.description,
                }
                for node in g.nodes.values()
            ],
            "mermaid": to_mermaid(g),
        }
        for graph_name, g in report.file.graphs.items()
        if name is None or graph_name == name
    }
    return {"file": _relative(path, here), "graphs": graphs, **_report(report)}


class GraphText(BaseModel):
    """``POST /graphs/validate``: a graph file's text, checked and not saved."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=5_000_000)
    format: Literal["csv", "yaml", "json"] = "csv"


@graphs_router.post("/validate", responses=problem_responses(413))
def post_validate(body: GraphText, request: Request) -> dict[str, Any]:
    """Every problem of the posted graph, placed by row and cell; nothing is written."""
    with tempfile.TemporaryDirectory(prefix="agentmap-validate-") as folder:
        path = Path(folder) / f"posted.{body.format}"
        path.write_text(body.text, encoding="utf-8")
        here = service(request)
        try:
            report = validate_graph(path, config=here.settings, agents=here.agents)
        except GraphFileError as error:  # text that can't be read as a graph at all: a bad body
            raise _posted_unreadable(error, path) from error
    return _report(report, file="posted")  # not the temporary file's path


def _posted_unreadable(error: GraphFileError, path: Path) -> GraphError:
    """``error`` about the posted text's temporary file, about ``body.text`` instead: the
    client never saw that file, and the text it sent is bad input (422), not a missing
    graph (404)."""
    message = error.message.replace(str(path), "body.text")
    if "body.text" not in message:
        message = f"body.text: {message}"
    return GraphError(message, file="posted", row=error.row, column=error.column)


def _report(report: ValidationReport, file: str | None = None) -> dict[str, Any]:
    def shown(found: Problem) -> dict[str, Any]:
        return _problem(dataclasses.replace(found, file=file) if file else found)

    return {
        "valid": report.ok,
        "errors": [shown(p) for p in report.errors],
        "warnings": [shown(p) for p in report.warnings],
    }


def _problem(found: Problem) -> dict[str, Any]:
    return {
        "message": found.message,
        "place": found.place,
        "row": found.row,
        "cell": found.cell,
        "field": found.field,
        "graph": found.graph,
        "node": found.node,
        "file": found.file,
    }


def _relative(path: Path, here: Service) -> str:
    return path.resolve().relative_to(here.graphs).as_posix()
