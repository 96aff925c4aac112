"""``google`` / ``gemini`` agents through Google's Gen AI SDK against tests/llm_server.py.

The request Gemini receives (path, key header, contents, system instruction, generation
config), where the key comes from (config, ``GOOGLE_API_KEY``, ``GEMINI_API_KEY``), token
usage, streaming, conversation memory, every failure the API answers with, secrets kept out of
errors, record and replay, AgentMap's ``llm.google`` section, and what ``diagnose`` says.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentmap import run_graph
from agentmap.agents.base import Usage
from agentmap.config import load_settings
from agentmap.diagnosis import diagnose
from agentmap.events import Event, NodeOutputChunk
from llm_server import LLMServer
from test_llm_agents import ask_graph, attempts, row, run, with_clock

GOOGLE_KEY = "AIzaSyTest-gemini-5ecret-0003-abcdefghij"
ASK = "/v1/models/gemini-2.5-flash:generateContent"
COMPAT = Path(__file__).resolve().parent / "compat"


def gemini_config(server: LLMServer, **google: Any) -> dict[str, Any]:
    """Settings pointing the ``google`` provider at ``server`` (with a key unless given)."""
    settings = {"base_url": server.gemini_base_url, "api_key": GOOGLE_KEY, **google}
    return {"llm": {"google": {k: v for k, v in settings.items() if v is not None}}}


@pytest.fixture(autouse=True)
def _no_keys_from_outside(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys come from each test's settings, never from the developer's environment."""
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("agent_type", ["google", "gemini", "Gemini"])
def test_gemini_agents_send_the_prompt_to_generate_content(
    graph_csv: Callable[..., Path], llm_server: LLMServer, agent_type: str
) -> None:
    llm_server.reply("Paris.", prompt_tokens=9, completion_tokens=2)
    result = run(ask_graph(graph_csv, agent_type), gemini_config(llm_server))
    assert result.final_state["answer"] == "Paris."
    request = llm_server.last_request
    assert (request.path, request.api_key) == (ASK, GOOGLE_KEY)
    assert request.body == {
        "contents": [{"role": "user", "parts": [{"text": "What is the capital of France?"}]}]
    }
    assert result.summary.node_results[0].usage == Usage(9, 2, None, "gemini-2.5-flash")


def test_context_settings_become_the_generation_config(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    context = {
        "model": "gemini-2.5-pro",
        "temperature": 0.1,
        "max_tokens": 64,
        "system": "Answer in one word.",
    }
    llm_server.reply("Paris")
    run(ask_graph(graph_csv, "gemini", context), gemini_config(llm_server, temperature=0.9))
    request = llm_server.last_request
    assert request.path == "/v1/models/gemini-2.5-pro:generateContent"
    assert request.body["systemInstruction"] == {
        "role": "user",
        "parts": [{"text": "Answer in one word."}],
    }
    assert request.body["generationConfig"] == {"temperature": 0.1, "maxOutputTokens": 64}


def test_json_response_format_asks_gemini_for_json(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply_json({"capital": "Paris"})
    context = {"response_format": "json"}
    result = run(ask_graph(graph_csv, "gemini", context), gemini_config(llm_server))
    assert result.final_state["answer"] == {"capital": "Paris"}
    assert llm_server.last_request.body["generationConfig"] == {
        "responseMimeType": "application/json"
    }


def test_an_llm_node_reaches_gemini_by_context_provider_or_llm_type(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    for context in ({"provider": "google"}, {"llm_type": "google"}):
        llm_server.reply("Paris.")
        result = run(ask_graph(graph_csv, "llm", context), gemini_config(llm_server))
        assert result.final_state["answer"] == "Paris."
        assert llm_server.last_request.path == ASK


@pytest.mark.parametrize(
    ("environment", "key"),
    [
        ({"GOOGLE_API_KEY": "google-variable-key-1"}, "google-variable-key-1"),
        ({"GEMINI_API_KEY": "gemini-variable-key-2"}, "gemini-variable-key-2"),
        (
            {"GOOGLE_API_KEY": "google-variable-key-1", "GEMINI_API_KEY": "gemini-variable-key-2"},
            "google-variable-key-1",
        ),
    ],
)
def test_the_key_is_read_from_google_api_key_then_gemini_api_key(
    graph_csv: Callable[..., Path],
    llm_server: LLMServer,
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    key: str,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    result = run(ask_graph(graph_csv, "gemini"), gemini_config(llm_server, api_key=None))
    assert result.success is True
    assert llm_server.last_request.api_key == key


def test_a_missing_key_is_a_node_failure_naming_both_variables(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    result = run(ask_graph(graph_csv, "gemini"), gemini_config(llm_server, api_key=None))
    assert result.final_state["handled"] == (
        "no API key for provider google (gemini-2.5-flash) — set the GOOGLE_API_KEY or "
        "GEMINI_API_KEY environment variables, or llm.google.api_key in agentmap_config.yaml"
    )
    assert llm_server.requests == []


@pytest.mark.parametrize(
    ("status", "kind", "detail", "tries"),
    [
        (400, "request refused", "Scripted HTTP 400 error.", 1),
        (403, "request refused", "Scripted HTTP 403 error.", 1),
        (429, "rate limited", "Rate limit reached; please try again later.", 4),
        (500, "server error", "The server had an error while processing your request.", 4),
        (503, "server error", "Scripted HTTP 503 error.", 4),
    ],
)
def test_gemini_errors_map_to_failures_and_transient_ones_are_retried(
    graph_csv: Callable[..., Path],
    llm_server: LLMServer,
    status: int,
    kind: str,
    detail: str,
    tries: int,
) -> None:
    for _ in range(4):
        llm_server.fail(status)
    container, clock = with_clock(gemini_config(llm_server))
    result = run(ask_graph(graph_csv, "gemini"), container)
    message = f"google (gemini-2.5-flash): {kind} (HTTP {status}: {detail})"
    assert result.final_state["handled"] == message
    assert len(llm_server.requests) == tries  # the SDK itself never retries
    assert clock.sleeps == [1.0, 2.0, 4.0][: tries - 1]


def test_a_rate_limit_waits_at_least_retry_after_then_succeeds(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.fail(429, retry_after=7)
    llm_server.reply("Paris.")
    container, clock = with_clock(gemini_config(llm_server))
    result = run(ask_graph(graph_csv, "gemini"), container)
    assert result.final_state["answer"] == "Paris."
    assert attempts(result) == [(False, 1), (True, 2)]
    assert clock.sleeps == [7.0]


def test_a_key_quoted_back_by_the_server_is_redacted(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.fail(400, message=f"API key not valid: {GOOGLE_KEY}")
    result = run(ask_graph(graph_csv, "gemini"), gemini_config(llm_server))
    assert result.final_state["handled"] == (
        "google (gemini-2.5-flash): request refused (HTTP 400: API key not valid: ***)"
    )


def test_a_timeout_is_a_node_failure(graph_csv: Callable[..., Path], llm_server: LLMServer) -> None:
    llm_server.slow(5)
    result = run(ask_graph(graph_csv, "gemini"), gemini_config(llm_server, timeout=0.3))
    assert result.final_state["handled"] == (
        "google (gemini-2.5-flash): no reply within 0.3s (timed out) — try again later, or "
        "raise llm.google.timeout"
    )
    assert attempts(result) == [(False, 1)]


def test_a_malformed_reply_is_a_node_failure(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.malformed()
    result = run(ask_graph(graph_csv, "gemini"), gemini_config(llm_server))
    assert result.final_state["handled"].startswith("google (gemini-2.5-flash): malformed reply (")
    assert attempts(result) == [(False, 1)]


def test_streaming_hands_each_piece_to_the_run_and_counts_the_tokens(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply("Hello big world", prompt_tokens=5, completion_tokens=3)
    chunks: list[str] = []

    def collect(event: Event) -> None:
        if isinstance(event, NodeOutputChunk):
            chunks.append(event.text)

    config = gemini_config(llm_server)
    config["llm"]["stream"] = True
    result = run(ask_graph(graph_csv, "gemini"), config, handlers=[collect])
    assert chunks == ["Hello ", "big ", "world"]
    assert result.final_state["answer"] == "Hello big world"
    assert llm_server.last_request.path == "/v1/models/gemini-2.5-flash:streamGenerateContent"
    assert result.summary.usage == Usage(5, 3, None, "gemini-2.5-flash")


def test_memory_sends_the_conversation_with_gemini_roles(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    path = graph_csv(
        row("Ask", "gemini", inputs="question", output="answer", prompt="{question}",
            context={"memory": "chat"}),
    )  # fmt: skip
    config = gemini_config(llm_server)
    first = run_graph(path, {"question": "Hi, I am Ada."}, config=config)
    run_graph(path, {"question": "Who am I?", "chat": first.final_state["chat"]}, config=config)
    assert llm_server.last_request.body["contents"] == [
        {"role": "user", "parts": [{"text": "Hi, I am Ada."}]},
        {"role": "model", "parts": [{"text": "echo: Hi, I am Ada."}]},
        {"role": "user", "parts": [{"text": "Who am I?"}]},
    ]


def test_a_recorded_gemini_run_replays_with_no_server_and_no_key(
    graph_csv: Callable[..., Path], llm_server: LLMServer, tmp_path: Path
) -> None:
    cassette = tmp_path / "gemini.jsonl"
    llm_server.reply("Paris.", prompt_tokens=12, completion_tokens=2)
    path = ask_graph(graph_csv, "gemini")
    config = gemini_config(llm_server)
    config["llm"]["record"] = str(cassette)
    recorded = run(path, config)
    assert GOOGLE_KEY not in cassette.read_text(encoding="utf-8")
    url = llm_server.url
    llm_server.stop()
    replay = {"llm": {"google": {"base_url": url}, "replay": str(cassette)}}
    replayed = run(path, replay)
    assert replayed.final_state == recorded.final_state
    assert (
        replayed.summary.usage == recorded.summary.usage == Usage(12, 2, None, "gemini-2.5-flash")
    )


def test_agentmap_llm_google_section_configures_the_gemini_agent(
    graph_csv: Callable[..., Path],
    llm_server: LLMServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = tmp_path / "proj"
    (project / ".git").mkdir(parents=True)
    shutil.copy(COMPAT / "agentmap_config.yaml", project / "agentmap_config.yaml")
    settings = load_settings(cwd=project, environ={})
    google = settings.llm.google
    assert (google.model, google.api_key, google.api_key_env) == (
        "gemini-2.5-flash",
        None,
        "GOOGLE_API_KEY",
    )
    monkeypatch.setenv("GOOGLE_API_KEY", "from-the-env-reference")
    config = {"llm": {"google": {**google.model_dump(), "base_url": llm_server.gemini_base_url}}}
    result = run(ask_graph(graph_csv, "gemini"), config)
    assert result.success is True
    assert llm_server.last_request.api_key == "from-the-env-reference"


@pytest.mark.parametrize(
    ("environ", "found"),
    [
        ({}, (False, "GOOGLE_API_KEY, GEMINI_API_KEY or llm.google.api_key")),
        ({"GEMINI_API_KEY": "gemini-variable-key-2"}, (True, "GEMINI_API_KEY")),
        ({"GOOGLE_API_KEY": "google-variable-key-1"}, (True, "GOOGLE_API_KEY")),
    ],
)
def test_diagnose_says_where_the_google_key_is_read_from(
    environ: dict[str, str], found: tuple[bool, str]
) -> None:
    providers = {p.name: p for p in diagnose(environ=environ).providers}
    google = providers["google"]
    assert (google.key_set, google.key_source) == found
    assert (google.protocol, google.sdk, google.sdk_installed) == ("google", "google-genai", True)


def test_a_blocked_prompt_is_a_node_failure_naming_the_reason(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.malformed('{"promptFeedback": {"blockReason": "SAFETY"}}')
    result = run(ask_graph(graph_csv, "gemini"), gemini_config(llm_server))
    assert result.final_state["handled"] == (
        "google (gemini-2.5-flash): no answer, the prompt was blocked (SAFETY)"
    )
    assert attempts(result) == [(False, 1)]
