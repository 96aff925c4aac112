"""agentmap: run AI-agent workflows defined as CSV tables.

from agentmap import run_graph
result = run_graph("graphs/hello.csv", {"input": "hi"})
print(result.final_state, result.success)
"""

from agentmap._version import __version__
from agentmap.agents.base import Agent, Failure, agent
from agentmap.api import arun_graph, load_graph, run_graph, validate_graph
from agentmap.exceptions import (
    AgentError,
    AgentMapError,
    ConfigError,
    GraphError,
    GraphFileError,
    GraphSelectionError,
    GraphValidationError,
    Problem,
    RunError,
    StateError,
)
from agentmap.graph.model import Graph, Node
from agentmap.runner import ExecutionResult
from agentmap.tracking import ExecutionSummary, NodeResult

__all__ = [
    "Agent",
    "AgentError",
    "AgentMapError",
    "ConfigError",
    "ExecutionResult",
    "ExecutionSummary",
    "Failure",
    "Graph",
    "GraphError",
    "GraphFileError",
    "GraphSelectionError",
    "GraphValidationError",
    "Node",
    "NodeResult",
    "Problem",
    "RunError",
    "StateError",
    "__version__",
    "agent",
    "arun_graph",
    "load_graph",
    "run_graph",
    "validate_graph",
]
