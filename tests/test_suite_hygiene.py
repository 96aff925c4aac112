"""The test suite itself: it never writes into the repository's own run store."""

from __future__ import annotations

from pathlib import Path

from agentmap import run_graph


def test_runs_made_in_the_repository_go_to_the_sessions_store(in_repo: Path) -> None:
    store = in_repo / ".agentmap" / "runs.db"
    before = store.stat().st_mtime_ns if store.exists() else None
    result = run_graph("graphs/hello.csv", {"input": "hi"})
    assert result.success
    assert (store.stat().st_mtime_ns if store.exists() else None) == before
