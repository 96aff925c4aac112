"""AgentMap's examples, as an AgentMap project keeps them, run here unchanged.

``tests/compat/examples`` is such a project: AgentMap's config format, its column spellings,
custom agents written against AgentMap's ``BaseAgent``, graphs in a ``workflows`` folder. Its
graphs are written for these tests in the shape of AgentMap's own examples (named in
``cases.yaml``); each case is run with the installed command from inside a copy of the
project, answered as a person would (stdin, ``agentmap resume``), and must reach the final
state recorded for it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import clean_env

AGENTMAP = Path(sys.executable).parent / "agentmap"
PROJECT = Path(__file__).resolve().parent / "compat" / "examples"
CASES: list[dict[str, Any]] = yaml.safe_load((PROJECT / "cases.yaml").read_text("utf-8"))


def agentmap(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AGENTMAP), *args],
        cwd=cwd,
        input=stdin,
        env=clean_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the example project: its runs go to its own store, in the temporary folder."""
    return Path(shutil.copytree(PROJECT, tmp_path / "project", ignore=_no_stores))


def _no_stores(folder: str, names: list[str]) -> list[str]:
    return [name for name in names if name in {".agentmap", "__pycache__"}]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_agentmap_example_runs_unchanged(project: Path, case: dict[str, Any]) -> None:
    target = [case["file"], *(["--graph", case["graph"]] if "graph" in case else [])]
    state = ["--state", json.dumps(case["state"])] if "state" in case else []
    done = agentmap(project, "run", *target, *state, "--json", stdin=case.get("stdin", ""))
    for answer in case.get("answers", []):
        assert done.returncode == 3, done.stderr  # waiting for the answer
        run_id = json.loads(done.stdout)["run_id"]
        done = agentmap(project, "resume", run_id, *answer, "--json")
    assert done.returncode == case["exit"], done.stderr
    document = json.loads(done.stdout)
    assert document["summary"]["execution_path"] == case["path"]
    assert document["final_state"] == case["final_state"]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_agentmap_example_validates(project: Path, case: dict[str, Any]) -> None:
    target = [case["file"], *(["--graph", case["graph"]] if "graph" in case else [])]
    done = agentmap(project, "validate", *target)
    assert done.returncode == 0, done.stdout + done.stderr
    for warning in case.get("warnings", []):
        assert warning in done.stderr
