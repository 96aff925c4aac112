"""`agentmap run --watch`: a run on start, another on every save, until Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentmap.config import settings_from_dict
from agentmap.watch import watch_targets
from helpers import ctrl_c_works

AGENTMAP = Path(sys.executable).parent / "agentmap"
HELLO = (
    "GraphName,Node,AgentType,Edge,Output_Field,Input_Fields,Prompt\n"
    "Hello,Start,echo,Respond,echoed,input,\n"
    "Hello,Respond,default,,response,echoed,{prompt}\n"
)


def _documents(text: str) -> list[dict[str, object]]:
    """Every complete JSON document in ``text`` (one per run), in order."""
    decoder, found, index = json.JSONDecoder(), [], 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return found
        try:
            document, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            return found  # the next document is still being written
        found.append(document)


def _wait_for(path: Path, count: int, timeout: float = 15.0) -> list[dict[str, object]]:
    """The JSON documents the watcher has printed, once there are ``count`` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _documents(path.read_text())
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"watcher printed {path.read_text()!r}, wanted {count} documents")


@pytest.fixture
def watched(project: Path) -> subprocess.Popen[bytes]:
    (project / "hello.csv").write_text(HELLO.format(prompt="first"))
    out = (project / "out.json").open("wb")
    process = subprocess.Popen(
        [str(AGENTMAP), "run", "hello.csv", "--watch", "--json", "--state", '{"input": "hi"}'],
        cwd=project,
        stdout=out,
        stderr=subprocess.PIPE,
        preexec_fn=ctrl_c_works,
    )
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()
    out.close()


def test_watch_runs_again_when_the_graph_is_saved(
    project: Path, watched: subprocess.Popen[bytes]
) -> None:
    first = _wait_for(project / "out.json", 1)
    assert first[0]["final_state"]["response"] == "Respond was asked: first (inputs: echoed='hi')"
    time.sleep(0.5)  # let the watcher settle before the save
    (project / "hello.csv").write_text(HELLO.format(prompt="second"))
    second = _wait_for(project / "out.json", 2)
    assert second[1]["final_state"]["response"] == "Respond was asked: second (inputs: echoed='hi')"


def test_watch_runs_again_when_an_agent_module_is_saved(
    project: Path, watched: subprocess.Popen[bytes]
) -> None:
    _wait_for(project / "out.json", 1)
    time.sleep(0.5)
    (project / "agents" / "helper.py").write_text("VALUE = 1\n")
    assert len(_wait_for(project / "out.json", 2)) == 2


def test_watch_shows_errors_and_keeps_watching_then_ctrl_c_ends_it(
    project: Path, watched: subprocess.Popen[bytes]
) -> None:
    _wait_for(project / "out.json", 1)
    time.sleep(0.5)
    (project / "hello.csv").write_text(
        HELLO.format(prompt="first").replace("Respond,echoed", "Respnd,echoed")
    )
    time.sleep(1.5)
    (project / "hello.csv").write_text(HELLO.format(prompt="fixed"))
    documents = _wait_for(project / "out.json", 2)
    assert (
        documents[-1]["final_state"]["response"] == "Respond was asked: fixed (inputs: echoed='hi')"
    )
    watched.send_signal(signal.SIGINT)
    assert watched.wait(timeout=10) == 130
    stderr = watched.stderr.read().decode() if watched.stderr else ""
    assert "no node named 'Respnd'" in stderr
    assert "Traceback" not in stderr


def test_watch_targets_cover_graph_config_prompts_and_code_folders(tmp_path: Path) -> None:
    settings = settings_from_dict({}, base_dir=tmp_path)
    targets = watch_targets(tmp_path / "g.csv", settings)
    assert targets.matters(tmp_path / "g.csv")
    assert targets.matters(tmp_path / "prompts.yaml")
    assert targets.matters(tmp_path / "agents" / "mine.py")
    assert targets.matters(tmp_path / "functions" / "route.py")
    assert not targets.matters(tmp_path / "agents" / "notes.txt")
    assert not targets.matters(tmp_path / "other.csv")
