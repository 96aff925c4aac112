"""The HTTP service against a real `agentmap serve` (uvicorn) on 127.0.0.1, with an HTTP client:
jobs, graphs, problem details, API keys, the graphs folder as the only place graphs come from,
and Ctrl-C giving running jobs back."""

from __future__ import annotations

import hashlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from helpers import clean_env, csv_row, ctrl_c_works
from test_durable import AGENTMAP, agentmap

NAP = """
import asyncio
from pathlib import Path

from agentmap import Agent


class NapAgent(Agent):
    async def process(self, inputs):
        Path(f"started-{inputs['input']}").write_text("")
        await asyncio.sleep(float(inputs.get("nap") or 0))
        return "rested"
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """`agentmap serve` in ``folder``, and a client for it."""

    def __init__(self, folder: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(AGENTMAP), "serve", "--port", str(self.port), *args],
            cwd=folder,
            env=clean_env(**(env or {})),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=ctrl_c_works,
        )
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, self.process.communicate()
            try:
                httpx2.get(f"{self.url}/healthz", timeout=1)
                break
            except httpx2.TransportError:
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.05)

    def get(self, path: str, **kwargs: Any) -> httpx2.Response:
        return httpx2.get(self.url + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx2.Response:
        return httpx2.post(self.url + path, timeout=30, **kwargs)

    def stop(self) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=30)
        return self.process.returncode, err


@pytest.fixture
def service_project(
    project: Path, write_file: Callable[..., Path], graph_csv: Callable[..., Path]
) -> Path:
    write_file("agents/nap.py", NAP)
    write_file("agentmap_config.yaml", "jobs:\n  poll_interval: 0.05\n  heartbeat: 0.2\n")
    graph_csv(
        csv_row("Hello", "Start", "echo", success="End", inputs="input", output="echoed"),
        csv_row("Hello", "End", "echo", inputs="echoed", output="said"),
        csv_row("Nap", "Rest", "nap", inputs="input|nap", output="rest"),
        csv_row(
            "Ask",
            "Check",
            "human",
            success="Done",
            inputs="input",
            output="ok",
            prompt="Ship it?",
            context={"interaction_type": "approval"},
        ),
        csv_row("Ask", "Done", "echo", inputs="ok", output="done"),
        csv_row("Fail", "Boom", "failure", inputs="input", output="x"),
        name="graphs/flow.csv",
    )
    graph_csv(csv_row("Bad", "A", "echo", success="Nowhere"), name="graphs/bad.csv")
    write_file("secret.csv", "not for the service\n")
    return project


@pytest.fixture
def server(service_project: Path) -> Iterator[Server]:
    running = Server(service_project)
    try:
        yield running
    finally:
        running.stop()


def wait_state(server: Server, job_id: str, states: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        job: dict[str, Any] = server.get(f"/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.02)


def test_a_posted_job_is_202_then_runs_and_its_results_are_served(server: Server) -> None:
    made = server.post("/jobs", json={"graph": "flow.csv::Hello", "inputs": {"input": "hi"},
                                      "tags": ["web"]})  # fmt: skip

    assert made.status_code == 202, made.text
    job = made.json()["job"]
    assert made.headers["location"] == made.json()["url"] == f"/jobs/{job['id']}"
    assert job["state"] in ("queued", "running", "completed") and job["tags"] == ["web"]
    assert wait_state(server, job["id"], {"completed"})["nodes_done"] == 2
    results = server.get(f"/jobs/{job['id']}/results")
    assert results.status_code == 200 and results.json()["final_state"]["said"] == "hi"


def test_a_failed_jobs_results_carry_its_error(server: Server) -> None:
    made = server.post("/jobs", json={"graph": "flow.csv::Fail", "inputs": {"input": "x"}})
    job_id = made.json()["job"]["id"]
    wait_state(server, job_id, {"failed"})

    results = server.get(f"/jobs/{job_id}/results")

    assert results.status_code == 200
    assert results.json()["state"] == "failed" and "node 'Boom' failed" in results.json()["error"]
    assert results.json()["final_state"]["input"] == "x"


def test_results_before_the_end_are_409_and_cancel_stops_a_running_job(
    server: Server, service_project: Path
) -> None:
    job = server.post("/jobs", json={"graph": "flow.csv::Nap", "inputs": {"input": "x", "nap": 30}})
    job_id = job.json()["job"]["id"]
    deadline = time.monotonic() + 30
    while not (service_project / "started-x").exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)

    early = server.get(f"/jobs/{job_id}/results")
    assert early.status_code == 409 and early.json()["state"] == "running"
    assert early.headers["content-type"] == "application/problem+json"

    cancelled = server.post(f"/jobs/{job_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    again = server.post(f"/jobs/{job_id}/cancel")
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]


def test_an_operator_answers_a_waiting_job_over_http(server: Server) -> None:
    made = server.post("/jobs", json={"graph": "flow.csv::Ask", "inputs": {"input": "x"}})
    job_id = made.json()["job"]["id"]
    waiting = wait_state(server, job_id, {"waiting"})["waiting"]
    assert waiting == [{"node": "Check", "question": "Ship it?", "kind": "approval",
                        "options": waiting[0]["options"]}]  # fmt: skip

    wrong = server.post(f"/jobs/{job_id}/answer", json={"value": "maybe"})
    assert wrong.status_code == 422 and "can't take that answer" in wrong.json()["detail"]
    both = server.post(f"/jobs/{job_id}/answer", json={"approve": True, "choice": 1})
    assert both.status_code == 422 and "exactly one" in both.json()["detail"]
    answered = server.post(f"/jobs/{job_id}/answer", json={"approve": True})
    assert answered.status_code == 200, answered.text

    assert wait_state(server, job_id, {"completed"})["state"] == "completed"
    assert server.get(f"/jobs/{job_id}/results").json()["final_state"]["done"] is True
    late = server.post(f"/jobs/{job_id}/answer", json={"approve": True})
    assert late.status_code == 409 and "not waiting" in late.json()["detail"]


def test_jobs_are_listed_a_page_at_a_time_stable_under_inserts(server: Server) -> None:
    made = [
        server.post("/jobs", json={"graph": "flow.csv::Hello", "inputs": {"input": str(i)}}).json()[
            "job"
        ]["id"]
        for i in range(5)
    ]
    first = server.get("/jobs", params={"limit": 2}).json()
    server.post("/jobs", json={"graph": "flow.csv::Hello", "inputs": {"input": "late"}})
    second = server.get("/jobs", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    third = server.get("/jobs", params={"limit": 2, "cursor": second["next_cursor"]}).json()

    pages = [job["id"] for page in (first, second, third) for job in page["jobs"]]
    assert pages == list(reversed(made)) and third["next_cursor"] is None


def test_graphs_are_listed_and_shown_with_their_problems_and_diagram(server: Server) -> None:
    listed = {g.get("id", g["file"]): g for g in server.get("/graphs").json()["graphs"]}

    assert listed["flow.csv::Hello"] | {} == {
        "id": "flow.csv::Hello", "file": "flow.csv", "graph": "Hello", "entry": "Start",
        "nodes": 2, "valid": True, "problems": 0,
    }  # fmt: skip
    assert listed["bad.csv::Bad"]["valid"] is False
    shown = server.get("/graphs/bad.csv").json()
    (problem,) = shown["errors"]
    assert (problem["row"], problem["cell"], problem["field"]) == (2, "E2", "Success_Next")
    hello = server.get("/graphs/flow.csv", params={"graph": "Hello"}).json()
    assert list(hello["graphs"]) == ["Hello"] and "flowchart" in hello["graphs"]["Hello"]["mermaid"]


def test_a_posted_graph_is_validated_without_being_saved(
    server: Server, service_project: Path
) -> None:
    text = "GraphName,Node,AgentType,Edge,Success_Next\nG,A,echo,,Nowhere\n"

    checked = server.post("/graphs/validate", json={"text": text})

    assert checked.status_code == 200 and checked.json()["valid"] is False
    (problem,) = checked.json()["errors"]
    assert problem["place"] == "posted:2 E2 Success_Next" and "Nowhere" in problem["message"]
    assert not list(service_project.glob("**/posted.csv"))


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"graph": "../secret.csv"}, 404, "outside the graphs folder"),
        ({"graph": "/etc/passwd"}, 404, "outside the graphs folder"),
        ({"graph": "missing.csv"}, 404, "no such file"),
        ({"graph": "flow.csv::Nope"}, 404, "Nope"),
        ({"graph": "bad.csv"}, 422, "Nowhere"),
        ({"graph": "flow.csv::Hello", "inputs": [1]}, 422, "body.inputs"),
        ({"graph": "flow.csv::Hello", "tags": ["a b"]}, 422, "'a b' is not a tag"),
        ({"graph": "flow.csv::Hello", "retry_policy": {"type": "often"}}, 422, "retry type"),
        ({"graph": "flow.csv::Hello", "surprise": 1}, 422, "body.surprise"),
        ({}, 422, "body.graph"),
    ],
)
def test_bad_requests_are_problem_details_never_500(
    server: Server, body: dict[str, Any], status: int, words: str
) -> None:
    answered = server.post("/jobs", json=body)

    assert answered.status_code == status, answered.text
    assert answered.headers["content-type"] == "application/problem+json"
    assert words in answered.json()["detail"]


def test_unknown_ids_are_404_and_a_bad_cursor_is_422(server: Server) -> None:
    assert server.get("/jobs/0badc0de").status_code == 404
    assert server.get("/jobs/0badc0de/results").status_code == 404
    assert server.post("/jobs/0badc0de/cancel").status_code == 404
    assert server.get("/jobs", params={"cursor": "nonsense"}).status_code == 422
    assert server.get("/jobs", params={"status": "done"}).status_code == 422


def test_a_body_over_the_limit_is_413(server: Server) -> None:
    big = {"graph": "flow.csv::Hello", "inputs": {"input": "x" * 1_100_000}}

    assert server.post("/jobs", json=big).status_code == 413


def test_with_api_keys_every_route_but_healthz_needs_one(service_project: Path) -> None:
    key = "s3cret-key-for-tests"
    hashed = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    (service_project / "agentmap_config.yaml").write_text(f"server:\n  api_keys: ['{hashed}']\n")
    server = Server(service_project, env={"AGENTMAP_API_KEYS": "second-key"})
    try:
        operations = server.get("/openapi.json").json()["paths"]
        assert len(operations) >= 20
        for template, methods in operations.items():
            path = template.replace("{file}", "flow.csv")
            for name in ("job_id", "run_id"):
                path = path.replace("{" + name + "}", "0badc0de")
            for method in methods:
                refused = httpx2.request(method.upper(), server.url + path, timeout=30)
                expected = 200 if template == "/healthz" else 401
                assert refused.status_code == expected, (method, template, refused.text)
                if expected == 401:
                    assert refused.headers["www-authenticate"] == "Bearer"
                    assert key not in refused.text
        for page in ("/ui/api/jobs/0badc0de", "/ui/api/svg?file=flow.csv"):  # the dashboard's
            assert server.get(page).status_code == 401, page
        wrong = server.get("/jobs", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "not one this service accepts" in wrong.text
        for good in (key, "second-key"):
            assert server.get("/jobs", headers={"Authorization": f"Bearer {good}"}).is_success
        assert server.get("/healthz").is_success
    finally:
        _, err = server.stop()
    assert key not in err and "second-key" not in err


def test_serve_refuses_to_listen_beyond_localhost_without_keys(service_project: Path) -> None:
    done = agentmap(service_project, "serve", "--host", "0.0.0.0", "--port", str(free_port()))

    assert done.returncode == 2
    assert "no API key is set" in done.stderr and "--insecure" in done.stderr


def test_insecure_lets_serve_listen_beyond_localhost_without_keys(
    service_project: Path,
) -> None:
    server = Server(service_project, "--host", "0.0.0.0", "--insecure")
    try:
        assert server.get("/jobs").status_code == 200
    finally:
        code, _ = server.stop()
    assert code == 0


def test_hash_key_prints_the_hash_to_configure(service_project: Path) -> None:
    done = subprocess.run(
        [str(AGENTMAP), "serve", "--hash-key"], input="abc\n", capture_output=True, text=True,
        cwd=service_project, env=clean_env(), timeout=60,
    )  # fmt: skip

    assert done.stdout.strip() == "sha256:" + hashlib.sha256(b"abc").hexdigest()


def test_ctrl_c_gives_running_jobs_back_and_a_restart_finishes_them(
    service_project: Path,
) -> None:
    first = Server(service_project)
    job_id = first.post(
        "/jobs", json={"graph": "flow.csv::Nap", "inputs": {"input": "x", "nap": 2}}
    ).json()["job"]["id"]
    deadline = time.monotonic() + 30
    while not (service_project / "started-x").exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)

    code, _ = first.stop()
    assert code == 0

    second = Server(service_project)
    try:
        assert wait_state(second, job_id, {"completed"})["state"] == "completed"
    finally:
        second.stop()


def test_metrics_count_jobs_by_state_in_prometheus_text(server: Server) -> None:
    made = [
        server.post("/jobs", json={"graph": "flow.csv::Hello", "inputs": {"input": str(i)}}).json()[
            "job"
        ]["id"]
        for i in range(3)
    ]
    for job_id in made:
        wait_state(server, job_id, {"completed"})

    scraped = server.get("/metrics")

    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    lines = scraped.text.splitlines()
    assert 'agentmap_jobs{state="completed"} 3.0' in lines
    assert 'agentmap_jobs{state="queued"} 0.0' in lines
    assert "agentmap_queue_depth 0.0" in lines
    assert 'agentmap_job_duration_seconds_bucket{le="+Inf"} 3.0' in lines
    assert "agentmap_job_duration_seconds_count 3.0" in lines


def test_the_service_mounted_in_your_own_fastapi_app(service_project: Path) -> None:
    port = free_port()
    script = (
        "import uvicorn\n"
        "from fastapi import FastAPI\n"
        "from agentmap.service import create_app\n"
        "app = FastAPI()\n"
        "@app.get('/mine')\n"
        "def mine():\n"
        "    return {'mine': True}\n"
        "app.mount('/agents', create_app())\n"
        f"uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning')\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=service_project, env=clean_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_works,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx2.get(f"{url}/mine", timeout=1).json() == {"mine": True}
                break
            except httpx2.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        made = httpx2.post(
            f"{url}/agents/jobs", json={"graph": "flow.csv::Hello", "inputs": {"input": "m"}}
        )
        assert made.status_code == 202 and made.json()["url"].startswith("/agents/jobs/")
        job_id = made.json()["job"]["id"]
        deadline = time.monotonic() + 60
        while httpx2.get(f"{url}/agents/jobs/{job_id}").json()["state"] != "completed":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert httpx2.get(f"{url}/agents/healthz").json() == {"status": "ok"}
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def test_monitoring_summarises_jobs_workers_and_the_system(
    server: Server, service_project: Path
) -> None:
    done = server.post("/jobs", json={"graph": "flow.csv::Hello", "inputs": {"input": "a"}})
    wait_state(server, done.json()["job"]["id"], {"completed"})
    failed = server.post("/jobs", json={"graph": "flow.csv::Fail", "inputs": {"input": "b"}})
    wait_state(server, failed.json()["job"]["id"], {"failed"})
    server.post("/jobs", json={"graph": "flow.csv::Nap", "inputs": {"input": "n", "nap": 30}})
    deadline = time.monotonic() + 30
    while not (service_project / "started-n").exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)

    jobs = server.get("/monitoring/jobs").json()
    workers = server.get("/monitoring/workers").json()["workers"]
    system = server.get("/monitoring/system").json()

    assert jobs["by_state"] == {"completed": 1, "failed": 1, "running": 1}
    assert jobs["success_rate"] == 0.5 and jobs["duration_p50"] is not None
    (worker,) = workers
    assert worker["jobs"] == 1 and worker["alive"] is True
    assert system["executor"] == "local" and system["uptime"] > 0
    assert system["store"].endswith("runs.db")


def test_openapi_and_docs_are_served(server: Server) -> None:
    spec = server.get("/openapi.json").json()

    assert {"/jobs", "/jobs/{job_id}", "/graphs", "/graphs/validate", "/healthz"} <= set(
        spec["paths"]
    )
    assert server.get("/docs").status_code == 200


def test_cors_lets_only_the_configured_origins_call_the_api(
    service_project: Path, write_file: Callable[..., Path]
) -> None:
    write_file("agentmap_config.yaml", "server:\n  cors_origins: ['https://app.example']\n")
    running = Server(service_project)
    try:
        asked = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        }
        allowed = httpx2.options(
            f"{running.url}/jobs", headers={"Origin": "https://app.example", **asked}
        )
        refused = httpx2.options(
            f"{running.url}/jobs", headers={"Origin": "https://evil.example", **asked}
        )
        plain = running.get("/healthz", headers={"Origin": "https://app.example"})
    finally:
        running.stop()

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in refused.headers
    assert plain.headers["access-control-allow-origin"] == "https://app.example"


def test_serve_reload_restarts_with_an_agent_added_to_the_project(
    service_project: Path, write_file: Callable[..., Path]
) -> None:
    running = Server(service_project, "--reload")
    try:
        before = {a["name"] for a in running.get("/agents").json()["agents"]}
        write_file("agents/shout.py", SHOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                after = {a["name"] for a in running.get("/agents").json()["agents"]}
            except httpx2.TransportError:  # restarting
                after = before
            if "shout" in after:
                break
            assert time.monotonic() < deadline, after
            time.sleep(0.2)
    finally:
        code, err = running.stop()

    assert "nap" in before and "shout" not in before
    assert code == 0 and "Traceback" not in err, err


SHOUT = """
from agentmap import Agent


class ShoutAgent(Agent):
    def process(self, inputs):
        return str(inputs["input"]).upper()
"""
