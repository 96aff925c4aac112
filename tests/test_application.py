"""``AgentMapApp``: agent types and tools registered in code, graphs registered with an id and
a semantic version, jobs awaited, ``@app.on`` handlers, and the app mounted in a user's own
FastAPI application served by a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest

from agentmap import Agent, AgentError, AgentMapApp, GraphRegistrationError, JobEvent
from agentmap.exceptions import GraphSelectionError, GraphValidationError
from helpers import clean_env, csv_row, ctrl_c_works
from test_service import free_port

TOOLS = [
    csv_row("Tools", "Shout", "shout", success="Exclaim", inputs="input", output="loud"),
    csv_row("Tools", "Exclaim", "exclaim", success="Count", inputs="loud", output="said"),
    csv_row("Tools", "Count", "count", inputs="said", output="length"),
]
SHORT = [TOOLS[0], csv_row("Tools", "Exclaim", "exclaim", inputs="loud", output="said")]


@pytest.fixture
def app_project(project: Path, graph_csv: Callable[..., Path]) -> Path:
    graph_csv(*TOOLS, name="graphs/tools.csv")
    graph_csv(
        csv_row("Fails", "Start", "echo", success="Boom", inputs="input", output="x"),
        csv_row("Fails", "Boom", "failure", inputs="x", output="y"),
        name="graphs/fails.csv",
    )
    return project


def make_app() -> AgentMapApp:
    app = AgentMapApp({"jobs": {"poll_interval": 0.05}})

    @app.agent("shout")
    class Shout(Agent):
        """Upper-cases its input."""

        def process(self, inputs):  # type: ignore[no-untyped-def]
            return str(inputs["input"]).upper()

    @app.tool("exclaim")
    def exclaim(text: str) -> str:
        """Adds an exclamation mark."""
        return text + "!"

    @app.agent()
    class Count:
        """Any class with a process method."""

        def process(self, inputs):  # type: ignore[no-untyped-def]
            return len(inputs["said"])

    return app


def test_agents_and_tools_registered_in_code_run_in_a_registered_graph(app_project: Path) -> None:
    app = make_app()
    app.register_graph("graphs/tools.csv", id="tools", version="1.0.0")

    async def run() -> tuple[str, str | None, str | None, dict[str, object]]:
        async with app:
            job = await app.create_job("tools", {"input": "hi"}, tags=["text"])
            status = await app.wait_for_job(job.id, timeout=60)
            results = await app.get_job_results(job.id)
            return status.state, status.graph_id, status.graph_version, dict(results.final_state)

    state, graph_id, version, final = asyncio.run(run())

    assert (state, graph_id, version) == ("completed", "tools", "1.0.0")
    assert final["said"] == "HI!" and final["length"] == 3


def test_the_highest_version_runs_unless_one_is_named(
    app_project: Path, graph_csv: Callable[..., Path]
) -> None:
    app = make_app()
    app.register_graph("graphs/tools.csv", id="tools", version="1.2.0")
    graph_csv(*SHORT, name="graphs/tools2.csv")
    app.register_graph("graphs/tools2.csv", id="tools", version="1.10.0-beta.1")
    app.register_graph("graphs/tools2.csv", id="tools", version="1.10.0")

    async def versions() -> list[str | None]:
        async with app:
            latest = await app.create_job("tools", {"input": "a"})
            pinned = await app.create_job("tools", {"input": "a"}, version="1.2.0")
            return [(await app.get_job_status(j.id)).graph_version for j in (latest, pinned)]

    assert asyncio.run(versions()) == ["1.10.0", "1.2.0"]
    assert [g.version for g in app.graphs()] == ["1.2.0", "1.10.0-beta.1", "1.10.0"]
    with pytest.raises(GraphSelectionError, match=r"no version 2.0.0 registered \(it has 1.2.0"):
        app.graph("tools", "2.0.0")
    with pytest.raises(GraphSelectionError, match="did you mean 'tools'"):
        app.graph("tool")


def test_other_content_under_a_registered_version_is_refused_with_what_changed(
    app_project: Path, graph_csv: Callable[..., Path]
) -> None:
    make_app().register_graph("graphs/tools.csv", id="tools", version="1.0.0")
    again = make_app()  # a later start of the service: the store remembers
    assert again.register_graph("graphs/tools.csv", id="tools", version="1.0.0").version == "1.0.0"

    graph_csv(
        csv_row("Tools", "Shout", "shout", success="Exclaim", inputs="input", output="LOUD"),
        csv_row("Tools", "Exclaim", "exclaim", inputs="LOUD", output="said"),
        csv_row("Tools", "Extra", "echo", inputs="said", output="x"),
        name="graphs/tools.csv",
    )
    with pytest.raises(GraphRegistrationError) as refused:
        make_app().register_graph("graphs/tools.csv", id="tools", version="1.0.0")

    message = refused.value.message
    assert "already registered with other content" in message
    assert "nodes added: Extra" in message and "nodes removed: Count" in message
    assert "nodes changed: Exclaim, Shout" in message and "register it as a new version" in message
    assert make_app().register_graph("graphs/tools.csv", id="tools", version="1.0.1")


@pytest.mark.parametrize(
    ("graph_id", "version", "expected"),
    [
        ("tools", "1.0", "is not a semantic version"),
        ("tools", "v1.0.0", "is not a semantic version"),
        ("tools/../x", "1.0.0", "use letters, digits"),
        ("", "1.0.0", "use letters, digits"),
    ],
)
def test_a_bad_id_or_version_is_refused_plainly(
    app_project: Path, graph_id: str, version: str, expected: str
) -> None:
    with pytest.raises(GraphRegistrationError, match=expected):
        make_app().register_graph("graphs/tools.csv", id=graph_id, version=version)


def test_a_graph_with_problems_or_unknown_agents_is_refused_at_registration(
    app_project: Path,
) -> None:
    with pytest.raises(GraphValidationError, match="shout"):
        AgentMapApp().register_graph("graphs/tools.csv", id="tools", version="1.0.0")


def test_on_handlers_sync_and_async_get_the_events_a_failing_one_is_skipped(
    app_project: Path,
) -> None:
    app = make_app()
    app.register_graph("graphs/fails.csv", id="fails", version="0.1.0")
    failed: list[JobEvent] = []
    finished: list[JobEvent] = []

    @app.on("node_failed")
    def broken(event: JobEvent) -> None:
        raise RuntimeError("a handler's own bug")

    @app.on("node_failed")
    def note(event: JobEvent) -> None:
        failed.append(event)

    @app.on("job_finished")
    async def done(event: JobEvent) -> None:
        await asyncio.sleep(0)
        finished.append(event)

    async def run() -> str:
        async with app:
            job = await app.create_job("fails", {"input": "x"})
            await app.wait_for_job(job.id, timeout=60)
            deadline = time.monotonic() + 10
            while not finished:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            return job.id

    job_id = asyncio.run(run())

    assert [(e.job_id, e.node) for e in failed] == [(job_id, "Boom")]
    assert finished[0].data["state"] == "failed"


def test_on_an_unknown_event_says_which_exist() -> None:
    with pytest.raises(AgentError, match="did you mean 'node_failed'"):
        AgentMapApp().on("node_fail")


def test_a_tool_says_which_inputs_it_lacks(
    app_project: Path, graph_csv: Callable[..., Path]
) -> None:
    graph_csv(csv_row("T", "Add", "add", inputs="a|c", output="sum"), name="graphs/add.csv")
    app = AgentMapApp()

    @app.tool()
    def add(a: int, b: int) -> int:
        return a + b

    app.register_graph("graphs/add.csv", id="add", version="1.0.0")

    async def run() -> str | None:
        async with app:
            job = await app.create_job("add", {"a": 1, "c": 2})
            return (await app.wait_for_job(job.id, timeout=60)).error

    assert "tool 'add' needs b; the node gives a, c" in (asyncio.run(run()) or "")


def test_registering_an_agent_type_twice_or_a_non_agent_is_refused() -> None:
    app = AgentMapApp()

    @app.tool("same")
    def first(x: str) -> str:
        return x

    with pytest.raises(AgentError, match="registered twice"):
        app.tool("same")(first)
    with pytest.raises(AgentError, match="has no process"):
        app.agent("odd")(type("Odd", (), {}))


USER_SERVICE = """
from fastapi import FastAPI, HTTPException
from agentmap import Agent, AgentMapApp

agents = AgentMapApp()


@agents.agent("shout")
class Shout(Agent):
    '''Upper-cases its input.'''

    def process(self, inputs):
        return str(inputs["input"]).upper()


@agents.tool("exclaim")
def exclaim(text: str) -> str:
    '''Adds an exclamation mark.'''
    return text + "!"


agents.register_graph("graphs/tools.csv::Tools", id="tools", version="2.0.0")
api = FastAPI()


@api.get("/mine/{n}")
def mine(n: int):
    if n == 0:
        raise HTTPException(404, "nothing here")
    return {"mine": n}


agents.include_in_app(api, prefix="/agents")
"""


def test_the_app_mounted_in_your_fastapi_app_serves_its_graphs_and_agents(
    app_project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> None:
    graph_csv(*SHORT, name="graphs/tools.csv")
    write_file("service.py", USER_SERVICE)
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "service:api", "--port", str(port),
               "--host", "127.0.0.1", "--log-level", "warning"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=app_project, env=clean_env(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_works,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx2.get(f"{url}/mine/1", timeout=1).json() == {"mine": 1}
                break
            except httpx2.TransportError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.05)

        made = httpx2.post(f"{url}/agents/jobs", json={"graph": "tools", "inputs": {"input": "hi"}})
        assert made.status_code == 202, made.text
        job = made.json()["job"]
        assert (job["graph_id"], job["graph_version"]) == ("tools", "2.0.0")
        deadline = time.monotonic() + 60
        while (state := httpx2.get(f"{url}/agents/jobs/{job['id']}").json())[
            "state"
        ] != "completed":
            assert state["state"] in ("queued", "running") and time.monotonic() < deadline
            time.sleep(0.02)
        results = httpx2.get(f"{url}/agents/jobs/{job['id']}/results").json()
        assert results["final_state"]["said"] == "HI!"

        wrong = httpx2.post(f"{url}/agents/jobs", json={"graph": "tools", "version": "9.9.9"})
        assert wrong.status_code == 404 and "no version 9.9.9" in wrong.json()["detail"]
        agents = {a["name"]: a for a in httpx2.get(f"{url}/agents/agents").json()["agents"]}
        assert agents["shout"]["kind"] == "agent" and agents["shout"]["source"] == "service.Shout"
        assert agents["exclaim"] | {"inputs": ["text"], "output": "str"} == agents["exclaim"]
        assert agents["exclaim"]["description"] == "Adds an exclamation mark."
        assert agents["echo"]["kind"] == "builtin"
        # the user's own routes keep their own error handling
        assert httpx2.get(f"{url}/mine/0").json() == {"detail": "nothing here"}
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert "Traceback" not in err, err


def test_an_app_reads_prompt_files_only_inside_the_project(
    app_project: Path, graph_csv: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "secret.txt"
    outside.write_text("not for graphs", encoding="utf-8")
    (app_project / "graphs" / "inside.txt").write_text("hello {input}", encoding="utf-8")
    graph_csv(csv_row("P", "Say", "echo", inputs="input", output="x", prompt=f"file:{outside}"),
              name="graphs/out.csv")  # fmt: skip
    graph_csv(csv_row("P", "Say", "echo", inputs="input", output="x", prompt="file:inside.txt"),
              name="graphs/in.csv")  # fmt: skip
    app = AgentMapApp()

    with pytest.raises(GraphValidationError, match="outside the folders agentmap may read"):
        app.register_graph("graphs/out.csv", id="out", version="1.0.0")
    assert app.register_graph("graphs/in.csv", id="in", version="1.0.0").version == "1.0.0"
