"""AgentMap's routing Context (``routing_enabled``, ``task_type``, ``provider_preference``, ...)
picks a node's provider and model from ``llm.routing``, against tests/llm_server.py.

One table of choices (task type → complexity → the first preferred provider with a key → the
matrix's model), then the edges: a typed agent keeps its provider, no provider with a key,
routing switched off, bad settings, AgentMap's config section and its no-effect keys.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentmap import run_graph, validate_graph
from agentmap.config import load_settings
from llm_server import LLMServer
from test_llm_agents import row

KEYS = {"openai": "sk-test-openai-5ecret-0001", "anthropic": "sk-ant-test-5ecret-0002"}
KEYS["google"] = "AIzaSyTest-gemini-5ecret-0003-abcdefghij"
COMPAT = Path(__file__).resolve().parent / "compat"

MATRIX = {
    "openai": {"low": "gpt-4o-mini", "medium": "gpt-4.1-mini", "high": "gpt-4.1", "critical": "o3"},
    "anthropic": {"low": "claude-haiku-4-5", "high": "claude-sonnet-4-6"},
    "google": {"low": "gemini-2.5-flash-lite", "high": "gemini-2.5-pro"},
}
TASK_TYPES = {
    "code_review": {
        "provider_preference": ["anthropic", "openai"],
        "default_complexity": "low",
        "complexity_keywords": {"high": ["security", "architecture"], "critical": ["production"]},
    },
    "general": {"provider_preference": ["openai"], "default_complexity": "medium"},
}


def routed_config(server: LLMServer, keys: tuple[str, ...] = tuple(KEYS), **routing: Any) -> Any:
    """Every provider on ``server``; only those in ``keys`` have an API key."""
    urls = {
        "openai": server.openai_base_url,
        "anthropic": server.anthropic_base_url,
        "google": server.gemini_base_url,
    }
    llm: dict[str, Any] = {
        name: {"base_url": url, **({"api_key": KEYS[name]} if name in keys else {})}
        for name, url in urls.items()
    }
    llm["routing"] = {"routing_matrix": MATRIX, "task_types": TASK_TYPES, **routing}
    return {"llm": llm}


def asked(server: LLMServer) -> tuple[str, str]:
    """(provider, model) of the last request the server received."""
    request = server.last_request
    if request.path.startswith("/v1/models/"):
        return "google", request.path.split("/")[-1].split(":")[0]
    provider = "anthropic" if request.path == "/v1/messages" else "openai"
    return provider, request.body["model"]


def routed_graph(
    graph_csv: Callable[..., Path], context: dict[str, Any], agent_type: str = "llm"
) -> Path:
    return graph_csv(
        row("Ask", agent_type, failure="Handle", inputs="request", output="answer",
            prompt="{request}", context={"routing_enabled": True, **context}),
        row("Handle", "echo", inputs="error", output="handled"),
    )  # fmt: skip


@pytest.fixture(autouse=True)
def _no_keys_from_outside(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("context", "request_text", "keys", "expected"),
    [
        # the task type's preference and default complexity
        (
            {"task_type": "code_review"},
            "Look at this diff",
            tuple(KEYS),
            ("anthropic", "claude-haiku-4-5"),
        ),
        # a keyword of a higher tier raises the complexity; the highest tier found wins
        (
            {"task_type": "code_review"},
            "Check the security of it",
            tuple(KEYS),
            ("anthropic", "claude-sonnet-4-6"),
        ),
        ({"task_type": "code_review"}, "Security in production!", ("openai",), ("openai", "o3")),
        # the first preferred provider with a key is asked
        ({"task_type": "code_review"}, "Look at this diff", ("openai",), ("openai", "gpt-4o-mini")),
        # Context provider_preference over the task type's (AgentMap's "a|b" form too)
        (
            {"task_type": "code_review", "provider_preference": ["google"]},
            "diff",
            tuple(KEYS),
            ("google", "gemini-2.5-flash-lite"),
        ),
        (
            {"task_type": "code_review", "provider_preference": "google|openai"},
            "diff",
            ("openai",),
            ("openai", "gpt-4o-mini"),
        ),
        # no task_type: llm.routing.default_task_type (general)
        ({}, "Anything", tuple(KEYS), ("openai", "gpt-4.1-mini")),
        # complexity_override beats keywords; max_cost_tier caps it
        (
            {"task_type": "code_review", "complexity_override": "critical"},
            "diff",
            ("openai",),
            ("openai", "o3"),
        ),
        (
            {"task_type": "code_review", "max_cost_tier": "medium"},
            "production",
            ("openai",),
            ("openai", "gpt-4.1-mini"),
        ),
        (
            {"task_type": "code_review", "auto_detect_complexity": False},
            "security",
            ("openai",),
            ("openai", "gpt-4o-mini"),
        ),
        # a tier the matrix doesn't list: the provider's model; Context model beats the matrix
        (
            {"task_type": "general", "provider_preference": ["anthropic"]},
            "hi",
            tuple(KEYS),
            ("anthropic", "claude-haiku-4-5"),
        ),
        (
            {"task_type": "code_review", "model": "my-model"},
            "diff",
            tuple(KEYS),
            ("anthropic", "my-model"),
        ),
        # exclude_providers; then fallback_provider with fallback_model
        (
            {"task_type": "code_review", "exclude_providers": ["anthropic"]},
            "diff",
            tuple(KEYS),
            ("openai", "gpt-4o-mini"),
        ),
        (
            {
                "provider_preference": ["anthropic"],
                "fallback_provider": "google",
                "fallback_model": "gemini-x",
            },
            "hi",
            ("google",),
            ("google", "gemini-x"),
        ),
    ],
)
def test_routing_picks_the_provider_and_model(
    graph_csv: Callable[..., Path],
    llm_server: LLMServer,
    context: dict[str, Any],
    request_text: str,
    keys: tuple[str, ...],
    expected: tuple[str, str],
) -> None:
    config = routed_config(llm_server, keys)
    config["llm"]["anthropic"]["model"] = "claude-haiku-4-5"  # the built-in default is deprecated
    result = run_graph(routed_graph(graph_csv, context), {"request": request_text}, config=config)
    assert result.success is True, result.final_state.get("handled")
    assert asked(llm_server) == expected
    assert result.summary.node_results[0].usage is not None
    assert result.summary.node_results[0].usage.model == expected[1]


def test_the_choice_is_logged_with_its_reason(
    graph_csv: Callable[..., Path], llm_server: LLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agentmap.agent.Ask")
    path = routed_graph(graph_csv, {"task_type": "code_review"})
    run_graph(path, {"request": "architecture"}, config=routed_config(llm_server))
    assert "routing: task type 'code_review', complexity high → anthropic (claude-sonnet-4-6)" in (
        caplog.messages
    )


@pytest.mark.parametrize(
    ("agent_type", "expected"),
    [("gpt", ("openai", "gpt-4.1")), ("gemini", ("google", "gemini-2.5-pro"))],
)
def test_an_agent_type_naming_a_provider_keeps_it_and_routing_picks_its_model(
    graph_csv: Callable[..., Path],
    llm_server: LLMServer,
    agent_type: str,
    expected: tuple[str, str],
) -> None:
    path = routed_graph(graph_csv, {"task_type": "code_review"}, agent_type)
    run_graph(path, {"request": "security review"}, config=routed_config(llm_server))
    assert asked(llm_server) == expected


def test_no_provider_with_a_key_is_a_node_failure(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    path = routed_graph(graph_csv, {"task_type": "code_review"})
    result = run_graph(path, {"request": "diff"}, config=routed_config(llm_server, keys=()))
    assert result.final_state["handled"] == (
        "routing found no provider with an API key among anthropic, openai — set the key of one "
        "of them (see llm.<provider>.api_key_env), or list another in Context provider_preference"
    )
    assert llm_server.requests == []


def test_a_cassette_replay_routes_as_if_every_provider_had_a_key(
    graph_csv: Callable[..., Path], llm_server: LLMServer, tmp_path: Path
) -> None:
    cassette = tmp_path / "routed.jsonl"
    path = routed_graph(graph_csv, {"task_type": "code_review"})
    config = routed_config(llm_server)
    config["llm"]["record"] = str(cassette)
    recorded = run_graph(path, {"request": "diff"}, config=config)
    replay = routed_config(llm_server, keys=())
    replay["llm"]["replay"] = str(cassette)
    llm_server.stop()
    replayed = run_graph(path, {"request": "diff"}, config=replay)
    assert replayed.final_state == recorded.final_state
    assert replayed.final_state["answer"] == "echo: diff"


def test_routing_switched_off_asks_the_nodes_own_provider_with_a_warning(
    graph_csv: Callable[..., Path], llm_server: LLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="agentmap.agent.Ask")
    config = routed_config(llm_server, enabled=False)
    path = routed_graph(graph_csv, {"task_type": "code_review"})
    run_graph(path, {"request": "security"}, config=config)
    assert asked(llm_server) == ("openai", "gpt-4o-mini")  # llm.default_provider's model
    assert caplog.messages == [
        "Context routing_enabled is set but llm.routing.enabled is false: asking the node's own "
        "provider and model"
    ]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"routing_enabled": "yes"}, "Context routing_enabled must be true or false, not 'yes'"),
        (
            {"complexity_override": "huge"},
            "Context complexity_override must be one of low, medium, high, critical, not 'huge'",
        ),
        (
            {"provider_preference": [1, 2]},
            "Context provider_preference must be a list of provider names, not [1, 2]",
        ),
    ],
)
def test_bad_routing_settings_are_node_failures(
    graph_csv: Callable[..., Path],
    llm_server: LLMServer,
    context: dict[str, Any],
    message: str,
) -> None:
    path = routed_graph(graph_csv, context)
    result = run_graph(path, {"request": "hi"}, config=routed_config(llm_server))
    assert result.final_state["handled"] == message


def test_agentmap_routing_section_maps_to_llm_routing(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / ".git").mkdir(parents=True)
    text = (COMPAT / "agentmap_config.yaml").read_text(encoding="utf-8")
    extra = (
        "  task_types:\n"
        "    support:\n"
        "      description: Customer questions\n"
        "      provider_preference: [google, openai]\n"
        "      default_complexity: low\n"
        "      complexity_keywords: {high: [complaint]}\n"
        "  cost_optimization: {enabled: true}\n"
    )
    (project / "agentmap_config.yaml").write_text(text + extra, encoding="utf-8")
    routing = load_settings(cwd=project, environ={}).llm.routing
    assert routing.enabled is True
    assert routing.routing_matrix == {"openai": {"low": "gpt-4o-mini"}}
    support = routing.task_types["support"]
    assert (support.provider_preference, support.default_complexity) == (
        ("google", "openai"),
        "low",
    )
    assert support.complexity_keywords == {"high": ("complaint",)}


def test_agentmap_routing_keys_without_effect_warn_at_validation(
    graph_csv: Callable[..., Path],
) -> None:
    path = routed_graph(graph_csv, {"task_type": "general", "activity": "code_generation"})
    report = validate_graph(path)
    assert report.ok is True
    (warning,) = [p for p in report.warnings if "'activity'" in p.message]
    assert warning.message.startswith("Context key 'activity' is AgentMap's and means nothing to ")
    assert "it is ignored" in warning.message
    assert (warning.node, warning.field) == ("Ask", "Context")
