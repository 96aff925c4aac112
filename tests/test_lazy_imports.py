"""What start-up imports: a plain ``agentmap run`` only what running a graph of built-in agents
needs, ``import agentmap`` next to nothing.

Each command's module, the job store and worker, the model, tool and storage agents, YAML and
the web framework are imported when a command or a graph uses them; these checks keep it so.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import agentmap
from agentmap.agents.builtin_types import IMPORTED_ON_USE, STORAGE_TYPES
from agentmap.agents.builtins import BUILTIN_AGENTS
from agentmap.agents.catalog import AgentCatalog, _builtins
from conftest import HEADER
from helpers import clean_env, csv_row

AGENTMAP = shutil.which("agentmap") or str(Path(sys.executable).parent / "agentmap")

NOT_FOR_A_PLAIN_RUN = [
    # other commands' modules
    "agentmap.cli.batch",
    "agentmap.cli.convert",
    "agentmap.cli.diagnose",
    "agentmap.cli.graph",
    "agentmap.cli.init",
    "agentmap.cli.jobs",
    "agentmap.cli.resume",
    "agentmap.cli.runs",
    "agentmap.cli.scaffold",
    "agentmap.cli.serve",
    "agentmap.cli.validate",
    "rich.progress",
    "rich._emoji_codes",  # the consoles replace no :emoji: codes
    # jobs and batches
    "agentmap.batch",
    "agentmap.jobhost",
    "agentmap.jobs",
    "agentmap.store.jobstore",
    "agentmap.worker",
    # agents the graph doesn't use
    "agentmap.agents.storage.agents",
    "agentmap.agents.tools",
    "agentmap.llm.agents",
    "agentmap.llm.base",
    "agentmap.llm.orchestrator",
    # resuming a stored run
    "agentmap.resume",
    # what other commands or files need
    "agentmap.application",
    "agentmap.diagnosis",
    "agentmap.graph.diagram",
    "agentmap.service",
    "fastapi",
    "pandas",
    "starlette",
    "yaml",
]


_RECORDING = """
import atexit, os, runpy, sys
listing = os.environ["MODULES_LISTING"]
def record():
    with open(listing, "w", encoding="utf-8") as out:
        out.write("\\n".join(sorted(sys.modules)))
atexit.register(record)
sys.argv = sys.argv[1:]
if sys.argv[0] == "-c":
    exec(sys.argv[1])
else:
    runpy.run_path(sys.argv[0], run_name="__main__")
"""
"""Runs a script or ``-c`` code as ``python`` would, then writes the modules it imported."""


def imported_by(command: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``command`` (a script and its arguments, or ``-c`` and code) in a fresh Python: its
    result and every module it imported, as ``sys.modules`` holds them at exit."""
    listing = cwd / "modules.txt"
    done = run_in(cwd, [sys.executable, "-c", _RECORDING, *command], MODULES_LISTING=str(listing))
    return done, set(listing.read_text("utf-8").split())


def run_in(folder: Path, command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """``command`` run in ``folder`` with a clean environment (and ``env``), output as text."""
    return subprocess.run(
        command,
        cwd=folder,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def test_a_plain_run_of_a_csv_imports_only_what_it_runs(tmp_path: Path) -> None:
    rows = [
        csv_row("Flow", "Start", "echo", edge="End", inputs="input", output="echoed"),
        csv_row("Flow", "End", "default", inputs="echoed", output="response", prompt="Hi"),
    ]
    (tmp_path / "flow.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    done, modules = imported_by(
        [AGENTMAP, "run", "flow.csv", "--state", '{"input": "hi"}'], tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Flow succeeded" in done.stdout
    assert {"agentmap.cli.run", "agentmap.runner", "agentmap.store.runstore"} <= modules
    assert sorted(set(NOT_FOR_A_PLAIN_RUN) & modules) == []


def after_a_csv_run(code: str, folder: Path) -> str:
    """What ``code`` prints in a fresh Python that has just run a one-node CSV with
    ``run_graph`` (in ``folder``, with no config file and no AGENTMAP_* variable)."""
    rows = [csv_row("Flow", "Start", "echo", inputs="input", output="echoed")]
    (folder / "flow.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    run = "from agentmap import run_graph\nassert run_graph('flow.csv', {'input': 'hi'}).success\n"
    done = run_in(folder, [sys.executable, "-c", run + code])
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_running_a_csv_builds_no_validator_for_the_graph_models(tmp_path: Path) -> None:
    code = (
        "from agentmap.graph.model import Graph, GraphFile, Node\n"
        "print([m.__pydantic_complete__ for m in (Node, Graph, GraphFile)])\n"
    )
    assert after_a_csv_run(code, tmp_path).split() == [
        "[False,",
        "False,",
        "False]",
    ]  # a table's nodes aren't re-checked


def test_a_run_on_the_built_in_defaults_builds_no_settings_validator(tmp_path: Path) -> None:
    # With no config file and no AGENTMAP_* variable there is nothing to validate: the
    # defaults are used as they are, and no pydantic validator (nor its plugin scan) is built.
    code = (
        "import agentmap.config as config\n"
        "models = [m for m in vars(config).values() if isinstance(m, type)\n"
        "          and issubclass(m, config._Section)]\n"
        "print(len(models), sorted(m.__name__ for m in models if m.__pydantic_complete__))\n"
    )
    count, built = after_a_csv_run(code, tmp_path).split(" ", 1)
    assert int(count) > 10  # every section was looked at
    assert built.strip() == "[]"


GC_PROBE = """
import gc

from agentmap import Agent


class GcProbeAgent(Agent):
    def process(self, inputs):
        return gc.isenabled()
"""


def test_a_commands_own_work_runs_with_the_cycle_collector_on(tmp_path: Path) -> None:
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "probe.py").write_text(GC_PROBE, encoding="utf-8")
    rows = [csv_row("Flow", "Probe", "gc_probe", output="collecting")]
    (tmp_path / "flow.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    done = run_in(tmp_path, [AGENTMAP, "run", "flow.csv", "--json"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"collecting": true' in done.stdout  # paused for start-up only, then on again


def test_import_agentmap_imports_neither_the_engine_nor_pydantic(tmp_path: Path) -> None:
    done, modules = imported_by(["-c", "import agentmap"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(m for m in modules if m.startswith("agentmap")) == [
        "agentmap",
        "agentmap._version",
    ]
    assert "pydantic" not in modules


def test_every_public_name_is_there_on_first_use() -> None:
    assert [name for name in agentmap.__all__ if getattr(agentmap, name, None) is None] == []
    assert set(agentmap.__all__) <= set(dir(agentmap))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'run_grpah'"):
        agentmap.run_grpah  # noqa: B018


def test_the_imported_on_use_table_names_every_other_builtin_by_its_names() -> None:
    table = {
        name: (cls.__module__, cls.__name__)
        for cls in _builtins()
        if cls not in BUILTIN_AGENTS
        for name in (cls.type_name(), *cls.aliases)
    }
    assert {name: (at.module, at.attribute) for name, at in IMPORTED_ON_USE.items()} == table


def test_storage_types_are_the_storage_agents_names() -> None:
    from agentmap.agents.storage import STORAGE_AGENTS

    names = {name for cls in STORAGE_AGENTS for name in (cls.type_name(), *cls.aliases)}
    assert names == STORAGE_TYPES


@pytest.mark.parametrize(
    ("agent_type", "is_async"),
    [("echo", False), ("EchoAgent", False), ("claude", True), ("tool_agent", True)],
)
def test_a_catalog_knows_a_type_before_importing_it(agent_type: str, is_async: bool) -> None:
    catalog = AgentCatalog()
    assert catalog.has(agent_type)
    assert catalog.is_async(agent_type) is is_async
