"""Shared fixtures: fresh graph files and projects in tmp_path, and the repository's root."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentmap.api import close_jobs
from helpers import REPO_STORE
from llm_server import LLMServer

REPO = Path(__file__).resolve().parent.parent
REPO_RUNS = REPO / ".agentmap"
HEADER = (
    "GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,"
    "Prompt,Context,Description"
)


@pytest.fixture(autouse=True, scope="session")
def _repo_runs_elsewhere(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Runs made in the repository (examples, documented commands) go to a store of the
    session's, never to the repository's own .agentmap/ (see helpers.in_repo_env)."""
    REPO_STORE["url"] = f"sqlite:///{tmp_path_factory.mktemp('repo-runs') / 'runs.db'}"


@pytest.fixture(autouse=True, scope="session")
def _hypothesis_caches_elsewhere(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Hypothesis keeps its caches in .hypothesis/ under the folder it was imported from (the
    repository, as pytest runs there) even with no example database: they go to the session's
    temporary folder instead."""
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))


@pytest.fixture(autouse=True)
def _in_a_folder_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts in its own temporary folder, so a run store found from the current
    folder (the default, ./.agentmap/runs.db) is the test's, never the repository's. Tests that
    run in the repository go there through ``in_repo`` (whose runs go to the session's store)."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _repository_store_untouched() -> Iterator[None]:
    """Fails the test that made or changed the repository's own .agentmap/ — the run history of
    whoever works here, which the README's test command must never fill. The two fixtures above
    keep runs out of it; this catches a test that goes around them (a subprocess run with the
    repository as cwd and no ``in_repo_env``, say) and names it."""
    before = _files_in(REPO_RUNS)
    yield
    after = _files_in(REPO_RUNS)
    if after != before:
        pytest.fail(
            f"this test wrote into {REPO_RUNS} (the repository's own run store): run it in "
            "tmp_path, or in the repository through the in_repo fixture / helpers.in_repo_env "
            "(an agentmap run in the repository while the tests ran does this too)",
            pytrace=False,
        )


def _files_in(folder: Path) -> dict[str, tuple[int, int]] | None:
    """Each file's size and modification time, or None when the folder doesn't exist."""
    try:
        return {e.name: (e.stat().st_size, e.stat().st_mtime_ns) for e in os.scandir(folder)}
    except FileNotFoundError:
        return None


@pytest.fixture(autouse=True)
def _jobs_closed() -> Iterator[None]:
    """Job workers a test started in this process stop with it: a worker thread outliving the
    test's folder would poll a store that is gone."""
    yield
    close_jobs()


@pytest.fixture
def repo() -> Path:
    """The repository root (holds graphs/, agents/, functions/, agentmap_config.yaml)."""
    return REPO


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """Write ``text`` (dedented) to ``tmp_path / name`` and return the path.

    ``encoding`` and ``newline`` are passed through, so BOMs and CRLF files can be made.
    """

    def write(name: str, text: str, encoding: str = "utf-8", newline: str | None = None) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding=encoding, newline=newline) as handle:
            handle.write(textwrap.dedent(text).lstrip("\n"))
        return path

    return write


@pytest.fixture
def graph_csv(write_file: Callable[..., Path]) -> Callable[..., Path]:
    """Write a graph CSV from data rows (the standard 11-column header is added).

    ``graph_csv("Main,Start,echo,...", name="flow.csv")`` → path. Rows are joined with newlines.
    """

    def write(*rows: str, name: str = "flow.csv") -> Path:
        return write_file(name, "\n".join([HEADER, *rows]) + "\n")

    return write


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder (agents/, functions/) that is also the current directory.

    No config file, so paths resolve against it and built-in defaults apply. AGENTMAP_*
    variables from the outer environment are removed so tests see only their own settings.
    """
    for name in list(os.environ):
        if name.startswith("AGENTMAP_"):
            monkeypatch.delenv(name)
    (tmp_path / "agents").mkdir()
    (tmp_path / "functions").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """A real OpenAI/Anthropic-speaking HTTP server on 127.0.0.1 with scripted replies and faults
    (see tests/llm_server.py); it must end the test without internal errors."""
    with LLMServer() as server:
        yield server
    assert server.errors == []


@pytest.fixture(autouse=True)
def _restore_agentmap_logger() -> Iterator[None]:
    """The CLI points the ``agentmap`` logger at the current stderr; undo it after each test."""
    logger = logging.getLogger("agentmap")
    level, handlers = logger.level, list(logger.handlers)
    yield
    logger.setLevel(level)
    logger.handlers[:] = handlers


@pytest.fixture
def in_repo(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repository root as current directory (its config, agents/, functions/), clean env."""
    for name in list(os.environ):
        if name.startswith("AGENTMAP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AGENTMAP_STORAGE__URL", REPO_STORE["url"])
    monkeypatch.chdir(repo)
    return repo


# Read once: the `project` fixture removes AGENTMAP_* variables before a test's other fixtures run.
TEST_DATABASE_URL = os.environ.get("AGENTMAP_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A run store URL no other test uses: a SQLite file in tmp_path, or a schema of its own on
    the PostgreSQL database AGENTMAP_TEST_DATABASE_URL names (skipped when that is unset)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'runs.db'}"
        return
    server = TEST_DATABASE_URL
    if not server:
        pytest.skip("AGENTMAP_TEST_DATABASE_URL is not set, so there is no PostgreSQL to test on")
    with _postgres_schema(server) as url:
        yield url


@contextlib.contextmanager
def _postgres_schema(server: str) -> Iterator[str]:
    """A fresh schema on ``server``, and a URL whose connections use it; dropped afterwards."""
    import sqlalchemy as sa

    schema = f"agentmap_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(server, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = sa.engine.make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        gc.collect()  # close connections of stores the test left to the garbage collector
        with engine.begin() as connection:
            connection.execute(sa.text("SET lock_timeout = '10s'"))
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
