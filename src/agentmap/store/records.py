"""What the run store holds, as plain records: a run, and the checkpoints it left behind.

A run's ``status`` as stored is what its process last wrote. A process killed outright writes
nothing more, so a run still marked ``running`` whose process is gone reads as ``crashed``.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    from agentmap.graph.model import Graph, Node

Status = Literal["running", "succeeded", "failed", "waiting", "cancelled", "crashed"]
STATUSES: tuple[Status, ...] = ("running", "succeeded", "failed", "waiting", "cancelled", "crashed")
RESUMABLE: tuple[Status, ...] = ("failed", "cancelled", "crashed", "waiting")


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as the store knows it. ``status`` already accounts for crashed processes.

    ``initial_state``, ``final_state`` and ``summary`` are ``None`` in listings (only
    ``RunStore.get`` reads them); ``waiting`` lists the questions of a ``waiting`` run.
    """

    id: str
    graph_name: str
    graph_file: str | None
    entry: str
    graph_hash: str
    status: Status
    started_at: float
    updated_at: float
    finished_at: float | None = None
    duration: float | None = None
    error: str | None = None
    pid: int | None = None
    host: str | None = None
    checkpoints: bool = True
    version: str = ""
    node_hashes: dict[str, str] = field(default_factory=dict)
    initial_state: dict[str, Any] | None = None
    final_state: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    waiting: tuple[dict[str, Any], ...] = ()
    parent_run_id: str | None = None  # set for a subgraph's run
    parent_node: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        data = asdict(self)
        data["waiting"] = list(self.waiting)
        return data


class Checkpoint(NamedTuple):
    """One step of a run, saved as it happened.

    ``kind`` is ``node`` (branch ``branch`` ran ``node``; its writes are ``updates`` and it
    went on to ``next``, forking as ``fork`` with child branch ids ``children`` when several)
    or ``join`` (branches ``merged`` became branch ``branch`` at ``node``).
    """

    seq: int
    kind: Literal["node", "join"]
    branch: int
    node: str
    attempt: int = 1
    success: bool | None = None
    error: str | None = None
    started: float | None = None
    duration: float | None = None
    updates: dict[str, Any] | None = None
    next: tuple[str, ...] = ()
    fork: int | None = None
    children: tuple[int, ...] = ()
    merged: tuple[int, ...] = ()


NODE_RESULTS_FROM = "node_results_from"
"""Set to ``"checkpoints"`` in a stored summary whose node results are its run's checkpoints."""

FINAL_FAILURE = "final_failure"
"""Set (true) in a failed run's stored summary when resuming can't change the outcome: the node
that failed fails by design (a ``failure`` node), so no resume is offered."""


def this_process() -> tuple[str, int, str | None]:
    """(host, pid, start time) of this process: enough to tell later whether it still runs.

    Read once per process (a forked child reads its own): every run records it.
    """
    pid = os.getpid()
    known = _THIS[0]
    if known is None or known[1] != pid:
        known = _THIS[0] = (socket.gethostname(), pid, _start_time(pid))
    return known


_THIS: list[tuple[str, int, str | None] | None] = [None]


def still_running(host: str | None, pid: int | None, started: str | None) -> bool:
    """Whether the process that wrote a ``running`` run is alive (other hosts: assume so)."""
    if host != socket.gethostname() or pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process exists with that pid
    state, now = _proc_stat(pid)
    if state == "Z":
        return False  # killed, not yet reaped by its parent
    return started is None or now is None or now == started  # else the pid was reused


def _start_time(pid: int) -> str | None:
    return _proc_stat(pid)[1]


def _proc_stat(pid: int) -> tuple[str | None, str | None]:
    """(state, start time in clock ticks since boot) of a process, on Linux; else Nones."""
    try:
        # Bytes: a text mode would look up (and import) the ascii codec on every start.
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
        return fields[0].decode(), fields[19].decode()
    except (OSError, IndexError):
        return None, None


def fingerprint(graph: Graph) -> tuple[str, dict[str, str]]:
    """A hash of the graph's definition, and one per node (descriptions don't count).

    Kept per graph object (graphs are immutable): a big graph run many times hashes once.
    """
    _, digest, nodes, _ = _fingerprinted(graph)
    return digest, dict(nodes)


def fingerprint_json(graph: Graph) -> tuple[str, str]:
    """``fingerprint``, its node hashes as the JSON a run's record keeps: made once per graph
    too (a 10,000-node graph's take longer to write than its run's start takes otherwise)."""
    _, digest, _, text = _fingerprinted(graph)
    return digest, text


def _fingerprinted(graph: Graph) -> tuple[Any, str, dict[str, str], str]:
    cached = _FINGERPRINTS.get(id(graph))
    if cached is not None and cached[0] is graph:
        return cached
    nodes = {name: _node_hash(node) for name, node in graph.nodes.items()}
    whole = hashlib.sha256(json.dumps([graph.name, nodes], sort_keys=True).encode()).hexdigest()
    if len(_FINGERPRINTS) >= 64:
        _FINGERPRINTS.pop(next(iter(_FINGERPRINTS)))
    cached = _FINGERPRINTS[id(graph)] = (
        graph,
        whole[:32],
        nodes,
        json.dumps(nodes, separators=(",", ":")),
    )
    return cached


_FINGERPRINTS: dict[int, tuple[Any, str, dict[str, str], str]] = {}


def _node_hash(node: Node) -> str:
    context = dict(node.context) if isinstance(node.context, Mapping) else node.context
    definition = [
        node.agent_type,
        node.edge,
        node.success_next,
        node.failure_next,
        node.inputs,
        node.outputs,
        node.prompt,
        context,
    ]
    text = json.dumps(definition, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
