"""LLM agents against a real HTTP server (tests/llm_server.py) through the real SDKs.

Each agent type and alias, request settings (Context over config), JSON mode, every failure a
provider can answer with (missing key, 401, other 4xx, 429 with Retry-After, 5xx, lost
connection, timeout, malformed body), token usage and cost, streaming, secrets kept out of
everything, and the install hint when the SDK is missing.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from dependency_injector import containers, providers
from typer.testing import CliRunner

from agentmap import ExecutionResult, run_graph
from agentmap.agents.base import Usage
from agentmap.agents.catalog import AgentCatalog
from agentmap.cli.app import app
from agentmap.config import settings_from_dict
from agentmap.container import build_container
from agentmap.events import Event, NodeOutputChunk
from helpers import FakeClock, csv_row, run_in
from helpers import in_terminal as terminal_output
from llm_server import LLMServer

OPENAI_KEY = "sk-test-openai-5ecret-0001"
ANTHROPIC_KEY = "sk-ant-test-5ecret-0002"
HEADER = (
    "GraphName,Node,AgentType,Edge,Success_Next,Failure_Next,Input_Fields,Output_Field,"
    "Prompt,Context,Description"
)
AGENTMAP = shutil.which("agentmap") or str(Path(sys.executable).parent / "agentmap")
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def llm_config(
    server: LLMServer,
    *,
    openai: dict[str, Any] | None = None,
    anthropic: dict[str, Any] | None = None,
    **llm: Any,
) -> dict[str, Any]:
    """Settings pointing both built-in providers at ``server``, with test keys."""
    return {
        "llm": {
            "openai": {"base_url": server.openai_base_url, "api_key": OPENAI_KEY, **(openai or {})},
            "anthropic": {
                "base_url": server.anthropic_base_url,
                "api_key": ANTHROPIC_KEY,
                "model": "claude-haiku-4-5",  # the built-in default is deprecated: SDK warnings
                **(anthropic or {}),
            },
            **llm,
        }
    }


def row(node: str, agent_type: str, *, graph: str = "Main", **cells: Any) -> str:
    """One CSV row of the standard columns, quoted as a spreadsheet would."""
    return csv_row(graph, node, agent_type, **cells)


def ask_graph(
    graph_csv: Callable[..., Path], agent_type: str = "gpt", context: dict[str, Any] | None = None
) -> Path:
    """Ask (an LLM node) → Handle on failure (echoes the error into ``handled``)."""
    return graph_csv(
        row(
            "Ask",
            agent_type,
            failure="Handle",
            inputs="country",
            output="answer",
            prompt="What is the capital of {country}?",
            context=context,
        ),
        row("Handle", "echo", inputs="error", output="handled"),
    )


def run(path: Path, config: Any, state: Any = None, **options: Any) -> ExecutionResult:
    """Run with ``config`` (settings), or on a container ``with_clock`` made."""
    state = {"country": "France"} if state is None else state
    if isinstance(config, containers.Container):
        return run_in(config, path, state, **options)
    return run_graph(path, state, config=config, **options)


def with_clock(config: dict[str, Any]) -> tuple[Any, FakeClock]:
    """A container for ``config`` whose retry waits are recorded instead of slept."""
    container = build_container(config)
    clock = FakeClock()
    container.clock.override(providers.Object(clock))
    return container, clock


def attempts(result: ExecutionResult, node: str = "Ask") -> list[tuple[bool, int]]:
    return [(r.success, r.attempt) for r in result.summary.node_results if r.node == node]


@pytest.fixture(autouse=True)
def _no_keys_from_outside(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys come from each test's settings, never from the developer's environment."""
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


# --- agent types, aliases and providers ----------------------------------------------------


@pytest.mark.parametrize(
    ("agent_type", "path", "model", "key"),
    [
        ("llm", "/v1/chat/completions", "gpt-4o-mini", OPENAI_KEY),
        ("openai", "/v1/chat/completions", "gpt-4o-mini", OPENAI_KEY),
        ("gpt", "/v1/chat/completions", "gpt-4o-mini", OPENAI_KEY),
        ("chatgpt", "/v1/chat/completions", "gpt-4o-mini", OPENAI_KEY),
        ("anthropic", "/v1/messages", "claude-haiku-4-5", ANTHROPIC_KEY),
        ("claude", "/v1/messages", "claude-haiku-4-5", ANTHROPIC_KEY),
    ],
)
def test_each_agent_type_asks_its_provider_and_outputs_the_reply(
    graph_csv: Callable[..., Path],
    llm_server: LLMServer,
    agent_type: str,
    path: str,
    model: str,
    key: str,
) -> None:
    llm_server.reply("Paris.")
    result = run(ask_graph(graph_csv, agent_type), llm_config(llm_server))
    assert result.final_state == {
        "country": "France",
        "answer": "Paris.",
        "last_action_success": True,
    }
    request = llm_server.last_request
    assert (request.path, request.body["model"], request.api_key) == (path, model, key)
    assert request.body["messages"] == QUESTION


def test_openai_request_takes_context_settings_over_config(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    context = {"model": "gpt-4.1-mini", "temperature": 0.2, "max_tokens": 50, "system": "Be brief."}
    config = llm_config(
        llm_server, openai={"model": "gpt-4o", "temperature": 0.7, "max_tokens": 300}
    )
    run(ask_graph(graph_csv, "openai", context), config)
    assert llm_server.last_request.body == {
        "model": "gpt-4.1-mini",
        "messages": [{"role": "system", "content": "Be brief."}, *QUESTION],
        "temperature": 0.2,
        "max_tokens": 50,
    }


def test_openai_request_takes_the_providers_settings_without_context(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    config = llm_config(
        llm_server, openai={"model": "gpt-4o", "temperature": 0.7, "max_tokens": 300}
    )
    run(ask_graph(graph_csv, "openai"), config)
    assert llm_server.last_request.body == {
        "model": "gpt-4o",
        "messages": QUESTION,
        "temperature": 0.7,
        "max_tokens": 300,
    }


def test_anthropic_request_puts_the_system_prompt_at_the_top_level(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    context = {
        "model": "claude-opus-4-5",
        "temperature": 0.2,
        "max_tokens": 50,
        "system": "Be brief.",
    }
    run(ask_graph(graph_csv, "claude", context), llm_config(llm_server))
    assert llm_server.last_request.body == {
        "model": "claude-opus-4-5",
        "max_tokens": 50,
        "messages": QUESTION,
        "system": "Be brief.",
        "temperature": 0.2,
    }


def test_anthropic_request_takes_max_tokens_from_the_provider_config(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    run(ask_graph(graph_csv, "anthropic"), llm_config(llm_server, anthropic={"max_tokens": 256}))
    assert llm_server.last_request.body == {
        "model": "claude-haiku-4-5",
        "max_tokens": 256,
        "messages": QUESTION,
    }


def test_llm_agent_uses_the_provider_its_context_names(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    run(ask_graph(graph_csv, "llm", {"provider": "anthropic"}), llm_config(llm_server))
    assert llm_server.last_request.path == "/v1/messages"


def test_llm_agent_uses_the_configured_default_provider(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    local = {
        "protocol": "openai",
        "base_url": llm_server.openai_base_url,
        "model": "llama3.2",
        "api_key": "ollama",
    }
    config = llm_config(llm_server, default_provider="local", providers={"local": local})
    result = run(ask_graph(graph_csv, "llm"), config)
    request = llm_server.last_request
    assert (request.path, request.body["model"], request.api_key) == (
        "/v1/chat/completions",
        "llama3.2",
        "ollama",
    )
    assert result.final_state["answer"] == "echo: What is the capital of France?"


def test_openai_compatible_server_is_reached_through_context_base_url(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    config = llm_config(llm_server, openai={"base_url": "http://127.0.0.1:9/v1"})  # nothing there
    context = {"base_url": llm_server.openai_base_url, "model": "qwen2.5"}
    result = run(ask_graph(graph_csv, "openai", context), config)
    assert result.success is True
    assert llm_server.last_request.body["model"] == "qwen2.5"


@pytest.mark.filterwarnings("ignore:The model:DeprecationWarning")
def test_a_built_in_providers_section_keeps_the_defaults_it_leaves_out(
    graph_csv: Callable[..., Path], llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    config = {"llm": {"anthropic": {"base_url": llm_server.anthropic_base_url}}}
    run(ask_graph(graph_csv, "claude"), config)
    request = llm_server.last_request
    assert (request.path, request.api_key, request.body["max_tokens"]) == (
        "/v1/messages",
        "sk-ant-from-env",
        1024,
    )


def test_api_key_is_read_from_the_environment_variable(
    graph_csv: Callable[..., Path], llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    config = {"llm": {"openai": {"base_url": llm_server.openai_base_url}}}
    run(ask_graph(graph_csv, "gpt"), config)
    assert llm_server.last_request.api_key == "sk-from-the-environment"


def test_a_node_with_no_prompt_sends_its_inputs(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    path = graph_csv(row("Ask", "gpt", inputs="question", output="answer"))
    run(path, llm_config(llm_server), {"question": "Why is the sky blue?"})
    assert llm_server.last_request.body["messages"] == [
        {"role": "user", "content": "Why is the sky blue?"}
    ]


# --- JSON mode -----------------------------------------------------------------------------


def test_json_response_format_parses_the_reply(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply_json({"city": "Paris", "population": 2102650})
    result = run(ask_graph(graph_csv, "gpt", {"response_format": "json"}), llm_config(llm_server))
    assert result.final_state["answer"] == {"city": "Paris", "population": 2102650}
    assert llm_server.last_request.body["response_format"] == {"type": "json_object"}


def test_json_in_a_markdown_fence_is_parsed(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply('```json\n{"city": "Paris"}\n```')
    result = run(
        ask_graph(graph_csv, "claude", {"response_format": "json"}), llm_config(llm_server)
    )
    assert result.final_state["answer"] == {"city": "Paris"}


def test_invalid_json_is_a_node_failure_with_the_raw_text(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply("Paris, I think", prompt_tokens=9, completion_tokens=3)
    result = run(ask_graph(graph_csv, "gpt", {"response_format": "json"}), llm_config(llm_server))
    error = (
        "the model's reply is not valid JSON (Expecting value: line 1 column 1 (char 0)); "
        "it replied: Paris, I think"
    )
    assert result.summary.execution_path == ("Ask", "Handle")
    assert result.final_state["handled"] == error
    assert "answer" not in result.final_state
    assert result.summary.node_results[0].usage == Usage(9, 3, None, "gpt-4o-mini")


def test_unknown_response_format_is_a_node_failure(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    result = run(ask_graph(graph_csv, "gpt", {"response_format": "xml"}), llm_config(llm_server))
    assert result.final_state["handled"] == (
        "Context response_format must be 'text' or 'json', not 'xml'"
    )
    assert llm_server.requests == []


# --- failures: each is routed to Failure_Next with a message naming provider and model -------


@pytest.mark.parametrize(
    ("agent_type", "message"),
    [
        (
            "gpt",
            "no API key for provider openai (gpt-4o-mini) — set the OPENAI_API_KEY environment "
            "variable, or llm.openai.api_key in agentmap_config.yaml",
        ),
        (
            "claude",
            "no API key for provider anthropic (claude-haiku-4-5) — set the "
            "ANTHROPIC_API_KEY environment variable, or llm.anthropic.api_key in "
            "agentmap_config.yaml",
        ),
    ],
)
def test_missing_api_key_is_a_node_failure_that_follows_failure_next(
    graph_csv: Callable[..., Path], llm_server: LLMServer, agent_type: str, message: str
) -> None:
    config = {
        "llm": {
            "openai": {"base_url": llm_server.openai_base_url},
            "anthropic": {"base_url": llm_server.anthropic_base_url, "model": "claude-haiku-4-5"},
        }
    }
    result = run(ask_graph(graph_csv, agent_type), config)
    assert result.summary.execution_path == ("Ask", "Handle")
    assert result.summary.failed_nodes == result.summary.handled_failures == ("Ask",)
    assert result.final_state["handled"] == message
    assert llm_server.requests == []


def test_missing_key_of_a_custom_provider_names_its_setting(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    local = {"protocol": "openai", "base_url": llm_server.openai_base_url, "model": "llama3.2"}
    config = llm_config(llm_server, providers={"local": local})
    result = run(ask_graph(graph_csv, "llm", {"provider": "local"}), config)
    assert result.final_state["handled"] == (
        "no API key for provider local (llama3.2) — llm.providers.local.api_key in "
        "agentmap_config.yaml"
    )


def test_unauthorized_is_a_node_failure_and_is_not_retried(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.fail(401)
    container, clock = with_clock(llm_config(llm_server))
    result = run(ask_graph(graph_csv, "gpt"), container)
    assert result.final_state["handled"] == (
        "openai (gpt-4o-mini): authentication failed (HTTP 401: Invalid API key.) — check the "
        "API key (llm.openai.api_key)"
    )
    assert attempts(result) == [(False, 1)]
    assert (len(llm_server.requests), clock.sleeps) == (1, [])


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize(
    ("status", "kind", "detail", "tries"),
    [
        (400, "request refused", "Scripted HTTP 400 error.", 1),
        (403, "request refused", "Scripted HTTP 403 error.", 1),
        (404, "request refused", "Scripted HTTP 404 error.", 1),
        (422, "request refused", "Scripted HTTP 422 error.", 1),
        (429, "rate limited", "Rate limit reached; please try again later.", 4),
        (500, "server error", "The server had an error while processing your request.", 4),
        (503, "server error", "Scripted HTTP 503 error.", 4),
        (529, "server error", "Scripted HTTP 529 error.", 4),
    ],
)
def test_http_errors_map_to_failures_and_transient_ones_are_retried(
    graph_csv: Callable[..., Path],
    llm_server: LLMServer,
    provider: str,
    status: int,
    kind: str,
    detail: str,
    tries: int,
) -> None:
    for _ in range(4):
        llm_server.fail(status)
    container, clock = with_clock(llm_config(llm_server))
    result = run(ask_graph(graph_csv, provider), container)
    model = "gpt-4o-mini" if provider == "openai" else "claude-haiku-4-5"
    message = f"{provider} ({model}): {kind} (HTTP {status}: {detail})"
    assert result.final_state["handled"] == message
    assert len(llm_server.requests) == tries
    assert clock.sleeps == [1.0, 2.0, 4.0][: tries - 1]  # LLM agents' default policy


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_rate_limit_waits_at_least_retry_after_then_succeeds(
    graph_csv: Callable[..., Path], llm_server: LLMServer, provider: str
) -> None:
    llm_server.fail(429, retry_after=7)
    llm_server.reply("Paris.")
    container, clock = with_clock(llm_config(llm_server))
    result = run(ask_graph(graph_csv, provider), container)
    assert result.final_state["answer"] == "Paris."
    assert attempts(result) == [(False, 1), (True, 2)]
    assert clock.sleeps == [7.0]
    assert clock.sleeps[0] >= 7


def test_server_error_then_success(graph_csv: Callable[..., Path], llm_server: LLMServer) -> None:
    llm_server.fail(500)
    llm_server.reply("Paris.")
    container, clock = with_clock(llm_config(llm_server))
    result = run(ask_graph(graph_csv, "gpt"), container)
    assert (result.success, result.final_state["answer"], clock.sleeps) == (True, "Paris.", [1.0])
    assert attempts(result) == [(False, 1), (True, 2)]


def test_a_retry_policy_in_context_replaces_the_default(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.fail(500)
    container, clock = with_clock(llm_config(llm_server))
    result = run(ask_graph(graph_csv, "gpt", {"retry": None}), container)
    assert attempts(result) == [(False, 1)]
    assert clock.sleeps == []


def test_connection_refused_is_retried_then_fails(graph_csv: Callable[..., Path]) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    container, clock = with_clock({"llm": {"openai": {"base_url": url, "api_key": OPENAI_KEY}}})
    result = run(ask_graph(graph_csv, "gpt"), container)
    assert result.final_state["handled"].startswith(
        f"openai (gpt-4o-mini): can't connect to {url} ("
    )
    assert attempts(result) == [(False, 1), (False, 2), (False, 3), (False, 4)]
    assert clock.sleeps == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        (
            "openai",
            "openai (gpt-4o-mini): no reply within 0.3s (timed out) — try again later, or raise "
            "llm.openai.timeout",
        ),
        (
            "anthropic",
            "anthropic (claude-haiku-4-5): no reply within 0.3s (timed out) — try again "
            "later, or raise llm.anthropic.timeout",
        ),
    ],
)
def test_timeout_is_a_node_failure(
    graph_csv: Callable[..., Path], llm_server: LLMServer, provider: str, message: str
) -> None:
    llm_server.slow(5)
    config = llm_config(llm_server, openai={"timeout": 0.3}, anthropic={"timeout": 0.3})
    result = run(ask_graph(graph_csv, provider), config)
    assert result.final_state["handled"] == message
    assert attempts(result) == [(False, 1)]


@pytest.mark.parametrize(
    ("provider", "body", "content_type", "message"),
    [
        (
            "openai",
            '{"id": "truncated',
            "application/json",
            "openai (gpt-4o-mini): malformed reply (Unterminated string starting at: line 1 "
            "column 8 (char 7))",
        ),
        (
            "anthropic",
            '{"id": "truncated',
            "application/json",
            "anthropic (claude-haiku-4-5): malformed reply (Unterminated string starting "
            "at: line 1 column 8 (char 7))",
        ),
        (
            "openai",
            "<html>Bad gateway</html>",
            "text/html",
            "openai (gpt-4o-mini): malformed reply (expected a chat completion, got "
            "'<html>Bad gateway</html>')",
        ),
        (
            "anthropic",
            "<html>Bad gateway</html>",
            "text/html",
            "anthropic (claude-haiku-4-5): malformed reply (expected a message, got "
            "'<html>Bad gateway</html>')",
        ),
    ],
)
def test_malformed_reply_is_a_node_failure(
    graph_csv: Callable[..., Path],
    llm_server: LLMServer,
    provider: str,
    body: str,
    content_type: str,
    message: str,
) -> None:
    llm_server.malformed(body, content_type=content_type)
    result = run(ask_graph(graph_csv, provider), llm_config(llm_server))
    assert result.final_state["handled"] == message
    assert attempts(result) == [(False, 1)]


def test_malformed_stream_is_a_node_failure(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.malformed()
    result = run(ask_graph(graph_csv, "gpt"), llm_config(llm_server, stream=True))
    assert result.final_state["handled"] == (
        "openai (gpt-4o-mini): malformed reply (Unterminated string starting at: line 1 column 8 "
        "(char 7))"
    )


def test_unknown_provider_is_a_node_failure(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    result = run(ask_graph(graph_csv, "llm", {"provider": "mistral"}), llm_config(llm_server))
    assert result.final_state["handled"] == (
        "no provider named 'mistral' — configured providers: anthropic, google, openai (add it "
        "under llm.providers in agentmap_config.yaml)"
    )


def test_anthropic_node_refuses_a_provider_of_the_other_protocol(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    result = run(ask_graph(graph_csv, "claude", {"provider": "openai"}), llm_config(llm_server))
    assert result.final_state["handled"] == (
        "provider 'openai' speaks the openai protocol, but this node's agent type is anthropic — "
        "use AgentType llm with Context provider 'openai'"
    )


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"temperature": "hot"}, "Context 'temperature' must be a number, not 'hot'"),
        ({"max_tokens": 0}, "Context 'max_tokens' must be a whole number above 0, not 0"),
        ({"model": 4}, "Context 'model' must be text, not 4"),
    ],
)
def test_bad_model_settings_in_context_are_node_failures(
    graph_csv: Callable[..., Path], llm_server: LLMServer, context: dict[str, Any], message: str
) -> None:
    result = run(ask_graph(graph_csv, "gpt", context), llm_config(llm_server))
    assert result.final_state["handled"] == message


# --- token usage and cost ------------------------------------------------------------------


def priced(server: LLMServer) -> dict[str, Any]:
    return llm_config(
        server,
        openai={"prompt_price": 0.15, "completion_price": 0.6},
        anthropic={"prompt_price": 0.8, "completion_price": 4.0},
    )


def two_models(graph_csv: Callable[..., Path]) -> Path:
    return graph_csv(
        row("Ask", "gpt", success="Check", inputs="country", output="answer", prompt="{country}?"),
        row("Check", "claude", inputs="answer", output="checked", prompt="Check: {answer}"),
    )


def test_usage_and_cost_per_node_and_for_the_run(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply("Paris.", prompt_tokens=1000, completion_tokens=200)
    llm_server.reply("Correct.", prompt_tokens=2000, completion_tokens=500)
    result = run(two_models(graph_csv), priced(llm_server))
    usages = [r.usage for r in result.summary.node_results]
    assert usages == [
        Usage(1000, 200, pytest.approx(0.00027), "gpt-4o-mini"),
        Usage(2000, 500, pytest.approx(0.0036), "claude-haiku-4-5"),
    ]
    assert result.summary.usage == Usage(3000, 700, pytest.approx(0.00387), None)


def test_usage_without_prices_has_no_cost(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply("Paris.", prompt_tokens=12, completion_tokens=3)
    result = run(ask_graph(graph_csv, "gpt"), llm_config(llm_server))
    assert result.summary.usage == Usage(12, 3, None, "gpt-4o-mini")
    assert result.summary.usage.to_dict() == {
        "prompt_tokens": 12,
        "completion_tokens": 3,
        "model": "gpt-4o-mini",
    }


def test_run_json_output_has_usage_and_cost(
    graph_csv: Callable[..., Path], llm_server: LLMServer, project: Path
) -> None:
    llm_server.reply("Paris.", prompt_tokens=1000, completion_tokens=200)
    llm_server.reply("Correct.", prompt_tokens=2000, completion_tokens=500)
    config = project / "agentmap_config.yaml"
    config.write_text(yaml.safe_dump(priced(llm_server)), encoding="utf-8")
    path = two_models(graph_csv)
    done = CliRunner().invoke(
        app,
        ["run", str(path), "--json", "--state", '{"country": "France"}', "--config", str(config)],
    )
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)["summary"]
    assert [r["usage"] for r in summary["node_results"]] == [
        {
            "prompt_tokens": 1000,
            "completion_tokens": 200,
            "cost": pytest.approx(0.00027),
            "model": "gpt-4o-mini",
        },
        {
            "prompt_tokens": 2000,
            "completion_tokens": 500,
            "cost": pytest.approx(0.0036),
            "model": "claude-haiku-4-5",
        },
    ]
    assert summary["usage"] == {
        "prompt_tokens": 3000,
        "completion_tokens": 700,
        "cost": pytest.approx(0.00387),
    }


# --- streaming -----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_streaming_hands_each_piece_to_the_run_as_it_arrives(
    graph_csv: Callable[..., Path], llm_server: LLMServer, provider: str
) -> None:
    llm_server.reply("Hello big world", prompt_tokens=5, completion_tokens=3)
    chunks: list[tuple[str, str]] = []

    def collect(event: Event) -> None:
        if isinstance(event, NodeOutputChunk):
            chunks.append((event.node, event.text))

    config = llm_config(llm_server, stream=True)
    result = run(ask_graph(graph_csv, provider), config, handlers=[collect])
    assert chunks == [("Ask", "Hello "), ("Ask", "big "), ("Ask", "world")]
    assert result.final_state["answer"] == "Hello big world"
    assert llm_server.last_request.body["stream"] is True
    assert result.summary.usage is not None
    assert (result.summary.usage.prompt_tokens, result.summary.usage.completion_tokens) == (5, 3)


def test_without_the_stream_setting_nothing_is_streamed(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    chunks: list[Event] = []
    run(ask_graph(graph_csv, "gpt"), llm_config(llm_server), handlers=[chunks.append])
    assert not any(isinstance(event, NodeOutputChunk) for event in chunks)
    assert "stream" not in llm_server.last_request.body


def stream_project(project: Path, server: LLMServer, graph_csv: Callable[..., Path]) -> list[str]:
    config = project / "agentmap_config.yaml"
    config.write_text(yaml.safe_dump(llm_config(server)), encoding="utf-8")
    path = ask_graph(graph_csv, "gpt")
    return [AGENTMAP, "run", str(path), "--stream", "--state", '{"country": "France"}']


def subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMAP_")}
    env.pop("OPENAI_API_KEY", None)
    return {**env, "NO_COLOR": "1", "COLUMNS": "120", "TERM": "dumb"}


def in_terminal(command: list[str], cwd: Path) -> str:
    return terminal_output(command, cwd, subprocess_env())


def test_run_stream_prints_tokens_as_they_arrive_in_a_terminal(
    project: Path, llm_server: LLMServer, graph_csv: Callable[..., Path]
) -> None:
    llm_server.reply("Hello big world")
    output = in_terminal(stream_project(project, llm_server, graph_csv), project)
    assert output.startswith("Hello big world")  # before the run's result
    assert output.index("Hello big world") < output.index("succeeded")
    assert output.count("Hello big world") == 2  # streamed, then in the final state


def test_run_stream_prints_no_tokens_when_stdout_is_not_a_terminal(
    project: Path, llm_server: LLMServer, graph_csv: Callable[..., Path]
) -> None:
    llm_server.reply("Hello big world")
    done = subprocess.run(
        stream_project(project, llm_server, graph_csv),
        cwd=project,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("✔ Main succeeded")
    assert done.stdout.count("Hello big world") == 1  # only in the final state


# --- secrets -------------------------------------------------------------------------------


def test_api_key_never_appears_in_logs_tracking_errors_or_settings(
    graph_csv: Callable[..., Path], llm_server: LLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = llm_config(llm_server)
    config["execution"] = {"tracking": {"track_inputs": True, "track_outputs": True}}
    llm_server.reply("Paris.")
    llm_server.fail(401, message=f"Incorrect API key provided: {OPENAI_KEY}")
    path = ask_graph(graph_csv, "gpt")
    results = [run(path, config), run(path, config)]
    assert results[1].final_state["handled"] == (
        "openai (gpt-4o-mini): authentication failed (HTTP 401: Incorrect API key provided: ***) "
        "— check the API key (llm.openai.api_key)"
    )
    settings = settings_from_dict(config)
    shown = [
        caplog.text,
        *(json.dumps(result.to_dict(), default=repr) for result in results),
        repr(settings),
        str(settings),
        settings.model_dump_json(),
    ]
    assert llm_server.requests[0].api_key == OPENAI_KEY  # it was sent, so it was there to leak
    for text in shown:
        assert OPENAI_KEY not in text
        assert ANTHROPIC_KEY not in text


# --- installation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent_type", "missing", "message"),
    [
        (
            "claude",
            "anthropic",
            "agent type 'claude' needs anthropic, which is not installed — install it with "
            "pip install 'agentmap-runner[llm]'",
        ),
        (
            "gpt",
            "openai",
            "agent type 'gpt' needs openai, which is not installed — install it with "
            "pip install 'agentmap-runner[llm]'",
        ),
        (
            "llm",
            "openai",
            "agent type 'llm' needs openai, which is not installed — install it with "
            "pip install 'agentmap-runner[llm]'",
        ),
    ],
)
def test_catalog_names_the_missing_sdk_and_the_install_command(
    monkeypatch: pytest.MonkeyPatch, agent_type: str, missing: str, message: str
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # what an uninstalled package looks like
    assert AgentCatalog().missing_requirement(agent_type) == message


def test_graph_using_openai_without_the_sdk_fails_validation_with_the_install_hint(
    graph_csv: Callable[..., Path],
) -> None:
    path = ask_graph(graph_csv, "openai")
    blocked = (
        "import sys; sys.modules['openai'] = None; "  # what an uninstalled package looks like
        "sys.argv = ['agentmap', 'validate', sys.argv[1]]; "
        "from agentmap.cli.app import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocked, str(path)],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert (
        f"error {path.name}:2 C2 AgentType: agent type 'openai' needs openai, which is not "
        "installed — install it with pip install 'agentmap-runner[llm]'"
    ) in done.stderr.replace(str(path), path.name)


def test_sdks_are_not_imported_when_no_llm_agent_runs(repo: Path) -> None:
    script = (
        "import sys; from agentmap import run_graph; "
        f"result = run_graph({str(repo / 'graphs' / 'hello.csv')!r}, {{'input': 'hi'}}); "
        "assert result.success; "
        "print(sorted(m for m in ('openai', 'anthropic', 'httpx2') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout == "[]\n"
