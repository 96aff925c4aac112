"""The test suite itself: it never writes into the repository's own run store."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from agentmap import run_graph
from helpers import clean_env

TESTS = Path(__file__).resolve().parent


def test_runs_made_in_the_repository_go_to_the_sessions_store(in_repo: Path) -> None:
    store = in_repo / ".agentmap" / "runs.db"
    before = store.stat().st_mtime_ns if store.exists() else None
    result = run_graph("graphs/hello.csv", {"input": "hi"})
    assert result.success
    assert (store.stat().st_mtime_ns if store.exists() else None) == before


def test_a_test_that_writes_into_the_repositorys_store_fails_by_name(tmp_path: Path) -> None:
    """conftest.py's guard, on a copy of the suite's fixtures in a repository of its own
    (tmp_path): the test that runs a graph there with no store of its own fails, the others
    pass."""
    (tmp_path / "tests").mkdir()
    for name in ("conftest.py", "helpers.py", "llm_server.py"):
        shutil.copy(TESTS / name, tmp_path / "tests" / name)
    shutil.copytree(TESTS.parent / "graphs", tmp_path / "graphs")
    (tmp_path / "tests" / "test_inner.py").write_text(
        textwrap.dedent(
            """
            from pathlib import Path

            import pytest

            from agentmap import run_graph

            REPO = Path(__file__).resolve().parent.parent


            def test_runs_in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
                monkeypatch.chdir(REPO)
                assert run_graph("graphs/hello.csv", {"input": "hi"}).success


            def test_runs_in_its_own_folder() -> None:
                assert run_graph(REPO / "graphs" / "hello.csv", {"input": "hi"}).success


            def test_runs_in_the_repository_through_in_repo(in_repo: Path) -> None:
                assert run_graph("graphs/hello.csv", {"input": "hi"}).success
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_inner.py"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "3 passed, 1 error" in done.stdout, done.stdout  # the error: its teardown
    assert "ERROR at teardown of test_runs_in_the_repository _" in done.stdout, done.stdout
    assert f"this test wrote into {tmp_path / '.agentmap'}" in done.stdout
