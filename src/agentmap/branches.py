"""Parallel branches of one run: where each branch is, and when branches join.

The join rule: a branch that reaches a node waits there while any other live branch could
still reach that node; once none can (they have all arrived, ended, or gone where the node
can't be reached from), the node runs once, on the merged state of the branches waiting at it.
A ``func:`` route may lead anywhere, so a branch past one can reach every node. If every live
branch is waiting and each could reach another's node, the join written first in the file goes
first — waiting can never deadlock.

A branch ``park``ed to wait for a person stays live: joins it could reach wait for it. When
nothing but parked branches can move, the branches waiting at joins are let go — they stay
live at their joins, to arrive again when the run is resumed.

A run with one live branch (every run of a graph without ``A|B`` cells) never waits here.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from agentmap.graph.model import FUNC_PREFIX, Graph
from agentmap.reducers import merge_states
from agentmap.state import State


@dataclass(slots=True)
class Branch:
    """One line of execution: where it is, its state, and the forks it descends from.

    ``lineage`` holds ``(fork id, branch index)`` for every fork since the run (or the last
    join that merged it) began; ``head`` is the node that started the branch.
    """

    id: int
    node: str | None
    state: State
    lineage: tuple[tuple[int, int], ...] = ()
    head: str = ""


@dataclass
class Branches:
    """The live branches of one run, and the join rule between them."""

    graph: Graph
    reducers: dict[str, str]
    live: dict[int, Branch] = field(default_factory=dict)
    waiting: dict[str, list[tuple[Branch, asyncio.Future[Branch | None]]]] = field(
        default_factory=dict
    )
    _fork_states: dict[int, State] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _reach: dict[str, frozenset[str]] = field(default_factory=dict)
    parked: set[int] = field(default_factory=set)
    on_join: Callable[[str, list[int], int], None] | None = None
    """Told of every join: (node, the branch ids merged, the merged branch's id)."""

    def start(self, node: str, state: State) -> Branch:
        """The run's first branch."""
        branch = Branch(next(self._ids), node, state, head=node)
        self.live[branch.id] = branch
        return branch

    @property
    def alone(self) -> bool:
        """True when only one branch is live: nothing can run concurrently, nothing to join."""
        return len(self.live) <= 1

    def fork(
        self, parent: Branch, targets: list[str], ids: tuple[int, list[int]] | None = None
    ) -> list[Branch]:
        """Replace ``parent`` by one new branch per target, all starting from its state.

        ``ids`` (fork id, child ids) replays a fork a checkpoint recorded.
        """
        fork_id, child_ids = ids or (next(self._ids), [next(self._ids) for _ in targets])
        self._fork_states[fork_id] = parent.state
        del self.live[parent.id]
        children = [
            Branch(child_id, target, parent.state, (*parent.lineage, (fork_id, i)), target)
            for i, (child_id, target) in enumerate(zip(child_ids, targets, strict=True))
        ]
        self.live.update((child.id, child) for child in children)
        return children

    def park(self, branch: Branch) -> None:
        """``branch`` waits for a person at its node; it moves no further in this run."""
        self.parked.add(branch.id)
        self._settle()

    def rejoin(self, node: str, merged: list[int], merged_id: int) -> None:
        """Replay a join a checkpoint recorded: branches ``merged`` become ``merged_id``."""
        arrived = sorted((self.live.pop(i) for i in merged), key=lambda b: b.lineage)
        self.live[merged_id] = self._merge(node, arrived, merged_id)

    def renumber_from(self, next_id: int) -> None:
        """New branches and forks get ids from ``next_id`` on (after a replay)."""
        self._ids = itertools.count(next_id)

    def end(self, branch: Branch) -> None:
        """``branch`` finished (no next node); joins it was holding up may now go."""
        self.live.pop(branch.id, None)
        self._settle()

    async def arrive(self, branch: Branch) -> Branch | None:
        """``branch`` reached ``branch.node``: wait for the join rule.

        Returns the branch to carry on with (the merged one), or ``None`` when this branch was
        merged into another that carries on.
        """
        if self.alone:
            return branch
        future: asyncio.Future[Branch | None] = asyncio.get_running_loop().create_future()
        assert branch.node is not None
        self.waiting.setdefault(branch.node, []).append((branch, future))
        self._settle()
        return await future

    def cancel(self) -> None:
        """Release every waiting branch (the run is being cancelled)."""
        for entries in self.waiting.values():
            for _, future in entries:
                future.cancel()
        self.waiting.clear()

    def _settle(self) -> None:
        """Run every join that no live branch can still reach."""
        while self.waiting:
            ready = [node for node in self.waiting if not self._reachable_by_others(node)]
            if not ready and not self._running():
                ready = [min(self.waiting, key=self._row)]  # all wait on each other: file order
            if not ready:
                if self.parked and all(b.id in self.parked for b in self._running()):
                    self._let_go()  # only branches waiting for people could move: stop here
                return
            node = ready[0]  # one at a time: the merged branch may now hold up the others
            self._join(node, self.waiting.pop(node))

    def _let_go(self) -> None:
        """End every wait at a join without joining: the run is stopping to wait for people."""
        for entries in self.waiting.values():
            for _, future in entries:
                if not future.done():
                    future.set_result(None)
        self.waiting.clear()

    def _join(self, node: str, entries: list[tuple[Branch, asyncio.Future[Branch | None]]]) -> None:
        arrived = sorted((branch for branch, _ in entries), key=lambda b: b.lineage)
        merged = self._merge(node, arrived)
        for branch, _ in entries:
            self.live.pop(branch.id, None)
        self.live[merged.id] = merged
        if self.on_join is not None and len(arrived) > 1:
            self.on_join(node, [b.id for b in arrived], merged.id)
        first_future = entries[0][1]
        for _, future in entries:
            if not future.done():
                future.set_result(merged if future is first_future else None)

    def _merge(self, node: str, arrived: list[Branch], merged_id: int | None = None) -> Branch:
        if len(arrived) == 1:
            return arrived[0]
        prefix = _common_prefix([b.lineage for b in arrived])
        split = min(b.lineage[len(prefix)][0] for b in arrived if len(b.lineage) > len(prefix))
        state = merge_states(
            self._fork_states[split], [(b.head, b.state) for b in arrived], self.reducers
        )
        new_id = next(self._ids) if merged_id is None else merged_id
        return Branch(new_id, node, state, prefix, arrived[0].head)

    def _running(self) -> list[Branch]:
        waiting = {id(b) for entries in self.waiting.values() for b, _ in entries}
        return [b for b in self.live.values() if id(b) not in waiting]

    def _reachable_by_others(self, node: str) -> bool:
        for branch in self._running():
            if branch.node is not None and node in self._reachable(branch.node):
                return True
        return any(other != node and node in self._reachable(other) for other in self.waiting)

    def _reachable(self, start: str) -> frozenset[str]:
        """``start`` and every node a route from it can lead to (a ``func:`` route: all)."""
        if start not in self._reach:
            self._reach[start] = frozenset(self._walk(start))
        return self._reach[start]

    def _walk(self, start: str) -> Iterable[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            name = todo.pop()
            if name in seen or name not in self.graph.nodes:
                continue
            seen.add(name)
            for _, cell in self.graph.nodes[name].targets:
                if cell.startswith(FUNC_PREFIX):
                    return self.graph.nodes.keys()
                todo.extend(t.strip() for t in cell.split("|"))
        return seen

    def _row(self, node: str) -> int:
        return list(self.graph.nodes).index(node)


def _common_prefix(lineages: list[tuple[tuple[int, int], ...]]) -> tuple[tuple[int, int], ...]:
    prefix: list[tuple[int, int]] = []
    for parts in zip(*lineages, strict=False):
        if any(part != parts[0] for part in parts):
            break
        prefix.append(parts[0])
    return tuple(prefix)
