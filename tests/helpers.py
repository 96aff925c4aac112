"""Helpers several test modules share: a clock that never sleeps, and CSV rows from keywords."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentmap.clock import Clock
from agentmap.graph.loader import resolve_source
from agentmap.graph.model import Graph


class FakeClock(Clock):
    """Time that only moves when the run sleeps; every sleep is recorded, none is real."""

    def __init__(self, start: float = 100.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds


def csv_row(
    graph: str,
    node: str,
    agent_type: str,
    *,
    edge: str = "",
    success: str = "",
    failure: str = "",
    inputs: str = "",
    output: str = "",
    prompt: str = "",
    context: Mapping[str, Any] | None = None,
    description: str = "",
) -> str:
    """One data row of the standard 11 columns, quoted as needed, Context written as JSON."""
    cells = [graph, node, agent_type, edge, success, failure, inputs, output, prompt]
    cells += [json.dumps(context) if context is not None else "", description]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def in_terminal(command: list[str], cwd: Path, env: Mapping[str, str] | None = None) -> str:
    """What ``command`` writes to stdout when stdout is a terminal (a pseudo-terminal).

    Escape sequences and carriage returns are removed, so the text can be compared.
    """
    return _on_a_terminal(command, cwd, env, {"stdout"}, {})[1]


def in_a_terminal(
    command: list[str],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    answers: Mapping[bytes, bytes] | None = None,
) -> tuple[int, str]:
    """Run ``command`` with stdin, stdout and stderr on one pseudo-terminal, as a person would;
    when its output shows a key of ``answers``, type that answer. The exit code and the text
    it wrote (escape sequences and carriage returns removed)."""
    return _on_a_terminal(command, cwd, env, {"stdin", "stdout", "stderr"}, answers or {})


def _on_a_terminal(
    command: list[str],
    cwd: Path,
    env: Mapping[str, str] | None,
    streams: set[str],
    answers: Mapping[bytes, bytes],
) -> tuple[int, str]:
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=dict(env or os.environ),
        stdin=follower if "stdin" in streams else None,
        stdout=follower,
        stderr=follower if "stderr" in streams else subprocess.DEVNULL,
    )
    os.close(follower)
    pending = dict(answers)
    output = bytearray()
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process has exited
            break
        if not data:
            break
        output += data
        for prompt in [p for p in pending if p in output]:
            os.write(leader, pending.pop(prompt))
    code = process.wait(timeout=60)
    os.close(leader)
    return code, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode()).replace("\r", "")


REPO_STORE = {"url": ""}
"""The run store of runs made in the repository itself (examples, docs): a temporary file that
conftest.py sets for the session, so the suite never writes into the repository's .agentmap/."""


def in_repo_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: ``clean_env()``) for a command run in the repository: its runs go to
    the session's temporary store, never to the repository's own."""
    return {"AGENTMAP_STORAGE__URL": REPO_STORE["url"], **(env or clean_env())}


def signal_when(
    process: subprocess.Popen[str], marker: Path, how: signal.Signals, timeout: float = 30
) -> None:
    """Send ``how`` to ``process`` once ``marker`` exists, and wait for it to end (it is killed
    if it outlives ``timeout``)."""
    try:
        deadline = time.monotonic() + timeout
        while not marker.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, f"{marker.name} never appeared"
            time.sleep(0.002)
        process.send_signal(how)
        process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without AGENTMAP_* settings or forced colours, wide columns."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AGENTMAP_") and key not in {"FORCE_COLOR", "COLUMNS"}
    }
    env.update(COLUMNS="200", NO_COLOR="1", **extra)
    return env


def ctrl_c_works() -> None:
    """In the child (``preexec_fn``): SIGINT does what it does in a terminal, even if this test
    run ignores it. A shell starts background jobs with SIGINT ignored and children inherit
    that; Python then installs no Ctrl-C handler at all, and a test's signal would do nothing.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# The public API builds its own container from configuration; tests that replace a service
# (the clock, the agent catalog) build a container, override it, and run through these —
# what run_graph / validate_graph do, on that container.


def load_in(container: Any, source: Any, graph: str | None = None, start: str | None = None) -> Any:
    """``load_graph`` on ``container``."""
    return container.loader().load(*resolve_source(source, graph), start)


def validate_in(container: Any, source: Any, graph: str | None = None) -> Any:
    """``validate_graph`` on ``container``."""
    return container.loader().validate(*resolve_source(source, graph))


def run_in(container: Any, source: Any, state: Any = None, **options: Any) -> Any:
    """``run_graph`` on ``container`` (``graph=`` and ``start=`` pick what to load)."""
    return container.runner().run(_graph_in(container, source, options), state, **options)


async def arun_in(container: Any, source: Any, state: Any = None, **options: Any) -> Any:
    """``arun_graph`` on ``container``."""
    return await container.runner().arun(_graph_in(container, source, options), state, **options)


def _graph_in(container: Any, source: Any, options: dict[str, Any]) -> Any:
    graph, start = options.pop("graph", None), options.pop("start", None)
    return source if isinstance(source, Graph) else load_in(container, source, graph, start)
