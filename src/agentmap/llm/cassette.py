"""Record every model request and reply to a cassette, or answer them from one with no network.

A cassette is JSON lines, one exchange per line::

    {"request": {"method": "POST", "path": "/v1/chat/completions", "body": {...}},
     "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": "..."}}

A request is matched by its method, URL path and JSON body (keys sorted), so the host and the
API key play no part: a cassette recorded against one server replays for any base URL. Request
headers are never written (that is where keys travel), and of the response headers only the
ones listed in ``KEPT_HEADERS``. Streamed replies are stored as the event text they were.

Everything written is redacted (``agentmap.secrets``): a provider's error body may quote the
key back (OpenAI's 401 does). The values of key-carrying request headers are taken as secrets
as they pass, so a key is cut even when it came from nowhere agentmap knows. A request is
matched by its redacted body, so one that held a secret replays too.

Both are httpx transports handed to the SDK clients (``http_client=``), so the SDKs parse,
stream and raise exactly as they do against the network.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx2

from agentmap.llm.errors import LLMError
from agentmap.secrets import redact_data, remember_headers

KEPT_HEADERS = ("content-type", "retry-after", "x-request-id", "request-id")
"""Response headers worth replaying; anything else (cookies, organisation ids) is dropped."""


class CassetteMiss(LLMError):
    """Replay met a request the cassette holds no reply for."""


class RecordingTransport(httpx2.AsyncBaseTransport):
    """Passes requests to ``inner`` and appends each exchange to the cassette at ``path``."""

    def __init__(self, path: Path, inner: httpx2.AsyncBaseTransport | None = None) -> None:
        self._path = path
        self._inner = inner or httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        # Plain bodies only: a compressed one could not be stored as text.
        request.headers["accept-encoding"] = "identity"
        remember_headers(request.headers.items())
        body = await request.aread()
        response = await self._inner.handle_async_request(request)
        asked = _request_record(request.method, request.url.path, body)

        def save(content: bytes) -> None:
            answer = {
                "status": response.status_code,
                "headers": _kept_headers(response.headers),
                "body": content.decode("utf-8", errors="replace"),
            }
            append_exchange(self._path, {"request": asked, "response": answer})

        stream = _Tee(response.stream, save)  # type: ignore[arg-type]
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=stream,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


class ReplayTransport(httpx2.AsyncBaseTransport):
    """Answers every request from a cassette; the network is never touched."""

    def __init__(self, path: Path) -> None:
        self._cassette = load_cassette(path)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        answer = self._cassette.answer(request.method, request.url.path, body)
        return httpx2.Response(
            int(answer["status"]),
            headers=answer.get("headers") or {},
            content=str(answer.get("body", "")).encode("utf-8"),
            request=request,
        )


class Cassette:
    """The exchanges of one cassette file, by request; each request's replies in order.

    A request asked more often than it was recorded gets its last reply again, so a graph
    replays the same way however many times it runs in one process.
    """

    def __init__(self, path: Path, exchanges: list[dict[str, Any]]) -> None:
        self.path = path
        self._replies: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for exchange in exchanges:
            asked = exchange["request"]
            self._replies[_key(asked["method"], asked["path"], asked["body"])].append(
                exchange["response"]
            )
        self._used: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def answer(self, method: str, path: str, body: bytes) -> dict[str, Any]:
        """The recorded reply to this request; ``CassetteMiss`` if there is none."""
        asked = _request_record(method, path, body)
        key = _key(method, path, asked["body"])
        replies = self._replies.get(key)
        if not replies:
            raise CassetteMiss(
                f"cassette {self.path} has no recorded reply for {method} {path} "
                f"({_describe(asked['body'])}) — record it again with --record"
            )
        with self._lock:
            index = min(self._used[key], len(replies) - 1)
            self._used[key] += 1
        return replies[index]


_LOCK = threading.Lock()
_STARTED: set[Path] = set()
_LOADED: dict[Path, tuple[tuple[int, int], Cassette]] = {}


def append_exchange(path: Path, exchange: dict[str, Any]) -> None:
    """Add one exchange to the cassette at ``path``.

    The first exchange a process records to a file starts it afresh, so a cassette holds one
    run (``agentmap run --record``), not every run there ever was; later ones append, so every
    node of the run — each with its own client — writes to the same file. Every text in the
    exchange is redacted first.
    """
    line = json.dumps(redact_data(exchange), ensure_ascii=False, sort_keys=True) + "\n"
    resolved = path.resolve()
    with _LOCK:
        mode = "a" if resolved in _STARTED else "w"
        resolved.parent.mkdir(parents=True, exist_ok=True)
        with resolved.open(mode, encoding="utf-8") as handle:
            handle.write(line)
        _STARTED.add(resolved)


def load_cassette(path: Path) -> Cassette:
    """The cassette at ``path``, read once per process (again if the file changed)."""
    resolved = path.resolve()
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise LLMError(f"can't read the cassette {path} ({exc.strerror})") from exc
    version = (stat.st_mtime_ns, stat.st_size)
    with _LOCK:
        cached = _LOADED.get(resolved)
        if cached is None or cached[0] != version:
            cached = _LOADED[resolved] = (version, Cassette(path, _read_exchanges(path)))
    return cached[1]


def _read_exchanges(path: Path) -> list[dict[str, Any]]:
    exchanges = []
    for number, line in enumerate(_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            exchange = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _bad_line(path, number, f"not JSON: {exc}") from exc
        if not _is_exchange(exchange):
            raise _bad_line(path, number, "no request method/path/body or response status")
        exchanges.append(exchange)
    return exchanges


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LLMError(
            f"cassette {path} is not UTF-8 text ({exc.reason} at byte {exc.start}) — record the "
            "cassette again with --record"
        ) from exc
    except OSError as exc:
        raise LLMError(f"can't read the cassette {path} ({exc.strerror})") from exc


def _is_exchange(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    asked, answer = value.get("request"), value.get("response")
    return (
        isinstance(asked, dict)
        and {"method", "path", "body"} <= asked.keys()
        and isinstance(answer, dict)
        and isinstance(answer.get("status"), int)
    )


def _bad_line(path: Path, number: int, why: str) -> LLMError:
    return LLMError(
        f"cassette {path} line {number} is not a recorded exchange ({why}) — record the "
        "cassette again with --record"
    )


class _Tee(httpx2.AsyncByteStream):
    """Hands a reply's bytes on as they arrive, and ``save``s them all once it has ended."""

    def __init__(self, inner: httpx2.AsyncByteStream, save: Callable[[bytes], None]) -> None:
        self._inner = inner
        self._save: Callable[[bytes], None] | None = save
        self._chunks: list[bytes] = []

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._chunks.append(chunk)
            yield chunk
        self._finish()

    async def aclose(self) -> None:
        await self._inner.aclose()
        self._finish()

    def _finish(self) -> None:
        if self._save is not None:
            save, self._save = self._save, None
            save(b"".join(self._chunks))


def _request_record(method: str, path: str, body: bytes) -> dict[str, Any]:
    text = body.decode("utf-8", errors="replace")
    try:
        parsed: Any = json.loads(text) if text else None
    except ValueError:
        parsed = text
    return {"method": method, "path": path, "body": parsed}


def _key(method: str, path: str, body: Any) -> str:
    """What a request is matched by: its body as recorded, so redacted."""
    body = redact_data(body)
    return f"{method.upper()} {path} " + json.dumps(body, sort_keys=True, separators=(",", ":"))


def _kept_headers(headers: httpx2.Headers) -> dict[str, str]:
    return {name: headers[name] for name in KEPT_HEADERS if name in headers}


def _describe(body: Any) -> str:
    """Enough of a request to recognise it: its model and the start of its last message."""
    if not isinstance(body, dict):
        return "a body that is not JSON"
    messages = body.get("messages") or body.get("contents") or [{}]  # Gemini's: contents
    last = messages[-1] if isinstance(messages[-1], dict) else {}
    content = last.get("content", last.get("parts"))
    text = content if isinstance(content, str) else json.dumps(content)
    short = text if len(text) <= 60 else text[:57] + "..."
    model = f"model {body['model']!r}, " if "model" in body else ""  # Gemini's is in the path
    return f"{model}last message {short!r}"
