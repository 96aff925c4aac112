"""Compiling a graph into a plan: what each step holds, and what nodes share.

A plan holds a step and an agent per node, so a large graph's memory is mostly these: nodes
called alike share how they are called, an Edge is one route for both outcomes, and built-in
agents keep no ``__dict__``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pytest

from agentmap import Agent, Graph, Node
from agentmap.agents.builtins import BUILTIN_AGENTS
from agentmap.agents.catalog import AgentCatalog
from agentmap.functions import FunctionCatalog
from agentmap.plan import Compiler, Plan, RunPolicy
from agentmap.prompts import PromptCatalog
from agentmap.retry import RetryPolicy

RETRY_TWICE = {"type": "fixed", "max_retries": 2, "delay": 0}


class PatientAgent(Agent):
    """An agent with a default retry policy, as the model agents have."""

    default_retry: ClassVar[Mapping[str, Any] | None] = RETRY_TWICE

    def process(self, inputs: Mapping[str, Any]) -> Any:
        return "ok"


def compiled(*nodes: Node, policy: RunPolicy | None = None) -> Plan:
    catalog = AgentCatalog({"patient": PatientAgent})
    compiler = Compiler(catalog, FunctionCatalog(), PromptCatalog(), policy or RunPolicy())
    graph = Graph(name="G", nodes={node.name: node for node in nodes}, entry=nodes[0].name)
    return compiler.compile(graph)


def test_nodes_of_one_agent_type_share_how_they_are_called() -> None:
    plan = compiled(
        Node(name="A", agent_type="echo", edge="B"),
        Node(name="B", agent_type="echo", edge="C"),
        Node(name="C", agent_type="success"),
    )
    steps = plan.steps
    assert steps["A"].calling is steps["B"].calling
    assert steps["A"].calling is not steps["C"].calling


def test_a_node_with_a_timeout_is_called_apart_from_its_type() -> None:
    plan = compiled(
        Node(name="A", agent_type="echo", edge="B", context={"timeout": 5}),
        Node(name="B", agent_type="echo"),
    )
    assert (plan.steps["A"].timeout, plan.steps["B"].timeout) == (5.0, None)
    assert plan.steps["A"].calling is not plan.steps["B"].calling


def test_an_edge_is_one_route_for_both_outcomes() -> None:
    plan = compiled(Node(name="A", agent_type="echo", edge="B"), Node(name="B"))
    step = plan.steps["A"]
    assert step.on_success is step.on_failure
    assert (step.next_nodes({}, True), step.next_nodes({}, False)) == (("B",), ("B",))


@pytest.mark.parametrize(
    ("success_next", "failure_next", "on_success", "on_failure"),
    [
        ("B", "C", ("B",), ("C",)),
        ("B|C", None, ("B", "C"), ()),
        (None, "C", (), ("C",)),
    ],
)
def test_routes_lead_where_their_cells_say(
    success_next: str | None,
    failure_next: str | None,
    on_success: tuple[str, ...],
    on_failure: tuple[str, ...],
) -> None:
    plan = compiled(
        Node(name="A", agent_type="echo", success_next=success_next, failure_next=failure_next),
        Node(name="B"),
        Node(name="C"),
    )
    step = plan.steps["A"]
    assert (step.next_nodes({}, True), step.next_nodes({}, False)) == (on_success, on_failure)


def test_an_agents_default_retry_is_made_once_for_its_nodes() -> None:
    plan = compiled(
        Node(name="A", agent_type="patient", edge="B"), Node(name="B", agent_type="patient")
    )
    retry = plan.steps["A"].retry
    assert retry == RetryPolicy.from_dict(RETRY_TWICE)
    assert plan.steps["B"].retry is retry
    assert plan.steps["A"].calling is plan.steps["B"].calling


def test_a_chain_longer_than_max_steps_is_measured_only_when_asked() -> None:
    plan = compiled(
        *(Node(name=f"n{i}", agent_type="echo", edge=f"n{i + 1}") for i in range(3)),
        Node(name="n3"),
    )
    assert plan.loop_free() == 4


def test_a_loop_has_no_loop_free_size() -> None:
    plan = compiled(Node(name="A", agent_type="echo", edge="B"), Node(name="B", edge="A"))
    assert plan.loop_free() is None


CORE_AGENTS = [cls for cls in BUILTIN_AGENTS if cls.__module__ == "agentmap.agents.builtins"]


@pytest.mark.parametrize("cls", CORE_AGENTS, ids=lambda cls: cls.__name__)
def test_the_core_agents_keep_no_dict(cls: type[Agent]) -> None:
    assert not hasattr(cls(name="A"), "__dict__")


def test_an_agent_you_write_keeps_attributes_of_its_own() -> None:
    class CountingAgent(Agent):
        def __init__(self, name: str, **rest: Any) -> None:
            super().__init__(name, **rest)
            self.count = 0

        def process(self, inputs: Mapping[str, Any]) -> int:
            self.count += 1
            return self.count

    counting = CountingAgent(name="Count", prompt="p")
    assert (counting.process({}), counting.process({}), counting.name) == (1, 2, "Count")
    assert vars(counting) == {"count": 2}


def test_a_graph_built_in_code_holds_one_string_per_node_name_and_one_tuple_per_equal_cell() -> (
    None
):
    names = [f"n{i}" for i in range(3)]
    graph = Graph(
        name="G",
        nodes={
            f"n{i}": Node(
                name=f"n{i}",
                agent_type="echo",
                edge=f"n{i + 1}" if i < 2 else None,
                success_next=None,
                inputs=(("value", "value"),),
                outputs=("value",),
            )
            for i in range(3)
        },
        entry="n0",
    )
    first, second, third = (graph.nodes[name] for name in names)

    assert first.edge is second.name and second.edge is third.name
    assert all(key is node.name for key, node in graph.nodes.items())
    assert first.inputs is second.inputs is third.inputs == (("value", "value"),)
    assert first.outputs is third.outputs == ("value",)
    assert first == Node("n0", "echo", edge="n1", inputs=(("value", "value"),), outputs=("value",))
