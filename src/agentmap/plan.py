"""Compile a graph into a plan: everything each node needs, resolved once before any node runs.

A ``Step`` holds a node's agent (built and bound), the state keys it reads, where it goes on
success and on failure, its retry policy, its timeout and — for a ``graph`` node — the plan of
the graph it runs (of each graph the state may pick, for a ``graph_field`` node). The run loop
reads steps and nothing else: no catalog lookup, prompt resolution or file read happens while a
run is going. Plans are cached by graph identity, so a graph run many times (jobs, batches, a
service) is compiled once; its agents are built once and serve every run of it (per-run data
belongs in the state, not on the agent).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from agentmap.agents.base import Agent
from agentmap.agents.catalog import AgentCatalog, Process
from agentmap.exceptions import AgentMapError, GraphSelectionError, RunError
from agentmap.functions import FunctionCatalog
from agentmap.graph.branch_checks import declared_reducers
from agentmap.graph.model import FUNC_PREFIX, Graph, Node, graph_folder
from agentmap.graph.subgraphs import MAX_DEPTH, SubgraphSpec, choice_key, is_subgraph, spec_of
from agentmap.prompts import PromptCatalog, PromptError
from agentmap.retry import RetryPolicy
from agentmap.state import State, bound_positionally
from agentmap.suggest import did_you_mean

Route = str | tuple[str, ...] | Callable[[State], tuple[str, ...]]
"""Where a node goes on an outcome: a node's name; node names (several = parallel, none = the
branch ends); or a routing function. One target is kept as the routing cell's own text rather
than a tuple of it: most nodes have one, and a 100,000-node graph would hold as many tuples."""


class SubgraphResolver(Protocol):
    """Finds the checked graph a ``graph`` node runs (the loader's ``subgraph``): its one
    graph, or the one its ``graph_field`` choice ``reference`` names."""

    def __call__(self, parent: Graph, node: Node, reference: str | None = None) -> Graph: ...


class GraphChoice(NamedTuple):
    """A ``graph_field`` node's graphs, compiled: the state's ``field`` picks one as it runs.

    ``refused`` holds the choices that can't run here and why (a graph already running above
    the node); picking one of them, or a graph not listed, fails the node.
    """

    field: str
    plans: Mapping[str, Plan]  # by ``choice_key``: ``Sub`` (``::Sub``), ``other.csv::Sub``
    refused: Mapping[str, str]

    def pick(self, value: Any, node: str) -> Plan:
        """The plan the state's value names, or ``GraphSelectionError`` saying why none."""
        key = choice_key(value) if isinstance(value, str) else None
        plan = self.plans.get(key) if key is not None else None
        if plan is not None:
            return plan
        if key is not None and key in self.refused:
            raise GraphSelectionError(
                f"node '{node}': the state's '{self.field}' picks '{key}', which can't run "
                f"here: {self.refused[key]}",
                node=node,
            )
        listed = [*self.plans, *self.refused]
        hint = did_you_mean(key, listed) if key else ""
        raise GraphSelectionError(
            f"node '{node}': the state's '{self.field}' is {value!r}, which names none of the "
            f"graphs this node can run{hint} (it can run: {', '.join(listed)}) — set "
            f"'{self.field}' to one of them, or add the graph to the node's Context \"choices\"",
            node=node,
        )


_EMPTY: Mapping[str, Any] = MappingProxyType({})
"""An empty mapping no one can change: the default of ``RunPolicy``'s mappings."""


class RunPolicy(NamedTuple):
    """The settings every run of a runner follows (``execution.*``), resolved once."""

    max_steps: int = 10_000
    max_concurrency: int = 64
    timeout: float | None = None
    retry: RetryPolicy | None = None
    retry_by_graph: Mapping[str, RetryPolicy] = _EMPTY
    reducers: Mapping[str, str] = _EMPTY

    @classmethod
    def from_settings(
        cls,
        max_steps: int = 10_000,
        max_concurrency: int = 64,
        timeout: float | None = None,
        retry: Mapping[str, Any] | None = None,
        retry_by_graph: Mapping[str, Mapping[str, Any]] | None = None,
        reducers: Mapping[str, str] | None = None,
    ) -> RunPolicy:
        """A policy from ``execution`` settings as configured (retry policies as dicts)."""
        return cls(
            max_steps=max_steps,
            max_concurrency=max_concurrency,
            timeout=timeout,
            retry=RetryPolicy.from_dict(retry) if retry else None,
            retry_by_graph=MappingProxyType(
                {name: RetryPolicy.from_dict(p) for name, p in (retry_by_graph or {}).items()}
            ),
            reducers=MappingProxyType(dict(reducers or {})),
        )


class Calling(NamedTuple):
    """How a step's agent is called and within what limits.

    Every node of one agent class under one policy is called alike, so its nodes share one
    ``Calling`` (a graph of 100,000 echo nodes holds one, not 100,000 copies of the same
    eight fields); a ``graph`` node has its own, holding the plan of the graph it runs.
    """

    process: Callable[[Any, dict[str, Any]], Any]  # called as process(owner, inputs)
    is_async: bool
    streams: bool  # the agent reports output chunks as it works
    quick: bool  # a sync agent that never blocks: called on the loop even when it is shared
    retry: RetryPolicy | None = None
    timeout: float | None = None
    subplan: Plan | GraphChoice | None = None  # a ``graph`` node: the graph(s) it runs
    spec: SubgraphSpec | None = None
    in_line: bool = False
    """A sync agent with no timeout: it may be called right on the run's thread (when nothing
    else needs that thread meanwhile: see ``_Run.call_now`` in runner.py). ``Compiler._step``
    works it out: ``not is_async and timeout is None and subplan is None``."""


@dataclass(frozen=True, slots=True)
class Step:
    """A node ready to run: its agent built, its routes and policies resolved.

    Only what differs from node to node is held here (a step per node); how the agent is
    called is the ``Calling`` its nodes share, read through the properties below. A slotted
    dataclass rather than a named tuple like the records around it: there is one per node,
    and it takes 80 bytes where the tuple would take 96 (1.6 MB more for 100,000 nodes).
    """

    node: Node
    fields: tuple[tuple[str, str], ...]  # (state key, input name): Input_Fields and agent extras
    owner: Any  # the agent (process is its class's function), or an @agent function
    on_success: Route
    on_failure: Route
    calling: Calling

    @property
    def process(self) -> Callable[[Any, dict[str, Any]], Any]:
        return self.calling.process

    @property
    def is_async(self) -> bool:
        return self.calling.is_async

    @property
    def streams(self) -> bool:
        return self.calling.streams

    @property
    def quick(self) -> bool:
        return self.calling.quick

    @property
    def retry(self) -> RetryPolicy | None:
        return self.calling.retry

    @property
    def timeout(self) -> float | None:
        return self.calling.timeout

    @property
    def subplan(self) -> Plan | GraphChoice | None:
        return self.calling.subplan

    @property
    def spec(self) -> SubgraphSpec | None:
        return self.calling.spec

    def next_nodes(self, state: State, success: bool) -> tuple[str, ...]:
        """Where the node's outcome leads (several nodes: the run forks)."""
        route = self.on_success if success else self.on_failure
        if isinstance(route, str):
            return (route,)
        return route(state) if callable(route) else route


class Plan(NamedTuple):
    """A compiled graph: a step per node, how branches merge, and whether it needs a loop."""

    graph: Graph
    steps: Mapping[str, Step]
    reducers: Mapping[str, str]
    needs_loop: bool
    """Anything concurrent, waiting or timed (async agents, ``A|B``, subgraphs, timeouts)."""

    def loop_free(self) -> int | None:
        """With no loop reachable from the entry, how many nodes a run can reach (``None``: a
        loop, or a routing function that may make one). It lets a run stopped by
        ``max_steps`` say whether the graph is just longer than the setting, not suspect a
        loop it doesn't have. Worked out when asked, not when compiled: only such a run asks,
        and the walk holds a stack as deep as the longest path (a 100,000-node chain's whole
        length) — more memory at its peak than the rest of compiling."""
        return loop_free_size(self.graph.entry, self.steps)


class Compiler:
    """Compiles graphs into plans with the project's agents, functions and prompts; keeps the
    last plans made (by graph identity) so a graph run again is not compiled again."""

    def __init__(
        self,
        agents: AgentCatalog,
        functions: FunctionCatalog,
        prompts: PromptCatalog,
        policy: RunPolicy,
        subgraphs: SubgraphResolver | None = None,
        cache_size: int = 64,
    ) -> None:
        self._agents = agents
        self._functions = functions
        self._prompts = prompts
        self._policy = policy
        self._subgraphs = subgraphs
        self._cache: OrderedDict[int, Plan] = OrderedDict()
        self._cache_size = cache_size
        self._agent_retries: dict[type, tuple[Mapping[str, Any], RetryPolicy]] = {}

    def compile(self, graph: Graph) -> Plan:
        """The plan of ``graph`` (and of every graph its ``graph`` nodes run)."""
        plan = self._cache.get(id(graph))
        if plan is not None and plan.graph is graph:
            self._cache.move_to_end(id(graph))
            return plan
        plan = self._compile(graph, ())
        self._cache[id(graph)] = plan  # the plan holds the graph: its id can't be reused
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return plan

    def reducers_for(self, graph: Graph) -> dict[str, str]:
        """How ``graph``'s parallel branches merge each key: configured, then declared."""
        return {**self._policy.reducers, **declared_reducers(graph)}

    def _compile(self, graph: Graph, running: tuple[tuple[str | None, str], ...]) -> Plan:
        key: tuple[str | None, str] = (graph.file, graph.name)
        running = (*running, key)
        callings: dict[tuple[Any, ...], Calling] = {}  # one of each kind, shared by its nodes
        steps = {
            name: self._step(graph, node, running, callings) for name, node in graph.nodes.items()
        }
        return Plan(
            graph=graph,
            steps=MappingProxyType(steps),
            reducers=MappingProxyType(self.reducers_for(graph)),
            needs_loop=any(_needs_loop(step) for step in steps.values()),
        )

    def _step(
        self,
        graph: Graph,
        node: Node,
        running: tuple[tuple[str | None, str], ...],
        callings: dict[tuple[Any, ...], Calling],
    ) -> Step:
        context = node.context if isinstance(node.context, Mapping) else {}
        spec, subplan = self._subgraph(graph, node, running) if is_subgraph(node) else (None, None)
        process = _no_process if subplan else self._process(graph, node)
        agent = getattr(process, "__self__", None)
        # Keep the agent and its class's function rather than a bound method per node: one
        # object fewer per node for the garbage collector to scan in long runs.
        method = getattr(process, "__func__", None)
        fields = bound_positionally(node.inputs, getattr(agent, "expected_params", None))
        if isinstance(agent, Agent) and type(agent).state_keys is not Agent.state_keys:
            fields += tuple((key, key) for key in agent.state_keys())
        if isinstance(subplan, GraphChoice) and (subplan.field, subplan.field) not in fields:
            fields += ((subplan.field, subplan.field),)  # read to pick the graph, then dropped
        is_async = subplan is not None or self._agents.is_async(node.agent_type)
        retry = self._retry_policy(graph, context, agent)
        timeout = float(context["timeout"]) if context.get("timeout") is not None else None
        calling = Calling(
            process=method if agent is not None and method is not None else _call_plain,
            is_async=is_async,
            streams=isinstance(agent, Agent) and agent.streams,
            quick=isinstance(agent, Agent) and agent.quick,
            retry=retry,
            timeout=timeout,
            subplan=subplan,
            spec=spec,
            in_line=not is_async and timeout is None and subplan is None,
        )
        on_success = self._route(graph, node, node.edge or node.success_next)
        return Step(
            node=node,
            fields=fields,
            owner=agent if agent is not None else process,
            on_success=on_success,
            on_failure=(
                on_success if node.edge else self._route(graph, node, node.failure_next)
            ),  # an Edge is both routes: one object for both
            calling=_shared(calling, callings),
        )

    def _process(self, graph: Graph, node: Node) -> Process:
        try:
            prompt = self._prompts.resolve(node.prompt, graph_folder(graph))
        except PromptError as exc:  # only for graphs built in code and never validated
            raise RunError(f"node '{node.name}': {exc}", graph=graph.name, node=node.name) from exc
        return self._agents.process_for(node, prompt, graph)

    def _subgraph(
        self, graph: Graph, node: Node, running: tuple[tuple[str | None, str], ...]
    ) -> tuple[SubgraphSpec, Plan | GraphChoice]:
        """The ``graph`` node's spec and its graph's plan — or, for a ``graph_field`` node, the
        plans of its choices (a graph that runs itself is refused)."""
        try:
            spec = spec_of(graph, node)
        except AgentMapError as exc:
            raise RunError(
                f"node '{node.name}': {exc.message}", graph=graph.name, node=node.name
            ) from exc
        if len(running) >= MAX_DEPTH:  # validation refuses it; a graph built in code may not be
            raise RunError(
                f"node '{node.name}': subgraphs nest more than {MAX_DEPTH} deep — run fewer "
                "graphs inside one another",
                graph=graph.name,
                node=node.name,
            )
        if spec.field is None:
            child = self._child(graph, node, None)
            if (child.file, child.name) in running:
                raise RunError(_runs_itself(node, child), graph=graph.name, node=node.name)
            return spec, self._compile(child, running)
        plans: dict[str, Plan] = {}
        refused: dict[str, str] = {}  # a loop only if the state picks it: the node fails then
        for reference in spec.choices:
            child = self._child(graph, node, reference)
            if (child.file, child.name) in running:
                refused[choice_key(reference)] = _runs_itself(node, child)
                continue
            try:
                plans[choice_key(reference)] = self._compile(child, running)
            except RunError as exc:  # e.g. it runs a graph running above (a warning, checked)
                refused[choice_key(reference)] = exc.message
        return spec, GraphChoice(spec.field, MappingProxyType(plans), MappingProxyType(refused))

    def _child(self, graph: Graph, node: Node, reference: str | None) -> Graph:
        """The graph ``reference`` names (``None``: the node's one graph)."""
        try:
            if self._subgraphs is None:
                raise RunError("no loader was given to find the graphs that graph nodes run")
            return self._subgraphs(graph, node, reference)
        except (AgentMapError, ValueError) as exc:
            message = getattr(exc, "message", str(exc))
            raise RunError(
                f"node '{node.name}': {message}", graph=graph.name, node=node.name
            ) from exc

    def _retry_policy(
        self, graph: Graph, context: Mapping[str, Any], agent: Any
    ) -> RetryPolicy | None:
        """The node's policy: its Context, else its graph's, else the config's, else its agent's."""
        if "retry" not in context:
            configured = self._policy.retry_by_graph.get(graph.name, self._policy.retry)
            if configured is None and getattr(agent, "default_retry", None):
                return self._agent_retry(agent)
            return configured
        data = context["retry"]
        return RetryPolicy.from_dict(data) if data else None  # {"retry": null}: none here

    def _agent_retry(self, agent: Any) -> RetryPolicy:
        """The agent's ``default_retry`` as a policy: made once per agent class, so its nodes
        share it (and so can share their ``Calling``) — unless this agent set its own."""
        default: Mapping[str, Any] = agent.default_retry
        cls = type(agent)
        if default is not getattr(cls, "default_retry", None):
            return RetryPolicy.from_dict(default)
        made = self._agent_retries.get(cls)
        if made is None or made[0] is not default:
            made = self._agent_retries[cls] = (default, RetryPolicy.from_dict(default))
        return made[1]

    def _route(self, graph: Graph, node: Node, cell: str | None) -> Route:
        if cell is None:
            return ()
        if not cell.startswith(FUNC_PREFIX):
            return cell if "|" not in cell else tuple(t.strip() for t in cell.split("|"))
        name = cell[len(FUNC_PREFIX) :].strip()
        function = self._functions.get(name)
        if function is None:
            raise RunError(
                f"node '{node.name}': no routing function named '{name}'",
                graph=graph.name,
                node=node.name,
            )
        return _routing(graph, node, name, function)


def _runs_itself(node: Node, child: Graph) -> str:
    return (
        f"node '{node.name}' runs graph '{child.name}', which is already running above it — a "
        "graph can't run itself"
    )


def _routing(graph: Graph, node: Node, name: str, function: Callable[..., Any]) -> Route:
    """A route that asks ``function(state, success_next, failure_next)`` where to go."""
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


def loop_free_size(entry: str, steps: Mapping[str, Step]) -> int | None:
    """The number of nodes reachable from ``entry`` when no loop is (``None`` if one is, or if
    a routing function is met: it may go anywhere).

    A depth-first walk with its own stack (a chain of a million nodes must not recurse): a
    route back to a node still on the walk's path is a loop.
    """
    if entry not in steps:
        return 0
    on_path: set[str] = set()
    done: set[str] = set()
    stack: list[tuple[str, list[str]]] = []

    def enter(name: str) -> list[str] | None:
        step = steps[name]
        if callable(step.on_success) or callable(step.on_failure):
            return None
        on_path.add(name)
        return [t for t in (*_named(step.on_success), *_named(step.on_failure)) if t in steps]

    first = enter(entry)
    if first is None:
        return None
    stack.append((entry, first))
    while stack:
        name, todo = stack[-1]
        if not todo:
            stack.pop()
            on_path.discard(name)
            done.add(name)
            continue
        target = todo.pop()
        if target in on_path:
            return None
        if target in done:
            continue
        following = enter(target)
        if following is None:
            return None
        stack.append((target, following))
    return len(done)


def _shared(calling: Calling, callings: dict[tuple[Any, ...], Calling]) -> Calling:
    """The ``Calling`` of ``callings`` equal to ``calling`` (it, the first time): nodes called
    alike share one. A ``graph`` node's is its own (it holds the plan of its graph)."""
    if calling.subplan is not None:
        return calling
    retry = calling.retry  # compared by identity: a node's policy is its graph's or its agent's
    key = (calling.process, calling.is_async, calling.streams, calling.quick, id(retry))
    return callings.setdefault((*key, calling.timeout), calling)


def _named(route: Route) -> tuple[str, ...]:
    """The nodes a route that is not a routing function names."""
    if isinstance(route, str):
        return (route,)
    return () if callable(route) else route


def _needs_loop(step: Step) -> bool:
    """Whether ``step`` can run concurrently with others, wait, or time out."""
    parallel = isinstance(step.on_success, tuple) and len(step.on_success) > 1
    parallel |= isinstance(step.on_failure, tuple) and len(step.on_failure) > 1
    return step.is_async or parallel or step.timeout is not None


def _plain(target: str | None) -> str | None:
    return target if target and not target.startswith(FUNC_PREFIX) else None


def _call_plain(function: Process, inputs: dict[str, Any]) -> Any:
    return function(inputs)


async def _no_process(inputs: Mapping[str, Any]) -> None:
    """Process of a ``graph`` node: the runner runs its subgraph itself."""
