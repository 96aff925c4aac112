"""Keys stay secret: a provider that quotes the key back (as OpenAI's 401 does) gets it into no
file a run writes — store, cassette, exports — nor into stdout or stderr at any log level, with
--debug tracebacks, --json or --trace; a config value of the wrong type in a secret field is
refused without being echoed.

The provider is a real HTTP server on 127.0.0.1 that answers every request with an error whose
body quotes the key that arrived, through the real SDKs and the real CLI (nothing mocked).
"""

from __future__ import annotations

import csv
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentmap import run_graph
from agentmap.config import load_settings
from agentmap.exceptions import AgentMapError, ConfigError
from agentmap.secrets import redact
from helpers import clean_env, csv_row

AGENTMAP = Path(sys.executable).parent / "agentmap"

# Three keys, from three places: the config file, a variable the config names, and the
# provider's default variable. Only the Anthropic one is shaped like a well-known key: the
# others are caught because agentmap knows them, not because they look like keys.
FILE_KEY = "file-planted-0123456789abcdef"
ENV_KEY = "env-planted-fedcba9876543210"
ANTHROPIC_KEY = "sk-ant-api03-planted-0123456789abcdef"
KEYS = (FILE_KEY, ENV_KEY, ANTHROPIC_KEY)
RUN = ("run", "flow.csv", "--state", '{"country": "France"}')


class KeyQuotingServer:
    """Speaks just enough OpenAI Chat Completions and Anthropic Messages to refuse: a request
    to ``/<status>/v1/...`` is answered with that HTTP status and the provider's error body,
    whose message quotes the key and the header it arrived in. ``keys`` lists the keys that
    arrived, so a test knows they were there to leak."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Silent."""

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = int(self.path.split("/")[1])
                name = "x-api-key" if "x-api-key" in self.headers else "Authorization"
                sent = self.headers.get(name) or ""
                key = sent.removeprefix("Bearer ")
                owner.keys.append(key)
                said = f"Incorrect API key provided: {key} (sent as {name}: {sent})"
                if self.path.endswith("/v1/messages"):
                    body = {"type": "error", "error": {"type": "api_error", "message": said}}
                else:
                    body = {"error": {"message": said, "type": "invalid_request_error"}}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> KeyQuotingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


@pytest.fixture
def server() -> Iterator[KeyQuotingServer]:
    with KeyQuotingServer() as running:
        yield running


def config(server: KeyQuotingServer) -> dict[str, Any]:
    """OpenAI answers 401 (file key), a provider of our own 500 (key from PLANTED_KEY, retried
    once), Anthropic 500 (key from ANTHROPIC_API_KEY); every node's inputs and outputs tracked."""
    return {
        "llm": {
            "openai": {"base_url": f"{server.url}/401/v1", "api_key": FILE_KEY},
            "anthropic": {"base_url": f"{server.url}/500", "model": "claude-haiku-4-5"},
            "providers": {
                "house": {
                    "protocol": "openai",
                    "base_url": f"{server.url}/500/v1",
                    "model": "house-model",
                    "api_key_env": "PLANTED_KEY",
                }
            },
        },
        "execution": {
            "retry": {"type": "fixed", "delay": 0.01, "max_retries": 1},
            "tracking": {"track_inputs": True, "track_outputs": True},
        },
    }


def key_env() -> dict[str, str]:
    env = clean_env(PLANTED_KEY=ENV_KEY, ANTHROPIC_API_KEY=ANTHROPIC_KEY)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        env.pop(name, None)
    return env


def write_project(project: Path, server: KeyQuotingServer, graph_csv: Callable[..., Path]) -> None:
    """Ask (openai, 401) → Again (house, 500) → Check (anthropic, 500) → Handle (echo), each
    going on whether it failed or not."""
    (project / "agentmap_config.yaml").write_text(yaml.safe_dump(config(server)), "utf-8")
    steps = [  # node, agent type, the next node, Context
        ("Ask", "gpt", "Again", None),
        ("Again", "llm", "Check", {"provider": "house"}),
        ("Check", "claude", "Handle", None),
    ]
    asks = [
        csv_row(
            "Main",
            node,
            kind,
            success=then,
            failure=then,
            inputs="country",
            output=node.lower(),
            prompt="Capital of {country}?",
            context=context,
        )
        for node, kind, then, context in steps
    ]
    graph_csv(*asks, csv_row("Main", "Handle", "echo", inputs="error", output="handled"))


def agentmap(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AGENTMAP), *args],
        cwd=project,
        env=key_env(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def assert_no_key_in(text: str | bytes, where: str) -> None:
    for key in KEYS:
        shown = key.encode() if isinstance(text, bytes) else key
        assert shown not in text, f"{key} is in {where}"


def test_a_key_quoted_back_by_the_provider_is_in_no_file_and_no_output_of_any_command(
    project: Path, server: KeyQuotingServer, graph_csv: Callable[..., Path]
) -> None:
    write_project(project, server, graph_csv)
    recorded = agentmap(project, *RUN, "--record", "calls.jsonl", "--json", "-vv", "--debug")
    replayed = agentmap(project, *RUN, "--replay", "calls.jsonl", "--trace", "-vv", "--debug")
    shown = agentmap(project, "runs", "show", json.loads(recorded.stdout)["run_id"])
    exported = agentmap(project, "runs", "export", "--nodes", "-o", "nodes.csv")

    # Each key was sent, so each was there to leak; and the providers' quotes of them were kept.
    assert set(server.keys) == set(KEYS)
    assert recorded.returncode == 0, recorded.stderr  # every failure is routed on to Handle
    assert "DEBUG agentmap.llm.client" in recorded.stderr  # -vv: every level was on
    assert "Traceback" in recorded.stderr  # the SDK's chained exception, logged at DEBUG
    assert json.loads(recorded.stdout)["final_state"]["handled"] == (
        "anthropic (claude-haiku-4-5): server error (HTTP 500: Incorrect API key provided: *** "
        "(sent as Authorization: Bearer ***))"
    )
    assert "Incorrect API key provided: ***" in (project / "calls.jsonl").read_text("utf-8")
    # The redacted cassette still replays: the same node outcomes, error for error.
    assert replayed.returncode == 0, replayed.stderr
    with (project / "nodes.csv").open(encoding="utf-8", newline="") as handle:
        runs: dict[str, list[tuple[str, str]]] = {}
        for node in csv.DictReader(handle):
            runs.setdefault(node["run_id"], []).append((node["node"], node["error"]))
    first, second = runs.values()
    assert first == second
    assert [node for node, _ in first] == ["Ask", "Again", "Check", "Handle"]
    for done in (recorded, replayed, shown, exported):
        assert done.returncode in (0, 1), done.stderr
        assert_no_key_in(done.stdout, f"stdout of {done.args[1:]}")
        assert_no_key_in(done.stderr, f"stderr of {done.args[1:]}")
    config_file = project / "agentmap_config.yaml"  # the one file that holds a key: ours
    written = sorted(p for p in project.rglob("*") if p.is_file() and p != config_file)
    assert {"calls.jsonl", "nodes.csv", "runs.db"} <= {path.name for path in written}
    for path in written:
        assert_no_key_in(path.read_bytes(), str(path.relative_to(project)))


def test_log_records_of_a_run_in_python_hold_no_key_though_they_keep_the_exception(
    project: Path,
    server: KeyQuotingServer,
    graph_csv: Callable[..., Path],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLANTED_KEY", ENV_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    write_project(project, server, graph_csv)
    caplog.set_level(logging.DEBUG)
    result = run_graph(project / "flow.csv", {"country": "France"}, config=config(server))
    assert set(server.keys) == set(KEYS)
    failed = [r for r in caplog.records if r.getMessage().startswith("node 'Again' failed")]
    assert failed and failed[0].exc_info is not None  # for handlers that look at it
    assert "Incorrect API key provided: ***" in (failed[0].exc_text or "")
    assert "Traceback" in caplog.text
    assert_no_key_in(caplog.text, "the log")
    assert_no_key_in(json.dumps(result.to_dict(), default=repr), "the result")


@pytest.mark.parametrize("where", ["config file", "variable"])
def test_an_api_key_of_the_wrong_type_is_refused_naming_the_field_without_echoing_it(
    project: Path, graph_csv: Callable[..., Path], where: str
) -> None:
    planted = ["sk-proj-planted-0123456789abcdef", "second-planted-0123456789"]
    env = clean_env()
    if where == "config file":
        text = yaml.safe_dump({"llm": {"openai": {"api_key": planted}}})
        (project / "agentmap_config.yaml").write_text(text, "utf-8")
        source = str(project / "agentmap_config.yaml")
    else:
        env["AGENTMAP_LLM__OPENAI"] = json.dumps({"api_key": planted})
        source = "AGENTMAP_LLM__OPENAI"
    graph_csv(csv_row("Main", "Start", "echo"))
    done = subprocess.run(
        [str(AGENTMAP), "run", "flow.csv", "--debug"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.endswith(
        f"error: {source}: llm.openai.api_key: Input should be a valid string\n"
    )
    assert "Traceback" in done.stderr  # --debug: pydantic's error, chained, is shown too
    for text in (done.stdout, done.stderr):
        for key in planted:
            assert key not in text


def test_a_section_holding_a_key_is_shown_with_the_key_masked(project: Path) -> None:
    planted = "planted-provider-key-0123456789"
    (project / "agentmap_config.yaml").write_text(
        yaml.safe_dump({"llm": {"providers": {"local": [{"api_key": planted}]}}}), "utf-8"
    )
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert raised.value.message == (
        f"{project / 'agentmap_config.yaml'}: llm.providers.local: Input should be a valid "
        "dictionary or instance of ProviderSettings (got [{'api_key': '***'}])"
    )
    assert planted not in redact(str(raised.value.__cause__))  # a secret now: --debug hides it


def test_service_keys_and_provider_keys_from_variables_are_secrets_once_settings_load(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTMAP_API_KEYS", "service-planted-0123456789,second-service-key-42")
    monkeypatch.setenv("OPENAI_API_KEY", "openai-from-variable-0123456789")
    load_settings()
    error = AgentMapError(
        "keys: service-planted-0123456789, second-service-key-42, openai-from-variable-0123456789"
    )
    assert error.message == "keys: ***, ***, ***"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("key sk-proj-abcdefghijklmnop0123 refused", "key *** refused"),
        ("invalid x-api-key: sk-ant-api03-abcdefghijklmnop", "invalid x-api-key: ***"),
        ("{'authorization': 'Bearer abcdefghijklmnop'}", "{'authorization': 'Bearer ***'}"),
        ('"api-key": "0123456789abcdef"', '"api-key": "***"'),
        ("sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "sent Bearer ***"),
        ("postgresql://agentmap:hunter2@db:5432/runs", "postgresql://agentmap:***@db:5432/runs"),
        # ordinary text is left alone
        ("task-management-software-suite", "task-management-software-suite"),
        ("llm.openai.api_key: Input should be a valid string", None),
        ("the bearer of the message", None),
        ("send Authorization: Bearer <key>", None),
        ("http://127.0.0.1:8000/v1", None),
    ],
)
def test_text_shaped_like_a_key_is_cut_and_other_text_is_left_as_it_is(
    text: str, shown: str | None
) -> None:
    assert redact(text) == (text if shown is None else shown)
