"""Run a graph: take a node, run its agent on its inputs, make the new state, follow its outcome.

The engine is ``GraphRunnerService._walk``: one branch's loop — run the node, pick the next
node(s) from its outcome. ``A|B`` routes fork new branches that run concurrently and join by
the rule in ``branches.py``. Retries, timeouts and events wrap the agent call
(``_run_node``); they are not woven into the loop. The loop is iterative (a 100,000-node
chain uses no stack) and async at its core; ``run`` is the sync wrapper, never a second copy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import logging
import signal
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar

from agentmap.agents.base import Agent, Failure, Output, Pause, Usage
from agentmap.agents.catalog import AgentCatalog, Process
from agentmap.agents.human import answer_value
from agentmap.branches import Branch, Branches
from agentmap.events import (
    Event,
    EventBus,
    Handler,
    NodeCompleted,
    NodeFailed,
    NodeOutputChunk,
    NodeRetrying,
    NodeStarted,
    RunCompleted,
    RunFailed,
    RunStarted,
    deliver,
    settle,
)
from agentmap.events import RunCancelled as RunCancelledEvent
from agentmap.exceptions import RunCancelled, RunError
from agentmap.functions import FunctionCatalog
from agentmap.graph.branch_checks import declared_reducers
from agentmap.graph.loader import GraphLoader
from agentmap.graph.model import FUNC_PREFIX, Graph, Node, graph_folder
from agentmap.graph.subgraphs import SubgraphSpec, is_subgraph, parent_output, spec_of
from agentmap.prompts import PromptCatalog, PromptError
from agentmap.reducers import MergeConflict, MergeError, ReducerFailed, merge_states
from agentmap.retry import RetryPolicy
from agentmap.state import ERROR_KEY, SUCCESS_KEY, State, StateAdapterService
from agentmap.tracking import ExecutionSummary, ExecutionTracker, ExecutionTrackingService

if TYPE_CHECKING:
    from agentmap.store.journal import RunJournal
    from agentmap.store.replay import Resumption
    from agentmap.store.runstore import RunStore

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """What a run produced: the final state, the verdict and the execution summary."""

    graph_name: str
    final_state: dict[str, Any]
    success: bool
    summary: ExecutionSummary
    run_id: str = ""
    waiting: tuple[Waiting, ...] = ()
    """The questions a ``waiting`` run stopped at; answer them with ``resume_run``."""

    @property
    def status(self) -> Literal["succeeded", "failed", "waiting"]:
        """``waiting`` for an answer, else the success policy's verdict."""
        if self.waiting:
            return "waiting"
        return "succeeded" if self.success else "failed"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (values the state holds are passed through as they are)."""
        data = {
            "run_id": self.run_id,
            "graph_name": self.graph_name,
            "status": self.status,
            "success": self.success,
            "final_state": self.final_state,
            "summary": self.summary.to_dict(),
        }
        if self.waiting:
            data["waiting"] = [w.to_dict() for w in self.waiting]
        return data


class Waiting(NamedTuple):
    """A node waiting for a person: where, and what it asks.

    For a ``graph`` node, the question is its subgraph's, and ``child_run`` is the subgraph's
    run (which the answer resumes).
    """

    node: str
    pause: Pause
    child_run: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"node": self.node, **self.pause.to_dict()}
        if self.child_run is not None:
            data["child_run"] = self.child_run
        return data


Ask = Callable[[str, Pause], Any]
"""Asks a person now: gets the node and its ``Pause``, returns the answer (see ``answer_value``)."""


class _Parked(Exception):
    """A node paused and nobody can answer now: its branch waits (internal to the runner)."""

    def __init__(self, pause: Pause, child_run: str | None = None) -> None:
        self.pause = pause
        self.child_run = child_run


class Clock:
    """Time for durations and retry waits; tests pass one that doesn't really sleep."""

    def now(self) -> float:
        """Seconds on a monotonic clock."""
        return time.perf_counter()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` without blocking other branches (a loop-less run just sleeps)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # driven without a loop: this run has no other branch to block
            time.sleep(seconds)
            return
        await asyncio.sleep(seconds)


class NodeTimeout(TimeoutError):
    """A node's agent ran past the node's ``timeout`` (a failure, routed like any other)."""


Route = tuple[str, ...] | Callable[[State], tuple[str, ...]]
"""Where a node goes on an outcome: node names (several = parallel), or a routing function."""


@dataclass(slots=True)
class _Step:
    """A node made ready to run: its agent built, its routes and policies resolved."""

    node: Node
    fields: tuple[tuple[str, str], ...]  # (state key, input name): Input_Fields and agent extras
    process: Callable[[Any, dict[str, Any]], Any]  # called as process(owner, inputs)
    owner: Any  # the agent (process is its class's function), or an @agent function
    is_async: bool
    on_success: Route
    on_failure: Route
    retry: RetryPolicy | None = None
    timeout: float | None = None
    subgraph: Graph | None = None
    spec: SubgraphSpec | None = None

    def next_nodes(self, state: State, success: bool) -> tuple[str, ...]:
        route = self.on_success if success else self.on_failure
        return route(state) if callable(route) else route


@dataclass
class _Run:
    """Everything one run owns: its id, tracker, branches, steps and pending handler work."""

    id: str
    graph: Graph
    tracker: ExecutionTracker
    handlers: tuple[Handler, ...]
    extra: tuple[Handler, ...]  # handlers given to this run (and its subgraphs), not the bus
    limit: float | None  # the run's timeout: sync agents then run where it can stop waiting
    branches: Branches
    clock: Clock
    parent_id: str | None = None
    steps: dict[str, _Step] = field(default_factory=dict)
    count: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    ended: list[Branch] = field(default_factory=list)
    pending: list[asyncio.Task[None]] = field(default_factory=list)
    journal: RunJournal | None = None
    ask: Ask | None = None
    answers: dict[str, Any] = field(default_factory=dict)  # node → answer, when resuming
    children: dict[str, tuple[str, Any]] = field(default_factory=dict)  # graph node → (child
    # run to resume, raw answer or NO_ANSWER), when resuming a run stopped inside a subgraph
    force: bool = False  # resuming on a changed graph was allowed (so for its subgraphs too)
    waiting: list[Waiting] = field(default_factory=list)
    t0: float = 0.0

    def emit(self, event: Event) -> None:
        self.tracker.handle(event)
        for handler in self.handlers:
            work = deliver(handler, event)
            if work is not None:
                self.pending.append(asyncio.ensure_future(settle(handler, work)))


class GraphRunnerService:
    """Runs graphs. One instance serves any number of runs; each run has its own tracker.

    >>> result = runner.run(load_graph("graphs/hello.csv"), {"input": "hi"})  # doctest: +SKIP
    """

    def __init__(
        self,
        agents: AgentCatalog,
        functions: FunctionCatalog,
        prompts: PromptCatalog,
        state_adapter: StateAdapterService,
        tracking: ExecutionTrackingService,
        loader: GraphLoader | None = None,
        max_steps: int = 10_000,
        max_concurrency: int = 64,
        timeout: float | None = None,
        retry: Mapping[str, Any] | None = None,
        retry_by_graph: Mapping[str, Mapping[str, Any]] | None = None,
        reducers: Mapping[str, str] | None = None,
        events: EventBus | None = None,
        clock: Clock | None = None,
        store: RunStore | None = None,
        checkpoints: bool = True,
    ) -> None:
        self._agents = agents
        self._functions = functions
        self._prompts = prompts
        self._state = state_adapter
        self._tracking = tracking
        self._loader = loader or GraphLoader(agents, functions, prompts)
        self._max_steps = max_steps
        self._max_concurrency = max_concurrency
        self._timeout = timeout
        self._retry = RetryPolicy.from_dict(retry) if retry else None
        self._retry_by_graph = {
            name: RetryPolicy.from_dict(policy) for name, policy in (retry_by_graph or {}).items()
        }
        self._reducers = dict(reducers or {})
        self._events = events or EventBus()
        self._clock = clock or Clock()
        self._clock_injected = clock is not None  # else the tracking service's clock times nodes
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._loop_cache: dict[int, tuple[Graph, bool]] = {}  # graph id → (graph, needs a loop)
        self._store = store
        self._checkpoints = checkpoints

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
        timeouts or retries, no async handlers) needs no event loop and is driven directly:
        starting a loop costs more than a small graph takes to run.
        """
        handlers = tuple(handlers)
        coroutine = self.arun(graph, state, handlers=handlers, timeout=timeout, ask=ask)
        if self._needs_loop(graph, handlers, timeout):
            return run_sync(coroutine)
        return _drive(coroutine)

    async def arun(
        self,
        graph: Graph,
        state: Any = None,
        *,
        handlers: Iterable[Handler] = (),
        timeout: float | None = None,
        parent_run_id: str | None = None,
        ask: Ask | None = None,
        parent_node: str | None = None,
    ) -> ExecutionResult:
        """Run ``graph`` from its entry node on ``state`` and return the result.

        A node's failure is routed, not raised. ``RunError`` is raised when the graph itself
        goes wrong (``max_steps``, a routing function's bad answer, conflicting branch writes,
        the run's ``timeout``) and ``RunCancelled`` when the run is cancelled; both carry the
        partial result. With a run store, the run is recorded and checkpointed after every
        node. A node that asks a person (``Pause``) is answered by ``ask``; without one the
        run stops with ``status == "waiting"``.
        """
        initial = self._state.initial_state(state)
        run = self._new_run(graph, uuid.uuid4().hex, handlers, timeout, parent_run_id, ask)
        # A subgraph's run is recorded when its parent's is (``parent_node`` is then given).
        if self._store is not None and (parent_run_id is None or parent_node is not None):
            from agentmap.store.journal import RunJournal

            parent = (parent_run_id, parent_node) if parent_run_id and parent_node else None
            run.journal = RunJournal.start(
                self._store, run.id, graph, initial, checkpoints=self._checkpoints, parent=parent
            )
        return await self._go(run, initial, [run.branches.start(graph.entry, initial)])

    async def aresume(
        self,
        graph: Graph,
        resumption: Resumption,
        *,
        handlers: Iterable[Handler] = (),
        timeout: float | None = None,
        ask: Ask | None = None,
        parent_run_id: str | None = None,
    ) -> ExecutionResult:
        """Carry on a stored run from its checkpoints (see ``agentmap.api.resume_run``)."""
        from agentmap.store.journal import RunJournal

        if self._store is None:
            raise RunError("resuming a run needs a run store; storage.url is 'none'")
        run = self._new_run(graph, resumption.run_id, handlers, timeout, parent_run_id, ask)
        run.branches = resumption.branches
        run.ended = list(resumption.ended)
        run.answers = dict(resumption.answers)
        run.force = resumption.forced
        run.children = self._children_to_resume(run, dict(resumption.children))
        run.count = len(resumption.results)
        run.tracker.restore(resumption.results, resumption.elapsed, resumption.started_at)
        run.t0 -= resumption.elapsed
        run.journal = RunJournal.reopen(
            self._store,
            run.id,
            graph,
            checkpoints=self._checkpoints,
            seq=resumption.seq,
            drop_from=resumption.drop_from,
        )
        return await self._go(run, resumption.initial, list(run.branches.live.values()))

    def resume(
        self,
        graph: Graph,
        resumption: Resumption,
        *,
        handlers: Iterable[Handler] = (),
        timeout: float | None = None,
        ask: Ask | None = None,
    ) -> ExecutionResult:
        """Sync twin of ``aresume``."""
        return run_sync(
            self.aresume(graph, resumption, handlers=handlers, timeout=timeout, ask=ask)
        )

    def _children_to_resume(
        self, run: _Run, children: dict[str, tuple[str, Any]]
    ) -> dict[str, tuple[str, Any]]:
        """Subgraph runs to carry on: those waiting for answers, and those a stop cut short."""
        from agentmap.store.records import RESUMABLE
        from agentmap.store.replay import NO_ANSWER

        assert self._store is not None
        for branch in run.branches.live.values():
            node = run.graph.nodes.get(branch.node or "")
            if node is None or node.name in children or not is_subgraph(node):
                continue
            child = self._store.child_run(run.id, node.name)
            if child is not None and child.status in RESUMABLE and child.checkpoints:
                children[node.name] = (child.id, NO_ANSWER)
        return children

    async def _resume_child(
        self, run: _Run, step: _Step, child_run: str, answer: Any
    ) -> ExecutionResult:
        """Carry on the subgraph run a ``graph`` node started before its run stopped."""
        from agentmap.store.replay import plan_resume

        assert self._store is not None and step.subgraph is not None
        record = self._store.get(child_run)
        plan = plan_resume(
            record,
            self._store.checkpoints(child_run),
            step.subgraph,
            self.reducers_for(step.subgraph),
            answer=answer,
            force=run.force,
        )
        return await self.aresume(
            step.subgraph, plan, handlers=run.extra, ask=run.ask, parent_run_id=run.id
        )

    def reducers_for(self, graph: Graph) -> dict[str, str]:
        """How ``graph``'s parallel branches merge each key: configured, then declared."""
        return {**self._reducers, **declared_reducers(graph)}

    def _new_run(
        self,
        graph: Graph,
        run_id: str,
        handlers: Iterable[Handler],
        timeout: float | None,
        parent_run_id: str | None,
        ask: Ask | None,
    ) -> _Run:
        handlers = tuple(handlers)
        return _Run(
            id=run_id,
            graph=graph,
            tracker=self._tracking.create_tracker(
                graph, clock=self._clock.now if self._clock_injected else None
            ),
            handlers=(*self._events.handlers, *handlers),
            extra=handlers,
            limit=timeout if timeout is not None else self._timeout,
            branches=Branches(graph, self.reducers_for(graph)),
            clock=self._clock,
            parent_id=parent_run_id,
            ask=ask,
            t0=self._clock.now(),
        )

    async def _go(self, run: _Run, initial: State, starting: list[Branch]) -> ExecutionResult:
        """Drive ``run`` from ``starting`` branches to its end, recording how it ended."""
        graph = run.graph
        if run.journal is not None:
            run.branches.on_join = run.journal.join
        run.emit(RunStarted(run.id, graph.name, initial, run.parent_id))
        limit = run.limit
        try:
            if limit is None:
                final = await self._execute(run, initial, starting)
            else:
                async with asyncio.timeout(limit):
                    final = await self._execute(run, initial, starting)
        except TimeoutError:
            raise await self._stopped(
                run, initial, RunError(f"run of graph '{graph.name}' timed out after {limit:g}s")
            ) from None
        except RunError as error:
            raise await self._stopped(run, initial, error) from error.__cause__
        except (asyncio.CancelledError, KeyboardInterrupt) as exc:
            cancelled = RunCancelled(f"run of graph '{graph.name}' was cancelled", graph=graph.name)
            stopped = await self._stopped(run, initial, cancelled)
            if run.parent_id is not None:
                raise  # a subgraph: its parent decides (a node timeout, or its own cancelling)
            raise stopped from exc
        except BaseException:
            if run.journal is not None:
                run.journal.close()  # the store itself failed: the run can't be recorded
            raise
        result = self._result(run, final)
        if run.journal is not None:
            state = None if result.waiting else result.final_state
            waiting = [w.to_dict() for w in result.waiting]
            failure = _failure(result.summary) if result.status == "failed" else None
            run.journal.finish(result.status, state, result.summary.to_dict(), failure, waiting)
        run.emit(RunCompleted(run.id, graph.name, result.success, result.summary.total_duration))
        await _flush(run)
        return result

    async def _execute(self, run: _Run, initial: State, starting: list[Branch]) -> State:
        if len(starting) == 1:
            await self._walk(run, starting[0])
        else:
            for branch in starting:
                run.tasks.add(asyncio.ensure_future(self._walk(run, branch, arriving=True)))
        while run.tasks:
            done, _ = await asyncio.wait(run.tasks, return_when=asyncio.FIRST_EXCEPTION)
            run.tasks -= done
            for task in done:
                task.result()  # re-raise a branch's RunError here
        return self._final_state(run, initial)

    async def _walk(self, run: _Run, branch: Branch, arriving: bool = False) -> None:
        """One branch: run its node, follow the outcome; fork on ``A|B``, wait at joins.

        A forked branch first ``arrives`` at its start node, which may be a join itself.
        """
        if arriving and branch.node is not None and not run.branches.alone:
            arrived = await self._arrive(run, branch)
            if arrived is None:
                return
            branch = arrived
        while branch.node is not None:
            step = self._step(run, branch.node)
            try:
                ran = await self._run_node(run, step, branch.state)
            except _Parked as parked:
                run.waiting.append(Waiting(step.node.name, parked.pause, parked.child_run))
                run.branches.park(branch)
                return
            branch.state = ran.state
            targets = step.next_nodes(branch.state, ran.success)
            if ran.chosen is not None:
                targets = _chosen(run.graph, step.node, ran.chosen, targets)
            if len(targets) > 1:
                children = run.branches.fork(branch, list(targets))
                if run.journal is not None:
                    _checkpoint(run, branch, ran, targets, children)
                for child in children:
                    task = asyncio.ensure_future(self._walk(run, child, arriving=True))
                    run.tasks.add(task)
                return
            if run.journal is not None:
                _checkpoint(run, branch, ran, targets)
            branch.node = targets[0] if targets else None
            if branch.node is not None and not run.branches.alone:
                arrived = await self._arrive(run, branch)
                if arrived is None:
                    return
                branch = arrived
        run.ended.append(branch)
        run.branches.end(branch)

    async def _run_node(self, run: _Run, step: _Step, state: State) -> _Ran:
        """Run one node's agent — with its timeout and retries — and make the new state."""
        node = step.node
        inputs = self._state.inputs(state, step.fields, node.name)
        attempt = 1
        while True:
            started = run.clock.now()
            run.emit(NodeStarted(run.id, run.graph.name, node.name, attempt, inputs, started))
            child: ExecutionSummary | None = None
            try:
                if run.answers and node.name in run.answers:  # resumed with a person's answer
                    value = run.answers.pop(node.name)
                else:
                    value = await self._call(run, step, inputs)
                if isinstance(value, Pause):
                    value = await _answer(run, node.name, value)
                if step.subgraph is not None:
                    value, child = _subgraph_value(step, value)
                value, outputs, success, error, usage, chosen = _outcome(node, value)
            except (RunCancelled, _Parked):
                raise  # a subgraph's run was cancelled (so is this one), or a person must answer
            except Exception as exc:
                value, outputs, success = None, {}, False
                error, usage, chosen = str(exc) or type(exc).__name__, None, None
                delay = _retry_delay(step.retry, exc, attempt)
                if delay is not None:
                    took = run.clock.now() - started
                    run.emit(
                        NodeRetrying(
                            run.id, run.graph.name, node.name, attempt, error, delay, took, started
                        )
                    )
                    await run.clock.sleep(delay)
                    attempt += 1
                    continue
                logger.info("node %r failed: %s", node.name, error, exc_info=_debugging())
            took = run.clock.now() - started
            if success:
                event: NodeCompleted | NodeFailed = NodeCompleted(
                    run.id, run.graph.name, node.name, attempt, value, took, started, child, usage
                )
            else:
                event = NodeFailed(
                    run.id,
                    run.graph.name,
                    node.name,
                    attempt,
                    str(error),
                    value,
                    took,
                    started,
                    child,
                    usage,
                )
            run.emit(event)
            new = self._state.updated(state, outputs, success, error)
            return _Ran(new, success, chosen, event, outputs)

    async def _call(self, run: _Run, step: _Step, inputs: dict[str, Any]) -> Any:
        """The agent's return value; sync agents go to the thread pool when others run too."""
        work: Awaitable[Any]
        if step.subgraph is not None:
            child = run.children.pop(step.node.name, None) if run.children else None
            if child is not None:
                work = self._resume_child(run, step, *child)
            else:
                work = self.arun(
                    step.subgraph,
                    inputs,
                    handlers=run.extra,
                    parent_run_id=run.id,
                    ask=run.ask,
                    parent_node=step.node.name if run.journal is not None else None,
                )
        elif step.is_async:
            work = step.process(step.owner, inputs)
        elif step.timeout is None and run.branches.alone and run.limit is None:
            _INLINE[0] += 1  # Ctrl-C now must interrupt this call itself: see _on_sigint
            try:
                return step.process(step.owner, inputs)
            finally:
                _INLINE[0] -= 1
        else:
            work = asyncio.get_running_loop().run_in_executor(
                self._threads(), step.process, step.owner, inputs
            )
        if step.timeout is None:
            return await work
        try:
            return await asyncio.wait_for(work, step.timeout)
        except TimeoutError:
            raise NodeTimeout(f"timed out after {step.timeout:g}s") from None

    async def _arrive(self, run: _Run, branch: Branch) -> Branch | None:
        try:
            return await run.branches.arrive(branch)
        except MergeError as problem:
            raise _merge_error(run.graph, branch.node, problem) from None

    def _step(self, run: _Run, name: str) -> _Step:
        run.count += 1
        if run.count > self._max_steps:
            raise RunError(
                f"graph '{run.graph.name}' ran {self._max_steps} steps without finishing (a loop "
                "that never exits?) — fix the routing or raise execution.max_steps",
                graph=run.graph.name,
                node=name,
            )
        step = run.steps.get(name)
        if step is None:
            step = run.steps[name] = self._prepare(run, name)
        return step

    def _prepare(self, run: _Run, name: str) -> _Step:
        graph = run.graph
        node = graph.nodes[name]
        # Graph contexts are read-only mappings (a cheap type check: this runs for every node).
        context = node.context if isinstance(node.context, MappingProxyType | dict) else {}
        spec = spec_of(graph, node) if is_subgraph(node) else None
        subgraph = self._loader.subgraph(graph, node) if spec else None
        try:
            prompt = self._prompts.resolve(node.prompt, graph_folder(graph))
        except PromptError as exc:  # only for graphs built in code and never validated
            raise RunError(f"node '{name}': {exc}", graph=graph.name, node=name) from exc
        process = _no_process if subgraph else self._agents.process_for(node, prompt, graph)
        agent = getattr(process, "__self__", None)
        # Keep the agent and its class's function rather than a bound method per node: one
        # object fewer per node for the garbage collector to scan in long runs.
        method = getattr(process, "__func__", None)
        function = method if agent is not None and method is not None else _call_plain
        owner = agent if agent is not None else process
        fields = node.inputs
        if isinstance(agent, Agent):
            if type(agent).state_keys is not Agent.state_keys:
                fields += tuple((key, key) for key in agent.state_keys())
            if agent.streams:
                agent._chunk_sink = functools.partial(_emit_chunk, run, name)  # type: ignore[attr-defined]
        return _Step(
            node=node,
            fields=fields,
            process=function,
            owner=owner,
            is_async=subgraph is not None or self._agents.is_async(node.agent_type),
            on_success=self._route(graph, node, node.edge or node.success_next),
            on_failure=self._route(graph, node, node.edge or node.failure_next),
            retry=self._retry_policy(graph, context, getattr(agent, "default_retry", None)),
            timeout=float(context["timeout"]) if context.get("timeout") is not None else None,
            subgraph=subgraph,
            spec=spec,
        )

    def _retry_policy(
        self, graph: Graph, context: Mapping[str, Any], agent_default: Mapping[str, Any] | None
    ) -> RetryPolicy | None:
        """The node's policy: its Context, else its graph's, else the config's, else its agent's."""
        if "retry" not in context:
            configured = self._retry_by_graph.get(graph.name, self._retry)
            if configured is None and agent_default:
                return RetryPolicy.from_dict(agent_default)
            return configured
        data = context["retry"]
        return RetryPolicy.from_dict(data) if data else None  # {"retry": null}: none here

    def _route(self, graph: Graph, node: Node, cell: str | None) -> Route:
        if cell is None:
            return ()
        if not cell.startswith(FUNC_PREFIX):
            return (cell,) if "|" not in cell else tuple(t.strip() for t in cell.split("|"))
        name = cell[len(FUNC_PREFIX) :].strip()
        function = self._functions.get(name)
        if function is None:
            raise RunError(
                f"node '{node.name}': no routing function named '{name}'",
                graph=graph.name,
                node=node.name,
            )
        targets = (_plain(node.success_next), _plain(node.failure_next))

        def decide(state: State) -> tuple[str, ...]:
            try:
                chosen: str | None = function(state, *targets)
            except Exception as exc:
                raise RunError(
                    f"routing function '{name}' (node '{node.name}') raised "
                    f"{type(exc).__name__}: {exc}",
                    graph=graph.name,
                    node=node.name,
                ) from exc
            if chosen is not None and chosen not in graph.nodes:
                raise RunError(
                    f"routing function '{name}' (node '{node.name}') returned {chosen!r}, which is "
                    f"no node of graph '{graph.name}' — return a node name, or None to end the run",
                    graph=graph.name,
                    node=node.name,
                )
            return () if chosen is None else (chosen,)

        return decide

    def _final_state(self, run: _Run, initial: State) -> State:
        """The last branch's state; branches that ended apart are merged like at a join."""
        if run.waiting:  # stopped for answers: the state so far
            states = [b.state for b in (*run.ended, *run.branches.live.values())]
            return states[-1] if states else initial
        if len(run.ended) == 1:
            return run.ended[0].state
        if not run.ended:
            return initial
        ordered = sorted(run.ended, key=lambda b: b.lineage)
        try:
            return merge_states(
                initial, [(b.head, b.state) for b in ordered], run.branches.reducers
            )
        except MergeError as problem:
            raise _merge_error(run.graph, None, problem) from None

    async def _stopped(self, run: _Run, initial: State, error: RunError) -> RunError:
        """Stop every branch, attach the partial result to ``error``, tell the handlers."""
        for task in run.tasks:
            task.cancel()
        run.branches.cancel()
        if run.tasks:
            await asyncio.gather(*run.tasks, return_exceptions=True)
        states = [b.state for b in (*run.ended, *run.branches.live.values())]
        partial = self._result(run, states[-1] if states else initial)
        summary = replace(partial.summary, success=False)  # it stopped: it did not succeed
        error.result = replace(partial, success=False, summary=summary)
        took = summary.total_duration
        if run.journal is not None:
            status: Literal["cancelled", "failed"] = (
                "cancelled" if isinstance(error, RunCancelled) else "failed"
            )
            run.journal.finish(status, partial.final_state, summary.to_dict(), error.message)
        if isinstance(error, RunCancelled):
            run.emit(RunCancelledEvent(run.id, run.graph.name, took))
        else:
            run.emit(RunFailed(run.id, run.graph.name, error.message, took))
        await _flush(run)
        return error

    def _result(self, run: _Run, state: State) -> ExecutionResult:
        summary = run.tracker.get_summary()
        if run.waiting:  # not finished, so not a success
            summary = replace(summary, success=False)
        return ExecutionResult(
            graph_name=run.graph.name,
            final_state=self._state.to_dict(state),
            success=summary.success,
            summary=summary,
            run_id=run.id,
            waiting=tuple(run.waiting),
        )

    def _threads(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                self._max_concurrency, thread_name_prefix="agentmap-agent"
            )
        return self._pool

    def _needs_loop(
        self, graph: Graph, handlers: tuple[Handler, ...], timeout: float | None
    ) -> bool:
        if timeout is not None or self._timeout is not None:
            return True
        if any(inspect.iscoroutinefunction(h) for h in (*self._events.handlers, *handlers)):
            return True
        cached = self._loop_cache.get(id(graph))
        if cached is None or cached[0] is not graph:
            cached = self._loop_cache[id(graph)] = (graph, self._graph_needs_loop(graph))
            if len(self._loop_cache) > 64:
                self._loop_cache.pop(next(iter(self._loop_cache)))
        return cached[1]

    def _graph_needs_loop(self, graph: Graph) -> bool:
        """Whether anything in ``graph`` can run concurrently, wait, or time out."""
        for node in graph.nodes.values():
            if self._agents.is_async(node.agent_type) or is_subgraph(node):
                return True
            if "|" in (node.edge or "") + (node.success_next or "") + (node.failure_next or ""):
                return True
            if isinstance(node.context, Mapping) and "timeout" in node.context:
                return True
        return False


def _call_plain(function: Process, inputs: dict[str, Any]) -> Any:
    return function(inputs)


async def _no_process(inputs: Mapping[str, Any]) -> None:
    """Placeholder process of a ``graph`` node: the runner runs the subgraph itself."""


def _subgraph_value(step: _Step, result: ExecutionResult) -> tuple[Any, ExecutionSummary]:
    """The ``graph`` node's return value (or ``Failure``) from its child run's result."""
    assert step.spec is not None
    if result.waiting:  # the subgraph's run waits for a person: so does this node
        raise _Parked(result.waiting[0].pause, result.run_id)
    value = parent_output(step.node, step.spec, result.final_state)
    if result.success:
        return value, result.summary
    error = result.final_state.get("error") or f"subgraph '{result.graph_name}' failed"
    return Failure(str(error), value=value), result.summary


def _retry_delay(policy: RetryPolicy | None, error: Exception, attempt: int) -> float | None:
    """The wait before retrying, or None. A server's ``Retry-After`` (``error.retry_after``,
    in seconds) is honoured: the wait is never shorter than it asks."""
    if policy is None or not policy.retries(error):
        return None
    delay = policy.get_retry_delay(attempt)
    hint = getattr(error, "retry_after", None)
    if delay is None or not isinstance(hint, int | float):
        return delay
    return max(delay, float(hint))


class _Ran(NamedTuple):
    """What running a node gave: the new state, the outcome, and what the node wrote."""

    state: State
    success: bool
    chosen: str | None
    event: NodeCompleted | NodeFailed
    outputs: Mapping[str, Any]


async def _answer(run: _Run, node: str, pause: Pause) -> Any:
    """The node's value from a person asked right now, or ``_Parked`` when nobody can be."""
    if run.ask is None or pause.kind == "suspend":
        raise _Parked(pause)
    try:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # driven without a loop: nothing else runs meanwhile
            reply = run.ask(node, pause)
        else:  # other branches go on while the person thinks
            reply = await loop.run_in_executor(None, run.ask, node, pause)
    except EOFError:  # nobody answered after all (end of input): wait for a resume
        raise _Parked(pause) from None
    return answer_value(pause, reply)


def _checkpoint(
    run: _Run,
    branch: Branch,
    ran: _Ran,
    targets: tuple[str, ...],
    children: Sequence[Branch] = (),
) -> None:
    """Save the node's writes and where its branch goes next (a fork: the new branches)."""
    assert run.journal is not None
    event, state = ran.event, ran.state
    keys = (*ran.outputs, SUCCESS_KEY) if ran.success else (*ran.outputs, SUCCESS_KEY, ERROR_KEY)
    writes = {key: state[key] for key in keys}  # exactly what the new state holds
    run.journal.node(
        branch.id,
        event.node,
        event.attempt,
        ran.success,
        None if ran.success else state[ERROR_KEY],
        event.time - run.t0,
        event.duration,
        writes,
        targets,
        children[0].lineage[-1][0] if children else None,
        [child.id for child in children],
    )


def _failure(summary: ExecutionSummary) -> str | None:
    """Why a finished run failed, for the run store: its last failed node and that error."""
    if not summary.failed_nodes:
        return None  # a custom success policy said no
    node = summary.failed_nodes[-1]
    errors = [r.error for r in summary.node_results if r.node == node and not r.success]
    return f"node '{node}' failed: {errors[-1]}" if errors else f"node '{node}' failed"


def _emit_chunk(run: _Run, node: str, text: str) -> None:
    run.emit(NodeOutputChunk(run.id, run.graph.name, node, text))


def _chosen(graph: Graph, node: Node, chosen: str, targets: tuple[str, ...]) -> tuple[str, ...]:
    """The node an agent picked with ``Output(next=...)``: it must be one of ``targets``."""
    if chosen in targets:
        return (chosen,)
    raise RunError(
        f"node '{node.name}' chose to go to '{chosen}', which is not one of its routing targets "
        f"({', '.join(targets) or 'none'}) — list it in the routing cell",
        graph=graph.name,
        node=node.name,
    )


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
    conflict = problem
    heads = " and ".join(f"'{h}'" for h in conflict.heads)
    return RunError(
        f"branches started at {heads} both wrote '{conflict.key}' differently; they join{where} — "
        f'write different keys, or declare a reducer (Context {{"reduce": "append"}} on the '
        f"writing node, or execution.reducers)",
        graph=graph.name,
        node=node,
    )


def _plain(target: str | None) -> str | None:
    return target if target and not target.startswith(FUNC_PREFIX) else None


def _debugging() -> bool:
    return logger.isEnabledFor(logging.DEBUG)


class _Outcome(NamedTuple):
    value: Any
    outputs: Mapping[str, Any]
    success: bool
    error: str | None
    usage: Usage | None
    next: str | None


def _outcome(node: Node, value: Any) -> _Outcome:
    """What an agent's return value means: the state updates, success, error, usage, next node."""
    updates: Mapping[str, Any] = {}
    usage, chosen = None, None
    if isinstance(value, Output):
        updates, usage, chosen, value = value.updates, value.usage, value.next, value.value
    success, error = True, None
    if isinstance(value, Failure):
        success, error, value = False, value.error, value.value
    outputs, problem = _outputs(node, value, success)
    if problem is not None:
        return _Outcome(value, {}, False, problem, usage, None)
    return _Outcome(value, {**updates, **outputs}, success, error, usage, chosen)


def _outputs(node: Node, value: Any, success: bool) -> tuple[Mapping[str, Any], str | None]:
    """The Output_Field values of ``value``, or why the agent's return doesn't fit them."""
    keys = node.outputs
    if not keys or (value is None and not success):
        return {}, None
    if len(keys) == 1:
        return {keys[0]: value}, None
    wanted = "|".join(keys)
    if not isinstance(value, Mapping):
        return {}, (
            f"node '{node.name}' must return a mapping with keys {wanted} (its Output_Field), "
            f"but returned a {type(value).__name__}"
        )
    missing = [key for key in keys if key not in value]
    if missing:
        return {}, (
            f"node '{node.name}' did not return {', '.join(repr(k) for k in missing)} "
            f"(its Output_Field is {wanted})"
        )
    return {key: value[key] for key in keys}, None


async def _flush(run: _Run) -> None:
    """Wait for async event handlers still at work, so they finish before the run returns."""
    while run.pending:
        pending, run.pending = run.pending, []
        await asyncio.gather(*pending)


def _drive(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to completion, without an event loop."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("a run without async work suspended; this is a bug in agentmap")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even when an event loop is already running.

    Inside a running loop (Jupyter, an async agent calling ``run_graph``) the coroutine gets a
    loop of its own on a worker thread rather than failing.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_in_new_loop(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


_INLINE = [0]  # how many sync agents the event loop's thread is running right now


def _run_in_new_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, but with Ctrl-C that stops a run at once and keeps its partial result.

    asyncio's own handler only cancels the run at its next ``await``, which a sync agent
    blocking the loop's thread may not reach for minutes.
    """
    ours = threading.current_thread() is threading.main_thread() and (
        signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    if not ours:
        return asyncio.run(coroutine)
    with asyncio.Runner() as runner:
        loop = runner.get_loop()
        task = loop.create_task(coroutine)
        signal.signal(signal.SIGINT, functools.partial(_on_sigint, loop, task))
        try:
            return loop.run_until_complete(task)
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _on_sigint(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any], *_: object) -> None:
    if _INLINE[0] or task.done() or task.cancelling():
        raise KeyboardInterrupt  # interrupts the agent running in this thread (or a 2nd Ctrl-C)
    loop.call_soon_threadsafe(task.cancel)
