"""The web dashboard of `agentmap serve`, in a real browser: Debian's headless Chromium driven by
Playwright, against a real server (tests/test_service.py's ``Server``) in a project of its own.

Submitting a job from the form and watching its row turn completed, a job's page with the path
its run took and the running node as it moves, answering a person's step, cancelling and
running again, the graphs page with placed problems, API keys, and text that must stay text.

With AGENTMAP_SCREENSHOTS naming a folder, a PNG of each page is saved there
(``AGENTMAP_SCREENSHOTS=docs/images`` makes the ones docs/dashboard.md shows).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from helpers import csv_row
from test_service import NAP, Server, wait_state

CHROMIUM = Path("/usr/bin/chromium")
HEADER = (
    "GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,"
    "Prompt,Context,Description"
)
EVIL_NODE = "<img src=x onerror=window.pwned=1>"
EVIL_VALUE = "<script>window.pwned=2</script><img src=x onerror=window.pwned=3>"
KEY = "dashboard-test-key"
# read on import, before each test moves to a folder of its own: relative to where pytest ran
SCREENSHOTS = (
    Path(os.environ["AGENTMAP_SCREENSHOTS"]).resolve()
    if os.environ.get("AGENTMAP_SCREENSHOTS")
    else None
)

expect.set_options(timeout=15_000)


def write_graph(path: Path, *rows: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project: a slow agent, graphs to run (quick, slow, with a person's step, failing)
    and one with a problem."""
    folder = tmp_path_factory.mktemp("dashboard")
    (folder / "agents").mkdir()
    (folder / "functions").mkdir()
    (folder / "agents" / "nap.py").write_text(NAP)
    (folder / "agentmap_config.yaml").write_text("jobs:\n  poll_interval: 0.05\n  heartbeat: 0.2\n")
    write_graph(
        folder / "graphs" / "flow.csv",
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
            description="A person approves the release",
        ),
        csv_row("Ask", "Done", "echo", inputs="ok", output="done"),
        csv_row("Fail", "Boom", "failure", inputs="input", output="x"),
        csv_row(
            "Pipeline",
            "Fetch",
            "echo",
            success="Clean",
            inputs="input",
            output="raw",
            description="Fetch the document",
        ),
        csv_row(
            "Pipeline",
            "Clean",
            "echo",
            success="Score",
            failure="Alert",
            inputs="raw",
            output="clean",
            description="Normalise its text",
        ),
        csv_row(
            "Pipeline",
            "Score",
            "nap",
            success="Publish",
            failure="Alert",
            inputs="input|nap",
            output="score",
            description="Score it (slowly)",
        ),
        csv_row("Pipeline", "Publish", "echo", inputs="clean", output="published"),
        csv_row("Pipeline", "Alert", "echo", inputs="input", output="alert"),
    )
    write_graph(folder / "graphs" / "bad.csv", csv_row("Bad", "A", "echo", success="Nowhere"))
    return folder


@pytest.fixture(scope="module")
def keyed_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose service needs an API key."""
    folder = tmp_path_factory.mktemp("keyed")
    (folder / "agents").mkdir()
    (folder / "agentmap_config.yaml").write_text("jobs:\n  poll_interval: 0.05\n")
    write_graph(
        folder / "graphs" / "hello.csv",
        csv_row("Hello", "Start", "echo", success="End", inputs="input", output="echoed"),
        csv_row("Hello", "End", "echo", inputs="echoed", output="said"),
    )
    return folder


@pytest.fixture(scope="module")
def servers(site: Path, keyed_site: Path) -> Iterator[tuple[Server, Server]]:
    """The two services, started side by side (each takes seconds to start)."""
    with ThreadPoolExecutor(2) as pool:
        starting = [
            pool.submit(Server, site),
            pool.submit(Server, keyed_site, env={"AGENTMAP_API_KEYS": KEY}),
        ]
    started = [future.result() for future in starting if future.exception() is None]
    try:
        for future in starting:
            future.result()  # raises what went wrong starting one
        yield started[0], started[1]
    finally:
        for running in started:
            running.stop()


@pytest.fixture(scope="module")
def server(servers: tuple[Server, Server]) -> Server:
    return servers[0]


@pytest.fixture(scope="module")
def keyed(servers: tuple[Server, Server]) -> Server:
    return servers[1]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"the dashboard tests drive Debian's Chromium at {CHROMIUM}, which is missing — "
            "install it with `apt-get install -y chromium` (.ci/run does); Playwright never "
            "downloads a browser here",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab (its own session storage); a script error on it fails the test."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    assert errors == []


def snap(page: Page, name: str) -> None:
    """A PNG of the page, when AGENTMAP_SCREENSHOTS names a folder to put it in."""
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"dashboard-{name}.png"), full_page=True)


def submit(
    server: Server, graph: str, inputs: dict[str, Any], tags: list[str] | None = None
) -> str:
    made = server.post("/jobs", json={"graph": graph, "inputs": inputs, "tags": tags or []})
    assert made.status_code == 202, made.text
    job_id: str = made.json()["job"]["id"]
    return job_id


def node(page: Page, name: str) -> Any:
    return page.locator(f'#graph svg g.node[data-node="{name}"]')


def edge(page: Page, source: str, target: str) -> Any:
    return page.locator(f'#graph svg g.edge[data-from="{source}"][data-to="{target}"]')


def wait_for(found: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not found():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


# --- serving -----------------------------------------------------------------------------------


def test_pages_and_their_files_are_served_under_a_strict_policy(server: Server) -> None:
    for path in ("/", "/ui/graphs", "/ui/jobs/0badc0de"):
        shown = server.get(path)
        assert shown.status_code == 200 and shown.headers["content-type"].startswith("text/html")
        policy = shown.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
    script = server.get("/ui/static/common.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert server.get("/ui/static/dashboard.css").headers["content-type"].startswith("text/css")
    for missing in ("/ui/static/nope.js", "/ui/static/..%2Fdashboard.py", "/ui/static/%2e%2e"):
        assert server.get(missing).status_code == 404, missing
    assert "/" not in server.get("/openapi.json").json()["paths"]  # the API's own description


def test_the_job_page_echoes_its_id_as_text_only(server: Server) -> None:
    shown = server.get('/ui/jobs/"><img src=x onerror=alert(1)>')

    assert "<img src=x" not in shown.text
    assert 'data-job="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in shown.text


def test_graphs_are_drawn_as_svg_for_the_pages(server: Server) -> None:
    drawn = server.get("/ui/api/svg", params={"file": "flow.csv", "graph": "Pipeline"})

    assert drawn.status_code == 200 and drawn.headers["content-type"] == "image/svg+xml"
    assert drawn.text.count("data-node=") == 5 and 'data-node="Score"' in drawn.text
    several = server.get("/ui/api/svg", params={"file": "flow.csv"})
    assert several.status_code == 404 and "say which" in several.json()["detail"]
    outside = server.get("/ui/api/svg", params={"file": "../agentmap_config.yaml"})
    assert outside.status_code == 404 and "outside the graphs folder" in outside.json()["detail"]
    assert server.get("/ui/api/jobs/0badc0de/svg").status_code == 404


def test_links_stay_under_the_prefix_or_mount_point_the_service_is_at(site: Path) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from agentmap.jobhost import settings_of
    from agentmap.service import create_app
    from agentmap.service.app import install

    app = FastAPI()
    install(app, settings_of(site / "agentmap_config.yaml"), prefix="/am")
    app.mount("/agents", create_app(site / "agentmap_config.yaml"))
    client = TestClient(app)  # no lifespan: no job worker, only pages

    for base in ("/am", "/agents"):
        for page in ("/", "/ui/graphs", "/ui/jobs/0badc0de"):
            shown = client.get(base + page)
            assert shown.status_code == 200, base + page
            assert f'data-base="{base}"' in shown.text
            assert f'src="{base}/ui/static/common.js' in shown.text
        assert client.get(base + "/ui/static/job.js").status_code == 200
    assert client.get("/am/ui", follow_redirects=False).headers["location"] == "/am/"


# --- the jobs page -----------------------------------------------------------------------------


def test_a_job_submitted_from_the_form_turns_completed_live(server: Server, page: Page) -> None:
    page.goto(server.url + "/")
    expect(page.locator("#live")).to_have_text("live")
    page.evaluate("window.sameDocument = true")

    page.select_option("#submit-graph", "flow.csv::Nap")
    page.fill("#submit-inputs", '{"input": "form", "nap": 0.8}')
    page.fill("#submit-tags", "web, form")
    with page.expect_response(
        lambda r: r.url.endswith("/jobs") and r.request.method == "POST"
    ) as made:
        page.click("#submit button[type=submit]")
    job_id = made.value.json()["job"]["id"]

    row = page.locator(f'tr[data-job="{job_id}"]')
    expect(row).to_have_attribute("data-state", "running")
    expect(row.locator(".running-nodes")).to_have_text("▸ Rest")
    expect(row).to_have_attribute("data-state", "completed")
    expect(row.locator(".tag")).to_have_text(["form", "web"])
    assert page.evaluate("window.sameDocument") is True  # updated in place, never reloaded
    row.locator("a").click()
    expect(page).to_have_url(f"{server.url}/ui/jobs/{job_id}")


def test_a_bad_submission_says_what_is_wrong(server: Server, page: Page) -> None:
    page.goto(server.url + "/")
    page.select_option("#submit-graph", "flow.csv::Hello")

    page.fill("#submit-inputs", "[1, 2]")
    page.click("#submit button[type=submit]")
    expect(page.locator("#submit-problem")).to_contain_text("give a JSON object")
    page.fill("#submit-inputs", "{}")
    page.fill("#submit-tags", "ok, not/a-tag")
    page.click("#submit button[type=submit]")
    expect(page.locator("#submit-problem")).to_contain_text("is not a tag")
    expect(page.locator('#submit-graph option[value="bad.csv::Bad"]')).to_be_disabled()


# --- a job's page ------------------------------------------------------------------------------


def test_the_job_page_shows_the_path_taken_its_timings_and_final_state(
    server: Server, page: Page
) -> None:
    job_id = submit(server, "flow.csv::Pipeline", {"input": "report.txt", "nap": 0.05}, ["docs"])
    wait_state(server, job_id, {"completed"})

    page.goto(f"{server.url}/ui/jobs/{job_id}")

    expect(page.locator("#job-state")).to_have_text("completed")
    for name in ("Fetch", "Clean", "Score", "Publish"):
        expect(node(page, name)).to_have_class(re.compile(r"\bdone\b"))
    expect(node(page, "Alert")).not_to_have_class(re.compile(r"\bdone\b"))
    expect(edge(page, "Fetch", "Clean")).to_have_class(re.compile(r"\btaken\b"))
    expect(edge(page, "Score", "Publish")).to_have_class(re.compile(r"\btaken\b"))
    expect(edge(page, "Score", "Alert")).not_to_have_class(re.compile(r"\btaken\b"))
    rows = page.locator("#nodes tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.locator(".node-name")).to_have_text(["Fetch", "Clean", "Score", "Publish"])
    score = page.locator('#nodes tbody tr[data-node="Score"] td.num').nth(1)
    expect(score).to_have_text(re.compile(r"^\d+ ms$"))
    expect(page.locator("#final-state")).to_contain_text('"published": "report.txt"')
    expect(page.locator("#cancel")).to_be_hidden()
    expect(page.locator("#retry")).to_be_visible()
    expect(page.locator("#errors")).to_be_hidden()
    page.locator("#events-box summary").click()
    expect(page.locator("#events li").last).to_contain_text("job_finished")
    snap(page, "job")


def test_a_slow_job_shows_its_running_node_as_it_moves(server: Server, page: Page) -> None:
    job_id = submit(server, "flow.csv::Pipeline", {"input": "slow", "nap": 1.5})

    page.goto(f"{server.url}/ui/jobs/{job_id}")

    expect(node(page, "Score")).to_have_class(re.compile(r"\brunning\b"))
    expect(node(page, "Clean")).to_have_class(re.compile(r"\bdone\b"))
    expect(node(page, "Publish")).not_to_have_class(re.compile(r"\b(done|running)\b"))
    expect(page.locator("#job-state")).to_have_text("running")
    expect(page.locator('#nodes tbody tr[data-node="Score"]')).to_have_attribute(
        "data-status", "running"
    )
    expect(node(page, "Score")).to_have_class(re.compile(r"\bdone\b"))
    expect(node(page, "Publish")).to_have_class(re.compile(r"\bdone\b"))
    expect(page.locator("#job-state")).to_have_text("completed")
    expect(page.locator("#final-state")).to_contain_text('"score": "rested"')


def test_a_waiting_job_is_answered_from_its_page(server: Server, page: Page) -> None:
    job_id = submit(server, "flow.csv::Ask", {"input": "v1.2"})
    wait_state(server, job_id, {"waiting"})

    page.goto(f"{server.url}/ui/jobs/{job_id}")

    expect(page.locator("#job-state")).to_have_text("waiting")
    question = page.locator('#questions .question[data-node="Check"]')
    expect(question.locator(".ask")).to_have_text("Ship it?")
    expect(node(page, "Check")).to_have_class(re.compile(r"\bwaiting\b"))
    question.get_by_role("button", name="Approve").click()

    expect(page.locator("#job-state")).to_have_text("completed")
    expect(page.locator("#answer")).to_be_hidden()
    expect(node(page, "Done")).to_have_class(re.compile(r"\bdone\b"))
    expect(page.locator("#final-state")).to_contain_text('"done": true')


def test_a_running_job_is_cancelled_then_run_again_from_its_page(
    server: Server, site: Path, page: Page
) -> None:
    job_id = submit(server, "flow.csv::Nap", {"input": "cancel-me", "nap": 30}, ["later"])
    wait_for((site / "started-cancel-me").exists, "the job never started")

    page.goto(f"{server.url}/ui/jobs/{job_id}")
    expect(node(page, "Rest")).to_have_class(re.compile(r"\brunning\b"))
    page.click("#cancel")
    expect(page.locator("#cancel")).to_have_text("Confirm cancel")
    page.click("#cancel")

    expect(page.locator("#job-state")).to_have_text("cancelled")
    expect(node(page, "Rest")).not_to_have_class(re.compile(r"\brunning\b"))
    assert server.get(f"/jobs/{job_id}").json()["state"] == "cancelled"
    page.click("#retry")
    expect(page).not_to_have_url(re.compile(job_id))
    again = page.url.rsplit("/", 1)[-1]
    try:
        copy = server.get(f"/ui/api/jobs/{again}").json()["retry"]
        assert copy["inputs"] == {"input": "cancel-me", "nap": 30} and copy["tags"] == ["later"]
        assert copy["graph"] == "flow.csv::Nap"
        expect(page.locator("#job-state")).to_have_text(re.compile("queued|running"))
    finally:
        server.post(f"/jobs/{again}/cancel")


def test_an_unknown_job_says_so(server: Server, page: Page) -> None:
    page.goto(server.url + "/ui/jobs/0badc0de")

    expect(page.locator("#job-graph")).to_have_text("No such job")
    expect(page.locator("#job-action-problem")).to_contain_text("no job '0badc0de'")


# --- the graphs page ---------------------------------------------------------------------------


def test_the_graphs_page_draws_every_graph_and_places_its_problems(
    server: Server, page: Page
) -> None:
    page.goto(server.url + "/ui/graphs")

    bad = page.locator('[data-graph="bad.csv::Bad"]')
    expect(bad.locator(".badge")).to_have_text("1 problem")
    problem = bad.locator('tr.problem-row[data-row="2"]')
    expect(problem).to_contain_text("row 2 · E2 · Success_Next")
    expect(problem).to_contain_text("Nowhere")
    expect(bad.locator('svg g.node[data-node="A"]')).to_have_count(1)
    pipeline = page.locator('[data-graph="flow.csv::Pipeline"]')
    expect(pipeline.locator("svg g.node")).to_have_count(5)
    expect(pipeline.locator(".problems")).to_contain_text("No problems found")
    expect(pipeline.locator(".problems")).to_contain_text("Score it (slowly)")
    expect(page.locator('.graph-card[data-graph^="flow.csv::"]')).to_have_count(5)
    snap(page, "graphs")
    pipeline.get_by_role("link", name="Submit a job").click()
    expect(page.locator("#submit-graph")).to_have_value("flow.csv::Pipeline")


# --- the jobs table: filters, paging -----------------------------------------------------------


def test_the_jobs_table_filters_by_status_graph_and_tag_and_pages(
    server: Server, site: Path, page: Page
) -> None:
    failed = submit(server, "flow.csv::Fail", {"input": "x"}, ["nightly"])
    waiting = submit(server, "flow.csv::Ask", {"input": "v2.0"}, ["release"])
    running = submit(server, "flow.csv::Nap", {"input": "screenshot", "nap": 30}, ["batch"])
    wait_state(server, failed, {"failed"})
    wait_state(server, waiting, {"waiting"})
    wait_for((site / "started-screenshot").exists, "the job never started")
    try:
        page.goto(server.url + "/")
        expect(page.locator(f'tr[data-job="{running}"]')).to_have_attribute("data-state", "running")
        expect(page.locator(f'tr[data-job="{waiting}"]')).to_have_attribute("data-state", "waiting")
        snap(page, "jobs")

        page.select_option("#filters select[name=status]", "failed")
        page.click("#filters button[type=submit]")
        expect(page.locator("#jobs tbody tr")).to_have_count(1)
        expect(page.locator("#jobs tbody tr")).to_have_attribute("data-job", failed)
        assert "status=failed" in page.url
        page.click("#clear-filters")
        page.fill("#filters input[name=tag]", "release")
        page.click("#filters button[type=submit]")
        expect(page.locator("#jobs tbody tr")).to_have_count(1)
        expect(page.locator("#jobs tbody tr")).to_have_attribute("data-job", waiting)
        page.click("#clear-filters")
        page.fill("#filters input[name=graph]", "Fail")
        page.click("#filters button[type=submit]")
        expect(page.locator("#jobs tbody tr")).to_have_count(1)
        expect(page.locator("#jobs tbody tr .node-name")).to_have_text("Fail")

        page.click("#clear-filters")
        for number in range(26):
            submit(server, "flow.csv::Hello", {"input": str(number)})
        page.reload()
        expect(page.locator("#jobs tbody tr")).to_have_count(25)
        page.click("#more")
        expect(page.locator("#jobs tbody tr")).to_have_count(len(server.get(
            "/jobs", params={"limit": 500}).json()["jobs"]))  # fmt: skip
        expect(page.locator("#more")).to_be_hidden()
    finally:
        server.post(f"/jobs/{running}/cancel")
        server.post(f"/jobs/{waiting}/cancel")


# --- what must stay text -----------------------------------------------------------------------


def test_markup_in_names_and_values_is_shown_as_text(
    server: Server, site: Path, page: Page
) -> None:
    write_graph(  # written here, so the other pages' screenshots don't show it
        site / "graphs" / "xss.csv",
        csv_row(
            "Evil",
            EVIL_NODE,
            "echo",
            success="<b>End</b>",
            inputs="input",
            output="out",
            description="<script>window.pwned=4</script>",
        ),
        csv_row("Evil", "<b>End</b>", "echo", inputs="out", output="said"),
    )
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    job_id = submit(server, "xss.csv::Evil", {"input": EVIL_VALUE})
    wait_state(server, job_id, {"completed"})

    page.goto(f"{server.url}/ui/jobs/{job_id}")
    expect(page.locator("#final-state")).to_contain_text(EVIL_VALUE)
    expect(node(page, EVIL_NODE)).to_have_class(re.compile(r"\bdone\b"))
    expect(page.locator("#nodes .node-name").first).to_have_text(EVIL_NODE)
    page.goto(server.url + "/")
    expect(page.locator(f'tr[data-job="{job_id}"]')).to_contain_text("Evil")
    page.goto(server.url + "/ui/graphs")
    evil = page.locator('[data-graph="xss.csv::Evil"]')
    expect(evil.locator("svg g.node")).to_have_count(2)
    expect(evil.locator(".problems")).to_contain_text("<script>window.pwned=4</script>")

    assert page.locator("img[src=x]").count() == 0 and page.locator("main script").count() == 0
    assert page.evaluate("window.pwned") is None and dialogs == []


# --- API keys ----------------------------------------------------------------------------------


def test_with_api_keys_the_dashboard_asks_for_the_key_then_works(keyed: Server, page: Page) -> None:
    assert httpx2.get(keyed.url + "/jobs").status_code == 401
    assert keyed.get("/").status_code == 200  # the page holds no data: no key needed
    page.goto(keyed.url + "/")
    expect(page.locator("#key-dialog")).to_be_visible()
    expect(page.locator("#key-problem")).to_be_hidden()
    page.fill("#key-input", "not-the-key")
    page.click("#key-form button[type=submit]")
    expect(page.locator("#key-problem")).to_contain_text("refused")
    page.fill("#key-input", KEY)
    page.click("#key-form button[type=submit]")

    expect(page.locator("#key-dialog")).to_be_hidden()
    expect(page.locator("#live")).to_have_text("live")  # the event stream sends the key
    expect(page.locator("#key-state")).to_be_visible()
    page.select_option("#submit-graph", "hello.csv::Hello")
    page.fill("#submit-inputs", '{"input": "with a key"}')
    page.click("#submit button[type=submit]")
    row = page.locator("#jobs tbody tr").first
    expect(row).to_have_attribute("data-state", "completed")
    row.locator("a").click()
    expect(node(page, "End")).to_have_class(re.compile(r"\bdone\b"))
    expect(page.locator("#final-state")).to_contain_text('"said": "with a key"')
    page.goto(keyed.url + "/ui/graphs")
    expect(page.locator('[data-graph="hello.csv::Hello"] svg g.node')).to_have_count(2)
    assert KEY not in page.content()
    page.click("#forget-key")
    expect(page.locator("#key-dialog")).to_be_visible()
