"""``/runs``: the run history over HTTP — what ``agentmap runs list|show|stats --json`` print,
for a dashboard or a script that has no shell on the machine with the run store.

Each route opens the run store of the service's configuration and returns the document
``agentmap.store.history`` builds for the CLI too, so both always say the same. The routes are
plain ``def``: FastAPI runs them on a thread, so reading the store never blocks the event
loop (and the event streams on it).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from agentmap.api import open_run_store, runs_stats
from agentmap.service.responses import problem_responses
from agentmap.service.routes import authorized, service
from agentmap.store.history import list_runs, run_report, stats_rows
from agentmap.store.records import Status

runs_router = APIRouter(
    prefix="/runs",
    tags=["runs"],
    dependencies=[Depends(authorized)],
    responses=problem_responses(401, 422, 503),
)

GraphName = Annotated[
    str | None,
    Query(description="Only runs of this graph (its name, as GraphName says; empty: every graph)"),
]


@runs_router.get("")
def get_runs(
    request: Request,
    graph: GraphName = None,
    status: Annotated[Status | None, Query(description="Only runs with this status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many runs")] = 20,
) -> dict[str, Any]:
    """The stored runs, newest first (``agentmap runs list --json``): each run's record
    without its states, with ``nodes`` (node runs checkpointed), ``job`` and ``tags``. A run
    still marked running whose process is gone is ``crashed``."""
    with open_run_store(service(request).settings) as store:
        return list_runs(store, graph=graph or None, status=status, limit=limit).to_dict()


# Before /{run_id}, which would otherwise take "stats" for a run id.
@runs_router.get("/stats")
def get_runs_stats(request: Request, graph: GraphName = None) -> dict[str, Any]:
    """Per graph and node over the stored runs (``agentmap runs stats --json``): runs that
    ran it, times it ran, success rate (0 to 1), p50 and p95 duration in seconds (``null``
    when none was recorded)."""
    return {"nodes": stats_rows(runs_stats(graph or None, config=service(request).settings))}


@runs_router.get("/{run_id}", responses=problem_responses(404))
def get_run(
    request: Request,
    run_id: Annotated[
        str, Path(description="The run's id, or its first characters if only one run has them")
    ],
) -> dict[str, Any]:
    """One run (``agentmap runs show --json``): ``run`` (its whole record, with ``job`` and
    ``tags``), ``path`` (the nodes it ran, with outcome, duration, error, attempt), ``state``
    (its final state, or the state so far) and ``resume`` (the command that carries it on,
    or ``null``). 404 for an id no run has, or the start of more than one."""
    with open_run_store(service(request).settings) as store:
        return run_report(store, run_id).to_dict()
