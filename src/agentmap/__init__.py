"""agentmap: run AI-agent workflows defined as CSV tables.

from agentmap import run_graph
result = run_graph("graphs/hello.csv", {"input": "hi"})
print(result.final_state, result.success)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agentmap._version import __version__

if TYPE_CHECKING:
    from agentmap.agents.base import Agent, agent
    from agentmap.api import (
        aanswer_job,
        acancel_job,
        acreate_job,
        afollow_job,
        aget_job_results,
        aget_job_status,
        alist_jobs,
        answer_job,
        arun_graph,
        await_for_job,
        cancel_job,
        create_job,
        export_runs,
        get_job_results,
        get_job_status,
        job_events,
        list_jobs,
        load_graph,
        open_graph_runner,
        open_run_store,
        resume_batch,
        resume_run,
        run_batch,
        run_graph,
        run_worker,
        run_workflow,
        run_workflow_async,
        runs_stats,
        validate_graph,
        wait_for_job,
    )
    from agentmap.application import AgentMapApp
    from agentmap.convert import convert_graph
    from agentmap.diagnosis import Diagnosis, diagnose
    from agentmap.events import (
        Event,
        EventBus,
        NodeCompleted,
        NodeFailed,
        NodeOutputChunk,
        NodeRetrying,
        NodeStarted,
        RunCompleted,
        RunFailed,
        RunStarted,
    )
    from agentmap.exceptions import (
        AgentError,
        AgentMapError,
        ConfigError,
        GraphError,
        GraphFileError,
        GraphRegistrationError,
        GraphSelectionError,
        GraphValidationError,
        JobError,
        JobFailedError,
        JobNotFinishedError,
        JobNotFoundError,
        Problem,
        ResumeError,
        RunCancelled,
        RunError,
        RunNotFoundError,
        StateError,
        StoreError,
    )
    from agentmap.graph.diagram import to_dot, to_mermaid
    from agentmap.graph.loader import ValidationReport
    from agentmap.graph.model import Graph, Node
    from agentmap.graph.schema import graph_json_schema
    from agentmap.jobs import Job, JobResult, JobStatus
    from agentmap.llm.errors import LLMError, TransientLLMError
    from agentmap.outcomes import Failure, Output, Pause, Usage
    from agentmap.project import init_project
    from agentmap.results import ExecutionResult, ExecutionSummary, NodeResult, Waiting
    from agentmap.retry import ExponentialBackoffRetryPolicy, FixedDelayRetryPolicy, RetryPolicy
    from agentmap.scaffold import scaffold_graph
    from agentmap.store.jobstore import JobEvent

# Each name is imported on first use (``agentmap.run_graph`` imports the engine then), so
# ``import agentmap`` costs next to nothing and a command imports only what it runs.
_SOURCES = {
    "agentmap.agents.base": ("Agent", "agent"),
    "agentmap.api": (
        "aanswer_job",
        "acancel_job",
        "acreate_job",
        "afollow_job",
        "aget_job_results",
        "aget_job_status",
        "alist_jobs",
        "answer_job",
        "arun_graph",
        "await_for_job",
        "cancel_job",
        "create_job",
        "export_runs",
        "get_job_results",
        "get_job_status",
        "job_events",
        "list_jobs",
        "load_graph",
        "open_graph_runner",
        "open_run_store",
        "resume_batch",
        "resume_run",
        "run_batch",
        "run_graph",
        "run_worker",
        "run_workflow",
        "run_workflow_async",
        "runs_stats",
        "validate_graph",
        "wait_for_job",
    ),
    "agentmap.application": ("AgentMapApp",),
    "agentmap.convert": ("convert_graph",),
    "agentmap.diagnosis": ("Diagnosis", "diagnose"),
    "agentmap.events": (
        "Event",
        "EventBus",
        "NodeCompleted",
        "NodeFailed",
        "NodeOutputChunk",
        "NodeRetrying",
        "NodeStarted",
        "RunCompleted",
        "RunFailed",
        "RunStarted",
    ),
    "agentmap.exceptions": (
        "AgentError",
        "AgentMapError",
        "ConfigError",
        "GraphError",
        "GraphFileError",
        "GraphRegistrationError",
        "GraphSelectionError",
        "GraphValidationError",
        "JobError",
        "JobFailedError",
        "JobNotFinishedError",
        "JobNotFoundError",
        "Problem",
        "ResumeError",
        "RunCancelled",
        "RunError",
        "RunNotFoundError",
        "StateError",
        "StoreError",
    ),
    "agentmap.graph.diagram": ("to_dot", "to_mermaid"),
    "agentmap.graph.loader": ("ValidationReport",),
    "agentmap.graph.model": ("Graph", "Node"),
    "agentmap.graph.schema": ("graph_json_schema",),
    "agentmap.jobs": ("Job", "JobResult", "JobStatus"),
    "agentmap.llm.errors": ("LLMError", "TransientLLMError"),
    "agentmap.outcomes": ("Failure", "Output", "Pause", "Usage"),
    "agentmap.project": ("init_project",),
    "agentmap.results": ("ExecutionResult", "ExecutionSummary", "NodeResult", "Waiting"),
    "agentmap.retry": ("ExponentialBackoffRetryPolicy", "FixedDelayRetryPolicy", "RetryPolicy"),
    "agentmap.scaffold": ("scaffold_graph",),
    "agentmap.store.jobstore": ("JobEvent",),
}
_LAZY = {name: module for module, names in _SOURCES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agentmap' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Agent",
    "AgentError",
    "AgentMapApp",
    "AgentMapError",
    "ConfigError",
    "Diagnosis",
    "Event",
    "EventBus",
    "ExecutionResult",
    "ExecutionSummary",
    "ExponentialBackoffRetryPolicy",
    "Failure",
    "FixedDelayRetryPolicy",
    "Graph",
    "GraphError",
    "GraphFileError",
    "GraphRegistrationError",
    "GraphSelectionError",
    "GraphValidationError",
    "Job",
    "JobError",
    "JobEvent",
    "JobFailedError",
    "JobNotFinishedError",
    "JobNotFoundError",
    "JobResult",
    "JobStatus",
    "LLMError",
    "Node",
    "NodeCompleted",
    "NodeFailed",
    "NodeOutputChunk",
    "NodeResult",
    "NodeRetrying",
    "NodeStarted",
    "Output",
    "Pause",
    "Problem",
    "ResumeError",
    "RetryPolicy",
    "RunCancelled",
    "RunCompleted",
    "RunError",
    "RunFailed",
    "RunNotFoundError",
    "RunStarted",
    "StateError",
    "StoreError",
    "TransientLLMError",
    "Usage",
    "ValidationReport",
    "Waiting",
    "__version__",
    "aanswer_job",
    "acancel_job",
    "acreate_job",
    "afollow_job",
    "agent",
    "aget_job_results",
    "aget_job_status",
    "alist_jobs",
    "answer_job",
    "arun_graph",
    "await_for_job",
    "cancel_job",
    "convert_graph",
    "create_job",
    "diagnose",
    "export_runs",
    "get_job_results",
    "get_job_status",
    "graph_json_schema",
    "init_project",
    "job_events",
    "list_jobs",
    "load_graph",
    "open_graph_runner",
    "open_run_store",
    "resume_batch",
    "resume_run",
    "run_batch",
    "run_graph",
    "run_worker",
    "run_workflow",
    "run_workflow_async",
    "runs_stats",
    "scaffold_graph",
    "to_dot",
    "to_mermaid",
    "validate_graph",
    "wait_for_job",
]
