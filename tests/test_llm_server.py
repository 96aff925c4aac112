"""The fake LLM server, proven with the real OpenAI and Anthropic SDKs (nothing mocked).

If these pass, an agent test that points an SDK at the server meets the same parsing, streaming,
error classes, retries and timeouts as against the real APIs.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import anthropic
import openai
import pytest
from anthropic.types import Message, TextBlock
from openai.types.chat import ChatCompletion

from llm_server import LLMServer

OPENAI_KEY = "sk-test-openai-secret"
ANTHROPIC_KEY = "sk-ant-test-secret"
PROVIDERS = ["openai", "anthropic"]


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as running:
        yield running
    assert running.errors == []


@pytest.fixture
def openai_client(server: LLMServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        api_key=OPENAI_KEY, base_url=server.openai_base_url, max_retries=0, timeout=5
    ) as client:
        yield client


@pytest.fixture
def anthropic_client(server: LLMServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        api_key=ANTHROPIC_KEY, base_url=server.anthropic_base_url, max_retries=0, timeout=5
    ) as client:
        yield client


def ask(
    provider: str,
    server: LLMServer,
    *,
    timeout: float = 5,
    max_retries: int = 0,
    base_url: str | None = None,
) -> object:
    """One non-streaming call through a fresh client of ``provider``; the SDK's raw result."""
    if provider == "openai":
        url = base_url or server.openai_base_url
        with openai.OpenAI(
            api_key=OPENAI_KEY, base_url=url, timeout=timeout, max_retries=max_retries
        ) as oai:
            return oai.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
    url = base_url or server.anthropic_base_url
    with anthropic.Anthropic(
        api_key=ANTHROPIC_KEY, base_url=url, timeout=timeout, max_retries=max_retries
    ) as ant:
        return ant.messages.create(
            model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )


def text_of(result: object) -> str:
    """The reply text of a ChatCompletion or a Message."""
    if isinstance(result, ChatCompletion):
        return result.choices[0].message.content or ""
    assert isinstance(result, Message)
    block = result.content[0]
    assert isinstance(block, TextBlock)
    return block.text


# -- OpenAI -----------------------------------------------------------------------------------


def test_openai_reply_is_parsed_with_content_and_usage(
    server: LLMServer, openai_client: openai.OpenAI
) -> None:
    server.reply("Paris.")
    completion = openai_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
    )
    assert completion.id == "chatcmpl-1"
    assert completion.model == "gpt-4o-mini"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "Paris."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (8, 1)
    assert completion.usage.total_tokens == 9


def test_openai_default_reply_echoes_the_last_user_message(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "second question"},
        ],
    )
    assert completion.choices[0].message.content == "echo: second question"


def test_openai_scripted_token_counts_replace_word_counts(
    server: LLMServer, openai_client: openai.OpenAI
) -> None:
    server.reply("four words right here", prompt_tokens=120, completion_tokens=7)
    completion = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.usage is not None
    assert completion.usage.model_dump(include={"prompt_tokens", "completion_tokens"}) == {
        "prompt_tokens": 120,
        "completion_tokens": 7,
    }


def test_openai_reply_json_is_text_that_parses(
    server: LLMServer, openai_client: openai.OpenAI
) -> None:
    server.reply_json({"route": "Billing", "score": 0.9})
    completion = openai_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "classify"}],
        response_format={"type": "json_object"},
    )
    assert json.loads(completion.choices[0].message.content or "") == {
        "route": "Billing",
        "score": 0.9,
    }


def test_openai_stream_yields_text_deltas_then_usage(
    server: LLMServer, openai_client: openai.OpenAI
) -> None:
    server.reply("Hello big world")
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "greet me"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    deltas = [c.choices[0].delta.content for c in chunks if c.choices]
    assert [d for d in deltas if d] == ["Hello ", "big ", "world"]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (2, 3)


def test_openai_records_what_the_sdk_sent(server: LLMServer, openai_client: openai.OpenAI) -> None:
    openai_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        temperature=0.2,
        max_tokens=50,
    )
    request = server.last_request
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
        ],
        "temperature": 0.2,
        "max_tokens": 50,
    }
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert request.api_key == OPENAI_KEY


# -- Anthropic --------------------------------------------------------------------------------


def test_anthropic_reply_is_parsed_with_content_and_usage(
    server: LLMServer, anthropic_client: anthropic.Anthropic
) -> None:
    server.reply("Paris.")
    message = anthropic_client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=64,
        system="Be brief.",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
    )
    assert (message.id, message.type, message.role) == ("msg_1", "message", "assistant")
    assert message.model == "claude-haiku-4-5"
    assert text_of(message) == "Paris."
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    assert (message.usage.input_tokens, message.usage.output_tokens) == (8, 1)


def test_anthropic_stream_yields_text_deltas_and_the_final_message(
    server: LLMServer, anthropic_client: anthropic.Anthropic
) -> None:
    server.reply("Hello big world")
    with anthropic_client.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=64,
        messages=[{"role": "user", "content": "greet me"}],
    ) as stream:
        deltas = list(stream.text_stream)
        final = stream.get_final_message()
    assert deltas == ["Hello ", "big ", "world"]
    assert text_of(final) == "Hello big world"
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (2, 3)


def test_anthropic_raw_stream_has_the_real_event_sequence(
    server: LLMServer, anthropic_client: anthropic.Anthropic
) -> None:
    server.reply("one two")
    events = anthropic_client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=64,
        messages=[{"role": "user", "content": "count"}],
        stream=True,
    )
    assert [event.type for event in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]  # the server also sends a "ping", which the SDK skips as it must


def test_anthropic_records_what_the_sdk_sent(
    server: LLMServer, anthropic_client: anthropic.Anthropic
) -> None:
    anthropic_client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=50,
        system="Be brief.",
        messages=[{"role": "user", "content": "hi"}],
        extra_body={"temperature": 0.2},  # anthropic 2.x's create() has no temperature argument
    )
    request = server.last_request
    assert (request.method, request.path) == ("POST", "/v1/messages")
    assert request.body == {
        "model": "claude-haiku-4-5",
        "max_tokens": 50,
        "system": "Be brief.",
        "temperature": 0.2,
        "messages": [{"role": "user", "content": "hi"}],
    }
    assert "anthropic-version" in request.headers
    assert request.api_key == ANTHROPIC_KEY  # anthropic 2.x sends it as Authorization: Bearer


def test_anthropic_system_role_in_messages_is_rejected_as_the_api_does(
    server: LLMServer, anthropic_client: anthropic.Anthropic
) -> None:
    server.reply("never sent")
    with pytest.raises(anthropic.BadRequestError, match="Unexpected role"):
        anthropic_client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=64,
            messages=[{"role": "system", "content": "Be brief."}],
        )
    assert server.pending == 1  # a rejected request does not use up a script


# -- Both: faults -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "status", "error"),
    [
        ("openai", 401, openai.AuthenticationError),
        ("openai", 429, openai.RateLimitError),
        ("openai", 500, openai.InternalServerError),
        ("openai", 503, openai.InternalServerError),
        ("anthropic", 401, anthropic.AuthenticationError),
        ("anthropic", 429, anthropic.RateLimitError),
        ("anthropic", 500, anthropic.InternalServerError),
        ("anthropic", 529, anthropic.OverloadedError),
    ],
)
def test_scripted_status_raises_the_sdk_error_class(
    server: LLMServer, provider: str, status: int, error: type[Exception]
) -> None:
    server.fail(status, message="scripted failure")
    with pytest.raises(error, match="scripted failure") as raised:
        ask(provider, server)
    assert getattr(raised.value, "status_code", None) == status


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rate_limit_carries_retry_after_on_the_errors_response(
    server: LLMServer, provider: str
) -> None:
    server.fail(429, retry_after=1)
    with pytest.raises((openai.RateLimitError, anthropic.RateLimitError)) as raised:
        ask(provider, server)
    error = raised.value
    assert isinstance(error, openai.RateLimitError | anthropic.RateLimitError)
    assert error.response.headers["retry-after"] == "1"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_sdk_retry_takes_the_next_script(server: LLMServer, provider: str) -> None:
    server.fail(503, retry_after=0.01)
    server.reply("recovered")
    assert text_of(ask(provider, server, max_retries=1)) == "recovered"
    attempts = [r.headers["x-stainless-retry-count"] for r in server.requests]
    assert attempts == ["0", "1"]


@pytest.mark.parametrize(
    ("provider", "error"),
    [("openai", openai.APITimeoutError), ("anthropic", anthropic.APITimeoutError)],
)
def test_slow_reply_past_the_client_timeout_raises_the_timeout_error(
    server: LLMServer, provider: str, error: type[Exception]
) -> None:
    server.slow(5, then="too late")
    started = time.monotonic()
    with pytest.raises(error):
        ask(provider, server, timeout=0.2)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_slow_reply_within_the_timeout_arrives(server: LLMServer, provider: str) -> None:
    server.slow(0.05, then="worth the wait")
    assert text_of(ask(provider, server)) == "worth the wait"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_malformed_body_raises_json_decode_error_not_an_sdk_error(
    server: LLMServer, provider: str
) -> None:
    """Both SDKs let the decoder's error through: agents must translate ValueError too."""
    server.malformed()
    with pytest.raises(json.JSONDecodeError):
        ask(provider, server)


def test_malformed_stream_event_raises_json_decode_error(
    server: LLMServer, openai_client: openai.OpenAI, anthropic_client: anthropic.Anthropic
) -> None:
    server.malformed()
    server.malformed()
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    with pytest.raises(json.JSONDecodeError):
        list(stream)
    with (
        pytest.raises(json.JSONDecodeError),
        anthropic_client.messages.stream(
            model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        ) as events,
    ):
        list(events.text_stream)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_non_json_content_type_comes_back_as_a_plain_string(
    server: LLMServer, provider: str
) -> None:
    """A proxy's HTML page is no error for the SDKs: the agent must check the result's type."""
    server.malformed("<html>Bad gateway</html>", content_type="text/html")
    assert ask(provider, server) == "<html>Bad gateway</html>"


@pytest.mark.parametrize(
    ("provider", "base_url", "error"),
    [
        ("openai", "", openai.NotFoundError),  # forgot the /v1
        ("anthropic", "/v1", anthropic.NotFoundError),  # the SDK adds /v1 itself
    ],
)
def test_wrong_base_url_is_a_not_found_error(
    server: LLMServer, provider: str, base_url: str, error: type[Exception]
) -> None:
    with pytest.raises(error, match="Invalid URL"):
        ask(provider, server, base_url=server.url + base_url)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_truncated_reply_reports_the_length_limit(server: LLMServer, provider: str) -> None:
    server.reply("cut short", truncated=True)
    result = ask(provider, server)
    if isinstance(result, ChatCompletion):
        assert result.choices[0].finish_reason == "length"
    else:
        assert isinstance(result, Message)
        assert result.stop_reason == "max_tokens"


def test_request_without_api_key_is_unauthorized(server: LLMServer) -> None:
    """The SDKs refuse to send without a key, so this check is proven with plain urllib."""
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = urllib.request.Request(server.openai_base_url + "/chat/completions", data=body)
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)
    assert raised.value.code == 401
    assert json.load(raised.value)["error"]["type"] == "invalid_request_error"


# -- Both: async clients, concurrency, lifecycle ----------------------------------------------


def test_async_clients_stream_through_the_same_server(server: LLMServer) -> None:
    async def collect() -> tuple[list[str], list[str]]:
        async with openai.AsyncOpenAI(
            api_key=OPENAI_KEY, base_url=server.openai_base_url, max_retries=0, timeout=5
        ) as oai:
            stream = await oai.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "a b"}], stream=True
            )
            openai_deltas = [c.choices[0].delta.content or "" async for c in stream]
        async with (
            anthropic.AsyncAnthropic(
                api_key=ANTHROPIC_KEY, base_url=server.anthropic_base_url, max_retries=0, timeout=5
            ) as ant,
            ant.messages.stream(
                model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "c"}]
            ) as events,
        ):
            anthropic_deltas = [text async for text in events.text_stream]
        return openai_deltas, anthropic_deltas

    openai_deltas, anthropic_deltas = asyncio.run(collect())
    assert "".join(openai_deltas) == "echo: a b"
    assert anthropic_deltas == ["echo: ", "c"]


def test_concurrent_requests_each_take_exactly_one_script(server: LLMServer) -> None:
    replies = [f"reply {i}" for i in range(8)]
    for text in replies:
        server.reply(text)
    providers = PROVIDERS * 4
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda p: text_of(ask(p, server)), providers))
    assert sorted(results) == replies
    assert len(server.requests) == 8
    assert server.pending == 0


def test_stop_cuts_a_slow_reply_short() -> None:
    server = LLMServer().start()
    server.slow(30)
    with pytest.raises(openai.APITimeoutError):
        ask("openai", server, timeout=0.2)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1
    assert server.errors == []


def test_url_needs_a_running_server() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        _ = LLMServer().url
