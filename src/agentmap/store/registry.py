"""Graphs registered under an id and a semantic version, kept in the run store.

A version names one content for good: a service that registers ``flow`` 1.0.0 at every start
gets it accepted while the file is unchanged, and refused — with what changed — once someone
edits the file without bumping the version. Jobs record the id and version they ran, so a
result can always be traced to the graph that made it.
"""

from __future__ import annotations

import builtins
import json
import re
import time
from dataclasses import dataclass

from agentmap.exceptions import GraphRegistrationError
from agentmap.store import schema
from agentmap.store.runstore import RunStore

SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
"""A semantic version (semver.org 2.0.0): MAJOR.MINOR.PATCH, an optional -prerelease and
+build."""
GRAPH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")


@dataclass(frozen=True, slots=True)
class RegisteredGraph:
    """One version of a registered graph."""

    id: str
    version: str
    graph_file: str
    graph_name: str
    graph_hash: str
    node_hashes: dict[str, str]
    registered_at: float

    @property
    def source(self) -> str:
        """The graph as ``file::name``."""
        return f"{self.graph_file}::{self.graph_name}"

    def to_dict(self) -> dict[str, object]:
        """As JSON (the node hashes left out: they are for comparing versions)."""
        return {
            "id": self.id,
            "version": self.version,
            "file": self.graph_file,
            "graph": self.graph_name,
            "hash": self.graph_hash,
            "nodes": len(self.node_hashes),
            "registered_at": self.registered_at,
        }


def version_key(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
    """Semver precedence: a release ranks above its pre-releases; build metadata is ignored."""
    match = SEMVER.fullmatch(version)
    if match is None:
        return (0, 0, 0, 0, ())
    major, minor, patch, pre = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())
    parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return (int(major), int(minor), int(patch), 0, parts)


def check_id_and_version(graph_id: str, version: str) -> None:
    """``GraphRegistrationError`` unless both are well formed."""
    if not GRAPH_ID.fullmatch(graph_id):
        raise GraphRegistrationError(
            f"graph id {graph_id!r}: use letters, digits, '_', '.' and '-' (starting with a "
            "letter or digit, up to 200 characters), e.g. 'support-flow'"
        )
    if not SEMVER.fullmatch(version):
        raise GraphRegistrationError(
            f"version {version!r} of graph '{graph_id}' is not a semantic version — write "
            "MAJOR.MINOR.PATCH, e.g. '1.0.0' or '2.1.0-beta.1'"
        )


class GraphRegistry:
    """The registered graphs of one run store."""

    def __init__(self, store: RunStore) -> None:
        self.store = store

    def register(self, entry: RegisteredGraph) -> RegisteredGraph:
        """Record ``entry``; the one already recorded if its content is the same.
        ``GraphRegistrationError`` if the id and version name other content."""
        check_id_and_version(entry.id, entry.version)
        with self.store.translated_errors(), self.store.writer() as connection:
            rows = connection.execute(
                f"SELECT * FROM {schema.GRAPHS} WHERE id = :id AND version = :version",
                {"id": entry.id, "version": entry.version},
            )
            if rows:
                known = _entry(rows[0])
                if known.graph_hash != entry.graph_hash:
                    raise GraphRegistrationError(_changes(known, entry))
                return known
            connection.execute(
                f"INSERT INTO {schema.GRAPHS} (id, version, graph_file, graph_name, graph_hash, "
                "node_hashes, registered_at) VALUES (:id, :version, :graph_file, :graph_name, "
                ":graph_hash, :node_hashes, :registered_at)",
                {
                    "id": entry.id,
                    "version": entry.version,
                    "graph_file": entry.graph_file,
                    "graph_name": entry.graph_name,
                    "graph_hash": entry.graph_hash,
                    "node_hashes": json.dumps(entry.node_hashes, sort_keys=True),
                    "registered_at": entry.registered_at or time.time(),
                },
            )
            connection.commit()
        return entry

    def versions(self, graph_id: str) -> builtins.list[RegisteredGraph]:
        """Every version registered under ``graph_id``, oldest first by semver."""
        with self.store.translated_errors(), self.store.reader() as connection:
            rows = connection.execute(
                f"SELECT * FROM {schema.GRAPHS} WHERE id = :id", {"id": graph_id}
            )
        return sorted((_entry(row) for row in rows), key=lambda e: version_key(e.version))

    def list(self) -> builtins.list[RegisteredGraph]:
        """Every registered graph version, by id then semver."""
        with self.store.translated_errors(), self.store.reader() as connection:
            rows = connection.execute(f"SELECT * FROM {schema.GRAPHS}")
        found = [_entry(row) for row in rows]
        return sorted(found, key=lambda e: (e.id, version_key(e.version)))


def _entry(row: dict[str, object]) -> RegisteredGraph:
    return RegisteredGraph(
        id=str(row["id"]),
        version=str(row["version"]),
        graph_file=str(row["graph_file"]),
        graph_name=str(row["graph_name"]),
        graph_hash=str(row["graph_hash"]),
        node_hashes=json.loads(str(row["node_hashes"])),
        registered_at=float(row["registered_at"]),  # type: ignore[arg-type]
    )


def _changes(known: RegisteredGraph, new: RegisteredGraph) -> str:
    """Why ``new`` can't be registered as ``known``'s id and version: what differs."""
    before, after = known.node_hashes, new.node_hashes
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(n for n in set(before) & set(after) if before[n] != after[n])
    what = []
    if known.graph_name != new.graph_name:
        what.append(f"the graph is now '{new.graph_name}' (was '{known.graph_name}')")
    if added:
        what.append("nodes added: " + ", ".join(added))
    if removed:
        what.append("nodes removed: " + ", ".join(removed))
    if changed:
        what.append("nodes changed: " + ", ".join(changed))
    if not what:
        what.append("its definition differs")
    return (
        f"graph '{known.id}' version {known.version} is already registered with other content "
        f"(from {known.graph_file}); {'; '.join(what)} — register it as a new version"
    )
