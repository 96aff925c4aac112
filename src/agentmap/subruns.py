"""A ``graph`` node's run of its subgraph: started fresh, or carried on where a stop left it,
and its result turned into the node's value.

The subgraph's run is a run of its own (recorded as part of its parent's), so it has its own
tracker, checkpoints and questions; a question it stops at makes the ``graph`` node wait too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from agentmap.events import Handler
from agentmap.graph.subgraphs import parent_output
from agentmap.outcomes import Failure
from agentmap.pauses import Ask, Parked
from agentmap.plan import Plan, Step
from agentmap.results import ExecutionResult, ExecutionSummary


class ChildRunner(Protocol):
    """What starting or carrying on a subgraph's run needs of the runner."""

    async def start_plan(
        self,
        plan: Plan,
        state: Any,
        *,
        handlers: tuple[Handler, ...],
        ask: Ask | None,
        parent: tuple[str, str | None],
    ) -> ExecutionResult: ...

    async def resume_child(
        self,
        run_id: str,
        plan: Plan,
        *,
        answer: Any,
        force: bool,
        handlers: tuple[Handler, ...],
        ask: Ask | None,
        parent_run_id: str,
    ) -> ExecutionResult: ...


async def run_subgraph(
    runner: ChildRunner,
    step: Step,
    inputs: Mapping[str, Any],
    *,
    run_id: str,
    recorded: bool,
    carry_on: tuple[str, Any] | None,
    force: bool,
    handlers: tuple[Handler, ...],
    ask: Ask | None,
) -> ExecutionResult:
    """Run ``step``'s subgraph on the node's inputs, or carry on the child run ``carry_on``
    (its id and the answer it gets, or ``pauses.NO_ANSWER``). ``recorded``: the parent is journaled,
    so the child's run is recorded as part of it. A ``graph_field`` node runs the graph its
    state key names (the same one again when carried on: the node's inputs haven't changed)."""
    plan, state = chosen_plan(step, inputs)
    if carry_on is not None:
        child_run, answer = carry_on
        return await runner.resume_child(
            child_run,
            plan,
            answer=answer,
            force=force,
            handlers=handlers,
            ask=ask,
            parent_run_id=run_id,
        )
    return await runner.start_plan(
        plan,
        state,
        handlers=handlers,
        ask=ask,
        parent=(run_id, step.node.name if recorded else None),
    )


def chosen_plan(step: Step, inputs: Mapping[str, Any]) -> tuple[Plan, dict[str, Any]]:
    """The plan ``step`` runs and the child's initial state: for a ``graph_field`` node, the
    choice its state key names (``GraphSelectionError``, a node failure, if none), the key
    itself left out of the child's state unless Input_Fields lists it."""
    subplan = step.subplan
    assert subplan is not None
    if isinstance(subplan, Plan):
        return subplan, dict(inputs)
    plan = subplan.pick(inputs.get(subplan.field), step.node.name)
    listed = any(param == subplan.field for _, param in step.node.inputs)
    state = {k: v for k, v in inputs.items() if listed or k != subplan.field}
    return plan, state


def subgraph_value(step: Step, result: ExecutionResult) -> tuple[Any, ExecutionSummary]:
    """The ``graph`` node's return value (or ``Failure``) from its child run's result."""
    assert step.spec is not None
    if result.waiting:  # the subgraph's run waits for a person: so does this node
        raise Parked(result.waiting[0].pause, result.run_id)
    value = parent_output(step.node, step.spec, result.final_state)
    if result.success:
        return value, result.summary
    error = result.final_state.get("error") or f"subgraph '{result.graph_name}' failed"
    return Failure(str(error), value=value), result.summary
