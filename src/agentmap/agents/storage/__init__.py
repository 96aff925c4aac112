"""Storage agents: nodes that read and write the project's CSV, JSON and text files.

``STORAGE_AGENTS`` are the built-in types; ``UNSUPPORTED`` the AgentMap storage types that are
not built here (vector stores, cloud blobs), which validation refuses by name rather than as
unknown types; ``missing_file`` the validation rule that a storage node names its file.

Validation imports this package for every graph, so the agents themselves
(``agentmap.agents.storage.agents``) are imported only for a graph that has storage nodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from agentmap.agents.base import type_name_of
from agentmap.agents.builtin_types import STORAGE_TYPES

if TYPE_CHECKING:
    from agentmap.agents.storage.agents import STORAGE_AGENTS, StorageAgent
    from agentmap.graph.model import Node

__all__ = ["STORAGE_AGENTS", "UNSUPPORTED", "StorageAgent", "missing_file", "unsupported"]

_CUSTOM = "write a custom agent for it (docs/agents.md#writing-an-agent)"
_BLOB = "AgentMap's cloud blob storage (Azure, S3, Google Cloud) — for a local file use"
_CLOUD_JSON = "AgentMap's JSON in cloud storage — for a local file use"
_VECTOR = "no vector store is built in"
UNSUPPORTED: Mapping[str, str] = MappingProxyType(
    {
        "vector_reader": f"AgentMap's vector-database search; {_VECTOR} — {_CUSTOM}",
        "vector_writer": f"AgentMap's vector-database indexing; {_VECTOR} — {_CUSTOM}",
        "blob_reader": f"{_BLOB} file_reader, json_reader or csv_reader; for a bucket, {_CUSTOM}",
        "blob_writer": f"{_BLOB} file_writer, json_writer or csv_writer; for a bucket, {_CUSTOM}",
        "cloud_json_reader": f"{_CLOUD_JSON} json_reader; for a bucket, {_CUSTOM}",
        "cloud_json_writer": f"{_CLOUD_JSON} json_writer; for a bucket, {_CUSTOM}",
        "document_reader": "AgentMap's document loaders (PDF, Word, HTML) — for text files use "
        f"file_reader; for other formats, {_CUSTOM}",
        "document_writer": f"AgentMap's document writer — use file_writer or json_writer, or "
        f"{_CUSTOM}",
    }
)
"""AgentMap storage types not built here → what they are and what to use instead."""


def __getattr__(name: str) -> Any:
    """``STORAGE_AGENTS`` and ``StorageAgent``, imported on first use."""
    if name not in ("STORAGE_AGENTS", "StorageAgent"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from agentmap.agents.storage import agents

    return getattr(agents, name)


def unsupported(agent_type: str) -> str | None:
    """Why an AgentType cell names an AgentMap storage type this project doesn't build (None:
    it names none)."""
    reason = UNSUPPORTED.get(type_name_of(agent_type))
    return None if reason is None else f"agent type '{agent_type}' is not supported here: {reason}"


def is_storage_type(agent_type: str) -> bool:
    """Whether an AgentType cell names one of the storage agents."""
    return type_name_of(agent_type) in STORAGE_TYPES


def missing_file(node: Node) -> str | None:
    """Why a storage node can't know its file — no Context key, Prompt or input names one —
    or None (also for nodes of other types)."""
    name = type_name_of(node.agent_type)
    if name not in STORAGE_TYPES:
        return None
    cls = _storage_class(name)
    context = node.context if isinstance(node.context, Mapping) else {}
    if any(str(context.get(key) or "").strip() for key in cls.location_keys):
        return None
    if node.prompt.strip() or any(param in cls.location_keys for _, param in node.inputs):
        return None
    keys = " or ".join(f"'{key}'" for key in cls.location_keys)
    return (
        f"{cls.type_name()} needs to know which {cls.file_kind} to use — set Context {keys} "
        f'(like {{"{cls.location_keys[0]}": "data/{_example(cls)}"}}), write the path in '
        f"Prompt, or list a '{cls.location_keys[0]}' field in Input_Fields"
    )


def _storage_class(name: str) -> type[StorageAgent]:
    from agentmap.agents.storage.agents import STORAGE_AGENTS

    return next(cls for cls in STORAGE_AGENTS if name in (cls.type_name(), *cls.aliases))


def _example(cls: type[StorageAgent]) -> str:
    return {"CSV file": "rows.csv", "JSON file": "records.json"}.get(cls.file_kind, "notes.txt")
