"""Wiring and the public surface: the container, provider overrides, __all__, import hygiene."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

import agentmap
from agentmap import Agent, ExecutionResult, GraphValidationError, run_graph
from agentmap.agents.catalog import AgentCatalog
from agentmap.config import Settings
from agentmap.container import build_container
from agentmap.runner import GraphRunnerService
from helpers import in_repo_env, run_in

SRC = Path(agentmap.__file__).resolve().parent
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_agentmap_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the files these tests name, never from the outer environment."""
    for name in list(os.environ):
        if name.startswith("AGENTMAP_"):
            monkeypatch.delenv(name)


class ShoutAgent(Agent):
    def process(self, inputs: Mapping[str, Any]) -> str:
        return str(inputs["text"]).upper()


class ReplacementEchoAgent(Agent):
    agent_type = "echo"

    def process(self, inputs: Mapping[str, Any]) -> str:
        return "replaced"


def sources(folder: Path = SRC) -> Iterator[tuple[Path, ast.Module]]:
    for file in sorted(folder.rglob("*.py")):
        yield file, ast.parse(file.read_text(encoding="utf-8"), filename=str(file))


def imported_modules(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def imports(tree: ast.Module, package: str) -> bool:
    return any(name == package or name.startswith(package + ".") for name in imported_modules(tree))


def in_cli(file: Path) -> bool:
    return (SRC / "cli") in file.parents


# --- the container -------------------------------------------------------------------------


def test_build_container_from_a_dict(project: Path) -> None:
    container = build_container({"execution": {"max_steps": 5, "success_policy": "final_node"}})
    settings = container.settings()
    assert settings.execution.max_steps == 5
    assert settings.execution.success_policy.type == "final_node"
    assert settings.paths.custom_agents == project / "agents"


def test_build_container_from_settings(project: Path) -> None:
    settings = Settings()
    assert build_container(settings).settings() is settings


def test_build_container_from_a_config_file(write_file: Callable[..., Path]) -> None:
    file = write_file("conf/agentmap_config.yaml", "execution:\n  max_steps: 9\n")
    container = build_container(file)
    assert container.settings().execution.max_steps == 9
    assert container.settings().paths.functions == file.parent.resolve() / "functions"


def test_container_builds_one_runner(project: Path) -> None:
    container = build_container({})
    runner = container.runner()
    assert isinstance(runner, GraphRunnerService)
    assert container.runner() is runner


def test_container_settings_reach_the_runner(project: Path, graph_csv: Callable[..., Path]) -> None:
    path = graph_csv("Main,A,success,A,,,,,,,")
    container = build_container({"execution": {"max_steps": 3}})
    with pytest.raises(agentmap.RunError) as caught:
        run_in(container, path)
    assert caught.value.result is not None
    assert caught.value.result.summary.execution_path == ("A", "A", "A")


def test_overriding_agents_swaps_in_new_agent_types(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    path = graph_csv("Main,Loud,shout,,,,text,loud,,,")
    container = build_container({})
    container.agents.override(providers.Object(AgentCatalog({"shout": ShoutAgent})))
    result = run_in(container, path, {"text": "hi"})
    assert result.final_state == {"text": "hi", "loud": "HI", "last_action_success": True}


def test_overriding_agents_can_replace_a_built_in(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    path = graph_csv("Main,A,echo,,,,text,out,,,")
    container = build_container({})
    container.agents.override(providers.Object(AgentCatalog({"echo": ReplacementEchoAgent})))
    assert run_in(container, path, {"text": "hi"}).final_state["out"] == "replaced"


def test_agent_type_unknown_without_the_override(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    path = graph_csv("Main,Loud,shout,,,,text,loud,,,")
    with pytest.raises(GraphValidationError, match="unknown agent type 'shout'"):
        run_in(build_container({}), path, {"text": "hi"})


def test_run_graph_returns_an_execution_result(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    path = graph_csv("Main,A,echo,,,,input,echoed,,,")
    result = run_graph(path, {"input": "x"})
    assert result == ExecutionResult(
        graph_name="Main",
        final_state={"input": "x", "echoed": "x", "last_action_success": True},
        success=True,
        summary=result.summary,
        run_id=result.run_id,
    )
    assert len(result.run_id) == 32  # a fresh uuid4 hex per run


def test_run_graph_selects_a_graph_by_name_or_suffix(
    project: Path, graph_csv: Callable[..., Path]
) -> None:
    path = graph_csv("One,A,success,,,,,,,,", "Two,B,success,,,,,,,,")
    assert run_graph(path, graph="Two").summary.execution_path == ("B",)
    assert run_graph(f"{path}::One").summary.execution_path == ("A",)


# --- the public API and import hygiene -----------------------------------------------------

EXPECTED_ALL = [
    "Agent",
    "AgentError",
    "AgentMapApp",
    "AgentMapError",
    "ConfigError",
    "Diagnosis",
    "Event",
    "EventBus",
    "ExecutionResult",
    "ExecutionSummary",
    "ExponentialBackoffRetryPolicy",
    "Failure",
    "FixedDelayRetryPolicy",
    "Graph",
    "GraphError",
    "GraphFileError",
    "GraphRegistrationError",
    "GraphSelectionError",
    "GraphValidationError",
    "Job",
    "JobError",
    "JobEvent",
    "JobFailedError",
    "JobNotFinishedError",
    "JobNotFoundError",
    "JobResult",
    "JobStatus",
    "LLMError",
    "Node",
    "NodeCompleted",
    "NodeFailed",
    "NodeOutputChunk",
    "NodeResult",
    "NodeRetrying",
    "NodeStarted",
    "Output",
    "Pause",
    "Problem",
    "ResumeError",
    "RetryPolicy",
    "RunCancelled",
    "RunCompleted",
    "RunError",
    "RunFailed",
    "RunNotFoundError",
    "RunStarted",
    "StateError",
    "StoreError",
    "TransientLLMError",
    "Usage",
    "ValidationReport",
    "Waiting",
    "__version__",
    "aanswer_job",
    "acancel_job",
    "acreate_job",
    "afollow_job",
    "agent",
    "aget_job_results",
    "aget_job_status",
    "alist_jobs",
    "answer_job",
    "arun_graph",
    "await_for_job",
    "cancel_job",
    "convert_graph",
    "create_job",
    "diagnose",
    "export_runs",
    "get_job_results",
    "get_job_status",
    "graph_json_schema",
    "init_project",
    "job_events",
    "list_jobs",
    "load_graph",
    "open_graph_runner",
    "open_run_store",
    "resume_batch",
    "resume_run",
    "run_batch",
    "run_graph",
    "run_worker",
    "run_workflow",
    "run_workflow_async",
    "runs_stats",
    "scaffold_graph",
    "to_dot",
    "to_mermaid",
    "validate_graph",
    "wait_for_job",
]


def test_public_api_is_exactly_the_expected_list() -> None:
    assert agentmap.__all__ == EXPECTED_ALL


def test_public_api_list_is_sorted() -> None:
    assert agentmap.__all__ == sorted(agentmap.__all__)


def test_every_public_name_exists() -> None:
    missing = [name for name in agentmap.__all__ if not hasattr(agentmap, name)]
    assert missing == []


def test_every_error_is_an_agentmap_error() -> None:
    errors = [getattr(agentmap, name) for name in agentmap.__all__ if name.endswith("Error")]
    assert all(issubclass(error, agentmap.AgentMapError) for error in errors)


def test_only_the_container_imports_dependency_injector() -> None:
    importers = [
        f.relative_to(SRC).as_posix()
        for f, tree in sources()
        if imports(tree, "dependency_injector")
    ]
    assert importers == ["_injector.py"]  # which imports it for the container alone
    users = [
        f.relative_to(SRC).as_posix()
        for f, tree in sources()
        if imports(tree, "agentmap._injector")
    ]
    assert users == ["container.py"]


def test_library_modules_never_call_print() -> None:
    calls = [
        f"{file.relative_to(SRC).as_posix()}:{node.lineno}"
        for file, tree in sources()
        if not in_cli(file)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
    ]
    assert calls == []


def test_only_the_cli_imports_rich() -> None:
    importers = [f.relative_to(SRC).as_posix() for f, tree in sources() if imports(tree, "rich")]
    assert importers
    assert all(name.startswith("cli/") for name in importers), importers


def _modules_after(code: str, cwd: Path) -> set[str]:
    script = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    env = in_repo_env() if cwd == REPO else None  # runs in the repository: not into its store
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=cwd, env=env
    )
    return set(done.stdout.split())


def test_import_agentmap_does_not_import_pandas(tmp_path: Path) -> None:
    loaded = _modules_after("import agentmap", tmp_path)
    assert "agentmap" in loaded
    assert "pandas" not in loaded


def test_import_agentmap_does_not_import_rich_or_typer(tmp_path: Path) -> None:
    loaded = _modules_after("import agentmap", tmp_path)
    assert not {"rich", "typer"} & loaded


def test_running_hello_does_not_import_pandas(repo: Path) -> None:
    code = (
        "import agentmap\n"
        "result = agentmap.run_graph('graphs/hello.csv', {'input': 'hi'}, "
        "config='agentmap_config.yaml')\n"
        "assert result.success"
    )
    loaded = _modules_after(code, repo)
    assert "agentmap.runner" in loaded
    assert "pandas" not in loaded


def test_running_a_graph_imports_no_web_framework_even_with_the_server_extra(repo: Path) -> None:
    code = (
        "import agentmap.cli.app, agentmap\n"
        "result = agentmap.run_graph('graphs/hello.csv', {'input': 'hi'}, "
        "config='agentmap_config.yaml')\n"
        "assert result.success\n"
        "import fastapi  # installed (the test extras include the server's): still importable"
    )
    loaded = _modules_after(code.replace("import fastapi", "pass"), repo)
    assert not {"fastapi", "starlette", "werkzeug"} & loaded
    assert "fastapi" in _modules_after(code, repo)


def test_jobs_on_the_local_executor_import_neither_dask_nor_pandas(repo: Path) -> None:
    code = (
        "import agentmap\n"
        "job = agentmap.create_job('graphs/hello.csv', {'input': 'hi'}, "
        "config='agentmap_config.yaml')\n"
        "assert agentmap.wait_for_job(job.id, timeout=60).state == 'completed'"
    )
    loaded = _modules_after(code, repo)
    assert "agentmap.worker" in loaded
    assert not {"distributed", "dask", "pandas"} & loaded
