"""Durable runs: the run store, checkpoints, replay for resume, and run history.

Importing this package is cheap: SQLAlchemy is imported only for a PostgreSQL store.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentmap.config import StorageSettings
    from agentmap.store.runstore import RunStore


def open_store(settings: StorageSettings) -> RunStore | None:
    """The store ``settings`` describe, opened and upgraded; ``None`` when ``url`` is ``none``."""
    if not settings.enabled:
        return None
    from agentmap.store.runstore import RunStore

    store = RunStore.open(
        settings.url, busy_timeout=settings.busy_timeout, retention_days=settings.retention_days
    )
    store.flush_interval, store.flush_batch = settings.flush_interval, settings.flush_batch
    return store


def store_resource(settings: StorageSettings) -> Iterator[RunStore | None]:
    """The store as a container resource: opened on first use, closed at shutdown."""
    store = open_store(settings)
    try:
        yield store
    finally:
        if store is not None:
            store.close()
