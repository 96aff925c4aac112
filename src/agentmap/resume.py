"""Resuming a stored run: rebuild where it stood from its checkpoints, and check it still fits.

The one place resumes are planned: ``GraphRunnerService.aresume_stored`` calls ``plan_resume``
for a run asked for by id and for a subgraph's run carried on by its parent.

Replaying the checkpoints in order gives every branch's state and next node without running
anything: a node's writes are applied to its branch, forks and joins are redone with the ids
they had. A failed run that finished is rewound to its last failed node, which runs again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from agentmap.agents.human import answer_value, timed_out, timeout_outcome, timeout_value
from agentmap.branches import Branch, Branches
from agentmap.exceptions import ResumeError
from agentmap.graph.model import Graph
from agentmap.graph.subgraphs import is_subgraph
from agentmap.outcomes import Pause
from agentmap.pauses import NO_ANSWER
from agentmap.results import NodeResult
from agentmap.state import State
from agentmap.store.records import RESUMABLE, Checkpoint, RunRecord, fingerprint
from agentmap.store.runstore import RunStore


class Resumption(NamedTuple):
    """Everything the runner needs to carry on a stored run."""

    run_id: str
    initial: State
    branches: Branches
    ended: tuple[Branch, ...]
    results: tuple[NodeResult, ...]
    answers: Mapping[str, Any]
    elapsed: float
    started_at: float
    seq: int
    drop_from: int | None = None
    changes: tuple[str, ...] = ()
    children: Mapping[str, tuple[str, Any]] = MappingProxyType({})
    """``graph`` nodes waiting on their subgraph's run: node → (that run, the answer for it)."""
    forced: bool = False


def plan_resume(
    store: RunStore,
    record: RunRecord,
    graph: Graph,
    reducers: Mapping[str, str],
    *,
    answer: Any = NO_ANSWER,
    node: str | None = None,
    force: bool = False,
) -> Resumption:
    """Where ``record``'s run stands and how to carry it on, or ``ResumeError`` saying why not."""
    _check_status(record)
    checkpoints = store.checkpoints(record.id)
    drop_from = None
    branches, ended = _replay(graph, reducers, record, checkpoints)
    kept = list(checkpoints)
    if not branches.live:
        drop_from, kept = _rewind(record, checkpoints)
        branches, ended = _replay(graph, reducers, record, kept)
    changes = _check_graph(record, graph, branches, force)
    answers, children = answers_for(record, answer, node)
    children.update(_cut_short(store, record, graph, branches, children))
    results = tuple(_result(c) for c in kept if c.kind == "node")
    ends = [(c.started or 0) + (c.duration or 0) for c in kept if c.kind == "node"]
    return Resumption(
        run_id=record.id,
        initial=State(record.initial_state or {}),
        branches=branches,
        ended=tuple(ended),
        results=results,
        answers=answers,
        children=children,
        forced=force,
        elapsed=max(ends, default=0.0),
        started_at=record.started_at,
        seq=checkpoints[-1].seq if checkpoints else 0,
        drop_from=drop_from,
        changes=changes,
    )


def _check_status(record: RunRecord) -> None:
    if record.status in RESUMABLE and record.checkpoints:
        return
    if record.status == "running":
        raise ResumeError(
            f"run {record.id} is still running (process {record.pid} on {record.host}) — "
            "wait for it, or stop it first"
        )
    if record.status == "succeeded":
        raise ResumeError(
            f"run {record.id} succeeded; there is nothing to resume — start a new run with "
            "`agentmap run`"
        )
    raise ResumeError(
        f"run {record.id} was made with storage.checkpoints off, so there are no checkpoints "
        "to resume it from — run it again"
    )


def _replay(
    graph: Graph, reducers: Mapping[str, str], record: RunRecord, checkpoints: Sequence[Checkpoint]
) -> tuple[Branches, list[Branch]]:
    """The run's branches after ``checkpoints``, and the branches that had ended."""
    branches = Branches(graph, dict(reducers))
    branches.start(record.entry, State(record.initial_state or {}))
    ended: list[Branch] = []
    top = 0
    for checkpoint in checkpoints:
        if checkpoint.kind == "join":
            branches.rejoin(checkpoint.node, list(checkpoint.merged), checkpoint.branch)
            top = max(top, checkpoint.branch)
            continue
        branch = branches.live[checkpoint.branch]
        for key, value in (checkpoint.updates or {}).items():
            branch.state = branch.state.set(key, value)
        if checkpoint.fork is not None:
            children = list(checkpoint.children)
            branches.fork(branch, list(checkpoint.next), (checkpoint.fork, children))
            top = max(top, checkpoint.fork, *children)
        elif checkpoint.next:
            branch.node = checkpoint.next[0]
        else:
            branch.node = None
            ended.append(branches.live.pop(branch.id))
    branches.renumber_from(top + 1)
    return branches, ended


def _rewind(record: RunRecord, checkpoints: Sequence[Checkpoint]) -> tuple[int, list[Checkpoint]]:
    """A run that ended in failure goes back to its last failed node, to run it again."""
    if record.status == "failed":
        for index in range(len(checkpoints) - 1, -1, -1):
            if checkpoints[index].kind == "node" and checkpoints[index].success is False:
                return checkpoints[index].seq, list(checkpoints[:index])
    raise ResumeError(
        f"run {record.id} ended ({record.status}) with every node it ran finished and none "
        "failed, so there is nothing to run again — start a new run with `agentmap run`"
    )


def _check_graph(
    record: RunRecord, graph: Graph, branches: Branches, force: bool
) -> tuple[str, ...]:
    """What changed in the graph since the run; refuse what can't be carried on."""
    digest, nodes = fingerprint(graph)
    if digest == record.graph_hash:
        return ()
    before = record.node_hashes
    changes = [f"node '{n}' was added" for n in nodes if n not in before]
    changes += [f"node '{n}' was removed" for n in before if n not in nodes]
    changes += [f"node '{n}' was changed" for n in nodes if n in before and before[n] != nodes[n]]
    listed = "; ".join(changes) or "the graph's name changed"
    gone = sorted({b.node for b in branches.live.values() if b.node and b.node not in nodes})
    if gone:
        raise ResumeError(
            f"can't resume run {record.id}: the graph changed since it ran ({listed}), and "
            f"node {', '.join(repr(n) for n in gone)}, where it stopped, no longer exists — "
            "restore the node, or start a new run",
            graph=graph.name,
            file=graph.file,
        )
    if not force:
        raise ResumeError(
            f"run {record.id}'s graph changed since it ran ({listed}) — resume with --force to "
            "carry on with the graph as it is now",
            graph=graph.name,
            file=graph.file,
        )
    return tuple(changes)


def answers_for(
    record: RunRecord, answer: Any, node: str | None
) -> tuple[dict[str, Any], dict[str, tuple[str, Any]]]:
    """The answers to put in waiting nodes (the one given; ``None`` for suspended nodes; the
    timeout outcome for questions whose time ran out), and the subgraph runs to carry on with
    theirs (a ``graph`` node waits on its subgraph's run). An answer given after its question's
    deadline is refused: the deadline stands however late someone comes back."""
    waiting = {str(w["node"]): w for w in record.waiting}
    if answer is not NO_ANSWER and not waiting:
        raise ResumeError(
            f"run {record.id} is not waiting for an answer ({record.status}) — resume it "
            "without --value, --approve, --reject or --choice"
        )
    if node is not None and node not in waiting:
        raise ResumeError(
            f"run {record.id} has no node '{node}' waiting for an answer; waiting: "
            f"{', '.join(waiting) or 'none'}"
        )
    if answer is not NO_ANSWER and node is None and len(waiting) > 1:
        raise ResumeError(
            f"run {record.id} waits for answers at {', '.join(waiting)} — say which with --node"
        )
    answers: dict[str, Any] = {}
    children: dict[str, tuple[str, Any]] = {}
    now = time.time()
    for name, question in waiting.items():
        pause = Pause.from_dict(question)
        given = answer is not NO_ANSWER and (node is None or node == name)
        child = question.get("child_run")
        if child:  # the question is its subgraph's: that run takes the answer, as given
            children[name] = (str(child), answer if given else NO_ANSWER)
        if not given:
            if not child and (unanswered := _unanswered(pause, now)) is not NO_ANSWER:
                answers[name] = unanswered
            continue
        if timed_out(pause, now):
            raise ResumeError(
                f"node '{name}' of run {record.id} stopped taking answers at "
                f"{_when(pause.deadline)} (timeout_seconds) — resume without an answer and "
                f"{timeout_outcome(pause)}"
            )
        try:
            value = answer_value(pause, answer)  # checked here, before anything runs
        except ValueError as exc:
            raise ResumeError(
                f"node '{name}' of run {record.id} can't take that answer: {exc}"
            ) from None
        if not child:
            answers[name] = value
    return answers, children


def timed_out_nodes(record: RunRecord) -> list[str]:
    """The nodes of a waiting run whose time to answer has run out (``timeout_seconds``)."""
    return [str(w["node"]) for w in record.waiting if timed_out(Pause.from_dict(w))]


def _unanswered(pause: Pause, now: float) -> Any:
    """What a waiting node resumed with no answer gets: ``None`` for ``suspend``; the timeout
    outcome once its time ran out; its stored question, asked again with the same deadline,
    while it runs (so waiting and resuming never extend the time); else it runs again."""
    if pause.kind == "suspend":
        return None
    if timed_out(pause, now):
        return timeout_value(pause)
    return pause if pause.deadline is not None else NO_ANSWER


def _when(deadline: float | None) -> str:
    moment = datetime.fromtimestamp(deadline or 0, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _cut_short(
    store: RunStore,
    record: RunRecord,
    graph: Graph,
    branches: Branches,
    children: Mapping[str, tuple[str, Any]],
) -> dict[str, tuple[str, Any]]:
    """Subgraph runs a stop cut short, to carry on where they stood rather than start again."""
    found: dict[str, tuple[str, Any]] = {}
    for branch in branches.live.values():
        node = graph.nodes.get(branch.node or "")
        if node is None or node.name in children or not is_subgraph(node):
            continue
        child = store.child_run(record.id, node.name)
        if child is not None and child.status in RESUMABLE and child.checkpoints:
            found[node.name] = (child.id, NO_ANSWER)
    return found


def _result(checkpoint: Checkpoint) -> NodeResult:
    return NodeResult(
        checkpoint.node,
        bool(checkpoint.success),
        checkpoint.duration or 0.0,
        checkpoint.started or 0.0,
        checkpoint.error,
        attempt=checkpoint.attempt,
    )
