"""Conversation memory: plain JSON in the state, buffer and window, shared by nodes, and carried
from one run to the next (against the real HTTP server in tests/llm_server.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentmap import run_graph
from llm_server import LLMServer
from test_llm_agents import llm_config, row


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def chat_node(
    node: str, agent_type: str = "gpt", *, memory: Any, success: str = "", prompt: str = ""
) -> str:
    return row(
        node,
        agent_type,
        success=success,
        failure="Handle",
        inputs="question",
        output=f"{node.lower()}_answer",
        prompt=prompt or f"{node}: {{question}}",
        context={"memory": memory},
    )


HANDLE = row("Handle", "echo", inputs="error", output="handled")


@pytest.fixture(autouse=True)
def _clean(project: Path) -> None:
    """Every test in its own empty project folder, with no AGENTMAP_* settings."""


def test_buffer_memory_is_plain_json_in_the_state(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply("Paris.")
    path = graph_csv(chat_node("Ask", memory={"key": "chat_memory", "type": "buffer"}), HANDLE)
    result = run_graph(path, {"question": "Capital of France?"}, config=llm_config(llm_server))
    memory = {
        "type": "buffer",
        "max_messages": None,
        "messages": [user("Ask: Capital of France?"), assistant("Paris.")],
    }
    assert result.final_state["chat_memory"] == memory
    assert json.loads(json.dumps(result.final_state["chat_memory"])) == memory


def test_memory_named_by_its_key_alone_is_a_buffer(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    path = graph_csv(chat_node("Ask", memory="notes"), HANDLE)
    result = run_graph(path, {"question": "hi"}, config=llm_config(llm_server))
    assert result.final_state["notes"] == {
        "type": "buffer",
        "max_messages": None,
        "messages": [user("Ask: hi"), assistant("echo: Ask: hi")],
    }


def test_two_nodes_share_one_memory_key(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply("Paris.")
    llm_server.reply("About 2.1 million.")
    memory = {"key": "chat_memory"}
    path = graph_csv(
        chat_node("Ask", "gpt", memory=memory, success="More"),
        chat_node("More", "claude", memory=memory, prompt="And how many people live there?"),
        HANDLE,
    )
    result = run_graph(path, {"question": "Capital of France?"}, config=llm_config(llm_server))
    conversation = [
        user("Ask: Capital of France?"),
        assistant("Paris."),
        user("And how many people live there?"),
    ]
    assert llm_server.requests[1].path == "/v1/messages"
    assert llm_server.requests[1].body["messages"] == conversation
    assert result.final_state["chat_memory"]["messages"] == [
        *conversation,
        assistant("About 2.1 million."),
    ]


def test_window_memory_keeps_the_last_max_messages(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    for reply in ("one", "two", "three"):
        llm_server.reply(reply)
    memory = {"key": "chat_memory", "type": "window", "max_messages": 4}
    path = graph_csv(
        chat_node("A", memory=memory, success="B"),
        chat_node("B", memory=memory, success="C"),
        chat_node("C", memory=memory),
        HANDLE,
    )
    result = run_graph(path, {"question": "q"}, config=llm_config(llm_server))
    assert llm_server.last_request.body["messages"] == [
        user("A: q"),
        assistant("one"),
        user("B: q"),
        assistant("two"),
        user("C: q"),
    ]
    assert result.final_state["chat_memory"] == {
        "type": "window",
        "max_messages": 4,
        "messages": [user("B: q"), assistant("two"), user("C: q"), assistant("three")],
    }


def test_window_memory_starts_at_a_user_message(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    memory = {"key": "chat_memory", "type": "window", "max_messages": 3}
    path = graph_csv(
        chat_node("A", memory=memory, success="B"), chat_node("B", memory=memory), HANDLE
    )
    result = run_graph(path, {"question": "q"}, config=llm_config(llm_server))
    assert result.final_state["chat_memory"]["messages"] == [
        user("B: q"),
        assistant("echo: B: q"),
    ]


def test_window_memory_has_twenty_messages_by_default(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    path = graph_csv(chat_node("A", memory={"type": "window"}), HANDLE)
    result = run_graph(path, {"question": "q"}, config=llm_config(llm_server))
    assert result.final_state["chat_memory"]["max_messages"] == 20


def test_memory_survives_a_second_run_fed_the_first_runs_final_state(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.reply("Paris.")
    llm_server.reply("Madrid.")
    path = graph_csv(chat_node("Ask", memory={"key": "chat_memory"}), HANDLE)
    config = llm_config(llm_server)
    first = run_graph(path, {"question": "Capital of France?"}, config=config)
    carried = json.loads(json.dumps(first.final_state))  # as a checkpoint or a new process has it
    second = run_graph(path, {**carried, "question": "And of Spain?"}, config=config)
    assert llm_server.last_request.body["messages"] == [
        user("Ask: Capital of France?"),
        assistant("Paris."),
        user("Ask: And of Spain?"),
    ]
    assert second.final_state["chat_memory"]["messages"] == [
        user("Ask: Capital of France?"),
        assistant("Paris."),
        user("Ask: And of Spain?"),
        assistant("Madrid."),
    ]


def test_the_system_prompt_is_sent_but_not_remembered(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    node = row(
        "Ask",
        "gpt",
        inputs="question",
        output="answer",
        prompt="{question}",
        context={"memory": {"key": "m"}, "system": "Be brief."},
    )
    result = run_graph(graph_csv(node), {"question": "hi"}, config=llm_config(llm_server))
    assert llm_server.last_request.body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert result.final_state["m"]["messages"] == [user("hi"), assistant("echo: hi")]


def test_a_failed_call_leaves_the_memory_as_it_was(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    llm_server.fail(401)
    before = {"type": "buffer", "max_messages": None, "messages": [user("x"), assistant("y")]}
    path = graph_csv(chat_node("Ask", memory={"key": "chat_memory"}), HANDLE)
    state = {"question": "q", "chat_memory": before}
    result = run_graph(path, state, config=llm_config(llm_server))
    assert result.summary.execution_path == ("Ask", "Handle")
    assert result.final_state["chat_memory"] == before


def test_a_state_key_that_is_not_a_memory_is_a_node_failure(
    graph_csv: Callable[..., Path], llm_server: LLMServer
) -> None:
    path = graph_csv(chat_node("Ask", memory={"key": "chat_memory"}), HANDLE)
    state = {"question": "q", "chat_memory": "we talked yesterday"}
    result = run_graph(path, state, config=llm_config(llm_server))
    assert result.final_state["handled"] == (
        "state key 'chat_memory' does not hold a conversation memory (expected "
        '{"type": ..., "messages": [{"role": "user", "content": ...}, ...]}) — give this memory '
        "a key of its own, or clear it"
    )
    assert llm_server.requests == []


@pytest.mark.parametrize(
    ("memory", "message"),
    [
        ({"type": "forever"}, "Context memory: type must be 'buffer' or 'window', not 'forever'"),
        (
            {"type": "window", "max_messages": 1},
            "Context memory: max_messages must be a whole number of at least 2, not 1",
        ),
        (
            {"type": "buffer", "max_messages": 10},
            "Context memory: max_messages applies to type 'window' only (a buffer keeps "
            "everything)",
        ),
        ({"key": "m", "size": 3}, "Context memory: unknown setting(s) 'size'"),
        ({"key": ""}, "Context memory: key must be the name of a state key, not ''"),
        (
            ["chat_memory"],
            "Context memory: write it as {'key': 'chat_memory', 'type': 'buffer'}, not "
            "['chat_memory']",
        ),
    ],
)
def test_bad_memory_settings_are_node_failures(
    graph_csv: Callable[..., Path], llm_server: LLMServer, memory: Any, message: str
) -> None:
    path = graph_csv(chat_node("Ask", memory=memory), HANDLE)
    result = run_graph(path, {"question": "q"}, config=llm_config(llm_server))
    assert result.final_state["handled"] == message
    assert llm_server.requests == []
