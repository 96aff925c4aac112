"""The FastAPI app: the routers, the error map, API keys, CORS, a body size limit, and the job
worker that runs the jobs it takes in (started with the app, given back when it stops)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from agentmap._version import __version__
from agentmap.config import Settings
from agentmap.container import ConfigSource
from agentmap.jobhost import close_jobs, job_host, settings_of
from agentmap.security import enforced
from agentmap.service import problems
from agentmap.service.agents import agents_router
from agentmap.service.auth import Keys
from agentmap.service.dashboard import dashboard_router
from agentmap.service.history import runs_router
from agentmap.service.limits import BodyLimit
from agentmap.service.routes import (
    Application,
    Service,
    events_router,
    graphs_router,
    health_router,
    jobs_router,
    monitoring_router,
)

ROUTERS = (
    health_router,
    jobs_router,
    events_router,
    graphs_router,
    agents_router,
    runs_router,
    monitoring_router,
    dashboard_router,
)
"""Every router of the HTTP API, in the order they are included."""


def create_app(config: ConfigSource = None) -> FastAPI:
    """The service's app for ``config`` (a file, a mapping, ``Settings``, or None: found or
    defaults). With ``jobs.executor: local`` it runs the jobs it takes in, and the jobs left
    queued in the store, on a worker thread; stopping the app gives running jobs back."""
    # clients name and post graphs: the files they read are always limited (docs/security.md)
    settings = enforced(settings_of(config))

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
    install(app, settings)
    problems.install(app)
    if settings.server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.server.cors_origins),
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(BodyLimit, limit=settings.server.max_body_bytes)
    return app


def install(
    app: FastAPI,
    settings: Settings,
    *,
    application: Application | None = None,
    prefix: str = "",
) -> None:
    """Include every router in ``app`` under ``prefix``, serving ``settings`` (and
    ``application``'s agents and registered graphs). In an app of your own, only agentmap's
    errors get its problem details: your routes keep your error handlers."""
    app.state.agentmap = Service(settings, Keys(settings.server), application)
    if application is not None:  # someone else's app: answer agentmap's errors only
        problems.install_errors(app)
    for router in ROUTERS:
        app.include_router(router, prefix=prefix)
