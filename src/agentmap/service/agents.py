"""``GET /agents``: the agent types graphs can use here, and where each comes from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request

from agentmap.agents.catalog import describe_agents
from agentmap.service.routes import authorized, service

agents_router = APIRouter(prefix="/agents", tags=["agents"], dependencies=[Depends(authorized)])


@agents_router.get("")
def get_agents(request: Request) -> dict[str, Any]:
    """Every agent type: built-in, from the agents folder (paths.custom_agents), or registered
    in code (``AgentMapApp.agent`` / ``.tool``), with its description, aliases, the packages
    it needs, its inputs and output when it declares them, and where it comes from."""
    here = service(request)
    if here.application is not None:
        return {"agents": here.application.agent_types()}
    folder = Path(here.settings.paths.custom_agents)
    return {"agents": describe_agents(folder)}
