"""A real HTTP server on 127.0.0.1 that speaks OpenAI Chat Completions, Anthropic Messages and
Gemini's generateContent.

Why: LLM agents must be tested through the providers' official SDKs, unmodified — retries,
timeouts, streaming and error classes are the SDKs' behaviour, and a mock of the SDK would test
our guess of it instead. So the SDKs talk HTTP to this server, and the test scripts what the
"model" answers and which faults happen.

Usage (a pytest fixture in ``conftest.py``)::

    from collections.abc import Iterator

    import openai
    import pytest
    from llm_server import LLMServer

    @pytest.fixture
    def llm_server() -> Iterator[LLMServer]:
        with LLMServer() as server:
            yield server

    def test_agent(llm_server: LLMServer) -> None:
        llm_server.reply("Paris")
        client = openai.OpenAI(api_key="sk-test", base_url=llm_server.openai_base_url)
        ...  # or anthropic.Anthropic(api_key=..., base_url=llm_server.anthropic_base_url),
        ...  # or genai.Client(api_key=..., http_options={"base_url": llm_server.gemini_base_url})
        assert llm_server.last_request.body["model"] == "gpt-4o-mini"

Endpoints (``POST``; a POST to any other path is a 404 in OpenAI's error shape, so a wrong
``base_url`` fails as it would against the real API):

- ``/v1/chat/completions`` — OpenAI; use ``base_url=server.openai_base_url`` (``url + "/v1"``).
- ``/v1/messages`` — Anthropic; use ``base_url=server.anthropic_base_url`` (``url``: the SDK
  adds ``/v1/messages`` itself).
- ``/v1/models/<model>:generateContent`` and ``:streamGenerateContent`` (``v1beta`` too) —
  Gemini; use ``base_url=server.gemini_base_url`` (``url``: Google's SDK adds the rest). The
  key arrives in ``x-goog-api-key``; a missing one is a 403, as Google answers.

All answer with JSON, or with Server-Sent Events when the body says ``"stream": true`` (Gemini:
when the method is ``streamGenerateContent``). Gemini's usage comes on every streamed chunk, the
completion count on the last one only. Streamed
text is cut into pieces at word starts (``"Hello big world"`` → ``"Hello "``, ``"big "``,
``"world"``); OpenAI adds a usage chunk when ``stream_options.include_usage`` is set.

Scripts — one queue shared by both endpoints, first in first out, one entry per request (so an
SDK retry takes the next entry, which is how a test scripts "429, then success"):

- ``reply(text, prompt_tokens=None, completion_tokens=None, truncated=False)``
- ``reply_json(value, ...)`` — the reply text is ``json.dumps(value)``
- ``fail(status, retry_after=None, message=None)`` — the provider's error JSON, so the SDK raises
  its own class (401 → ``AuthenticationError``, 429 → ``RateLimitError``, 5xx →
  ``InternalServerError``); ``retry_after`` seconds go into a ``Retry-After`` header
- ``slow(seconds, then=None)`` — waits before answering ``then`` (or the default), to run past
  a client timeout; shutting the server down cuts the wait short
- ``malformed(body=..., content_type="application/json")`` — a 200 whose body (or first stream
  event) is not valid JSON; with another content type, a body that is not JSON at all

With the queue empty the reply is ``"echo: <last user message>"``. Token counts are words
(whitespace-separated): prompt = every message (Gemini: every part of ``contents``) and the
system prompt, completion = the reply;
``reply(..., prompt_tokens=, completion_tokens=)`` overrides them. ``finish_reason`` is
``"stop"``/``"end_turn"``/``"STOP"``, or ``"length"``/``"max_tokens"``/``"MAX_TOKENS"`` with
``truncated=True``. Ids (``chatcmpl-1``, ``msg_1``, ``resp_1``, ``req_1``) count up per server,
and ``created`` is a constant, so replies are golden values.

Before a script is taken, requests are checked as the real APIs do, so an agent's mistakes
fail here too: a missing API key is a 401; a missing ``model``/``messages`` (and for Anthropic
``max_tokens``, the ``anthropic-version`` header, or a ``"system"`` role inside ``messages``)
is a 400; so is a Gemini request without ``contents``, or with a role other than ``user`` and
``model`` in them. These do not consume a script.

Recording: ``server.requests`` lists every request received (``RecordedRequest``: method, path,
lower-cased ``headers``, parsed JSON ``body``, and the ``api_key`` that arrived in
``Authorization: Bearer``, ``x-api-key`` or ``x-goog-api-key``). ``server.errors`` lists
exceptions raised inside the server (a bug here, not in the code under test); a client hanging
up is not one.
"""

from __future__ import annotations

import json
import re
import socketserver
import sys
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self
from urllib.parse import urlsplit

#: ``created`` of every OpenAI reply: fixed, so whole replies can be compared as golden values.
CREATED = 1_700_000_000
OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"
GEMINI_PATH = re.compile(r"/v1(?:beta)?/models/(?P<model>[^/:]+):(?P<method>\w+)")
DEFAULT_MALFORMED = '{"id": "truncated'


@dataclass(frozen=True)
class Reply:
    """A model answer; ``None`` token counts are computed from the words of the texts."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    truncated: bool = False


@dataclass(frozen=True)
class Failure:
    """An HTTP error in the provider's error JSON, optionally with ``Retry-After`` seconds."""

    status: int
    retry_after: float | None = None
    message: str | None = None


@dataclass(frozen=True)
class Slow:
    """Wait ``seconds``, then answer ``then`` (``None``: the default echo reply)."""

    seconds: float
    then: Reply | None = None


@dataclass(frozen=True)
class Malformed:
    """A 200 whose body (or, when streaming, whose first event) is not the JSON promised."""

    body: str = DEFAULT_MALFORMED
    content_type: str = "application/json"


Script = Reply | Failure | Slow | Malformed


@dataclass(frozen=True)
class RecordedRequest:
    """One request as it arrived: what the SDK sent, for tests to assert on."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: Any  # the parsed JSON, or None when the body was empty or not JSON
    raw: bytes = field(repr=False)

    @property
    def api_key(self) -> str | None:
        """The key from ``Authorization: Bearer`` (OpenAI's and Anthropic's SDKs now),
        ``x-api-key`` (older SDKs) or ``x-goog-api-key`` (Google's)."""
        for name in ("x-api-key", "x-goog-api-key"):
            if name in self.headers:
                return self.headers[name]
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" else None


class LLMServer:
    """Serve scripted OpenAI/Anthropic replies on ``127.0.0.1`` from a background thread.

    >>> with LLMServer() as server:
    ...     server.reply("hi")
    ...     # point an SDK client at server.openai_base_url or server.anthropic_base_url
    """

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._scripts: deque[Script] = deque()
        self._requests: list[RecordedRequest] = []
        self._counter = 0
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind an ephemeral port and serve in a daemon thread; returns self for chaining."""
        if self._httpd is not None:
            raise RuntimeError("LLMServer is already running")
        self._stopping.clear()
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake slow replies, and wait for every handler thread to finish."""
        if self._httpd is None or self._thread is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()  # joins the handler threads (block_on_close)
        self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        if self._httpd is None:
            raise RuntimeError("LLMServer is not running; use start() or a with block")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def openai_base_url(self) -> str:
        """The OpenAI SDK's ``base_url``: it appends ``chat/completions`` to it."""
        return self.url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """The Anthropic SDK's ``base_url``: it appends ``/v1/messages`` to it."""
        return self.url

    @property
    def gemini_base_url(self) -> str:
        """Google's SDK's ``base_url``: it appends ``/v1/models/<model>:generateContent``."""
        return self.url

    # -- scripting -------------------------------------------------------------------------

    def reply(
        self,
        text: str,
        *,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        truncated: bool = False,
    ) -> None:
        """Queue a successful answer with ``text`` (truncated: hit the max_tokens limit)."""
        self._queue(Reply(text, prompt_tokens, completion_tokens, truncated))

    def reply_json(
        self,
        value: Any,
        *,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
    ) -> None:
        """Queue an answer whose text is ``value`` as JSON (for ``response_format: json``)."""
        self.reply(
            json.dumps(value), prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )

    def fail(
        self, status: int, *, retry_after: float | None = None, message: str | None = None
    ) -> None:
        """Queue an HTTP error with the provider's error body (and ``Retry-After`` if given)."""
        self._queue(Failure(status, retry_after, message))

    def slow(self, seconds: float, *, then: str | None = None) -> None:
        """Queue a reply that waits ``seconds`` before answering (``then`` or the default)."""
        self._queue(Slow(seconds, None if then is None else Reply(then)))

    def malformed(
        self, body: str = DEFAULT_MALFORMED, *, content_type: str = "application/json"
    ) -> None:
        """Queue a 200 whose JSON is broken (or, with another ``content_type``, not JSON at all:
        a proxy's HTML page, say)."""
        self._queue(Malformed(body, content_type))

    def _queue(self, script: Script) -> None:
        with self._lock:
            self._scripts.append(script)

    # -- inspection ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        """The most recent request; an AssertionError when there is none."""
        with self._lock:
            assert self._requests, "LLMServer has received no request"
            return self._requests[-1]

    @property
    def pending(self) -> int:
        """How many scripted entries no request has used yet."""
        with self._lock:
            return len(self._scripts)

    # -- used by the handler threads -------------------------------------------------------

    def _record(self, request: RecordedRequest) -> int:
        """Keep the request and return its sequence number (for ids)."""
        with self._lock:
            self._requests.append(request)
            self._counter += 1
            return self._counter

    def _next_script(self) -> Script | None:
        with self._lock:
            return self._scripts.popleft() if self._scripts else None


class _HTTPServer(ThreadingHTTPServer):
    """Non-daemon handler threads, so ``server_close`` can join them all on shutdown."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, owner: LLMServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), which can wait on DNS: skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Keep failures for the test to see instead of printing them; a client that hung up
        # (timed out, closed a stream early) is normal traffic, not an error.
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, ConnectionError):
            self.owner.errors.append(error)


class _Provider(Protocol):
    """How one API shapes its replies, streams and errors."""

    def check(self, request: RecordedRequest) -> tuple[int, str] | None: ...

    def streams(self, request: RecordedRequest) -> bool: ...

    def error_body(self, status: int, message: str | None) -> dict[str, Any]: ...

    def completion(self, reply: Reply, request: RecordedRequest, n: int) -> dict[str, Any]: ...

    def events(self, reply: Reply, request: RecordedRequest, n: int) -> Iterator[bytes]: ...

    def malformed_event(self, text: str) -> bytes: ...


class _Handler(BaseHTTPRequestHandler):
    """One request per connection: record it, check it, answer with the next script."""

    protocol_version = "HTTP/1.1"
    timeout = 10  # a client that connects and sends nothing must not hold up shutdown
    disable_nagle_algorithm = True  # stream events leave one by one
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: test output stays clean, and nothing about a request is ever printed."""

    def do_POST(self) -> None:
        owner = self.server.owner
        request = self._read_request()
        n = owner._record(request)
        provider = _provider_for(request.path)
        if provider is None:
            self._send_error(OPENAI, n, Failure(404, message=f"Invalid URL (POST {request.path})"))
            return
        problem = provider.check(request)
        if problem is not None:
            self._send_error(provider, n, Failure(problem[0], message=problem[1]))
            return
        script = owner._next_script() or Reply(_echo(request.body))
        if isinstance(script, Slow):
            if owner._stopping.wait(script.seconds):
                return  # shutting down: nobody is waiting for this answer any more
            script = script.then or Reply(_echo(request.body))
        self._answer(provider, n, request, script)

    def _read_request(self) -> RecordedRequest:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in self.headers.items()}
        return RecordedRequest(self.command, urlsplit(self.path).path, headers, body, raw)

    def _answer(
        self, provider: _Provider, n: int, request: RecordedRequest, script: Script
    ) -> None:
        stream = provider.streams(request)
        if isinstance(script, Failure):
            self._send_error(provider, n, script)
        elif isinstance(script, Malformed) and stream:
            self._send_stream(n, [provider.malformed_event(script.body)])
        elif isinstance(script, Malformed):
            self._send(200, script.body.encode(), n, content_type=script.content_type)
        elif isinstance(script, Reply) and stream:
            self._send_stream(n, provider.events(script, request, n))
        elif isinstance(script, Reply):
            self._send(200, _dumps(provider.completion(script, request, n)), n)

    def _send_error(self, provider: _Provider, n: int, failure: Failure) -> None:
        extra = {}
        if failure.retry_after is not None:
            extra["Retry-After"] = f"{failure.retry_after:g}"
        body = _dumps(provider.error_body(failure.status, failure.message))
        self._send(failure.status, body, n, extra)

    def _send(
        self,
        status: int,
        body: bytes,
        n: int,
        extra: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.send_response(status)
        self._common_headers(n, content_type)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_stream(self, n: int, events: Iterator[bytes] | list[bytes]) -> None:
        # No Content-Length: the body ends when the connection closes, as an SSE stream may.
        self.send_response(200)
        self._common_headers(n, "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for event in events:
            self.wfile.write(event)

    def _common_headers(self, n: int, content_type: str) -> None:
        # One request per connection keeps shutdown simple: no idle keep-alive threads.
        self.close_connection = True
        self.send_header("Connection", "close")
        self.send_header("Content-Type", content_type)
        self.send_header("x-request-id", f"req_{n}")  # OpenAI's name
        self.send_header("request-id", f"req_{n}")  # Anthropic's name


class _OpenAI:
    """Chat Completions: ``{"error": {...}}`` errors, ``data:``-only SSE ending in ``[DONE]``."""

    ERROR_TYPES: ClassVar = {401: "invalid_request_error", 429: "requests", 500: "server_error"}
    ERROR_CODES: ClassVar = {401: "invalid_api_key", 429: "rate_limit_exceeded"}

    def check(self, request: RecordedRequest) -> tuple[int, str] | None:
        body = request.body
        if not request.api_key:
            return 401, "You didn't provide an API key (Authorization: Bearer <key>)."
        if not isinstance(body, dict):
            return 400, "The request body must be a JSON object."
        if not isinstance(body.get("model"), str) or not body.get("messages"):
            return 400, "'model' and a non-empty 'messages' list are required."
        return None

    def streams(self, request: RecordedRequest) -> bool:
        return request.body.get("stream") is True

    def error_body(self, status: int, message: str | None) -> dict[str, Any]:
        default_type = "server_error" if status >= 500 else "invalid_request_error"
        error = {
            "message": message or _default_message(status),
            "type": self.ERROR_TYPES.get(status, default_type),
            "param": None,
            "code": self.ERROR_CODES.get(status),
        }
        return {"error": error}

    def completion(self, reply: Reply, request: RecordedRequest, n: int) -> dict[str, Any]:
        body = request.body
        message = {"role": "assistant", "content": reply.text, "refusal": None}
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": _finish(reply)}
        return {
            **self._head(body, n, "chat.completion"),
            "choices": [choice],
            "usage": _usage(reply, body),
        }

    def events(self, reply: Reply, request: RecordedRequest, n: int) -> Iterator[bytes]:
        body = request.body
        head = self._head(body, n, "chat.completion.chunk")
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        if include_usage:
            head["usage"] = None  # as the API does: null on every chunk but the last

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            return _sse({**head, "choices": [choice]})

        yield chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in _pieces(reply.text):
            yield chunk({"content": piece})
        yield chunk({}, _finish(reply))
        if include_usage:
            yield _sse({**head, "choices": [], "usage": _usage(reply, body)})
        yield b"data: [DONE]\n\n"

    def malformed_event(self, text: str) -> bytes:
        return f"data: {text}\n\n".encode()

    @staticmethod
    def _head(body: dict[str, Any], n: int, kind: str) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{n}",
            "object": kind,
            "created": CREATED,
            "model": body["model"],
            "system_fingerprint": None,
        }


class _Anthropic:
    """Messages: ``{"type": "error", ...}`` errors, named SSE events from message_start on."""

    ERROR_TYPES: ClassVar = {
        400: "invalid_request_error",
        401: "authentication_error",
        402: "billing_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        500: "api_error",
        529: "overloaded_error",
    }

    def check(self, request: RecordedRequest) -> tuple[int, str] | None:
        body = request.body
        if not request.api_key:
            return 401, "x-api-key header is required"
        if "anthropic-version" not in request.headers:
            return 400, "anthropic-version: header is required"
        if not isinstance(body, dict):
            return 400, "The request body must be a JSON object."
        for name in ("model", "messages", "max_tokens"):
            if name not in body:
                return 400, f"{name}: Field required"
        if any(isinstance(m, dict) and m.get("role") == "system" for m in body["messages"]):
            return 400, 'messages: Unexpected role "system"; use the top-level "system" parameter'
        return None

    def streams(self, request: RecordedRequest) -> bool:
        return request.body.get("stream") is True

    def error_body(self, status: int, message: str | None) -> dict[str, Any]:
        default_type = "api_error" if status >= 500 else "invalid_request_error"
        error = {
            "type": self.ERROR_TYPES.get(status, default_type),
            "message": message or _default_message(status),
        }
        return {"type": "error", "error": error}

    def completion(self, reply: Reply, request: RecordedRequest, n: int) -> dict[str, Any]:
        body = request.body
        usage = _usage(reply, body)
        return {
            **self._message(body, n),
            "content": [{"type": "text", "text": reply.text}],
            "stop_reason": "max_tokens" if reply.truncated else "end_turn",
            "usage": {
                "input_tokens": usage["prompt_tokens"],
                "output_tokens": usage["completion_tokens"],
            },
        }

    def events(self, reply: Reply, request: RecordedRequest, n: int) -> Iterator[bytes]:
        body = request.body
        usage = _usage(reply, body)
        message = {
            **self._message(body, n),
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": usage["prompt_tokens"], "output_tokens": 1},
        }
        yield _event("message_start", {"message": message})
        block = {"type": "text", "text": ""}
        yield _event("content_block_start", {"index": 0, "content_block": block})
        yield _event("ping", {})
        for piece in _pieces(reply.text):
            delta = {"type": "text_delta", "text": piece}
            yield _event("content_block_delta", {"index": 0, "delta": delta})
        yield _event("content_block_stop", {"index": 0})
        stop = {
            "stop_reason": "max_tokens" if reply.truncated else "end_turn",
            "stop_sequence": None,
        }
        yield _event(
            "message_delta", {"delta": stop, "usage": {"output_tokens": usage["completion_tokens"]}}
        )
        yield _event("message_stop", {})

    def malformed_event(self, text: str) -> bytes:
        return f"event: message_start\ndata: {text}\n\n".encode()

    @staticmethod
    def _message(body: dict[str, Any], n: int) -> dict[str, Any]:
        return {
            "id": f"msg_{n}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "stop_sequence": None,
        }


class _Gemini:
    """generateContent: the model in the path, ``{"error": {code, message, status}}`` errors,
    and ``streamGenerateContent?alt=sse`` chunks that are whole responses."""

    STATUSES: ClassVar = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
    }
    METHODS = ("generateContent", "streamGenerateContent")

    def check(self, request: RecordedRequest) -> tuple[int, str] | None:
        body = request.body
        if not request.api_key:
            return 403, "Method doesn't allow unregistered callers (no API key)."
        if not isinstance(body, dict) or not body.get("contents"):
            return 400, "* GenerateContentRequest.contents: contents is not specified"
        roles = {c.get("role", "user") for c in body["contents"] if isinstance(c, dict)}
        if not roles <= {"user", "model"}:
            return 400, "Please use a valid role: user, model."
        return None

    def streams(self, request: RecordedRequest) -> bool:
        return request.path.endswith(":streamGenerateContent")

    def error_body(self, status: int, message: str | None) -> dict[str, Any]:
        default_status = "INTERNAL" if status >= 500 else "FAILED_PRECONDITION"
        error = {
            "code": status,
            "message": message or _default_message(status),
            "status": self.STATUSES.get(status, default_status),
        }
        return {"error": error}

    def completion(self, reply: Reply, request: RecordedRequest, n: int) -> dict[str, Any]:
        usage = _usage(reply, request.body)
        return self._response(request, n, reply.text, _gemini_finish(reply), usage)

    def events(self, reply: Reply, request: RecordedRequest, n: int) -> Iterator[bytes]:
        usage = _usage(reply, request.body)
        pieces = _pieces(reply.text) or [""]
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            partial = {**usage, "completion_tokens": 0, "total_tokens": usage["prompt_tokens"]}
            finish = _gemini_finish(reply) if last else None
            chunk = self._response(request, n, piece, finish, usage if last else partial)
            yield b"data: " + _dumps(chunk) + b"\r\n\r\n"

    def malformed_event(self, text: str) -> bytes:
        return f"data: {text}\r\n\r\n".encode()

    @staticmethod
    def _response(
        request: RecordedRequest, n: int, text: str, finish: str | None, usage: dict[str, int]
    ) -> dict[str, Any]:
        candidate: dict[str, Any] = {
            "content": {"parts": [{"text": text}], "role": "model"},
            "index": 0,
        }
        if finish is not None:
            candidate["finishReason"] = finish
        counts = {"promptTokenCount": usage["prompt_tokens"]}
        if usage["completion_tokens"]:
            counts["candidatesTokenCount"] = usage["completion_tokens"]
        counts["totalTokenCount"] = usage["total_tokens"]
        match = GEMINI_PATH.fullmatch(request.path)
        return {
            "candidates": [candidate],
            "usageMetadata": counts,
            "modelVersion": match["model"] if match else "",
            "responseId": f"resp_{n}",
        }


OPENAI = _OpenAI()
GEMINI = _Gemini()
PROVIDERS: dict[str, _Provider] = {OPENAI_PATH: OPENAI, ANTHROPIC_PATH: _Anthropic()}


def _provider_for(path: str) -> _Provider | None:
    """The API a request path belongs to (Gemini's paths name the model and the method)."""
    match = GEMINI_PATH.fullmatch(path)
    if match is not None and match["method"] in _Gemini.METHODS:
        return GEMINI
    return PROVIDERS.get(path)


def _text(content: Any) -> str:
    """The text of a message's content: a string, or a list of ``{"type": "text"}`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and "text" in p)
    return ""


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation as ``{"role", "content"}`` messages (Gemini's ``contents`` too)."""
    if "contents" in body:
        return [
            {"role": c.get("role", "user"), "content": c.get("parts") or []}
            for c in body["contents"]
            if isinstance(c, dict)
        ]
    return [m for m in body["messages"] if isinstance(m, dict)]


def _echo(body: dict[str, Any]) -> str:
    users = [m for m in _messages(body) if m.get("role") == "user"]
    return "echo: " + (_text(users[-1].get("content")) if users else "")


def _words(text: str) -> int:
    return len(text.split())


def _usage(reply: Reply, body: dict[str, Any]) -> dict[str, int]:
    """OpenAI-named counts; the prompt is every message plus a top-level ``system``."""
    prompt = [_text(m.get("content")) for m in _messages(body)]
    prompt.append(_text(body.get("system")))
    prompt.append(_text((body.get("systemInstruction") or {}).get("parts")))
    prompt_tokens = reply.prompt_tokens
    if prompt_tokens is None:
        prompt_tokens = sum(_words(text) for text in prompt)
    completion_tokens = reply.completion_tokens
    if completion_tokens is None:
        completion_tokens = _words(reply.text)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _finish(reply: Reply) -> str:
    return "length" if reply.truncated else "stop"


def _gemini_finish(reply: Reply) -> str:
    return "MAX_TOKENS" if reply.truncated else "STOP"


def _pieces(text: str) -> list[str]:
    """Stream deltas: one per word with its trailing space; joined, they are ``text`` again."""
    return re.findall(r"\S+\s*|\s+", text)


def _default_message(status: int) -> str:
    return {
        401: "Invalid API key.",
        429: "Rate limit reached; please try again later.",
        500: "The server had an error while processing your request.",
    }.get(status, f"Scripted HTTP {status} error.")


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def _sse(data: dict[str, Any]) -> bytes:
    return b"data: " + _dumps(data) + b"\n\n"


def _event(name: str, data: dict[str, Any]) -> bytes:
    """An Anthropic event: the name twice, as the API sends it (``event:`` and ``data.type``)."""
    return f"event: {name}\ndata: ".encode() + _dumps({"type": name, **data}) + b"\n\n"
