"""agentmap: run AI-agent workflows defined as CSV tables.

from agentmap import run_graph
result = run_graph("graphs/hello.csv", {"input": "hi"})
print(result.final_state, result.success)
"""

from agentmap._version import __version__
from agentmap.agents.base import Agent, Failure, Pause, agent
from agentmap.api import (
    arun_graph,
    load_graph,
    open_run_store,
    resume_run,
    run_graph,
    validate_graph,
)
from agentmap.events import (
    Event,
    EventBus,
    NodeCompleted,
    NodeFailed,
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
    GraphSelectionError,
    GraphValidationError,
    Problem,
    ResumeError,
    RunCancelled,
    RunError,
    RunNotFoundError,
    StateError,
    StoreError,
)
from agentmap.graph.model import Graph, Node
from agentmap.retry import ExponentialBackoffRetryPolicy, FixedDelayRetryPolicy, RetryPolicy
from agentmap.runner import ExecutionResult, Waiting
from agentmap.tracking import ExecutionSummary, NodeResult

__all__ = [
    "Agent",
    "AgentError",
    "AgentMapError",
    "ConfigError",
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
    "GraphSelectionError",
    "GraphValidationError",
    "Node",
    "NodeCompleted",
    "NodeFailed",
    "NodeResult",
    "NodeRetrying",
    "NodeStarted",
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
    "Waiting",
    "__version__",
    "agent",
    "arun_graph",
    "load_graph",
    "open_run_store",
    "resume_run",
    "run_graph",
    "validate_graph",
]
