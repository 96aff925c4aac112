"""The FastAPI app: the routers, the error map, API keys, CORS, a body size limit, and the job
worker that runs the jobs it takes in (started with the app, given back when it stops)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware

from agentmap._version import __version__
from agentmap.container import ConfigSource
from agentmap.jobhost import close_jobs, job_host, settings_of
from agentmap.service import problems
from agentmap.service.auth import Keys
from agentmap.service.routes import (
    Service,
    events_router,
    graphs_router,
    health_router,
    jobs_router,
    monitoring_router,
)


def create_app(config: ConfigSource = None) -> FastAPI:
    """The service's app for ``config`` (a file, a mapping, ``Settings``, or None: found or
    defaults). With ``jobs.executor: local`` it runs the jobs it takes in, and the jobs left
    queued in the store, on a worker thread; stopping the app gives running jobs back."""
    settings = settings_of(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        host = job_host(settings, None)
        host.jobs_added([])  # start the worker now: jobs queued before still run
        try:
            yield
        finally:
            await app.state.agentmap.close()
            close_jobs()

    app = FastAPI(
        title="agentmap",
        version=__version__,
        description="Run graph workflows as jobs; see docs/service.md.",
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry hooks: off, so nothing is exported (no telemetry, even
        # when FASTAPI_OTEL_AUTO_CONFIGURE is set) and requests don't pay for spans
        telemetry={
            "tracing": False,
            "metrics": False,
            "logs": False,
            "operation_spans": False,
            "auto_configure": False,
        },
    )
    app.state.agentmap = Service(settings, Keys(settings.server))
    problems.install(app)
    if settings.server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.server.cors_origins),
            allow_methods=["*"],
            allow_headers=["*"],
        )
    limit = settings.server.max_body_bytes

    @app.middleware("http")
    async def _body_limit(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return problems.problem(
                413, "body-too-large", f"the request body is over {limit} bytes "
                "(server.max_body_bytes)",
            )  # fmt: skip
        return await call_next(request)

    for router in (health_router, jobs_router, events_router, graphs_router, monitoring_router):
        app.include_router(router)
    return app
