"""Durable runs as hooks around the run loop: each step, join and end of a run is journaled.

The loop never mentions the store: it tells its ``RunHooks`` what happened, and this module's
hooks turn that into the journal's rows. A hook's error (the store can't be written) stops the
run, unlike a user's event handler, whose errors are only logged. With no store, runs get
``NO_HOOKS``, which does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from agentmap.attempts import Ran
from agentmap.branches import Branch
from agentmap.graph.model import Graph
from agentmap.results import ExecutionResult, ExecutionSummary
from agentmap.state import ERROR_KEY
from agentmap.store.journal import Durability, RunJournal
from agentmap.store.records import FINAL_FAILURE, NODE_RESULTS_FROM
from agentmap.store.runstore import RunStore


class RunHooks(Protocol):
    """What a run tells the hooks it depends on (their errors stop the run)."""

    def stepped(
        self, branch: Branch, ran: Ran, targets: tuple[str, ...], children: Sequence[Branch]
    ) -> None:
        """``branch`` ran a node and goes on to ``targets`` (forking into ``children``)."""

    def joined(self, node: str, merged: list[int], branch: int) -> None:
        """The branches ``merged`` joined at ``node`` as ``branch``."""

    def ended(self, result: ExecutionResult) -> None:
        """The run finished, or stopped to wait for answers."""

    def stopped(
        self, status: Literal["failed", "cancelled"], result: ExecutionResult, error: str
    ) -> None:
        """The run stopped on an error of its own, or was cancelled."""

    def broken(self) -> None:
        """The run stopped on something else (the store itself failed): let go of it."""


class _NoHooks:
    def stepped(
        self, branch: Branch, ran: Ran, targets: tuple[str, ...], children: Sequence[Branch]
    ) -> None:
        pass

    def joined(self, node: str, merged: list[int], branch: int) -> None:
        pass

    def ended(self, result: ExecutionResult) -> None:
        pass

    def stopped(
        self, status: Literal["failed", "cancelled"], result: ExecutionResult, error: str
    ) -> None:
        pass

    def broken(self) -> None:
        pass


NO_HOOKS: RunHooks = _NoHooks()


class Journaling:
    """Records runs in a run store: a journal per run, with the configured durability."""

    def __init__(
        self, store: RunStore, checkpoints: bool = True, durability: Durability | None = None
    ) -> None:
        self.store = store
        self.checkpoints = checkpoints
        self.durability = durability or Durability()

    def start(
        self,
        run_id: str,
        graph: Graph,
        initial: Mapping[str, Any],
        t0: float,
        parent: tuple[str, str] | None = None,
        deferred: bool = False,
    ) -> RunHooks:
        """Record a new run as ``running``; its hooks journal it from here on. ``t0``: the run's
        start on its clock (nodes are timed from it, as its tracker times them). ``deferred``:
        the caller commits the run's end itself (``RunJournal.finish``)."""
        journal = RunJournal.start(
            self.store,
            run_id,
            graph,
            initial,
            checkpoints=self.checkpoints,
            parent=parent,
            durability=self.durability,
            deferred=deferred,
        )
        return _Journaled(journal, t0)

    def reopen(
        self,
        run_id: str,
        graph: Graph,
        t0: float,
        seq: int,
        drop_from: int | None,
        nodes: int,
        deferred: bool = False,
    ) -> RunHooks:
        """Mark a stored run ``running`` again, to carry it on from checkpoint ``seq`` (the
        ``nodes`` node checkpoints before it are kept)."""
        journal = RunJournal.reopen(
            self.store,
            run_id,
            graph,
            checkpoints=self.checkpoints,
            seq=seq,
            drop_from=drop_from,
            durability=self.durability,
            deferred=deferred,
        )
        journal.nodes = nodes
        return _Journaled(journal, t0)


class _Journaled:
    """Hooks that write one run's journal."""

    def __init__(self, journal: RunJournal, t0: float) -> None:
        self._journal = journal
        self._t0 = t0

    def stepped(
        self, branch: Branch, ran: Ran, targets: tuple[str, ...], children: Sequence[Branch]
    ) -> None:
        """Save the node's writes and where its branch goes next (a fork: the new branches).

        Called after every node, so it takes what it needs and no more. Its times are its
        event's, as the run's tracker keeps them (the same clock and ``t0``). The node wrote
        its outputs (a dict made for this node run, which the journal may keep as it is) and
        its outcome."""
        event = ran.event
        self._journal.node(
            branch.id,
            event.node,
            event.attempt,
            ran.success,
            None if ran.success else ran.state[ERROR_KEY],
            event.time - self._t0,
            event.duration,
            ran.outputs,
            targets,
            children[0].lineage[-1][0] if children else None,
            [child.id for child in children] if children else None,
        )

    def joined(self, node: str, merged: list[int], branch: int) -> None:
        self._journal.join(node, merged, branch)

    def ended(self, result: ExecutionResult) -> None:
        state = None if result.waiting else result.final_state
        waiting = [w.to_dict() for w in result.waiting]
        failure = _failure(result.summary) if result.status == "failed" else None
        summary = self._stored(result.summary)
        if result.status == "failed" and not result.resumable:
            summary[FINAL_FAILURE] = True  # a `failure` node failed: resuming won't help
        self._journal.finish(result.status, state, summary, failure, waiting)

    def stopped(
        self, status: Literal["failed", "cancelled"], result: ExecutionResult, error: str
    ) -> None:
        self._journal.finish(status, result.final_state, self._stored(result.summary), error)

    def broken(self) -> None:
        self._journal.close()

    def _stored(self, summary: ExecutionSummary) -> dict[str, Any]:
        """The summary to store: without its node results when the checkpoints hold exactly
        them (one per node run, nothing more to keep), which the store reads them back from.
        A 100,000-node run's summary would otherwise repeat every checkpoint."""
        count, outcomes_only = summary.outcomes_only()
        derivable = self._journal.checkpoints and count == self._journal.nodes and outcomes_only
        if not derivable:
            return summary.to_dict()
        return {**summary.to_dict(node_results=False), NODE_RESULTS_FROM: "checkpoints"}


def _failure(summary: ExecutionSummary) -> str | None:
    """Why a finished run failed, for the run store: its last failed node and that error."""
    if not summary.failed_nodes:
        return None  # a custom success policy said no
    node = summary.failed_nodes[-1]
    errors = [r.error for r in summary.node_results if r.node == node and not r.success]
    return f"node '{node}' failed: {errors[-1]}" if errors else f"node '{node}' failed"
