"""The secrets in play — API keys, provider keys, service keys — and ``redact``, which cuts them
out of any text before it leaves agentmap.

Why one module: a key travels to places the code holding it never sees. A provider quotes it
back in a 401 body; the SDK's exception carries that body; a DEBUG log record formats the
exception; a cassette stores the body. Scrubbing at each of those places with whatever key is
at hand missed some, so instead this module knows every secret the process has met, and the
few places where text leaves agentmap pass it through ``redact``:

- log records of the ``agentmap`` loggers, message and formatted exception (``install``, a
  log record factory set when this module is imported) — and the CLI's log formatter, which
  redacts every line it writes (``RedactingFormatter``);
- error messages: every ``AgentMapError`` redacts its message when it is made, and a node's
  error text is redacted before it reaches the state, events, store and results;
- cassettes: everything ``--record`` writes (``redact_data``);
- config errors never echo a secret field's value (``is_secret_field``, ``masked``), and what
  was written in one is taken as a secret before it is checked (``remember_secret_fields``).

Known secrets (``remember``): every provider ``api_key`` and the value of every provider's
``api_key_env`` variable (``config.remember_settings``, when settings are loaded), the plain keys of
``server.api_keys_env``, the key of each model call, and the values of key-carrying request
headers a cassette recorder sees (``remember_headers``). Values shorter than ``MIN_LENGTH`` are
not taken: masking a key like ``ollama`` everywhere would garble the text around it.

Text shaped like a key is cut even when unknown: ``sk-…`` keys (OpenAI, Anthropic and the many
made like them), Google API keys (``AIza…``), ``Bearer <token>``, the value of an
``Authorization`` / ``x-api-key`` / ``api-key`` header written as text, and the password of a
``scheme://user:password@host`` URL.

>>> remember("abc-123-very-secret")
>>> redact("Incorrect API key provided: abc-123-very-secret")
'Incorrect API key provided: ***'
>>> redact("headers {'authorization': 'Bearer eyJhbGciOiJIUzI1NiJ9.e30'}")
"headers {'authorization': 'Bearer ***'}"
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
"""What a secret is replaced with."""

MIN_LENGTH = 8
"""Shorter values are not taken as secrets (see the module's docstring)."""

SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key"}
)
"""Request headers whose values are keys (lower case)."""

_SECRET_FIELD = re.compile(r"(?:key|token|secret|password|passwd|credential)s?$", re.IGNORECASE)

_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # OpenAI (sk-, sk-proj-), Anthropic (sk-ant-) and the many keys made like them.
    (re.compile(r"(?<![\w-])sk-[\w-]{16,}"), MASK),
    # Google API keys (Gemini's among them): AIza and 35 more characters.
    (re.compile(r"(?<![\w-])AIza[\w-]{35}(?![\w-])"), MASK),
    # A key header written out: `x-api-key: …`, `"authorization": "Bearer …"`, `api-key=…`.
    (
        re.compile(
            r"(?i)(?<![\w-])((?:proxy-)?authorization|x-api-key|api-key|x-goog-api-key)"
            r"([\"']?\s*[:=]\s*[\"']?)((?:bearer|basic|token)\s+)?[\w.~+/=-]{8,}"
        ),
        r"\1\2\3" + MASK,
    ),
    # A bearer token anywhere else.
    (re.compile(r"\b(Bearer\s+)[\w.~+/=-]{12,}"), r"\1" + MASK),
    # The password of a URL: postgresql://user:password@host/db.
    (re.compile(r"(\b[a-zA-Z][\w+.-]*://[^\s:/@]*:)[^\s@/]+@"), r"\1" + MASK + "@"),
)

_lock = threading.Lock()
_known: set[str] = set()
_known_pattern: re.Pattern[str] | None = None


def remember(*values: object) -> None:
    """Take ``values`` (text, or a pydantic ``SecretStr``; ``None`` is skipped) as secrets."""
    global _known_pattern
    with _lock:
        new = {text for text in map(_plain, values) if text is not None} - _known
        if not new:
            return
        _known.update(new)
        longest_first = sorted(_known, key=len, reverse=True)  # a key inside a longer one
        _known_pattern = re.compile("|".join(map(re.escape, longest_first)))


def remember_headers(headers: Iterable[tuple[str, str]]) -> None:
    """Take the values of key-carrying headers (``SECRET_HEADERS``) as secrets: the value, or
    the token after its scheme (``Bearer <token>``), so the scheme is still shown."""
    for name, value in headers:
        if name.lower() in SECRET_HEADERS:
            _scheme, space, token = value.strip().partition(" ")
            remember(token if space else value)


def remember_secret_fields(data: Any) -> None:
    """Take the text under every secret field in ``data`` (settings as written: a mapping of
    mappings) as a secret — before the settings are checked, so even a refused value (a list
    where a key belongs) is redacted wherever it would be echoed: pydantic's own error,
    chained under ours, shows every value it refused."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(key, str) and is_secret_field(key):
                texts = value if isinstance(value, list | tuple) else [value]
                remember(*(text for text in texts if isinstance(text, str)))
            else:
                remember_secret_fields(value)
    elif isinstance(data, list | tuple):
        for item in data:
            remember_secret_fields(item)


def is_secret_field(name: str) -> bool:
    """Whether a setting or field called ``name`` holds a secret (``api_key``, ``token``,
    ``client_secret``, ``password``…): its value is never shown.

    >>> [is_secret_field(n) for n in ("api_key", "api_keys", "api_keys_env", "model")]
    [True, True, False, False]
    """
    return bool(_SECRET_FIELD.search(name))


def masked(value: Any) -> Any:
    """``value`` with every secret field inside it (a mapping key ``is_secret_field`` names)
    replaced by ``MASK``, so it can be shown."""
    if isinstance(value, Mapping):
        return {
            key: MASK if isinstance(key, str) and is_secret_field(key) else masked(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(masked(item) for item in value)
    return value


def redact(text: str) -> str:
    """``text`` with every known secret, and everything shaped like a key, replaced by ``***``."""
    pattern = _known_pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for shape, replacement in _SHAPES:
        text = shape.sub(replacement, text)
    return text


def redact_data(value: Any) -> Any:
    """``value`` (JSON-like data) with ``redact`` applied to every text in it, keys included."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact_data(key): redact_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(item) for item in value]
    return value


# --- logging -------------------------------------------------------------------------------


class RedactingFormatter(logging.Formatter):
    """A ``logging.Formatter`` whose every line — message, traceback, stack — is redacted.

    The CLI's log handler uses it, so nothing it writes to stderr can hold a secret, whatever
    the record (or another library's record factory) carried.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The formatted record, redacted."""
        return redact(super().format(record))

    def formatException(self, ei: Any) -> str:
        """The traceback, redacted (it is cached on the record as ``exc_text``)."""
        return redact(super().formatException(ei))


_TRACEBACKS = logging.Formatter()


def redact_record(record: logging.LogRecord) -> None:
    """Redact ``record`` in place: its message (formatted now, with its arguments) and its
    exception and stack text. The exception is formatted now into ``exc_text`` — which every
    ``logging.Formatter`` shows instead of formatting ``exc_info`` again — and ``exc_info`` is
    kept for code that inspects it."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format: the handler reports it, with the parts redacted
        record.msg = redact(str(record.msg))
        if isinstance(record.args, tuple):
            record.args = tuple(redact(str(arg)) for arg in record.args)
        return
    record.msg, record.args = redact(message), ()
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = _TRACEBACKS.formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install() -> None:
    """Redact every record of the ``agentmap`` loggers as it is made, whoever handles it.

    A record factory rather than a filter, because a logger's filters see only the records
    logged to that very logger, not its children's (``agentmap.runner``, an agent's logger);
    the factory sees them all. It wraps the factory in place, and leaves other loggers'
    records alone. Installing twice is harmless.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts_agentmap", False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name == "agentmap" or record.name.startswith("agentmap."):
            redact_record(record)
        return record

    make_record.redacts_agentmap = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


def _plain(value: object) -> str | None:
    """The text of a secret worth remembering, or None."""
    reveal = getattr(value, "get_secret_value", None)
    text = reveal() if callable(reveal) else value
    if not isinstance(text, str):
        return None
    text = text.strip()
    return text if len(text) >= MIN_LENGTH else None


install()
