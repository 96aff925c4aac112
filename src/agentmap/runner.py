"""Run a graph: the run loop, and the runner that starts, resumes and ends runs.

``GraphRunnerService._walk`` is the engine — one branch's loop: run the node, go where its
outcome says, fork on ``A|B``, wait at joins. Everything else sits around it in a module of its
own: compiling a graph into a plan before it runs (``plan``), a node's attempts and retries
(``attempts``), calling agents in line, on threads or on the loop (``dispatch``), people's
answers (``pauses``), subgraph runs (``subruns``), driving from sync code and Ctrl-C
(``driving``). Persistence is a hook told of each step, join and end (``durability``); tracking
and your handlers hear the run's events. The loop is iterative (a 100,000-node chain uses no
stack) and async at its core; ``run`` is the sync wrapper, never a second copy.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from agentmap.agents.base import type_name_of
from agentmap.agents.builtins import FailureAgent
from agentmap.attempts import LATER, Ran, run_node
from agentmap.branches import Branch, Branches
from agentmap.clock import Clock
from agentmap.dispatch import Dispatcher, NodeTimeout, within
from agentmap.driving import drive, run_sync
from agentmap.durability import NO_HOOKS, Journaling, RunHooks
from agentmap.events import (
    Emitter,
    Event,
    EventBus,
    Handler,
    NodeOutputChunk,
    RunCompleted,
    RunFailed,
    RunStarted,
)
from agentmap.events import RunCancelled as RunCancelledEvent
from agentmap.exceptions import GraphSelectionError, RunCancelled, RunError
from agentmap.graph.model import Graph
from agentmap.outcomes import Pause
from agentmap.pauses import NO_ANSWER, Ask, Parked, answer
from agentmap.plan import Compiler, Plan, RunPolicy, Step
from agentmap.reducers import MergeConflict, MergeError, ReducerFailed, merge_states
from agentmap.results import ExecutionResult, ExecutionSummary, Waiting
from agentmap.state import State, initial_state, to_dict
from agentmap.store.records import RunRecord
from agentmap.store.runstore import RunStore
from agentmap.subruns import run_subgraph, subgraph_value
from agentmap.tracking import ExecutionTracker, ExecutionTrackingService

if TYPE_CHECKING:
    from agentmap.resume import Resumption

# Ask, Clock, ExecutionResult, NodeTimeout and Waiting are imported from here by code written
# before they had modules of their own.
__all__ = ["Ask", "Clock", "ExecutionResult", "GraphRunnerService", "NodeTimeout", "Waiting"]

logger = logging.getLogger(__name__)


class GraphRunnerService:
    """Runs graphs. One instance serves any number of runs, one after another or at once.

    ``run`` takes a loaded ``Graph``; ``run_graph`` takes a graph's name, found among the
    project's graph files, as AgentMap's runner does (``agentmap.open_graph_runner()`` gives a
    runner for a project's configuration; close it, or use it as a context manager, when done).

    >>> result = runner.run(load_graph("graphs/hello.csv"), {"input": "hi"})  # doctest: +SKIP
    >>> result = runner.run_graph("Hello", {"input": "hi"})  # doctest: +SKIP
    """

    def __init__(
        self,
        compiler: Compiler,
        tracking: ExecutionTrackingService,
        policy: RunPolicy | None = None,
        *,
        events: EventBus | None = None,
        journaling: Journaling | None = None,
        clock: Clock | None = None,
        find: Callable[[str | os.PathLike[str]], Graph] | None = None,
    ) -> None:
        """``find`` gives the graph a name means, for ``run_graph`` (the container passes a
        ``graph.finder.GraphFinder`` for the project's graphs folder)."""
        self._compiler = compiler
        self._tracking = tracking
        self._policy = policy or RunPolicy()
        self._events = events or EventBus()
        self._journaling = journaling
        self._clock = clock or Clock(tracking.clock)  # one time for a run and its tracker
        self._dispatcher = Dispatcher(self._policy.max_concurrency)
        self._find = find
        self._closers: list[Callable[[], object]] = []

    @property
    def tracking(self) -> ExecutionTrackingService:
        """The service that makes each run's tracker (``execution.tracking``)."""
        return self._tracking

    def find_graph(self, graph_name: str | os.PathLike[str] | Graph) -> Graph:
        """The graph ``run_graph`` runs: see there. Checked, ready to run."""
        if isinstance(graph_name, Graph):
            return graph_name
        if self._find is None:
            raise GraphSelectionError(
                f"this runner has no project to find graph '{os.fspath(graph_name)}' in — get "
                "one with agentmap.open_graph_runner(), or pass run() a loaded graph "
                "(agentmap.load_graph)"
            )
        return self._find(graph_name)

    def run_graph(
        self,
        graph_name: str | os.PathLike[str] | Graph,
        initial_state: Any = None,
        *,
        handlers: Iterable[Handler] = (),
        timeout: float | None = None,
        ask: Ask | None = None,
    ) -> ExecutionResult:
        """Run the graph named ``graph_name`` on ``initial_state`` (AgentMap's
        ``runner.run_graph("MyWorkflow", {"input": "data"})``); see ``run``.

        The name is looked for in every graph file of the graphs folder (``paths.graphs``):
        ``GraphSelectionError`` when none holds it (with the names that come close) or several
        do (naming them: pick one with ``"file.csv::MyWorkflow"``). ``file.csv::Name`` or a
        path names the file itself — as given, else inside the graphs folder; a ``Graph`` is
        run as it is. The graph is checked before it runs (``GraphValidationError``).
        """
        graph = self.find_graph(graph_name)
        return self.run(graph, initial_state, handlers=handlers, timeout=timeout, ask=ask)

    async def arun_graph(
        self,
        graph_name: str | os.PathLike[str] | Graph,
        initial_state: Any = None,
        *,
        handlers: Iterable[Handler] = (),
        timeout: float | None = None,
        ask: Ask | None = None,
    ) -> ExecutionResult:
        """Async twin of ``run_graph``."""
        graph = self.find_graph(graph_name)
        return await self.arun(graph, initial_state, handlers=handlers, timeout=timeout, ask=ask)

    def close_with(self, close: Callable[[], object]) -> None:
        """Call ``close`` when this runner is closed (what made it lets go of what it opened)."""
        self._closers.append(close)

    def close(self) -> None:
        """Let go of what the runner was opened with (``open_graph_runner``: its run store's
        connections). A runner made without any has nothing to close."""
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> GraphRunnerService:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def compile(self, graph: Graph) -> Plan:
        """``graph``'s plan (compiled once, then cached): every problem shows before a run."""
        return self._compiler.compile(graph)

    def reducers_for(self, graph: Graph) -> dict[str, str]:
        """How ``graph``'s parallel branches merge each key: configured, then declared."""
        return self._compiler.reducers_for(graph)

    def run(
        self,
        graph: Graph,
        state: Any = None,
        *,
        handlers: Iterable[Handler] = (),
        timeout: float | None = None,
        ask: Ask | None = None,
    ) -> ExecutionResult:
        """Run ``graph`` from its entry node on ``state``; see ``arun``.

        A graph that can't do anything concurrently (sync agents, no ``A|B`` routes, no
        timeouts, no async handlers) is driven without an event loop.
        """
        plan, handlers = self.compile(graph), tuple(handlers)
        coroutine = self.start_plan(plan, state, handlers=handlers, timeout=timeout, ask=ask)
        return self._drive(coroutine, plan, handlers, timeout)

    async def arun(
        self,
        graph: Graph,
        state: Any = None,
        *,
        handlers: Iterable[Handler] = (),
        timeout: float | None = None,
        ask: Ask | None = None,
    ) -> ExecutionResult:
        """Run ``graph`` from its entry node on ``state`` and return the result.

        A node's failure is routed, not raised. ``RunError`` is raised when the graph itself
        goes wrong (``max_steps``, a routing function's bad answer, conflicting branch writes,
        the run's ``timeout``) and ``RunCancelled`` when the run is cancelled; both carry the
        partial result. With a run store, the run is recorded and checkpointed as it goes. A
        node that asks a person (``Pause``) is answered by ``ask``; without one the run stops
        with ``status == "waiting"``.
        """
        plan = self.compile(graph)
        return await self.start_plan(
            plan, state, handlers=tuple(handlers), timeout=timeout, ask=ask
        )

    def resume_stored(
        self,
        record: RunRecord,
        graph: Graph,
        *,
        answer: Any = NO_ANSWER,
        node: str | None = None,
        force: bool = False,
        handlers: Iterable[Handler] = (),
        timeout: float | None = None,
        ask: Ask | None = None,
    ) -> ExecutionResult:
        """Carry on the stored run ``record`` of ``graph`` from its checkpoints (see
        ``agentmap.resume_run``); ``answer`` goes to the node that waits (``node``)."""
        plan, handlers = self.compile(graph), tuple(handlers)
        coroutine = self._resume(
            record, plan, answer, node, force, handlers=handlers, timeout=timeout, ask=ask
        )
        return run_sync(coroutine)

    async def aresume_stored(
        self,
        record: RunRecord,
        graph: Graph,
        *,
        handlers: Iterable[Handler] = (),
        shared: bool = False,
        answer: Any = NO_ANSWER,
        node: str | None = None,
    ) -> ExecutionResult:
        """Async twin of ``resume_stored`` for a run carried on by a worker (no person to ask:
        ``answer`` is the one given for ``node``, if any); ``shared``: other runs use this
        loop too (see ``start_plan``)."""
        plan = self.compile(graph)
        return await self._resume(
            record, plan, answer, node, False, handlers=tuple(handlers), shared=shared
        )

    async def start_plan(
        self,
        plan: Plan,
        state: Any,
        *,
        handlers: tuple[Handler, ...],
        timeout: float | None = None,
        ask: Ask | None = None,
        parent: tuple[str, str | None] | None = None,
        run_id: str | None = None,
        shared: bool = False,
    ) -> ExecutionResult:
        """Run a compiled plan. ``parent``: (run id, node) of the ``graph`` node that runs it;
        the node is None when the parent's run is not recorded (then neither is this one).
        ``run_id`` is the id to record the run under (a job's). ``shared``: a worker's run —
        other runs use this loop at the same time, so sync agents go to threads rather than
        block it, and the worker commits the run's end with its job's (``durability: async``:
        ``RunStore.flush_checkpoints`` before it settles the job)."""
        initial = initial_state(state)
        run = self._new_run(plan, run_id or uuid.uuid4().hex, handlers, timeout, parent, ask)
        run.shared = shared
        if self._journaling is not None and (parent is None or parent[1] is not None):
            place = (parent[0], parent[1]) if parent is not None and parent[1] else None
            run.hooks = self._journaling.start(
                run.id, plan.graph, initial, run.t0, place, deferred=shared
            )
        return await self._go(run, initial, [run.branches.start(plan.graph.entry, initial)])

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
    ) -> ExecutionResult:
        """Carry on the subgraph run a ``graph`` node started before its parent's run stopped."""
        record = self._store_of("resuming a subgraph's run").get(run_id)
        return await self._resume(
            record, plan, answer, None, force, handlers=handlers, ask=ask, parent=parent_run_id
        )

    async def _resume(
        self,
        record: RunRecord,
        plan: Plan,
        answer: Any,
        node: str | None,
        force: bool,
        *,
        handlers: tuple[Handler, ...],
        timeout: float | None = None,
        ask: Ask | None = None,
        parent: str | None = None,
        shared: bool = False,
    ) -> ExecutionResult:
        # Resume planning is imported here: a run that isn't resumed never needs it.
        from agentmap.resume import plan_resume

        store = self._store_of("resuming a run")
        resumption = plan_resume(
            store, record, plan.graph, plan.reducers, answer=answer, node=node, force=force
        )
        for change in resumption.changes:
            logger.warning("resuming run %s on a changed graph: %s", record.id, change)
        caller = (parent, None) if parent else None
        run = self._new_run(plan, record.id, handlers, timeout, caller, ask)
        run.shared = shared
        run.resumed(resumption)
        assert self._journaling is not None
        run.hooks = self._journaling.reopen(
            run.id,
            plan.graph,
            run.t0,
            resumption.seq,
            resumption.drop_from,
            len(resumption.results),
            deferred=shared,
        )
        return await self._go(run, resumption.initial, list(run.branches.live.values()))

    # --- the run loop ----------------------------------------------------------------------------

    async def _walk(self, run: _Run, branch: Branch) -> None:
        """One branch: run its node, go where the outcome says; fork on ``A|B``, wait at joins."""
        while branch.node is not None:
            step = run.step(branch.node)
            try:
                ran = await run_node(run, step, branch.state)
            except Parked as parked:
                run.park(branch, step, parked)
                return
            branch.state = ran.state
            targets = run.targets(step, ran)
            children = run.branches.fork(branch, list(targets)) if len(targets) > 1 else []
            run.hooks.stepped(branch, ran, targets, children)
            if children:
                for child in children:
                    run.spawn(self._arrive_then_walk(run, child))
                return
            branch.node = targets[0] if targets else None
            if branch.node is not None and len(run.branches.live) > 1:  # not alone: may join
                arrived = await run.arrive(branch)
                if arrived is None:
                    return  # merged into a branch that goes on from the join
                branch = arrived
        run.end(branch)

    async def _arrive_then_walk(self, run: _Run, branch: Branch) -> None:
        """A forked branch first arrives at its start node, which may be a join itself."""
        arriving = branch.node is not None and not run.branches.alone
        arrived = await run.arrive(branch) if arriving else branch
        if arrived is not None:
            await self._walk(run, arrived)

    # --- around the loop: start, wait for branches, end ------------------------------------------

    async def _go(self, run: _Run, initial: State, starting: list[Branch]) -> ExecutionResult:
        """Drive ``run`` from ``starting`` branches to its end, recording how it ended."""
        graph = run.plan.graph
        if run.hooks is not NO_HOOKS:
            run.branches.on_join = run.hooks.joined
        run.emit(RunStarted(run.id, graph.name, initial, run.parent_id))
        try:
            if run.limit is None:  # (a run driven without a loop can't have a timeout)
                final = await self._execute(run, initial, starting)
            else:
                async with asyncio.timeout(run.limit):
                    final = await self._execute(run, initial, starting)
        except TimeoutError:
            message = f"run of graph '{graph.name}' timed out after {run.limit:g}s"
            raise await self._stopped(run, initial, RunError(message)) from None
        except RunError as error:
            raise await self._stopped(run, initial, error) from error.__cause__
        except (asyncio.CancelledError, KeyboardInterrupt) as exc:
            cancelled = RunCancelled(f"run of graph '{graph.name}' was cancelled", graph=graph.name)
            stopped = await self._stopped(run, initial, cancelled)
            if run.parent_id is not None:
                raise  # a subgraph: its parent decides (a node timeout, or its own cancelling)
            raise stopped from exc
        except BaseException:
            run.hooks.broken()  # the store itself failed: the run can't be recorded
            raise
        result = run.result(final)
        run.hooks.ended(result)
        run.emit(RunCompleted(run.id, graph.name, result.success, result.summary.total_duration))
        await run.events.flush()
        return result

    async def _execute(self, run: _Run, initial: State, starting: list[Branch]) -> State:
        if len(starting) == 1:
            await self._walk(run, starting[0])
        else:
            for branch in starting:
                run.spawn(self._arrive_then_walk(run, branch))
        while run.tasks:
            done, _ = await asyncio.wait(run.tasks, return_when=asyncio.FIRST_EXCEPTION)
            run.tasks -= done
            for task in done:
                task.result()  # re-raise a branch's RunError here
        return run.final_state(initial)

    async def _stopped(self, run: _Run, initial: State, error: RunError) -> RunError:
        """Stop every branch, attach the partial result to ``error``, tell hooks and handlers."""
        for task in run.tasks:
            task.cancel()
        run.branches.cancel()
        if run.tasks:
            await asyncio.gather(*run.tasks, return_exceptions=True)
        states = [b.state for b in (*run.ended, *run.branches.live.values())]
        partial = run.result(states[-1] if states else initial)
        summary = partial.summary.judged(False)  # it stopped: it did not succeed
        error.result = stopped = replace(partial, success=False, summary=summary)
        took = summary.total_duration
        cancelled = isinstance(error, RunCancelled)
        run.hooks.stopped("cancelled" if cancelled else "failed", stopped, error.message)
        if cancelled:
            run.emit(RunCancelledEvent(run.id, run.plan.graph.name, took))
        else:
            run.emit(RunFailed(run.id, run.plan.graph.name, error.message, took))
        await run.events.flush()
        return error

    # --- the pieces a run is made of -------------------------------------------------------------

    def _new_run(
        self,
        plan: Plan,
        run_id: str,
        handlers: tuple[Handler, ...],
        timeout: float | None,
        parent: tuple[str, str | None] | None,
        ask: Ask | None,
    ) -> _Run:
        tracker = self._tracking.create_tracker(plan.graph, clock=self._clock.now)
        return _Run(
            runner=self,
            id=run_id,
            plan=plan,
            tracker=tracker,
            events=Emitter(tracker.recorders, (*self._events.handlers, *handlers)),
            handlers=handlers,
            limit=timeout if timeout is not None else self._policy.timeout,
            ask_person=ask,
            parent_id=parent[0] if parent else None,
            branches=Branches(plan.graph, dict(plan.reducers)),
            clock=self._clock,
            t0=tracker.t0,
            max_steps=self._policy.max_steps,
        )

    def _drive(
        self, coroutine: Any, plan: Plan, handlers: tuple[Handler, ...], timeout: float | None
    ) -> ExecutionResult:
        """Run ``coroutine`` to its end: on a loop if anything in the run can wait."""
        needs_loop = (
            plan.needs_loop
            or timeout is not None
            or self._policy.timeout is not None
            or self._events.has_async
            or any(asyncio.iscoroutinefunction(h) for h in handlers)
        )
        result: ExecutionResult = run_sync(coroutine) if needs_loop else drive(coroutine)
        return result

    def _store_of(self, doing: str) -> RunStore:
        if self._journaling is None:
            raise RunError(f"{doing} needs a run store; storage.url is 'none'")
        return self._journaling.store


@dataclass(eq=False)
class _Run:
    """One run: what it runs and for whom, its events and hooks, and where its branches are."""

    runner: GraphRunnerService
    id: str
    plan: Plan
    tracker: ExecutionTracker
    events: Emitter
    handlers: tuple[Handler, ...]  # given to this run (and to its subgraphs' runs)
    limit: float | None  # the run's timeout
    ask_person: Ask | None
    parent_id: str | None
    branches: Branches
    clock: Clock
    t0: float
    max_steps: int
    hooks: RunHooks = NO_HOOKS
    answers: dict[str, Any] = field(default_factory=dict)  # node → answer, when resuming
    children: dict[str, tuple[str, Any]] = field(default_factory=dict)  # graph node → (its
    # child run to carry on, the answer for it or NO_ANSWER), when resuming
    force: bool = False  # resuming on a changed graph was allowed (so for its subgraphs too)
    shared: bool = False  # other runs share the loop: sync agents never run in line
    ended: list[Branch] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    count: int = 0
    graph_name: str = field(init=False)  # an attribute, not a property: read twice per node

    def __post_init__(self) -> None:
        self.graph_name = self.plan.graph.name

    def resumed(self, resumption: Resumption) -> None:
        """Start from where a stored run stood."""
        self.branches = resumption.branches
        self.ended = list(resumption.ended)
        self.answers = dict(resumption.answers)
        self.children = dict(resumption.children)
        self.force = resumption.forced
        self.count = len(resumption.results)
        self.tracker.restore(resumption.results, resumption.elapsed, resumption.started_at)
        self.t0 -= resumption.elapsed

    # What a node's attempts need (attempts.NodeRun):

    def emit(self, event: Event) -> None:
        self.events.emit(event)

    async def ask(self, node: str, pause: Pause) -> Any:
        return await answer(self.ask_person, node, pause)

    def call_now(self, step: Step, inputs: dict[str, Any]) -> Any:
        """The node's value when it needs no waiting — a person's answer it was resumed with,
        or a sync agent's return value when it runs in line — else ``LATER``: use ``call``."""
        if self.answers and step.node.name in self.answers:
            return self.answers.pop(step.node.name)
        calling = step.calling  # read once: the step's own properties are a call each
        if not calling.in_line or len(self.branches.live) > 1 or self.limit is not None:
            return LATER  # async, timed, a subgraph; or other branches or a timeout need the loop
        if self.shared and not calling.quick:
            return LATER  # other runs share the loop: a thread, unless the agent never blocks
        sink = self._chunk_sink(step.node.name) if calling.streams else None
        return Dispatcher.call_in_line(step, inputs, sink)

    async def call(self, step: Step, inputs: dict[str, Any]) -> Any:
        """The agent's return value (a ``graph`` node: its subgraph run's result)."""
        if step.subplan is None:
            sink = self._chunk_sink(step.node.name) if step.streams else None
            return await self.runner._dispatcher.call(step, inputs, sink)
        work = run_subgraph(
            self.runner,
            step,
            inputs,
            run_id=self.id,
            recorded=self.hooks is not NO_HOOKS,
            carry_on=self.children.pop(step.node.name, None) if self.children else None,
            force=self.force,
            handlers=self.handlers,
            ask=self.ask_person,
        )
        return await within(work, step.timeout)

    def subgraph_value(self, step: Step, result: Any) -> tuple[Any, ExecutionSummary]:
        return subgraph_value(step, result)

    # What the loop asks of its run:

    def step(self, name: str) -> Step:
        """The node's step, counted against ``max_steps``."""
        self.count += 1
        if self.count > self.max_steps:
            size = self.plan.loop_free()
            if size is not None:  # no loop: the graph is just longer than the setting allows
                raise RunError(
                    f"graph '{self.graph_name}' ran {self.max_steps} steps without finishing: "
                    f"it has no loop, but {size:,} nodes can be reached from its entry "
                    f"'{self.plan.graph.entry}', more steps than execution.max_steps "
                    f"({self.max_steps:,}) allows — raise execution.max_steps",
                    graph=self.graph_name,
                    node=name,
                )
            raise RunError(
                f"graph '{self.graph_name}' ran {self.max_steps} steps without finishing (a loop "
                "that never exits?) — fix the routing or raise execution.max_steps",
                graph=self.graph_name,
                node=name,
            )
        return self.plan.steps[name]

    def targets(self, step: Step, ran: Ran) -> tuple[str, ...]:
        """Where the node's outcome leads; an agent's ``Output(next=...)`` picks one target."""
        targets = step.next_nodes(ran.state, ran.success)
        if ran.chosen is None:
            return targets
        if ran.chosen in targets or (not targets and ran.chosen in self.plan.graph.nodes):
            return (ran.chosen,)  # no routing cell: any node (an orchestrator's whole graph)
        raise RunError(
            f"node '{step.node.name}' chose to go to '{ran.chosen}', which is not one of its "
            f"routing targets ({', '.join(targets) or 'none'}) — list it in the routing cell",
            graph=self.graph_name,
            node=step.node.name,
        )

    def spawn(self, work: Any) -> None:
        """Run a branch as a task of its own."""
        self.tasks.add(asyncio.ensure_future(work))

    async def arrive(self, branch: Branch) -> Branch | None:
        """``branch`` reaches its node: it goes on, or waits there to join (None: merged)."""
        try:
            return await self.branches.arrive(branch)
        except MergeError as problem:
            raise _merge_error(self.plan.graph, branch.node, problem) from None

    def park(self, branch: Branch, step: Step, parked: Parked) -> None:
        """``branch`` waits for a person at ``step``'s node."""
        self.waiting.append(Waiting(step.node.name, parked.pause, parked.child_run))
        self.branches.park(branch)

    def end(self, branch: Branch) -> None:
        self.ended.append(branch)
        self.branches.end(branch)

    def final_state(self, initial: State) -> State:
        """The last branch's state; branches that ended apart are merged like at a join."""
        if self.waiting:  # stopped for answers: the state so far
            states = [b.state for b in (*self.ended, *self.branches.live.values())]
            return states[-1] if states else initial
        if len(self.ended) == 1:
            return self.ended[0].state
        if not self.ended:
            return initial
        ordered = sorted(self.ended, key=lambda b: b.lineage)
        try:
            return merge_states(
                initial, [(b.head, b.state) for b in ordered], self.branches.reducers
            )
        except MergeError as problem:
            raise _merge_error(self.plan.graph, None, problem) from None

    def result(self, state: State) -> ExecutionResult:
        summary = self.tracker.get_summary()
        if self.waiting:  # not finished, so not a success
            summary = summary.judged(False)
        return ExecutionResult(
            graph_name=self.graph_name,
            final_state=to_dict(state),
            success=summary.success,
            summary=summary,
            run_id=self.id,
            waiting=tuple(self.waiting),
            resumable=bool(self.waiting) or (not summary.success and self._may_not_repeat(summary)),
        )

    def _may_not_repeat(self, summary: ExecutionSummary) -> bool:
        """Whether running the last failed node again could end differently (see
        ``ExecutionResult.resumable``)."""
        failed = summary.failed_nodes
        if not failed:
            return True  # stopped by the run itself (max_steps, a timeout): carry on
        node = self.plan.graph.nodes.get(failed[-1])
        return node is None or type_name_of(node.agent_type) != FailureAgent.agent_type

    def _chunk_sink(self, node: str) -> Any:
        def sink(text: str) -> None:
            self.emit(NodeOutputChunk(self.id, self.graph_name, node, text))

        return sink


def _merge_error(graph: Graph, node: str | None, problem: MergeError) -> RunError:
    where = f" at '{node}'" if node else " at the end of the run"
    if isinstance(problem, ReducerFailed):
        return RunError(
            f"reducer '{problem.reducer}' can't combine the branches' values of "
            f"'{problem.key}'{where}: {problem.reason}",
            graph=graph.name,
            node=node,
        )
    assert isinstance(problem, MergeConflict)
    heads = " and ".join(f"'{h}'" for h in problem.heads)
    return RunError(
        f"branches started at {heads} both wrote '{problem.key}' differently; they join{where} — "
        f'write different keys, or declare a reducer (Context {{"reduce": "append"}} on the '
        f"writing node, or execution.reducers)",
        graph=graph.name,
        node=node,
    )
