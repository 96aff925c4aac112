"""The run history as JSON documents: what ``agentmap runs list|show|stats --json`` print and
``GET /runs``, ``GET /runs/{id}`` and ``GET /runs/stats`` serve.

They are built here, once, so the command line and the HTTP API can't drift apart: each caller
reads the store through these functions and only draws (or serves) what they return.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentmap.store.analytics import Step, node_counts, run_path, state_so_far
from agentmap.store.jobstore import JobStore
from agentmap.store.records import FINAL_FAILURE, RESUMABLE, RunRecord, Status

if TYPE_CHECKING:
    import pandas as pd

    from agentmap.store.runstore import RunStore

LEFT_OUT = ("initial_state", "final_state", "summary", "node_hashes")
"""What a listing leaves out of each run: the heavy parts, which ``RunStore.list`` doesn't read."""


def resume_hint(run_id: str) -> str:
    """The command that carries run ``run_id`` on, in the project it ran in."""
    return f"agentmap resume {run_id}"


@dataclass(frozen=True, slots=True)
class RunListing:
    """Runs as ``agentmap runs list`` shows them: the records (newest first), how many node
    runs each checkpointed, and the tags of those that are jobs (run id → tags)."""

    records: list[RunRecord]
    nodes: dict[str, int]
    jobs: dict[str, tuple[str, ...]]

    def to_dict(self) -> dict[str, Any]:
        """``{"runs": [...]}``: each run's record without its states, with ``nodes`` (``None``
        for a run made without checkpoints), ``job`` and ``tags``."""
        return {"runs": [self._listed(record) for record in self.records]}

    def _listed(self, record: RunRecord) -> dict[str, Any]:
        data = {key: value for key, value in record.to_dict().items() if key not in LEFT_OUT}
        job = self.jobs.get(record.id)
        data["nodes"] = self.nodes[record.id] if record.checkpoints else None
        data["job"] = job is not None
        data["tags"] = list(job or ())
        return data


def list_runs(
    store: RunStore,
    *,
    graph: str | None = None,
    status: Status | None = None,
    limit: int | None = 20,
) -> RunListing:
    """The runs ``agentmap runs list`` shows: of ``graph``, with ``status``, at most ``limit``
    (None: all), newest first — with their node counts and job tags, read in one query each."""
    records = store.list(graph=graph, status=status, limit=limit)
    ids = [record.id for record in records]
    return RunListing(records, node_counts(store, ids), JobStore(store).tags_for(ids))


@dataclass(frozen=True, slots=True)
class RunReport:
    """One run as ``agentmap runs show`` shows it: its record, the path it took, its final state
    (or the state so far), the command that carries it on (if it can be), and its job's tags
    (``None`` when the run is not a job)."""

    record: RunRecord
    path: list[Step]
    state: dict[str, Any]
    resume: str | None
    job: tuple[str, ...] | None

    def to_dict(self) -> dict[str, Any]:
        """``{"run", "path", "state", "resume"}``; ``run`` is the whole record plus ``job`` and
        ``tags``."""
        run = self.record.to_dict() | {"job": self.job is not None, "tags": list(self.job or ())}
        steps = [step._asdict() for step in self.path]
        return {"run": run, "path": steps, "state": self.state, "resume": self.resume}


def run_report(
    store: RunStore, run_id: str, *, resume: Callable[[str], str] = resume_hint
) -> RunReport:
    """Run ``run_id`` (or the only run whose id starts with it) as ``agentmap runs show``
    shows it; ``RunNotFoundError`` when no run, or more than one, matches. ``resume`` makes
    the command that carries a run on from its id (the CLI adds the ``--config`` it was given).
    """
    record = store.get(run_id)
    checkpoints = store.checkpoints(record.id)
    can_resume = (
        record.status in RESUMABLE
        and record.checkpoints
        and not (record.summary or {}).get(FINAL_FAILURE)
    )
    return RunReport(
        record=record,
        path=run_path(record, checkpoints),
        state=state_so_far(record, checkpoints),
        resume=resume(record.id) if can_resume else None,
        job=JobStore(store).tags_for([record.id]).get(record.id),
    )


def stats_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``node_stats``'s frame as JSON-ready dicts, in its column order, with NaN
    (a node with no recorded durations) as ``None``: JSON has no NaN."""
    return [
        {
            str(key): None if isinstance(value, float) and math.isnan(value) else value
            for key, value in row.items()
        }
        for row in frame.to_dict(orient="records")
    ]
