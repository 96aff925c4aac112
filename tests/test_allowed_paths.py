"""Files a graph names (``file:`` prompts, subgraph files) outside the project: read as before on
the command line, refused at the naming cell with ``security.allowed_paths`` set, and always
refused by the HTTP service. Real files, real symlinks, real ``agentmap`` and ``agentmap serve``
processes."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers import clean_env, csv_row
from test_durable import AGENTMAP, agentmap
from test_service import Server, wait_state

SECRET = "TOP SECRET from outside"
ALLOW_PROJECT = "security:\n  allowed_paths: [.]\nstorage:\n  url: none\n"
NO_STORE = "storage:\n  url: none\n"


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder beside the project (not inside it), holding a secret and a graph."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "secret.txt").write_text(SECRET, encoding="utf-8")
    return folder


def _prompt_to(kind: str, project: Path, outside: Path) -> str:
    """A Prompt cell of graphs/flow.csv that leads to the secret outside the project."""
    secret = outside / "secret.txt"
    if kind == "dot-dot":  # graphs/ → project → its parent, where `outside` is
        return f"file:../../{outside.name}/secret.txt"
    if kind == "absolute":
        return f"file:{secret}"
    (project / "graphs").mkdir(exist_ok=True)
    (project / "graphs" / "link.txt").symlink_to(secret)  # inside the project, pointing out
    return "file:link.txt"


LEAKS = ["dot-dot", "absolute", "symlink-out"]


def _leaky_graph(graph_csv: Callable[..., Path], prompt: str) -> None:
    graph_csv(csv_row("G", "A", "default", output="out", prompt=prompt), name="graphs/flow.csv")


@pytest.mark.parametrize("kind", LEAKS)
def test_the_cli_reads_files_outside_the_project_when_allowed_paths_is_unset(
    project: Path,
    write_file: Callable[..., Path],
    graph_csv: Callable[..., Path],
    outside: Path,
    kind: str,
) -> None:
    write_file("agentmap_config.yaml", NO_STORE)
    _leaky_graph(graph_csv, _prompt_to(kind, project, outside))

    ran = agentmap(project, "run", "graphs/flow.csv", "--json")

    assert ran.returncode == 0, ran.stderr
    assert SECRET in ran.stdout


@pytest.mark.parametrize("kind", LEAKS)
def test_a_prompt_file_outside_the_allowed_paths_is_refused_at_its_cell(
    project: Path,
    write_file: Callable[..., Path],
    graph_csv: Callable[..., Path],
    outside: Path,
    kind: str,
) -> None:
    write_file("agentmap_config.yaml", ALLOW_PROJECT)
    _leaky_graph(graph_csv, _prompt_to(kind, project, outside))

    ran = agentmap(project, "run", "graphs/flow.csv", "--json")

    assert ran.returncode == 2
    assert SECRET not in ran.stdout + ran.stderr
    assert "Traceback" not in ran.stderr
    assert "graphs/flow.csv:2 I2 Prompt" in ran.stderr
    assert "outside the folders agentmap may read files from" in ran.stderr
    assert "security.allowed_paths" in ran.stderr


def test_a_prompt_file_inside_the_allowed_paths_is_read(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    write_file("agentmap_config.yaml", "security:\n  allowed_paths: [prompts]\n" + NO_STORE)
    write_file("prompts/hello.txt", "Hello from inside")
    (project / "graphs").mkdir()
    (project / "graphs" / "link.txt").symlink_to(project / "prompts" / "hello.txt")
    graph_csv(
        csv_row("G", "A", "default", success="B", output="a", prompt="file:../prompts/hello.txt"),
        csv_row("G", "B", "default", output="b", prompt="file:link.txt"),
        name="graphs/flow.csv",
    )

    ran = agentmap(project, "run", "graphs/flow.csv", "--json")

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.count("Hello from inside") == 2


def test_the_allowed_paths_come_from_an_agentmap_variable(
    project: Path,
    write_file: Callable[..., Path],
    graph_csv: Callable[..., Path],
    outside: Path,
) -> None:
    write_file("agentmap_config.yaml", NO_STORE)
    _leaky_graph(graph_csv, _prompt_to("absolute", project, outside))

    refused = _agentmap_with(project, '["."]')
    allowed = _agentmap_with(project, f'[".", "{outside}"]')

    assert refused.returncode == 2 and "AGENTMAP_SECURITY__ALLOWED_PATHS" in refused.stderr
    assert allowed.returncode == 0 and SECRET in allowed.stdout


def _agentmap_with(project: Path, allowed: str) -> subprocess.CompletedProcess[str]:
    """``agentmap run graphs/flow.csv`` with ``AGENTMAP_SECURITY__ALLOWED_PATHS=allowed``."""
    return subprocess.run(
        [str(AGENTMAP), "run", "graphs/flow.csv", "--json"],
        cwd=project,
        env=clean_env(AGENTMAP_SECURITY__ALLOWED_PATHS=allowed),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def _child_outside(outside: Path) -> str:
    """A graph file outside the project, and the Context naming it from graphs/ (``../..``)."""
    (outside / "child.csv").write_text(
        "GraphName,Node,AgentType,Input_Fields,Output_Field\nChild,Leak,echo,input,out\n",
        encoding="utf-8",
    )
    return f"../../{outside.name}/child.csv::Child"


def _runs_child(graph_csv: Callable[..., Path], reference: str, name: str) -> None:
    graph_csv(
        csv_row("Main", "Sub", "graph", inputs="input", output="got", context={"graph": reference}),
        name=name,
    )


def test_a_subgraph_file_outside_the_allowed_paths_is_refused_at_its_context_cell(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path], outside: Path
) -> None:
    _runs_child(graph_csv, _child_outside(outside), "graphs/flow.csv")
    write_file("agentmap_config.yaml", NO_STORE)
    unset = agentmap(project, "run", "graphs/flow.csv", "--state", '{"input": "hi"}', "--json")
    write_file("agentmap_config.yaml", ALLOW_PROJECT)

    refused = agentmap(project, "run", "graphs/flow.csv", "--state", '{"input": "hi"}')

    assert unset.returncode == 0, unset.stderr
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "graphs/flow.csv:2 J2 Context" in refused.stderr
    assert "subgraph file" in refused.stderr and "child.csv" in refused.stderr
    assert "security.allowed_paths" in refused.stderr


# --- the HTTP service enforces the project folder even with nothing configured


@pytest.fixture
def served(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path], outside: Path
) -> Iterator[Server]:
    """``agentmap serve`` of a project whose config leaves security.allowed_paths unset, with
    graphs reaching outside it (by ``..``, an absolute path, a symlink and a subgraph), and one
    reading a prompt of its own."""
    write_file("agentmap_config.yaml", "jobs:\n  poll_interval: 0.05\n  heartbeat: 0.2\n")
    for kind in LEAKS:
        graph_csv(
            csv_row("G", "A", "default", output="out", prompt=_prompt_to(kind, project, outside)),
            name=f"graphs/{kind}.csv",
        )
    _runs_child(graph_csv, _child_outside(outside), "graphs/subgraph.csv")
    write_file("graphs/prompts/hello.txt", "Hello from inside")
    graph_csv(
        csv_row("G", "A", "default", output="out", prompt="file:prompts/hello.txt"),
        name="graphs/inside.csv",
    )
    running = Server(project)
    try:
        yield running
    finally:
        running.stop()


def test_the_service_refuses_jobs_whose_graphs_read_files_outside_the_project(
    served: Server,
) -> None:
    refusals = [(f"{kind}.csv", "I2", "Prompt") for kind in LEAKS]
    for graph, cell, field in [*refusals, ("subgraph.csv", "J2", "Context")]:
        made = served.post("/jobs", json={"graph": graph, "inputs": {"input": "hi"}})

        assert made.status_code == 422, (graph, made.text)
        assert SECRET not in made.text
        (problem,) = made.json()["problems"]
        assert problem["file"].endswith(f"graphs/{graph}"), problem
        assert (problem["row"], problem["cell"], problem["field"]) == (2, cell, field), problem
        assert "outside the folders agentmap may read files from" in problem["message"]

    inside = served.post("/jobs", json={"graph": "inside.csv", "inputs": {}})
    assert inside.status_code == 202, inside.text
    job_id = inside.json()["job"]["id"]
    assert wait_state(served, job_id, {"completed", "failed"})["state"] == "completed"
    assert "Hello from inside" in served.get(f"/jobs/{job_id}/results").text


def test_the_service_reports_a_posted_graph_naming_a_file_outside_the_project(
    served: Server, outside: Path
) -> None:
    text = csv_row("G", "A", "default", output="out", prompt=f"file:{outside / 'secret.txt'}")
    header = "GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,"
    header += "Prompt,Context,Description\n"

    checked = served.post("/graphs/validate", json={"text": header + text + "\n"})

    assert checked.status_code == 200 and checked.json()["valid"] is False
    assert SECRET not in checked.text
    (problem,) = checked.json()["errors"]
    assert problem["place"] == "posted:2 I2 Prompt"
    assert "security.allowed_paths" in problem["message"]
