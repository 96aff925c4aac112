"""Record and replay: a run recorded against tests/llm_server.py replays identically with the
server stopped; nothing secret is written; an unknown request fails clearly; and the example
graphs/chat.csv replays offline from its committed cassette."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from agentmap import ExecutionResult, run_graph
from agentmap.cli.app import app
from agentmap.events import Event, NodeOutputChunk
from helpers import in_repo_env, run_in
from llm_server import LLMServer
from test_llm_agents import (
    AGENTMAP,
    ANTHROPIC_KEY,
    OPENAI_KEY,
    attempts,
    llm_config,
    row,
    with_clock,
)

REPO = Path(__file__).resolve().parent.parent
CHAT = REPO / "graphs" / "chat.csv"
CHAT_CASSETTE = REPO / "graphs" / "chat.cassette.jsonl"
CHAT_STATE = {"message": "I was charged twice for my last invoice"}
CHAT_REPLY = "Sorry about that: I have refunded the second charge to your card."
LOCAL_URL = "http://127.0.0.1:11434/v1"  # where graphs/chat.csv sends its model calls


def two_models(graph_csv: Callable[..., Path]) -> Path:
    return graph_csv(
        row(
            "Ask",
            "gpt",
            success="Check",
            failure="Handle",
            inputs="country",
            output="answer",
            prompt="What is the capital of {country}?",
        ),
        row(
            "Check",
            "claude",
            failure="Handle",
            inputs="answer",
            output="checked",
            prompt="Check: {answer}",
        ),
        row("Handle", "echo", inputs="error", output="handled"),
    )


def replay_config(server_url: str, cassette: Path, **llm: Any) -> dict[str, Any]:
    """Replay with no keys, against base URLs where nothing answers any more."""
    return {
        "llm": {
            "openai": {"base_url": server_url + "/v1"},
            "anthropic": {"base_url": server_url, "model": "claude-haiku-4-5"},
            "replay": str(cassette),
            **llm,
        }
    }


def essentials(result: ExecutionResult) -> tuple[Any, ...]:
    summary = result.summary
    return (result.final_state, summary.execution_path, summary.usage, result.success)


@pytest.fixture(autouse=True)
def _no_keys(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_record_then_replay_with_the_server_stopped_gives_identical_results(
    graph_csv: Callable[..., Path], llm_server: LLMServer, tmp_path: Path
) -> None:
    cassette = tmp_path / "run.jsonl"
    llm_server.reply("Paris.", prompt_tokens=12, completion_tokens=2)
    llm_server.reply("Correct.", prompt_tokens=20, completion_tokens=1)
    path = two_models(graph_csv)
    recorded = run_graph(
        path, {"country": "France"}, config=llm_config(llm_server, record=str(cassette))
    )
    url = llm_server.url
    llm_server.stop()
    replayed = run_graph(path, {"country": "France"}, config=replay_config(url, cassette))
    assert essentials(replayed) == essentials(recorded)
    assert replayed.final_state["checked"] == "Correct."


def test_the_cassette_holds_each_exchange_and_nothing_secret(
    graph_csv: Callable[..., Path], llm_server: LLMServer, tmp_path: Path
) -> None:
    cassette = tmp_path / "run.jsonl"
    llm_server.reply("Paris.", prompt_tokens=12, completion_tokens=2)
    run_graph(
        two_models(graph_csv),
        {"country": "France"},
        config=llm_config(llm_server, record=str(cassette)),
    )
    text = cassette.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["request"] == {
        "method": "POST",
        "path": "/v1/chat/completions",
        "body": {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "What is the capital of France?"}],
        },
    }
    assert lines[0]["response"]["status"] == 200
    assert lines[0]["response"]["headers"] == {
        "content-type": "application/json",
        "request-id": "req_1",
        "x-request-id": "req_1",
    }
    assert json.loads(lines[0]["response"]["body"])["choices"][0]["message"]["content"] == "Paris."
    assert [line["request"]["path"] for line in lines] == ["/v1/chat/completions", "/v1/messages"]
    for secret in (OPENAI_KEY, ANTHROPIC_KEY, "authorization", "x-api-key", "Bearer"):
        assert secret not in text


def test_replay_of_a_request_not_in_the_cassette_is_a_clear_node_failure(
    graph_csv: Callable[..., Path], llm_server: LLMServer, tmp_path: Path
) -> None:
    cassette = tmp_path / "run.jsonl"
    path = two_models(graph_csv)
    run_graph(path, {"country": "France"}, config=llm_config(llm_server, record=str(cassette)))
    result = run_graph(path, {"country": "Spain"}, config=replay_config(llm_server.url, cassette))
    assert result.summary.execution_path == ("Ask", "Handle")
    assert result.final_state["handled"] == (
        f"cassette {cassette} has no recorded reply for POST /v1/chat/completions "
        "(model 'gpt-4o-mini', last message 'What is the capital of Spain?') — record it again "
        "with --record"
    )
    assert len(llm_server.requests) == 2  # only the recording reached the server


def test_streamed_replies_replay_piece_by_piece(
    graph_csv: Callable[..., Path], llm_server: LLMServer, tmp_path: Path
) -> None:
    cassette = tmp_path / "run.jsonl"
    llm_server.reply("Paris is the capital")
    llm_server.reply("Yes it is")
    path = two_models(graph_csv)
    chunks: list[list[str]] = [[], []]

    def collect(into: list[str]) -> Callable[[Event], None]:
        return lambda event: into.append(event.text) if isinstance(event, NodeOutputChunk) else None

    config = llm_config(llm_server, record=str(cassette), stream=True)
    recorded = run_graph(path, {"country": "France"}, config=config, handlers=[collect(chunks[0])])
    llm_server.stop()
    config = replay_config("http://127.0.0.1:9", cassette, stream=True)
    replayed = run_graph(path, {"country": "France"}, config=config, handlers=[collect(chunks[1])])
    assert chunks[0] == chunks[1] == ["Paris ", "is ", "the ", "capital", "Yes ", "it ", "is"]
    assert essentials(replayed) == essentials(recorded)


def test_a_retried_request_replays_its_recorded_failure_first(
    graph_csv: Callable[..., Path], llm_server: LLMServer, tmp_path: Path
) -> None:
    cassette = tmp_path / "run.jsonl"
    llm_server.fail(429, retry_after=5)
    llm_server.reply("Paris.")
    path = two_models(graph_csv)
    container, clock = with_clock(llm_config(llm_server, record=str(cassette)))
    recorded = run_in(container, path, {"country": "France"})
    container, replay_clock = with_clock(replay_config(llm_server.url, cassette))
    replayed = run_in(container, path, {"country": "France"})
    assert attempts(replayed) == attempts(recorded) == [(False, 1), (True, 2)]
    assert replay_clock.sleeps == clock.sleeps == [5.0]
    assert len(llm_server.requests) == 3


def test_a_cassette_line_that_is_not_an_exchange_fails_clearly(
    graph_csv: Callable[..., Path], tmp_path: Path
) -> None:
    cassette = tmp_path / "broken.jsonl"
    cassette.write_text('{"request": {"method": "POST"}}\n', encoding="utf-8")
    result = run_graph(
        two_models(graph_csv),
        {"country": "France"},
        config=replay_config("http://127.0.0.1:9", cassette),
    )
    assert result.final_state["handled"] == (
        f"cassette {cassette} line 1 is not a recorded exchange (no request method/path/body or "
        "response status) — record the cassette again with --record"
    )


def test_run_record_and_replay_options(
    graph_csv: Callable[..., Path], llm_server: LLMServer, project: Path
) -> None:
    (project / "agentmap_config.yaml").write_text(
        yaml.safe_dump(llm_config(llm_server)), encoding="utf-8"
    )
    path = two_models(graph_csv)
    state = ["--state", '{"country": "France"}', "--json"]
    recorded = CliRunner().invoke(app, ["run", str(path), "--record", "run.jsonl", *state])
    assert recorded.exit_code == 0, recorded.output
    llm_server.stop()
    replayed = CliRunner().invoke(app, ["run", str(path), "--replay", "run.jsonl", *state])
    assert replayed.exit_code == 0, replayed.output
    first, second = json.loads(recorded.stdout), json.loads(replayed.stdout)
    assert second["final_state"] == first["final_state"]
    assert second["summary"]["usage"] == first["summary"]["usage"]


# --- the example: graphs/chat.csv and its committed cassette --------------------------------


def chat_against(server: LLMServer, folder: Path) -> Path:
    """graphs/chat.csv with its model calls sent to ``server`` instead of a local Ollama."""
    text = CHAT.read_text(encoding="utf-8")
    assert LOCAL_URL in text
    path = folder / "chat.csv"
    path.write_text(text.replace(LOCAL_URL, server.openai_base_url), encoding="utf-8")
    return path


def test_chat_example_routes_answers_and_labels_against_the_server(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.reply(CHAT_REPLY)
    config = llm_config(llm_server)
    result = run_graph(chat_against(llm_server, tmp_path), CHAT_STATE, config=config)
    assert result.summary.execution_path == ("Route", "Billing", "Wrap")
    assert result.final_state["reply"] == f"[Billing] {CHAT_REPLY}"
    assert llm_server.last_request.body == {
        "model": "llama3.2",
        "messages": [
            {"role": "system", "content": "You are the billing desk. Answer in one sentence."},
            {"role": "user", "content": f"The customer says: {CHAT_STATE['message']}"},
        ],
    }


def test_chat_example_desks_share_the_conversation_across_runs(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.reply(CHAT_REPLY)
    llm_server.reply("Use the 'Forgot password' link on the login page.")
    path, config = chat_against(llm_server, tmp_path), llm_config(llm_server)
    first = run_graph(path, CHAT_STATE, config=config)
    turn = {**first.final_state, "message": "Also, my password is refused when I log in"}
    second = run_graph(path, turn, config=config)
    assert second.summary.execution_path == ("Route", "Support", "Wrap")
    assert llm_server.last_request.body["messages"][1:] == [
        {"role": "user", "content": f"The customer says: {CHAT_STATE['message']}"},
        {"role": "assistant", "content": CHAT_REPLY},
        {
            "role": "user",
            "content": "The customer says: Also, my password is refused when I log in",
        },
    ]
    assert len(second.final_state["chat_memory"]["messages"]) == 4


def test_committed_chat_cassette_is_what_the_example_records_against_the_server(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    cassette = tmp_path / "chat.cassette.jsonl"
    llm_server.reply(CHAT_REPLY)
    config = llm_config(llm_server, record=str(cassette))
    run_graph(chat_against(llm_server, tmp_path), CHAT_STATE, config=config)
    recorded = cassette.read_text(encoding="utf-8")
    assert recorded == CHAT_CASSETTE.read_text(encoding="utf-8"), (
        f"graphs/chat.csv changed? Then commit the new recording: cp {cassette} {CHAT_CASSETTE}"
    )


def test_documented_chat_replay_command_runs_offline() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTMAP_")}
    env = {**env, "NO_COLOR": "1", "COLUMNS": "200"}
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        env.pop(name, None)
    state = json.dumps(CHAT_STATE)
    done = subprocess.run(
        [
            AGENTMAP,
            "run",
            "graphs/chat.csv",
            "--replay",
            "graphs/chat.cassette.jsonl",
            "--state",
            state,
        ],
        cwd=REPO,
        env=in_repo_env(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("✔ Chat succeeded")
    assert f"[Billing] {CHAT_REPLY}" in done.stdout
