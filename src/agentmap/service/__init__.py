"""agentmap over HTTP: a FastAPI app (``create_app``) and its routers, for ``agentmap serve`` or
mounting in your own FastAPI application. Needs ``agentmap[server]``; imported only here."""

from agentmap.service.app import create_app
from agentmap.service.routes import (
    events_router,
    graphs_router,
    health_router,
    jobs_router,
    monitoring_router,
)

__all__ = [
    "create_app",
    "events_router",
    "graphs_router",
    "health_router",
    "jobs_router",
    "monitoring_router",
]
