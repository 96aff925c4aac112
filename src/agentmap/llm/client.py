"""Ask a chat model — over the OpenAI, Anthropic or Google Gen AI SDK — and turn their errors
into ours.

The SDKs are imported on the first call, never at import time, so a run without model calls
never pays for them. They are built to try once (``max_retries=0``; one attempt for Google's):
retries are agentmap's policy (``TransientLLMError`` and the node's retry settings), not a
hidden loop inside the SDK.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

from agentmap.agents.base import Usage
from agentmap.config import LLMSettings
from agentmap.llm.errors import INSTALL_HINT, LLMError, TransientLLMError
from agentmap.llm.providers import Provider
from agentmap.secrets import redact, remember

if TYPE_CHECKING:
    import httpx2

logger = logging.getLogger(__name__)

REPLAY_KEY = "replayed-no-key"
"""The key a replayed call is made with when none is configured: replay sends nothing."""

ChunkSink = Callable[[str], None]
Message = Mapping[str, str]

SDK_MODULES = {"openai": "openai", "anthropic": "anthropic", "google": "google.genai"}
"""The module each protocol's SDK is imported from."""
SDK_PACKAGES = {"openai": "openai", "anthropic": "anthropic", "google": "google-genai"}
"""The package that installs it."""


@dataclass(frozen=True, slots=True)
class Chat:
    """What to ask: the conversation (``{"role", "content"}`` messages, oldest first), a system
    prompt, and whether the reply must be JSON."""

    messages: tuple[Message, ...]
    system: str | None = None
    json_mode: bool = False


@dataclass(frozen=True, slots=True)
class Completion:
    """The model's reply text and what it cost."""

    text: str
    usage: Usage


class _Reply(NamedTuple):
    text: str
    prompt_tokens: int
    completion_tokens: int


class MalformedReply(ValueError):
    """The provider answered 200, but not with the reply its protocol promises (``translate``
    turns it into an ``LLMError`` naming the provider)."""


async def complete(
    provider: Provider, chat: Chat, llm: LLMSettings, on_chunk: ChunkSink | None = None
) -> Completion:
    """Ask ``provider``'s model; with ``on_chunk``, stream and hand it each piece of text.

    Raises ``LLMError`` (don't retry) or ``TransientLLMError`` (may retry).
    """
    sdk = _import_sdk(provider)
    key = _api_key(provider, llm)
    logger.debug(
        "asking %s at %s: %d message(s), stream=%s",
        provider.label,
        provider.base_url or "its default endpoint",
        len(chat.messages),
        on_chunk is not None,
    )
    ask = {"openai": _ask_openai, "anthropic": _ask_anthropic, "google": _ask_google}[
        provider.protocol
    ]
    try:
        reply = await ask(sdk, provider, key, chat, llm, on_chunk)
    except LLMError:
        raise
    except Exception as exc:
        error = translate(exc, sdk, provider, key)
        if error is None:
            raise
        raise error from exc
    cost = provider.cost(reply.prompt_tokens, reply.completion_tokens)
    usage = Usage(reply.prompt_tokens, reply.completion_tokens, cost, provider.model)
    return Completion(reply.text, usage)


def _import_sdk(provider: Provider) -> ModuleType:
    import importlib

    try:
        return importlib.import_module(SDK_MODULES[provider.protocol])
    except ImportError as exc:
        raise LLMError(
            f"provider {provider.label} needs the {SDK_PACKAGES[provider.protocol]} package, "
            f"which is not installed — install it with {INSTALL_HINT}"
        ) from exc


def _api_key(provider: Provider, llm: LLMSettings) -> str:
    key = provider.key()
    if key is not None:
        remember(key)  # read from a variable only now, perhaps: from here on it is redacted
        return key.get_secret_value()
    if llm.replay is not None:
        return REPLAY_KEY
    raise provider.missing_key()


def _http_client(llm: LLMSettings) -> httpx2.AsyncClient | None:
    """A client whose transport records to or replays from the cassette, if one is set."""
    if llm.replay is None and llm.record is None:
        return None
    import httpx2

    from agentmap.llm.cassette import RecordingTransport, ReplayTransport

    transport: httpx2.AsyncBaseTransport
    if llm.replay is not None:
        transport = ReplayTransport(llm.replay)
    else:
        assert llm.record is not None
        transport = RecordingTransport(llm.record)
    return httpx2.AsyncClient(transport=transport)


# --- OpenAI Chat Completions -------------------------------------------------------------------


async def _ask_openai(
    sdk: ModuleType,
    provider: Provider,
    key: str,
    chat: Chat,
    llm: LLMSettings,
    on_chunk: ChunkSink | None,
) -> _Reply:
    client = sdk.AsyncOpenAI(
        api_key=key,
        base_url=provider.base_url,
        timeout=provider.timeout,
        max_retries=0,
        http_client=_http_client(llm),
    )
    async with client:
        options = _openai_options(provider, chat)
        if on_chunk is None:
            return _openai_reply(await client.chat.completions.create(**options))
        stream = await client.chat.completions.create(
            **options, stream=True, stream_options={"include_usage": True}
        )
        return await _openai_stream(stream, on_chunk)


def _openai_options(provider: Provider, chat: Chat) -> dict[str, Any]:
    system = [{"role": "system", "content": chat.system}] if chat.system else []
    options: dict[str, Any] = {
        "model": provider.model,
        "messages": [*system, *(dict(m) for m in chat.messages)],
    }
    if provider.temperature is not None:
        options["temperature"] = provider.temperature
    if provider.max_tokens is not None:
        options["max_tokens"] = provider.max_tokens
    if chat.json_mode:
        options["response_format"] = {"type": "json_object"}
    return options


def _openai_reply(reply: object) -> _Reply:
    from openai.types.chat import ChatCompletion

    if not isinstance(reply, ChatCompletion) or not reply.choices:
        raise MalformedReply(f"expected a chat completion, got {_sample(reply)}")
    usage = reply.usage
    return _Reply(
        reply.choices[0].message.content or "",
        usage.prompt_tokens if usage else 0,
        usage.completion_tokens if usage else 0,
    )


async def _openai_stream(stream: Any, on_chunk: ChunkSink) -> _Reply:
    parts: list[str] = []
    prompt_tokens = completion_tokens = 0
    async for chunk in stream:
        if getattr(chunk, "usage", None) is not None:
            prompt_tokens = chunk.usage.prompt_tokens
            completion_tokens = chunk.usage.completion_tokens
        for choice in getattr(chunk, "choices", None) or ():
            piece = choice.delta.content
            if piece:
                parts.append(piece)
                on_chunk(piece)
    return _Reply("".join(parts), prompt_tokens, completion_tokens)


# --- Anthropic Messages ----------------------------------------------------------------------


async def _ask_anthropic(
    sdk: ModuleType,
    provider: Provider,
    key: str,
    chat: Chat,
    llm: LLMSettings,
    on_chunk: ChunkSink | None,
) -> _Reply:
    options = _anthropic_options(provider, chat)
    client = sdk.AsyncAnthropic(
        api_key=key,
        base_url=provider.base_url,
        timeout=provider.timeout,
        max_retries=0,
        http_client=_http_client(llm),
    )
    async with client:
        if on_chunk is None:
            return _anthropic_reply(await client.messages.create(**options))
        stream = await client.messages.create(**options, stream=True)
        return await _anthropic_stream(stream, on_chunk)


def _anthropic_options(provider: Provider, chat: Chat) -> dict[str, Any]:
    if provider.max_tokens is None:
        raise LLMError(
            f"provider {provider.label} needs max_tokens (the Anthropic API requires it) — set "
            f"{provider.key_setting.removesuffix('.api_key')}.max_tokens or Context max_tokens"
        )
    options: dict[str, Any] = {
        "model": provider.model,
        "max_tokens": provider.max_tokens,
        "messages": [dict(m) for m in chat.messages],
    }
    if chat.system:
        options["system"] = chat.system
    if provider.temperature is not None:  # this SDK has no parameter for it; the API reads it
        options["extra_body"] = {"temperature": provider.temperature}
    return options


def _anthropic_reply(reply: object) -> _Reply:
    from anthropic.types import Message as AnthropicMessage
    from anthropic.types import TextBlock

    if not isinstance(reply, AnthropicMessage):
        raise MalformedReply(f"expected a message, got {_sample(reply)}")
    text = "".join(block.text for block in reply.content if isinstance(block, TextBlock))
    return _Reply(text, reply.usage.input_tokens, reply.usage.output_tokens)


async def _anthropic_stream(stream: Any, on_chunk: ChunkSink) -> _Reply:
    parts: list[str] = []
    prompt_tokens = completion_tokens = 0
    async for event in stream:
        kind = getattr(event, "type", None)
        if kind == "message_start":
            prompt_tokens = event.message.usage.input_tokens
            completion_tokens = event.message.usage.output_tokens
        elif kind == "content_block_delta" and event.delta.type == "text_delta":
            parts.append(event.delta.text)
            on_chunk(event.delta.text)
        elif kind == "message_delta":
            completion_tokens = event.usage.output_tokens
    return _Reply("".join(parts), prompt_tokens, completion_tokens)


# --- Google Gen AI (Gemini's generateContent) ------------------------------------------------


async def _ask_google(
    sdk: ModuleType,
    provider: Provider,
    key: str,
    chat: Chat,
    llm: LLMSettings,
    on_chunk: ChunkSink | None,
) -> _Reply:
    from google.genai import types

    options = types.HttpOptions(
        base_url=provider.base_url,
        timeout=round(provider.timeout * 1000),  # milliseconds, to this SDK
        retry_options=types.HttpRetryOptions(attempts=1),
        httpx_async_client=_http_client(llm),
    )
    client = sdk.Client(api_key=key, http_options=options).aio
    request = {
        "model": provider.model,
        "contents": [_google_content(types, message) for message in chat.messages],
        "config": _google_config(types, provider, chat),
    }
    try:
        if on_chunk is None:
            return _google_reply(await client.models.generate_content(**request), provider)
        stream = await client.models.generate_content_stream(**request)
        return await _google_stream(stream, on_chunk)
    finally:
        await client.aclose()


def _google_content(types: ModuleType, message: Message) -> Any:
    """One message as Gemini's ``Content``: its roles are ``user`` and ``model``."""
    role = "model" if message["role"] == "assistant" else "user"
    return types.Content(role=role, parts=[types.Part(text=message["content"])])


def _google_config(types: ModuleType, provider: Provider, chat: Chat) -> Any:
    """The request's settings; None when it has none (so none are sent)."""
    settings = {
        "system_instruction": chat.system,
        "temperature": provider.temperature,
        "max_output_tokens": provider.max_tokens,
        "response_mime_type": "application/json" if chat.json_mode else None,
    }
    given = {name: value for name, value in settings.items() if value is not None}
    return types.GenerateContentConfig(**given) if given else None


def _google_reply(reply: object, provider: Provider) -> _Reply:
    from google.genai import types

    if not isinstance(reply, types.GenerateContentResponse):
        raise MalformedReply(f"expected a generateContent response, got {_sample(reply)}")
    if not reply.candidates:
        feedback = reply.prompt_feedback
        reason = feedback.block_reason if feedback is not None else None
        why = getattr(reason, "value", reason) or "no reason given"
        raise LLMError(f"{provider.label}: no answer, the prompt was blocked ({why})")
    prompt_tokens, completion_tokens = _google_usage(reply)
    return _Reply(_google_text(reply), prompt_tokens, completion_tokens)


async def _google_stream(stream: Any, on_chunk: ChunkSink) -> _Reply:
    parts: list[str] = []
    prompt_tokens = completion_tokens = 0
    async for chunk in stream:
        piece = _google_text(chunk)
        if piece:
            parts.append(piece)
            on_chunk(piece)
        if chunk.usage_metadata is not None:  # running totals: the last chunk has them all
            prompt_tokens, completion_tokens = _google_usage(chunk)
    return _Reply("".join(parts), prompt_tokens, completion_tokens)


def _google_text(reply: Any) -> str:
    """The answer's text: the first candidate's text parts, without the model's thoughts."""
    content = reply.candidates[0].content if reply.candidates else None
    parts = (content.parts if content is not None else None) or ()
    return "".join(part.text for part in parts if part.text and not part.thought)


def _google_usage(reply: Any) -> tuple[int, int]:
    """Prompt and completion tokens; thinking tokens are billed as output, so they count."""
    usage = reply.usage_metadata
    if usage is None:
        return 0, 0
    answer = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
    return usage.prompt_token_count or 0, answer


# --- errors ----------------------------------------------------------------------------------


def translate(exc: BaseException, sdk: ModuleType, provider: Provider, key: str) -> LLMError | None:
    """Our error for what the SDK (or the HTTP layer under it) raised; None if it's not theirs.

    Checked most specific first: a timeout is also a connection error to the SDKs. The
    server's words are redacted (``agentmap.secrets``): a server may quote ``key`` back.
    """
    if key != REPLAY_KEY:
        remember(key)
    ours = _ours(exc)
    if ours is not None:  # a cassette miss, raised inside the transport and wrapped by the SDK
        return ours
    if provider.protocol == "google":
        return _google_error(exc, sdk, provider)
    if isinstance(exc, sdk.APITimeoutError) or _http_error(exc, "TimeoutException"):
        return _timed_out(provider)
    if isinstance(exc, sdk.APIConnectionError) or _http_error(exc, "TransportError"):
        return _unreachable(exc, provider)
    if isinstance(exc, sdk.APIStatusError):
        return _status_error(provider, int(exc.status_code), _server_message(exc), exc.response)
    if isinstance(exc, sdk.APIResponseValidationError | ValueError):  # JSON, pydantic, ours
        return _malformed(exc, provider)
    return None


def _google_error(exc: BaseException, sdk: ModuleType, provider: Provider) -> LLMError | None:
    """``translate`` for Google's SDK: it raises ``errors.APIError`` for an HTTP error status
    and lets the HTTP library's own errors through."""
    if _http_error(exc, "TimeoutException"):
        return _timed_out(provider)
    if _http_error(exc, "TransportError"):
        return _unreachable(exc, provider)
    if isinstance(exc, sdk.errors.APIError):
        message = exc.message if isinstance(exc.message, str) else exc.status or str(exc.code)
        return _status_error(provider, int(exc.code), _cut(redact(message)), exc.response)
    if isinstance(exc, ValueError):  # JSON, pydantic
        return _malformed(exc, provider)
    return None


def _timed_out(provider: Provider) -> LLMError:
    return LLMError(
        f"{provider.label}: no reply within {provider.timeout:g}s (timed out) — try again "
        f"later, or raise {provider.key_setting.removesuffix('.api_key')}.timeout"
    )


def _unreachable(exc: BaseException, provider: Provider) -> TransientLLMError:
    endpoint = provider.base_url or "its default endpoint"
    cause = redact(_cause_text(exc))
    return TransientLLMError(f"{provider.label}: can't connect to {endpoint} ({cause})")


def _malformed(exc: BaseException, provider: Provider) -> LLMError:
    detail = redact(str(exc) or type(exc).__name__)
    return LLMError(f"{provider.label}: malformed reply ({detail})")


def _status_error(provider: Provider, status: int, detail: str, response: Any) -> LLMError:
    where = provider.label
    if status == 401:
        source = provider.key_source()
        return LLMError(
            f"{where}: authentication failed (HTTP 401: {detail}) — check the API key ({source})"
        )
    if status == 429:
        headers = getattr(response, "headers", None)
        retry_after = _retry_after(headers) if headers is not None else None
        return TransientLLMError(
            f"{where}: rate limited (HTTP 429: {detail})", retry_after=retry_after
        )
    if status >= 500:
        return TransientLLMError(f"{where}: server error (HTTP {status}: {detail})")
    return LLMError(f"{where}: request refused (HTTP {status}: {detail})")


def _server_message(exc: Any) -> str:
    """The provider's own words: ``error.message`` of its error body, else the SDK's —
    redacted before it is cut short, so no part of a key is left at the cut."""
    body = exc.body
    inner = body.get("error", body) if isinstance(body, Mapping) else None
    message = inner.get("message") if isinstance(inner, Mapping) else None
    return _cut(redact(message if isinstance(message, str) else str(exc.message)))


def _cut(text: str) -> str:
    return text if len(text) <= 300 else text[:297] + "..."


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait: ``Retry-After`` as seconds or an HTTP date."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _http_error(exc: BaseException, name: str) -> bool:
    """Whether ``exc`` is the HTTP library's error ``name`` (raised while a stream is read),
    whichever library — httpx or httpx2 — the installed SDK is built on."""
    return any(
        cls.__name__ == name and cls.__module__.startswith("httpx") for cls in type(exc).__mro__
    )


def _ours(exc: BaseException) -> LLMError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, LLMError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _cause_text(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return str(cause or exc) or type(cause or exc).__name__


def _sample(value: object) -> str:
    text = redact(value) if isinstance(value, str) else type(value).__name__  # before the cut
    return repr(text if len(text) <= 120 else text[:117] + "...")
