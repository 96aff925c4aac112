"""agentmap over HTTP: a FastAPI app (``create_app``) and its routers, for ``agentmap serve`` or
mounting in your own FastAPI application. Needs ``agentmap-runner[server]``; imported only here."""

from agentmap.service.app import create_app
from agentmap.service.dashboard import dashboard_router
from agentmap.service.history import runs_router
from agentmap.service.routes import (
    events_router,
    graphs_router,
    health_router,
    jobs_router,
    monitoring_router,
)

__all__ = [
    "create_app",
    "dashboard_router",
    "events_router",
    "graphs_router",
    "health_router",
    "jobs_router",
    "monitoring_router",
    "runs_router",
]
